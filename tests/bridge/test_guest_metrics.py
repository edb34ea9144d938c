"""The bridge's /metrics counts the guest routes by pattern: no home id, guessed or real, leaks."""

from __future__ import annotations

import aiohttp

from tests.bridge.prometheus_text import parse_exposition

GUESSED = "guessed-home-7f3a"


async def test_guest_calls_are_counted_by_route_pattern_never_by_path(bridge_url: str) -> None:
    sealed = {"challenge": "c", "public_key": "k", "iv": "i", "ciphertext": "x"}
    async with aiohttp.ClientSession() as session:
        for path in (f"/g/{GUESSED}", "/static/guest.js", "/static/guest.css"):
            async with session.get(f"{bridge_url}{path}") as resp:
                assert resp.status == 200
        async with session.post(f"{bridge_url}/g/{GUESSED}/challenge", json={}) as resp:
            assert resp.status == 404  # no such home
        async with session.post(f"{bridge_url}/g/{GUESSED}/request", json=sealed) as resp:
            assert resp.status == 404
        async with session.post(f"{bridge_url}/g/{GUESSED}/request", json={"x": 1}) as resp:
            assert resp.status == 400  # not a sealed request
        async with session.get(f"{bridge_url}/metrics") as resp:
            families = parse_exposition(await resp.text())

    requests = families["keyholder_bridge_requests_total"].samples
    counted = {labels: n for labels, n in requests.items() if dict(labels)["route"] != "/metrics"}
    assert counted == {
        (("route", "/g/{home_id}"), ("status", "200")): 1,
        (("route", "/static/guest.js"), ("status", "200")): 1,
        (("route", "/static/guest.css"), ("status", "200")): 1,
        (("route", "/g/{home_id}/challenge"), ("status", "404")): 1,
        (("route", "/g/{home_id}/request"), ("status", "404")): 1,
        (("route", "/g/{home_id}/request"), ("status", "400")): 1,
    }
    assert not any(GUESSED in str(labels) for labels in requests), "home ids never leak"
