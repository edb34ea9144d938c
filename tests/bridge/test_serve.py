"""The bridge's console script really serves, as a separate process on loopback."""

from __future__ import annotations

import aiohttp
import pytest

from bridge import __version__
from bridge.cli import main
from tests.bridge.prometheus_text import parse_exposition


async def test_healthz_answers_over_loopback(bridge_url: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{bridge_url}/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "version": __version__}


async def test_metrics_count_requests_by_route_and_status(bridge_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/healthz", "/healthz", "/no-such-page"):
            async with session.get(f"{bridge_url}{path}"):
                pass
        async with session.get(f"{bridge_url}/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            families = parse_exposition(await resp.text())

    assert families["keyholder_bridge_requests_total"].kind == "counter"
    requests = families["keyholder_bridge_requests_total"].samples
    assert requests[(("route", "/healthz"), ("status", "200"))] == 2
    assert requests[(("route", "unmatched"), ("status", "404"))] == 1
    assert not any("/no-such-page" in str(labels) for labels in requests), "raw paths never leak"
    assert families["keyholder_bridge_homes_enrolled"].samples == {(): 0}
    assert families["keyholder_bridge_carriers_registered"].samples == {(): 0}


def test_bad_port_in_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEYHOLDER_BRIDGE_PORT", "eighty")
    assert main(["serve"]) == 2
    assert "KEYHOLDER_BRIDGE_PORT must be a whole number" in capsys.readouterr().err


def test_unsupported_database_url_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--database-url", "mysql://root@localhost/bridge"]) == 2
    assert "database URL must start with sqlite+aiosqlite://" in capsys.readouterr().err
