"""A rogue bridge cannot open a door: the home checks every relayed request itself.

The rogue is a test double that speaks the home protocol (it accepts the home's
sign-in and relays whatever it likes). It is honest when the homeowner approves the
carrier, then turns: it forges carrier requests with its own key, replays a
genuine one, edits one, sends a stale one and a made-up guest token. Only the one
genuine, fresh request opens the door.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import CONF_HOME_NAME, DOMAIN
from simulators.carrier import Carrier

from .bridge_fixtures import until
from .conftest import CAR, FRONT, GARAGE, Actions, door_subentry

ROGUE_HOME_ID = "home-rogue"


class RogueBridge:
    """Speaks the home protocol; relays what the test tells it to."""

    def __init__(self, carrier: Carrier) -> None:
        self.carrier = carrier
        self.directory_name = "Acme"  # what its directory calls the carrier
        self.socket: web.WebSocketResponse | None = None
        self.answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        app = web.Application()
        app.router.add_get("/api/v1/homes/link", self._link)
        app.router.add_get("/api/v1/carriers", self._directory)
        self.server = TestServer(app, host="127.0.0.1")

    async def _directory(self, request: web.Request) -> web.Response:
        entry = {
            "id": self.carrier.carrier_id,
            "name": self.directory_name,
            "public_key": self.carrier.public_key,
        }
        return web.json_response({"carriers": [entry]})

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        nonce = secrets.token_urlsafe(32)
        await socket.send_str(json.dumps({"v": 1, "type": "challenge", "nonce": nonce}))
        await socket.receive()  # any hello will do: the rogue does not care who it is
        await socket.send_str(json.dumps({"v": 1, "type": "welcome", "heartbeat": 20}))
        self.socket = socket
        async for frame in socket:
            if frame.type is WSMsgType.TEXT:
                message = json.loads(frame.data)
                if message.get("type") == "response":
                    self.answers[message["id"]].set_result(message)
        return socket

    async def relay(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert self.socket is not None
        ident = secrets.token_hex(8)
        self.answers[ident] = asyncio.get_running_loop().create_future()
        request = {"v": 1, "type": "request", "id": ident, "kind": kind, "body": body}
        await self.socket.send_str(json.dumps(request))
        answer = await asyncio.wait_for(self.answers[ident], 10)
        return answer["status"], answer["body"]


@pytest.fixture
def expected_lingering_timers() -> bool:
    return True  # aiohttp's websocket heartbeat, as in the bridge's own tests


@pytest.fixture
def carrier() -> Carrier:
    return Carrier(carrier_id="carrier-acme")


@pytest.fixture
async def rogue(carrier: Carrier, socket_enabled: None) -> AsyncIterator[RogueBridge]:
    bridge = RogueBridge(carrier)
    await bridge.server.start_server()
    yield bridge
    if bridge.socket is not None:  # or closing the server waits out the home's link
        await bridge.socket.close()
    await bridge.server.close()


@pytest.fixture
def house_entry(rogue: RogueBridge) -> MockConfigEntry:
    """The house, linked to the rogue as if it were a bridge the homeowner enrolled with."""
    url = str(rogue.server.make_url("")).rstrip("/")
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_HOME_NAME: "Home"},
        options={"bridge_url": url, "bridge_home_id": ROGUE_HOME_ID},
        unique_id=DOMAIN,
        subentries_data=[
            door_subentry(FRONT, opener="lock.front"),
            door_subentry(GARAGE, kind="garage", opener="cover.garage"),
            door_subentry(CAR, kind="car", opener="lock.car", car_tracker="device_tracker.car"),
        ],
    )


def _signed(carrier: Carrier, path: str, **kwargs: Any) -> dict[str, Any]:
    """A carrier.open body as an honest bridge would relay it."""
    body, headers = carrier.sign(path, {"reference": "PKG-7"}, **kwargs)
    return {
        "carrier_id": carrier.carrier_id,
        "method": "POST",
        "path": path,
        "body": body.decode(),
        "timestamp": int(headers["Keyholder-Timestamp"]),
        "nonce": headers["Keyholder-Nonce"],
        "signature": headers["Keyholder-Signature"],
    }


async def test_a_rogue_bridge_cannot_forge_or_replay_its_way_in(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    rogue: RogueBridge,
    carrier: Carrier,
) -> None:
    await until(lambda: rogue.socket is not None, "the home to sign in at the rogue")
    approved = await actions.call(
        "approve_carrier", {"carrier_id": carrier.carrier_id, "public_key": carrier.public_key}
    )
    assert approved["name"] == "Acme"
    now = dt_util.now()
    # Standing permission (no announcement needed): this test is about signatures.
    await actions.grant_carrier_now(
        carrier.carrier_id, name="Acme deliveries", announced_only=False
    )
    front, garage = actions.door_id(FRONT), actions.door_id(GARAGE)
    path = f"/api/v1/carrier/homes/{ROGUE_HOME_ID}/doors/{front}/open"

    def locked() -> bool:
        state = hass.states.get("lock.front")
        return state is not None and state.state == "locked"

    genuine = _signed(carrier, path)
    forged = _signed(Carrier(carrier_id=carrier.carrier_id), path)  # the rogue's own key
    edited = dict(genuine, path=path.replace(front, garage))  # another door, same signature
    other_home = _signed(carrier, path.replace(ROGUE_HOME_ID, "home-elsewhere"))
    stale = _signed(carrier, path, timestamp=int(time.time()) - 600)
    ahead = _signed(carrier, path, timestamp=int(time.time()) + 600)

    for body, reason in [
        (forged, "bad_signature"),
        (edited, "bad_signature"),
        (other_home, "bad_signature"),
        (stale, "request_expired"),
        (ahead, "request_expiry_too_far"),
    ]:
        status, answer = await rogue.relay("carrier.open", body)
        assert (status, answer["error"]["code"]) == (403, reason)
        await hass.async_block_till_done()
        assert locked()

    # The one genuine, fresh request opens; the same request again does not.
    assert await rogue.relay("carrier.open", genuine) == (
        200, {"allowed": True, "reason": "allowed"},
    )  # fmt: skip
    await until(lambda: not locked(), "the genuine request to open")
    await hass.services.async_call("lock", "lock", {"entity_id": "lock.front"}, blocking=True)
    status, answer = await rogue.relay("carrier.open", genuine)
    assert (status, answer["error"]["code"]) == (403, "replayed")
    await hass.async_block_till_done()
    assert locked()

    # The old plain-token guest request and a made-up request kind change nothing either.
    fake = {"token": "a.b.c", "door_id": front, "nonce": "n" * 24, "expires_at": now.isoformat()}
    assert (await rogue.relay("guest_link.open", fake))[0] == 400
    assert (await rogue.relay("unlock_everything", {}))[0] == 400
    assert locked()

    refused = [
        r["data"]["reason"] for r in actions.home.audit.records if r["kind"] == "door_refused"
    ]
    assert refused == [
        "bad_signature", "bad_signature", "bad_signature", "request_expired",
        "request_expiry_too_far", "replayed",
    ]  # fmt: skip


async def test_a_carrier_the_bridge_lists_under_a_disguised_name_is_not_approved(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, rogue: RogueBridge
) -> None:
    """A name with a direction override would read as another carrier: "Acme Parcel"."""
    rogue.directory_name = "Acme \u202elecraP"
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("approve_carrier", {"carrier_id": rogue.carrier.carrier_id})
    assert err.value.translation_key == "carrier_name_refused"
    assert err.value.translation_placeholders == {"character": "U+202E"}
    assert actions.home.carriers.get(rogue.carrier.carrier_id) is None
