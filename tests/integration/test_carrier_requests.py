"""Carriers end to end: approved in Home Assistant, signed at the carrier, checked twice.

The bridge is ``keyholder-bridge`` as its own process (SQLite and PostgreSQL); the
home is Keyholder in a real Home Assistant, linked over the real websocket.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge.db.repository import Registry
from simulators.carrier import Carrier

from ..bridge.process import BridgeProcess
from .bridge_fixtures import registered_carrier, until
from .conftest import FRONT, Actions


async def _post(
    http: aiohttp.ClientSession, url: str, signed: tuple[bytes, dict[str, str]]
) -> tuple[int, dict[str, Any]]:
    body, headers = signed
    async with http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


def _locked(hass: HomeAssistant) -> bool:
    state = hass.states.get("lock.front")
    return state is not None and state.state == "locked"


async def test_an_approved_carrier_opens_with_a_signed_request_and_nothing_else_does(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
) -> None:
    acme = await registered_carrier(bridge_registry, "Acme Parcel")
    stranger = await registered_carrier(bridge_registry, "Not Approved Ltd")
    approved = await actions.call(
        "approve_carrier", {"carrier_id": acme.carrier_id, "public_key": acme.public_key}
    )
    assert approved["name"] == "Acme Parcel"
    with pytest.raises(ServiceValidationError) as mismatch:
        await actions.call(
            "approve_carrier", {"carrier_id": stranger.carrier_id, "public_key": acme.public_key}
        )
    assert mismatch.value.translation_key == "carrier_key_mismatch"

    for carrier in (acme, stranger):  # a grant alone is not enough: the key must be approved
        # Standing permission (no announcement needed): this test is about signatures.
        await actions.grant_carrier_now(carrier.carrier_id, name="Deliveries", announced_only=False)
    front = actions.door_id(FRONT)
    path = f"/api/v1/carrier/homes/{linked_house.options['bridge_home_id']}/doors/{front}/open"
    url = bridge.url + path

    async with aiohttp.ClientSession() as http:
        body, headers = acme.sign(path, {"reference": "PKG-1"})
        unsigned = {"Content-Type": "application/json"}
        forged = Carrier(carrier_id=acme.carrier_id).sign(path)
        stale = acme.sign(path, timestamp=int(time.time()) - 600)
        for signed, code in [
            ((body, unsigned), "unsigned_request"),
            (forged, "bad_signature"),
            (stale, "stale_request"),
        ]:
            status, answer = await _post(http, url, signed)
            assert (status, answer["error"]["code"]) == (401, code)
        # Signed by a carrier the bridge knows but the homeowner never approved: the
        # bridge forwards it, the home refuses it.
        status, answer = await _post(http, url, stranger.sign(path))
        assert (status, answer["error"]["code"]) == (403, "bad_signature")
        await hass.async_block_till_done()
        assert _locked(hass)

        assert await _post(http, url, (body, headers)) == (
            200,
            {"allowed": True, "reason": "allowed"},
        )
        await until(lambda: not _locked(hass), "the carrier's request to open the door")
        await hass.services.async_call("lock", "lock", {"entity_id": "lock.front"}, blocking=True)
        status, answer = await _post(http, url, (body, headers))  # replayed
        assert (status, answer["error"]["code"]) == (401, "replayed_request")
    assert _locked(hass)
    kinds = [r["kind"] for r in actions.home.audit.records]
    assert "carrier_approved" in kinds
    assert kinds.count("door_granted") == 1
