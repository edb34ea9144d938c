"""Deliveries end to end: announce, the home's answer, open, the status stream to "locked".

The bridge is ``keyholder-bridge`` as its own process (SQLite and PostgreSQL) and is
restarted in the middle of a delivery; the home is Keyholder in a real Home
Assistant, whose template lock and door contact play the front door.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
from typing import Any

import aiohttp
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from bridge.db.repository import Registry
from simulators.carrier import Carrier

from ..bridge.process import BridgeProcess
from .bridge_fixtures import link_state, registered_carrier, until
from .conftest import FRONT, Actions, set_switch


class CarrierClient:
    """A carrier's calls to the bridge, each signed."""

    def __init__(self, http: aiohttp.ClientSession, bridge: BridgeProcess, carrier: Carrier):
        self.http, self.bridge, self.carrier = http, bridge, carrier

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        raw, headers = self.carrier.sign(path, body, method=method)  # a GET signs "{}"
        async with self.http.request(
            method, self.bridge.url + path, data=raw, headers=headers
        ) as resp:
            return resp.status, await resp.json()

    async def announce(
        self, home_id: str, reference: str, *, starts: timedelta = timedelta(0)
    ) -> dict[str, Any]:
        """Announce a delivery expected from ``starts`` on, for half an hour; the answer."""
        _, delivery = await self.call(
            "POST",
            f"/api/v1/carrier/homes/{home_id}/deliveries",
            {"reference": reference, "window_start": _when(starts),
             "window_end": _when(starts + timedelta(minutes=30))},
        )  # fmt: skip
        return delivery

    async def statuses(self, delivery_id: str, following: asyncio.Event | None = None) -> list[str]:
        """Follow the status stream to its end; the statuses it carried.

        ``following`` is set once the stream has sent the delivery as it stands, so a
        test can wait for it before it moves the door.
        """
        path = f"/api/v1/carrier/deliveries/{delivery_id}/events"
        raw, headers = self.carrier.sign(path, None, method="GET")
        seen: list[str] = []
        async with self.http.get(self.bridge.url + path, data=raw, headers=headers) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/event-stream"
            async for line in resp.content:
                if line.startswith(b"data: "):
                    seen.append(json.loads(line[6:])["status"])
                    if following is not None:
                        following.set()
        return seen


async def _approved_carrier_with_a_grant(
    actions: Actions, registry: Registry, *, announced_only: bool = True
) -> Carrier:
    """Acme, registered at the bridge, approved at home, with a grant for the front door now."""
    carrier = await registered_carrier(registry, "Acme Parcel")
    await actions.call("approve_carrier", {"carrier_id": carrier.carrier_id})
    await actions.grant_carrier_now(
        carrier.carrier_id,
        name="Acme deliveries",
        ends_in=timedelta(hours=2),
        announced_only=announced_only,
    )
    return carrier


def _refusals(actions: Actions) -> list[tuple[str | None, str | None]]:
    """The reason and delivery of every refused opening in the audit log, in order."""
    return [
        (r["data"].get("reason"), r["data"].get("delivery_id"))
        for r in actions.home.audit.records
        if r["kind"] == "door_refused"
    ]


def _when(delta: timedelta) -> str:
    return (dt_util.now() + delta).isoformat()


async def test_a_delivery_is_announced_opened_and_followed_until_locked_across_a_restart(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
) -> None:
    announced: list[dict[str, Any]] = []

    @callback
    def _on_event(event: Event) -> None:
        if event.data.get("type") == "delivery_announced":
            announced.append(dict(event.data))

    hass.bus.async_listen("keyholder_event", _on_event)
    carrier = await _approved_carrier_with_a_grant(actions, bridge_registry)
    home_id = linked_house.options["bridge_home_id"]
    front = actions.door_id(FRONT)
    announce = f"/api/v1/carrier/homes/{home_id}/deliveries"
    open_path = f"/api/v1/carrier/homes/{home_id}/doors/{front}/open"

    async with aiohttp.ClientSession() as http:
        acme = CarrierClient(http, bridge, carrier)
        status, later = await acme.call(
            "POST",
            announce,
            {"reference": "PKG-9", "window_start": _when(timedelta(days=2)),
             "window_end": _when(timedelta(days=2, hours=1))},
        )  # fmt: skip
        assert (status, later["status"], later["reason"]) == (201, "declined", "outside_window")
        status, delivery = await acme.call(
            "POST",
            announce,
            {"reference": "PKG-1", "window_start": _when(timedelta(0)),
             "window_end": _when(timedelta(minutes=30))},
        )  # fmt: skip
        assert (status, delivery["status"]) == (201, "accepted")
        await hass.async_block_till_done()
        assert [(e["reference"], e["accepted"]) for e in announced] == [
            ("PKG-9", False),
            ("PKG-1", True),
        ]

        # The declined one opens nothing, whatever the carrier sends.
        status, answer = await acme.call("POST", open_path, {"delivery_id": later["id"]})
        assert (status, answer["error"]["code"]) == (403, "unknown_delivery")
        status, answer = await acme.call("POST", open_path, {"delivery_id": delivery["id"]})
        assert (status, answer) == (200, {"allowed": True, "reason": "allowed"})
        await until(lambda: hass.states.get("lock.front").state == "unlocked", "the lock")  # type: ignore[union-attr]

        # The bridge restarts mid-delivery: the home is back and the delivery is intact.
        assert await bridge.stop() == 0
        await until(lambda: link_state(hass, linked_house) == "off", "the link to drop")
        await bridge.start()
        await until(lambda: link_state(hass, linked_house) == "on", "the link", seconds=30)
        status, stored = await acme.call("GET", f"/api/v1/carrier/deliveries/{delivery['id']}")
        assert (status, stored["status"]) == (200, "opened")

        # The courier opens the door, puts the parcel in, closes it; the home relocks.
        streaming = asyncio.Event()
        following = asyncio.create_task(acme.statuses(delivery["id"], streaming))
        await asyncio.wait_for(streaming.wait(), 10)  # the stream is up before the door moves
        await set_switch(hass, "input_boolean.front_open", True)
        await set_switch(hass, "input_boolean.front_open", False)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
        await until(lambda: hass.states.get("lock.front").state == "locked", "the relock")  # type: ignore[union-attr]
        assert await asyncio.wait_for(following, 20) == ["opened", "locked"]
        status, stored = await acme.call("GET", f"/api/v1/carrier/deliveries/{delivery['id']}")
        assert (status, stored["status"]) == (200, "locked")

        # Another carrier cannot read it.
        stranger = await registered_carrier(bridge_registry, "Other")
        status, answer = await CarrierClient(http, bridge, stranger).call(
            "GET", f"/api/v1/carrier/deliveries/{delivery['id']}"
        )
        assert (status, answer["error"]["code"]) == (404, "unknown_delivery")


async def test_the_homeowner_declines_an_accepted_delivery_and_the_carrier_is_told(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
) -> None:
    carrier = await _approved_carrier_with_a_grant(actions, bridge_registry)
    home_id = linked_house.options["bridge_home_id"]
    front = actions.door_id(FRONT)
    async with aiohttp.ClientSession() as http:
        acme = CarrierClient(http, bridge, carrier)
        delivery = await acme.announce(home_id, "PKG-2")
        assert delivery["status"] == "accepted"
        await actions.call("decline_delivery", {"delivery_id": delivery["id"]}, response=False)
        assert await acme.statuses(delivery["id"]) == ["declined"]
        status, answer = await acme.call(
            "POST",
            f"/api/v1/carrier/homes/{home_id}/doors/{front}/open",
            {"delivery_id": delivery["id"]},
        )
        assert (status, answer["error"]["code"]) == (403, "delivery_declined")
    assert hass.states.get("lock.front").state == "locked"  # type: ignore[union-attr]
    assert _refusals(actions) == [("delivery_declined", delivery["id"])]
    with pytest.raises(ServiceValidationError):
        await actions.call("decline_delivery", {"delivery_id": "delivery-nope"}, response=False)


async def test_an_accepted_delivery_survives_a_restart_of_keyholder(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
) -> None:
    """Home Assistant restarts between the announcement and the carrier at the door."""
    carrier = await _approved_carrier_with_a_grant(actions, bridge_registry)
    home_id = linked_house.options["bridge_home_id"]
    front = actions.door_id(FRONT)
    async with aiohttp.ClientSession() as http:
        acme = CarrierClient(http, bridge, carrier)
        accepted = await acme.announce(home_id, "PKG-3")
        declined = await acme.announce(home_id, "PKG-4")
        await actions.call("decline_delivery", {"delivery_id": declined["id"]}, response=False)

        assert await hass.config_entries.async_reload(linked_house.entry_id)
        await hass.async_block_till_done()
        await until(lambda: link_state(hass, linked_house) == "on", "the link after the restart")

        open_path = f"/api/v1/carrier/homes/{home_id}/doors/{front}/open"
        status, answer = await acme.call("POST", open_path, {"delivery_id": declined["id"]})
        assert (status, answer["error"]["code"]) == (403, "delivery_declined")
        status, answer = await acme.call("POST", open_path, {"delivery_id": accepted["id"]})
        assert (status, answer) == (200, {"allowed": True, "reason": "allowed"})
        await until(lambda: hass.states.get("lock.front").state == "unlocked", "the lock")  # type: ignore[union-attr]


@pytest.mark.parametrize("announced_only", [True, False], ids=["policy_on", "policy_off"])
async def test_a_declined_delivery_keeps_the_carrier_out_even_when_it_names_no_delivery(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
    announced_only: bool,
) -> None:
    """The attack found: decline, then a signed open that names no delivery at all.

    Declined means declined whatever the policy: while the declined delivery's window
    is open, the carrier opens nothing at that home without another accepted delivery.
    """
    carrier = await _approved_carrier_with_a_grant(
        actions, bridge_registry, announced_only=announced_only
    )
    home_id = linked_house.options["bridge_home_id"]
    open_path = f"/api/v1/carrier/homes/{home_id}/doors/{actions.door_id(FRONT)}/open"
    async with aiohttp.ClientSession() as http:
        acme = CarrierClient(http, bridge, carrier)
        delivery = await acme.announce(home_id, "PKG-5")
        assert delivery["status"] == "accepted"
        await actions.call("decline_delivery", {"delivery_id": delivery["id"]}, response=False)
        for body in ({}, {"reference": "PKG-anything"}):
            status, answer = await acme.call("POST", open_path, body)
            assert (status, answer["error"]["code"]) == (403, "delivery_declined")
    await hass.async_block_till_done()
    assert hass.states.get("lock.front").state == "locked"  # type: ignore[union-attr]
    assert _refusals(actions) == [("delivery_declined", None)] * 2
    assert not [r for r in actions.home.audit.records if r["kind"] == "door_granted"]


async def test_a_carrier_opens_only_for_an_announced_delivery_inside_its_window(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
) -> None:
    """With the policy on (a carrier grant's default), no announcement: no opening."""
    carrier = await _approved_carrier_with_a_grant(actions, bridge_registry)
    (grant,) = actions.home.grants.values()
    assert grant.announced_only
    home_id = linked_house.options["bridge_home_id"]
    open_path = f"/api/v1/carrier/homes/{home_id}/doors/{actions.door_id(FRONT)}/open"
    async with aiohttp.ClientSession() as http:
        acme = CarrierClient(http, bridge, carrier)
        status, answer = await acme.call("POST", open_path, {})
        assert (status, answer["error"]["code"]) == (403, "no_accepted_delivery")

        later = await acme.announce(home_id, "PKG-later", starts=timedelta(minutes=40))
        assert later["status"] == "accepted"  # the grant covers it; its window is not now
        status, answer = await acme.call("POST", open_path, {"delivery_id": later["id"]})
        assert (status, answer["error"]["code"]) == (403, "outside_delivery_window")
        status, answer = await acme.call("POST", open_path, {})
        assert (status, answer["error"]["code"]) == (403, "no_accepted_delivery")
        await hass.async_block_till_done()
        assert hass.states.get("lock.front").state == "locked"  # type: ignore[union-attr]

        now = await acme.announce(home_id, "PKG-now")
        status, answer = await acme.call("POST", open_path, {})  # names none: PKG-now covers
        assert (status, answer) == (200, {"allowed": True, "reason": "allowed"})
        await until(lambda: hass.states.get("lock.front").state == "unlocked", "the lock")  # type: ignore[union-attr]
    # The home knows which delivery it opened for, so the end of the visit is reported.
    assert actions.home.deliveries.get(now["id"]).door_id == actions.door_id(FRONT)
    assert _refusals(actions) == [
        ("no_accepted_delivery", None),
        ("outside_delivery_window", later["id"]),
        ("no_accepted_delivery", None),
    ]
    (granted,) = [r for r in actions.home.audit.records if r["kind"] == "door_granted"]
    assert granted["data"]["delivery_id"] == now["id"]


async def test_with_the_policy_off_an_unannounced_carrier_opens_as_before(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
) -> None:
    carrier = await _approved_carrier_with_a_grant(actions, bridge_registry, announced_only=False)
    home_id = linked_house.options["bridge_home_id"]
    open_path = f"/api/v1/carrier/homes/{home_id}/doors/{actions.door_id(FRONT)}/open"
    listed = await actions.call("list_grants", {})
    assert [g["announced_only"] for g in listed["grants"]] == [False]
    async with aiohttp.ClientSession() as http:
        status, answer = await CarrierClient(http, bridge, carrier).call("POST", open_path, {})
    assert (status, answer) == (200, {"allowed": True, "reason": "allowed"})
    await until(lambda: hass.states.get("lock.front").state == "unlocked", "the lock")  # type: ignore[union-attr]
