"""Guest links end to end: a phone's sealed requests through the real bridge, decided at home.

The bridge is ``keyholder-bridge`` as its own process on loopback (SQLite and
PostgreSQL); Home Assistant runs Keyholder with the house's template lock, linked
to the bridge through the options flow. The guest is ``simulators.guest.Guest``,
which does what the page's script does (``test_guest_page_in_chromium.py`` runs the
script itself in a real browser): the link's secret stays in the fragment, and every
request is sealed for the home under a challenge the home issued.
"""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from sqlalchemy import select

from bridge.db.engine import create_engine
from bridge.db.tables import Base
from simulators.guest import Guest, GuestLink, GuestRefusedError

from ..bridge.process import BridgeProcess
from .bridge_fixtures import until
from .conftest import FRONT, Actions


def _lock(hass: HomeAssistant) -> str:
    state = hass.states.get("lock.front")
    assert state is not None
    return state.state


async def _refused(call: Any) -> tuple[int, str]:
    with pytest.raises(GuestRefusedError) as refused:
        await call
    return refused.value.status, refused.value.code


async def test_a_guest_link_opens_inside_its_window_and_not_outside_or_after_revoke(
    hass: HomeAssistant, linked_house: MockConfigEntry, actions: Actions
) -> None:
    later = await actions.grant_link("Plumber", timedelta(hours=2), timedelta(hours=3))
    now = await actions.grant_link("Cleaner")
    page, _, fragment = now["link_url"].partition("#")
    assert (
        page == f"{linked_house.options['bridge_url']}/g/{linked_house.options['bridge_home_id']}"
    )
    assert fragment.startswith(f"1.{now['grant_id']}.")

    async with aiohttp.ClientSession() as http:
        # The page itself is the same for every link, and carries nothing of it.
        async with http.get(page) as resp:
            assert resp.status == 200
            html = await resp.text()
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert "Cleaner" not in html
        guest = Guest(http, now["link_url"])
        info = await guest.describe()
        assert info["guest"] == "Cleaner"
        assert info["doors"] == [{"id": actions.door_id(FRONT), "name": FRONT}]
        assert any("Europe/Berlin" in line for line in info["window"])

        # Outside the window: refused, with the reason; the door stays shut.
        assert await Guest(http, later["link_url"]).open(actions.door_id(FRONT)) == {
            "allowed": False,
            "reason": "not_yet_valid",
        }
        await hass.async_block_till_done()
        assert _lock(hass) == "locked"

        # Inside it: open.
        assert (await guest.open(actions.door_id(FRONT)))["allowed"] is True
        await until(lambda: _lock(hass) == "unlocked", "the lock to open")

        # Revoked: refused at once.
        await actions.call("revoke_grant", {"grant_id": now["grant_id"]}, response=False)
        await hass.services.async_call("lock", "lock", {"entity_id": "lock.front"}, blocking=True)
        assert (await guest.open(actions.door_id(FRONT)))["reason"] == "revoked"
        assert _lock(hass) == "locked"

    records = actions.home.audit.records
    assert [r["data"]["reason"] for r in records if r["kind"] == "door_refused"] == [
        "not_yet_valid",
        "revoked",
    ]


async def test_a_sealed_request_is_answered_once_and_a_spent_challenge_opens_nothing(
    hass: HomeAssistant, linked_house: MockConfigEntry, actions: Actions
) -> None:
    grant = await actions.grant_link("Cleaner")
    async with aiohttp.ClientSession() as http:
        guest = Guest(http, grant["link_url"])
        challenge = await guest.challenge()
        sealed = guest.seal(challenge, {"op": "open", "door_id": actions.door_id(FRONT)})
        assert (await guest.send(sealed))["allowed"] is True
        await until(lambda: _lock(hass) == "unlocked", "the lock to open")
        await hass.services.async_call("lock", "lock", {"entity_id": "lock.front"}, blocking=True)
        # The same bytes again, and a new request under the spent challenge.
        assert await _refused(guest.send(sealed)) == (400, "replayed")
        again = guest.seal(challenge, {"op": "open", "door_id": actions.door_id(FRONT)})
        assert await _refused(guest.send(again)) == (400, "replayed")
    await hass.async_block_till_done()
    assert _lock(hass) == "locked"
    refusals = [
        r["data"]["refusal"] for r in actions.home.audit.records
        if r["kind"] == "guest_request_refused"
    ]  # fmt: skip
    assert refusals == ["replayed", "replayed"]


async def test_guessed_links_are_refused_and_the_guesser_is_locked_out(
    hass: HomeAssistant, linked_house: MockConfigEntry, actions: Actions, bridge: BridgeProcess
) -> None:
    real = await actions.grant_link("Cleaner")
    page, _, fragment = real["link_url"].partition("#")
    version, grant_id, secret, key = fragment.split(".")
    wrong_secret = secret[:-2] + ("AA" if not secret.endswith("AA") else "AQ")
    async with aiohttp.ClientSession() as http:
        guesses = [
            Guest(http, f"{page}#1.{grant_id}.{wrong_secret}.{key}").describe(),
            Guest(http, f"{page}#1.{'0' * 16}.{secret}.{key}").describe(),  # another grant
            Guest(http, f"{page}#1.{grant_id}.{wrong_secret}.{key}").open(actions.door_id(FRONT)),
            Guest(http, f"{bridge.url}/g/home-unknown#{fragment}").describe(),
        ]
        for guess in guesses:
            assert await _refused(guess) == (404, "unknown_link")
        # A fifth failure (a made-up envelope), then locked out, even for the real link.
        async with http.post(f"{page}/request", json={"challenge": "x"}) as resp:
            assert resp.status == 400
        assert await _refused(Guest(http, real["link_url"]).describe()) == (429, "rate_limited")
    assert _lock(hass) == "locked"
    assert version == "1"


async def test_what_the_bridge_keeps_of_a_guest_session_opens_nothing(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    database_url: str,
) -> None:
    """Its database and its logs, after a whole session, hold no part of the link."""
    grant = await actions.grant_link("Cleaner")
    link = GuestLink.parse(grant["link_url"])
    async with aiohttp.ClientSession() as http:
        guest = Guest(http, grant["link_url"])
        assert (await guest.describe())["guest"] == "Cleaner"
        assert (await guest.open(actions.door_id(FRONT)))["allowed"] is True
    await until(lambda: _lock(hass) == "unlocked", "the lock to open")
    assert await bridge.stop() == 0

    engine = create_engine(database_url)
    async with engine.connect() as connection:
        rows = [
            [str(value) for value in row]
            for table in Base.metadata.sorted_tables
            for row in (await connection.execute(select(table))).all()
        ]
    await engine.dispose()
    kept = json.dumps(rows) + bridge.output.decode(errors="replace")
    assert linked_house.options["bridge_home_id"] in kept  # the dump is the real one
    for secret in (link.secret, link.grant_id, grant["token"], "Cleaner"):
        assert secret not in kept
