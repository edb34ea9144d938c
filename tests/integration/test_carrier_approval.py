"""Approving a carrier in the UI: picked from the bridge's directory, with a policy.

The options flow is driven over Home Assistant's HTTP API, as the frontend drives it;
the directory comes from ``keyholder-bridge`` running as its own process. The policy
becomes the carrier's grant, and a signed request through the bridge is decided by it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant, callback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from bridge.db.repository import Registry
from custom_components.keyholder.core.models import GrantKind, WeeklyWindow

from ..bridge.process import BridgeProcess
from .bridge_fixtures import registered_carrier, until
from .conftest import FRONT, GARAGE, Actions

FLOWS = "/api/config/config_entries/options/flow"
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class OptionsFlow:
    """One options flow, over the HTTP API the frontend uses."""

    def __init__(self, client: Any, entry: MockConfigEntry) -> None:
        self._client = client
        self._entry = entry
        self.flow_id = ""

    async def start(self) -> dict[str, Any]:
        resp = await self._client.post(FLOWS, json={"handler": self._entry.entry_id})
        assert resp.status == 200, await resp.text()
        result: dict[str, Any] = await resp.json()
        self.flow_id = result["flow_id"]
        return result

    async def submit(self, data: dict[str, Any], *, status: int = 200) -> dict[str, Any]:
        resp = await self._client.post(f"{FLOWS}/{self.flow_id}", json=data)
        assert resp.status == status, await resp.text()
        result: dict[str, Any] = await resp.json()
        return result


def _policy(**changes: Any) -> dict[str, Any]:
    return {
        "doors": [],
        "days": ALL_DAYS,
        "start": "00:00:00",
        "end": "00:00:00",
        "camera_required": True,
        "max_visit": 4,
    } | changes


@pytest.fixture
async def admin_client(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, socket_enabled: None
) -> Any:
    assert await async_setup_component(hass, "config", {})
    return await hass_client()


async def test_the_homeowner_picks_a_carrier_from_the_directory_and_sets_its_policy(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
    admin_client: Any,
    hass_admin_user: Any,
) -> None:
    acme = await registered_carrier(bridge_registry, "Acme Parcel")
    other = await registered_carrier(bridge_registry, "Other Freight")
    home = actions.home
    front, garage = actions.door_id(FRONT), actions.door_id(GARAGE)

    flow = OptionsFlow(admin_client, linked_house)
    menu = await flow.start()
    assert (menu["type"], menu["menu_options"]) == ("menu", ["bridge", "carrier"])
    picker = await flow.submit({"next_step_id": "carrier"})
    assert picker["step_id"] == "carrier"
    (carrier_field,) = [f for f in picker["data_schema"] if f["name"] == "carrier_id"]
    listed = carrier_field["selector"]["select"]["options"]
    assert [o["value"] for o in listed] == [acme.carrier_id, other.carrier_id]
    assert listed[0]["label"].startswith("Acme Parcel (key ")

    # The key the carrier handed over must be the directory's; a bad key is said so.
    for key, error in [
        (other.public_key, "carrier_key_mismatch"),
        ("not-a-key", "invalid_public_key"),
    ]:
        refused = await flow.submit({"carrier_id": acme.carrier_id, "public_key": key})
        assert (refused["step_id"], refused["errors"]) == ("carrier", {"public_key": error})
    policy = await flow.submit({"carrier_id": acme.carrier_id, "public_key": acme.public_key})
    assert (policy["step_id"], policy["description_placeholders"]) == (
        "carrier_policy",
        {"name": "Acme Parcel"},
    )

    # Refused policies say why and approve nothing.
    for data, errors in [
        (_policy(), {"doors": "doors_required"}),
        (_policy(doors=[front, garage]), {"camera_required": "camera_missing"}),
        (_policy(doors=[front], days=[]), {"days": "days_required"}),
        (_policy(doors=[front], start="09:00:00", end="09:00:00"), {"base": "empty_window"}),
        (_policy(doors=[front], max_visit=4.5), {"max_visit": "max_visit_invalid"}),
    ]:
        refused = await flow.submit(data)
        assert (refused["step_id"], refused["errors"]) == ("carrier_policy", errors), data
    # Beyond the selector's range: Home Assistant refuses it before the flow sees it.
    too_long = await flow.submit(_policy(doors=[front], max_visit=500), status=400)
    assert set(too_long["errors"]) == {"max_visit"}
    for field, malformed in [("start", "25:00:00"), ("end", "23:75:00"), ("start", "noon")]:
        refused = await flow.submit(_policy(doors=[front], **{field: malformed}), status=400)
        assert set(refused["errors"]) == {field}
    assert home.carriers.get(acme.carrier_id) is None
    assert not [g for g in home.grants.values() if g.kind is GrantKind.CARRIER]

    done = await flow.submit(
        _policy(doors=[front], days=["mon", "sat"], start="07:30:00", end="19:00:00")
    )
    assert (done["type"], done["reason"]) == ("abort", "carrier_approved")
    approved = home.carriers.get(acme.carrier_id)
    assert approved is not None
    assert done["description_placeholders"] == {
        "name": "Acme Parcel",
        "fingerprint": approved.fingerprint,
    }
    (grant,) = [g for g in home.grants.values() if g.kind is GrantKind.CARRIER]
    assert (grant.name, grant.carrier_id, grant.doors) == ("Acme Parcel", acme.carrier_id, {front})
    assert grant.schedule.weekly == (WeeklyWindow(0, 450, 1140), WeeklyWindow(5, 450, 1140))
    assert grant.schedule.valid_until is None
    assert grant.camera_required
    assert grant.max_visit == timedelta(minutes=4)
    assert grant.announced_only  # the form's default: only announced deliveries open
    approvals = [r for r in home.audit.records if r["kind"] == "carrier_approved"]
    assert [r["data"]["user_id"] for r in approvals] == [hass_admin_user.id]


async def test_a_carrier_approved_in_the_ui_opens_inside_its_policy_and_nowhere_else(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    bridge_registry: Registry,
    admin_client: Any,
) -> None:
    acme = await registered_carrier(bridge_registry, "Acme Parcel")
    front, garage = actions.door_id(FRONT), actions.door_id(GARAGE)
    today = ALL_DAYS[dt_util.now().weekday()]

    async def approve(days: list[str]) -> None:
        flow = OptionsFlow(admin_client, linked_house)
        await flow.start()
        await flow.submit({"next_step_id": "carrier"})
        await flow.submit({"carrier_id": acme.carrier_id})
        # Unticked "Only announced deliveries may open": the days and doors decide alone.
        done = await flow.submit(
            _policy(doors=[front], days=days, camera_required=False, announced_only=False)
        )
        assert done["reason"] == "carrier_approved"

    events: list[str] = []
    hass.bus.async_listen("keyholder_event", callback(lambda e: events.append(e.data["type"])))
    home_id = linked_house.options["bridge_home_id"]
    async with aiohttp.ClientSession() as http:

        async def open_door(door: str) -> tuple[int, Any]:
            path = f"/api/v1/carrier/homes/{home_id}/doors/{door}/open"
            body, headers = acme.sign(path, {"reference": "PKG-7"})
            async with http.post(bridge.url + path, data=body, headers=headers) as resp:
                answer = await resp.json()
            return resp.status, answer.get("error", {}).get("code") or answer

        await approve([d for d in ALL_DAYS if d != today])  # every day but this one
        assert await open_door(front) == (403, "outside_window")
        await approve([today])  # a second policy, for today: both are the carrier's grants
        assert await open_door(garage) == (403, "unknown_grant")  # in neither policy
        assert await open_door(front) == (200, {"allowed": True, "reason": "allowed"})
    await until(lambda: "granted" in events, "the carrier's opening")
    assert events.count("granted") == 1
    assert hass.states.get("cover.garage").state == "closed"  # type: ignore[union-attr]
    assert not [g for g in actions.home.grants.values() if g.announced_only]


async def test_only_an_admin_can_open_the_options(
    hass: HomeAssistant,
    house: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
    socket_enabled: None,
) -> None:
    """Approving a carrier is an admin's act: Home Assistant refuses the flow to others."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client(hass_read_only_access_token)
    resp = await client.post(FLOWS, json={"handler": house.entry_id})
    assert resp.status == 401
    assert not hass.config_entries.options.async_progress()


async def test_the_options_wait_for_the_home_to_be_running(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """While Keyholder reloads (after a door edit, say) the options say so, not crash."""
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert (result["type"], result["reason"]) == ("abort", "not_loaded")
