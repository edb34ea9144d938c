"""Guest links end to end: a phone's requests to the real bridge, decided by the real home.

The bridge is ``keyholder-bridge`` as its own process on loopback (SQLite and
PostgreSQL); Home Assistant runs Keyholder with the house's template lock, linked
to the bridge through the options flow. The guest is plain HTTP, as a phone
without script would do it (``test_guest_page_in_chromium.py`` taps the button
in a real browser).
"""

from __future__ import annotations

from datetime import timedelta
import re
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge.db.repository import Registry

from ..bridge.process import BridgeProcess
from .bridge_fixtures import link_home, link_state, until
from .conftest import FRONT, Actions

DOOR_BUTTON = re.compile(r'<form method="post" action="([^"]+)"><button type="submit" '
                         r'name="door_id" value="([^"]+)">Open ([^<]+)</button>')  # fmt: skip
RESULT = re.compile(r'<p class="result" data-code="([^"]*)">([^<]*)</p>')


@pytest.fixture
async def linked_house(
    hass: HomeAssistant, house: MockConfigEntry, bridge: BridgeProcess, bridge_registry: Registry
) -> MockConfigEntry:
    code = (await bridge_registry.issue_enrolment_code()).code
    await link_home(hass, house, bridge.url, code)
    await until(lambda: link_state(hass, house) == "on", "the link")
    return house


def _when(delta: timedelta) -> str:
    return (dt_util.now() + delta).strftime("%Y-%m-%d %H:%M")


async def _link_grant(
    actions: Actions, name: str, starts: timedelta, ends: timedelta
) -> dict[str, Any]:
    return dict(
        await actions.call(
            "create_grant",
            {
                "kind": "link",
                "name": name,
                "doors": [FRONT],
                "starts": _when(starts),
                "ends": _when(ends),
            },
        )
    )


async def _page(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as resp:
        return resp.status, await resp.text()


async def _open(http: aiohttp.ClientSession, link_url: str) -> tuple[int, str, str]:
    """Load the page, tap Open: the status, the result's code and its text."""
    status, html = await _page(http, link_url)
    assert status == 200, html
    action, door_id, door_name = DOOR_BUTTON.search(html).groups()  # type: ignore[union-attr]
    assert door_name == FRONT
    origin = link_url.split("/g/", maxsplit=1)[0]
    async with http.post(origin + action, data={"door_id": door_id}) as resp:
        code, text = RESULT.search(await resp.text()).groups()  # type: ignore[union-attr]
        return resp.status, code, text


def _lock(hass: HomeAssistant) -> str:
    state = hass.states.get("lock.front")
    assert state is not None
    return state.state


async def test_a_guest_link_opens_inside_its_window_and_not_outside_or_after_revoke(
    hass: HomeAssistant, linked_house: MockConfigEntry, actions: Actions
) -> None:
    later = await _link_grant(actions, "Plumber", timedelta(hours=2), timedelta(hours=3))
    now = await _link_grant(actions, "Cleaner", timedelta(hours=-1), timedelta(hours=1))
    assert now["link_url"].startswith(linked_house.options["bridge_url"] + "/g/")

    async with aiohttp.ClientSession() as http:
        status, html = await _page(http, now["link_url"])
        assert status == 200
        assert "Cleaner" in html
        assert FRONT in html
        assert "Europe/Berlin" in html

        # Outside the window: refused, with the reason on the page; the door stays shut.
        assert await _open(http, later["link_url"]) == (
            403, "not_yet_valid", "This link is not valid yet."
        )  # fmt: skip
        await hass.async_block_till_done()
        assert _lock(hass) == "locked"

        # Inside it: open.
        status, code, _ = await _open(http, now["link_url"])
        assert (status, code) == (200, "allowed")
        await until(lambda: _lock(hass) == "unlocked", "the lock to open")

        # Revoked: refused at once.
        await actions.call("revoke_grant", {"grant_id": now["grant_id"]}, response=False)
        await hass.services.async_call("lock", "lock", {"entity_id": "lock.front"}, blocking=True)
        status, code, text = await _open(http, now["link_url"])
        assert (status, code, text) == (403, "revoked", "This link has been withdrawn.")
        assert _lock(hass) == "locked"

    records = actions.home.audit.records
    assert [r["data"]["reason"] for r in records if r["kind"] == "door_refused"] == [
        "not_yet_valid",
        "revoked",
    ]


async def test_guessed_links_are_refused_and_the_guesser_is_locked_out(
    hass: HomeAssistant, linked_house: MockConfigEntry, actions: Actions, bridge: BridgeProcess
) -> None:
    real = await _link_grant(actions, "Cleaner", timedelta(hours=-1), timedelta(hours=1))
    home_id = linked_house.options["bridge_home_id"]
    token = real["link_url"].split("/g/", 1)[1].split(".", 1)[1]
    unsigned = token.rsplit(".", 1)[0]
    guesses = [
        f"{bridge.url}/g/{home_id}.not-a-token",
        f"{bridge.url}/g/home-unknown.{token}",  # a real token, but for another home
        f"{bridge.url}/g/{home_id}.{unsigned}.AAAA",  # a forged signature
        f"{bridge.url}/g/nodot",
        f"{bridge.url}/g/{home_id}.x.y.z",
    ]
    async with aiohttp.ClientSession() as http:
        for url in guesses:
            status, html = await _page(http, url)
            assert status == 404, url
            assert 'data-code="unknown_link"' in html, url
            assert 'data-code="unknown_link"' in html
        # Locked out now, even for the real link.
        status, html = await _page(http, real["link_url"])
        assert status == 429
        assert 'data-code="rate_limited"' in html
    assert _lock(hass) == "locked"
