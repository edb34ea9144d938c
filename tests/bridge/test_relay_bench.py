"""The relay bench's core, small: the real bridge process, real homes, real guest pages.

Behaviour only, never timings: every guest page is the home's answer, every home is
connected, and the memory figure is a number the bench can print.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bridge_relay import BenchError, check, run, table


async def test_relay_bench_relays_every_request_to_connected_homes(
    tmp_path: Path, socket_enabled: None
) -> None:
    result = await run(20, 50, 5, tmp_path, serial_requests=10, settle=0.2, say=False)

    assert result.connected == 20, "the bridge's /metrics counts every home connected"
    for batch, asked in ((result.relay, 50), (result.serial, 10)):
        assert len(batch.latencies_ms) == asked
        assert batch.statuses == {200: asked}, "the guest-page limiter never refuses a 200 answer"
        assert batch.pages_with_answer == asked, "each page is built from the home's answer"
    assert result.answered_by_homes == 60, "each request reached a home over its websocket"
    assert result.relayed_per_metrics == 60, "the bridge counts the same guest pages"
    assert result.rss_connected_kib > 0
    assert result.kib_per_home > 0
    assert result.bridge_nofile >= 20 + 200
    assert result.bridge_exit == 0, "the bridge shuts down cleanly on SIGTERM"
    assert check(result) == []
    assert len(table([result])) == 19


async def test_relay_bench_refuses_an_empty_run(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="at least 1"):
        await run(0, 50, 5, tmp_path, say=False)
