"""The relay bench's core, small: the real bridge process, real homes, real guest exchanges.

Behaviour only, never timings: every guest exchange (a challenge, then a sealed request
under it) is relayed to a connected home and comes back as the home's answer, the
limiter refuses none, and the bridge's own counts, by route pattern, agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bridge_relay import (
    CHALLENGE_ROUTE,
    REQUEST_ROUTE,
    BenchError,
    check,
    run,
    table,
)


async def test_relay_bench_relays_every_guest_exchange_to_connected_homes(
    tmp_path: Path, socket_enabled: None
) -> None:
    result = await run(20, 50, 5, tmp_path, serial_exchanges=10, settle=0.2, say=False)

    assert result.connected == 20, "the bridge's /metrics counts every home connected"
    for batch, asked in ((result.relay, 50), (result.serial, 10)):
        assert len(batch.exchange_ms) == asked
        assert len(batch.challenge_ms) == len(batch.request_ms) == asked
        assert batch.statuses == {200: 2 * asked}, "the guest limiter never refuses a 200 answer"
        assert batch.answered == asked, "each exchange got the home's challenge and sealed answer"
    assert result.answered_by_homes == {"guest.challenge": 60, "guest.request": 60}, (
        "each call reached a home over its websocket; each sealed request the home that issued "
        "its challenge"
    )
    assert result.relayed_per_metrics == {CHALLENGE_ROUTE: 60, REQUEST_ROUTE: 60}, (
        "the bridge counts the same calls, by route pattern"
    )
    assert result.rss_connected_kib > 0
    assert result.kib_per_home > 0
    assert result.bridge_nofile >= 20 + 200
    assert result.bridge_exit == 0, "the bridge shuts down cleanly on SIGTERM"
    assert check(result) == []
    assert len(table([result])) == 23


async def test_relay_bench_refuses_an_empty_run(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="at least 1"):
        await run(0, 50, 5, tmp_path, say=False)
