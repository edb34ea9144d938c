"""A bridge that recorded a whole guest session, every byte both ways, opens nothing with it.

The rogue (``test_rogue_bridge.RogueBridge``) relays a genuine guest's session: the
page's challenge and its sealed opening, and the home's answers. It keeps all of it,
as a bridge's logs, traffic capture or memory dump would. Then it turns: it replays
each request as it was, after the home restarted too, grafts the recorded sealed
request onto a fresh challenge, and tries the plain-token requests of old. The door
stays locked, and nothing it recorded carries the link's secret.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.guest import GuestLink, seal, unb64url

from .bridge_fixtures import until
from .conftest import FRONT, Actions
from .test_rogue_bridge import (  # noqa: F401 - the fixtures
    RogueBridge,
    carrier,
    expected_lingering_timers,
    house_entry,
    rogue,
)


class Recorder:
    """Everything the rogue relays and is answered, kept as a bridge could keep it."""

    def __init__(self, bridge: RogueBridge) -> None:
        self.bridge = bridge
        self.log: list[tuple[str, dict[str, Any], int, dict[str, Any]]] = []

    async def relay(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = await self.bridge.relay(kind, body)
        self.log.append((kind, body, status, answer))
        return status, answer

    def dump(self) -> str:
        return json.dumps(self.log)


def _locked(hass: HomeAssistant) -> bool:
    state = hass.states.get("lock.front")
    return state is not None and state.state == "locked"


async def test_a_rogue_bridge_with_a_recorded_guest_session_opens_nothing(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    rogue: RogueBridge,  # noqa: F811
) -> None:
    await until(lambda: rogue.socket is not None, "the home to sign in at the rogue")
    created = await actions.grant_link("Dog walker")
    link = GuestLink.parse(created["link_url"])
    door_id = actions.door_id(FRONT)
    recorder = Recorder(rogue)

    # The genuine session, relayed (and recorded) by the rogue.
    status, issued = await recorder.relay("guest.challenge", {})
    assert status == 200
    request = {"grant": link.grant_id, "secret": link.secret, "op": "open", "door_id": door_id}
    genuine = seal(link.home_key, unb64url(issued["challenge"]), json.dumps(request).encode())
    status, answer = await recorder.relay("guest.request", genuine.body)
    assert status == 200
    assert genuine.open(answer) == {"allowed": True, "reason": "allowed"}
    await until(lambda: not _locked(hass), "the genuine opening")
    await hass.services.async_call("lock", "lock", {"entity_id": "lock.front"}, blocking=True)

    # What the rogue holds: no secret, no grant id, no door in the clear.
    recorded = recorder.dump()
    for secret in (link.secret, link.grant_id, created["token"]):
        assert secret not in recorded
    assert "allowed" not in recorded

    # Replayed as it was: refused, the challenge is spent.
    status, refused = await rogue.relay("guest.request", genuine.body)
    assert (status, refused["error"]["code"]) == (400, "replayed")
    # The recorded request grafted onto a fresh challenge: it does not even decrypt.
    _, fresh = await rogue.relay("guest.challenge", {})
    grafted = dict(genuine.body, challenge=fresh["challenge"])
    status, refused = await rogue.relay("guest.request", grafted)
    assert (status, refused["error"]["code"]) == (400, "bad_envelope")
    # The plain-token requests of protocol 1.0 are gone.
    for kind in ("guest_link.open", "guest_link.describe"):
        body = {"token": created["token"], "door_id": door_id, "nonce": "n" * 24}
        assert (await rogue.relay(kind, body))[0] == 400

    # After Home Assistant reloads Keyholder (the home forgets which challenges it
    # spent), the recording is still worth nothing: that run's challenges are void.
    before = rogue.socket
    await hass.config_entries.async_reload(house.entry_id)
    await hass.async_block_till_done()
    await until(lambda: rogue.socket is not before, "the home to sign in again")
    status, refused = await rogue.relay("guest.request", genuine.body)
    assert (status, refused["error"]["code"]) == (400, "bad_challenge")
    await hass.async_block_till_done()
    assert _locked(hass)

    home = house.runtime_data.home
    refusals = [
        r["data"]["refusal"] for r in home.audit.records if r["kind"] == "guest_request_refused"
    ]
    assert refusals == ["replayed", "bad_envelope", "bad_challenge"]
    opened = [r for r in home.audit.records if r["kind"] == "door_granted"]
    assert len(opened) == 1
