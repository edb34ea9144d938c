"""The entities a home shows: devices, the switch, sensors, door events and the logbook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder import logbook as keyholder_logbook
from custom_components.keyholder.const import DOMAIN, EVENT_KEYHOLDER
from tests.integration.conftest import FRONT, GARAGE, Actions, advance, local, set_switch

pytestmark = pytest.mark.usefixtures("house")

SWITCH = "switch.home_accept_visits"
ACTIVE_GRANTS = "sensor.home_active_grants"
LAST_VISIT = "sensor.home_last_visit"
CALENDAR = "calendar.home_grants"
FRONT_VISIT = "binary_sensor.front_door_visit_in_progress"
FRONT_EVENT = "event.front_door_door_activity"


def _state(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


def _door_id(entry: MockConfigEntry, name: str) -> str:
    return next(s.subentry_id for s in entry.subentries.values() if s.title == name)


async def _grant(actions: Actions, name: str, *, hours: int = 8) -> dict[str, Any]:
    """A link grant on the front door, open from now for ``hours``."""
    ends = dt_util.utcnow() + timedelta(hours=hours)
    created: dict[str, Any] = await actions.call(
        "create_grant",
        {"kind": "link", "name": name, "doors": [FRONT], "ends": ends.isoformat()},
    )
    return created


async def test_home_and_each_door_get_a_device_and_their_entities(
    hass: HomeAssistant, house: MockConfigEntry
) -> None:
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    by_identifier = {
        identifier: device
        for device in dr.async_entries_for_config_entry(devices, house.entry_id)
        for identifier in device.identifiers
    }
    home_device = by_identifier[(DOMAIN, house.entry_id)]
    assert home_device.name == "Home"

    for entity_id, key in (
        (SWITCH, "accept_visits"),
        (ACTIVE_GRANTS, "active_grants"),
        (LAST_VISIT, "last_visit"),
        (CALENDAR, "grants"),
    ):
        entry = entities.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.unique_id == f"{house.entry_id}_{key}"
        assert entry.translation_key == key
        assert entry.device_id == home_device.id
        assert entry.config_subentry_id is None

    for door, slug in ((FRONT, "front_door"), (GARAGE, "garage"), ("Car", "car")):
        door_id = _door_id(house, door)
        device = by_identifier[(DOMAIN, door_id)]
        assert device.name == door
        assert device.via_device_id == home_device.id
        for entity_id, key in (
            (f"binary_sensor.{slug}_visit_in_progress", "visit_in_progress"),
            (f"event.{slug}_door_activity", "door_activity"),
        ):
            entry = entities.async_get(entity_id)
            assert entry is not None, entity_id
            assert entry.unique_id == f"{door_id}_{key}"
            assert entry.translation_key == key
            assert entry.device_id == device.id
            assert entry.config_subentry_id == door_id

    assert _state(hass, FRONT_VISIT).state == STATE_OFF
    assert _state(hass, FRONT_VISIT).attributes["device_class"] == "running"
    assert _state(hass, FRONT_EVENT).attributes["event_types"] == [
        "granted",
        "refused",
        "opened",
        "closed",
        "relocked",
        "relock_failed",
        "left_open",
        "camera_problem",
        "keypad_used",
    ]
    assert _state(hass, SWITCH).state == STATE_ON
    assert _state(hass, ACTIVE_GRANTS).state == "0"
    assert _state(hass, ACTIVE_GRANTS).attributes["state_class"] == "measurement"
    assert _state(hass, LAST_VISIT).state == "unknown"
    assert _state(hass, LAST_VISIT).attributes["device_class"] == "timestamp"


async def test_accept_visits_switch_refuses_visits_and_survives_a_restart(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = (await _grant(actions, "Cleaner"))["token"]

    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": SWITCH}, blocking=True, context=actions.context
    )
    await hass.async_block_till_done()
    assert _state(hass, SWITCH).state == STATE_OFF
    assert house.runtime_data.home.accept_visits is False
    assert (await actions.open(token, FRONT)).reason == "visits_paused"
    refused = _state(hass, FRONT_EVENT)
    assert refused.attributes["event_type"] == "refused"
    assert refused.attributes["reason"] == "visits_paused"

    assert await hass.config_entries.async_reload(house.entry_id)
    await hass.async_block_till_done()
    assert _state(hass, SWITCH).state == STATE_OFF

    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": SWITCH}, blocking=True, context=actions.context
    )
    await hass.async_block_till_done()
    assert _state(hass, SWITCH).state == STATE_ON
    assert (await actions.open(token, FRONT)).allowed


async def test_a_visit_fires_door_events_and_runs_the_visit_sensor_until_relocked(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await _grant(actions, "Cleaner")
    fired: list[tuple[str, dict[str, Any]]] = []

    @callback
    def _record(event: Event) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] == FRONT_EVENT and new and new.state != "unavailable":
            fired.append((new.attributes["event_type"], dict(new.attributes)))

    hass.bus.async_listen("state_changed", _record)

    assert (await actions.open(created["token"], FRONT)).allowed
    assert _state(hass, FRONT_VISIT).state == STATE_ON
    granted = _state(hass, FRONT_EVENT).attributes
    assert granted["event_type"] == "granted"
    assert granted["grant"] == "Cleaner"
    assert granted["grant_id"] == created["grant_id"]
    assert granted["reason"] == "allowed"
    last_visit = _state(hass, LAST_VISIT)
    assert dt_util.parse_datetime(last_visit.state) == local(hass, "2026-12-01 09:00")
    assert last_visit.attributes["door"] == FRONT
    assert last_visit.attributes["grant"] == "Cleaner"
    assert last_visit.attributes["outcome"] is None

    await set_switch(hass, "input_boolean.front_open", True)
    await set_switch(hass, "input_boolean.front_open", False)
    assert _state(hass, FRONT_VISIT).state == STATE_ON
    await advance(hass, freezer, timedelta(seconds=31))

    assert _state(hass, "lock.front").state == "locked"
    assert _state(hass, FRONT_VISIT).state == STATE_OFF
    assert [kind for kind, _ in fired] == ["granted", "opened", "closed", "relocked"]
    assert all(attrs["grant"] == "Cleaner" for _, attrs in fired)
    assert _state(hass, LAST_VISIT).attributes["outcome"] == "relocked"
    # The token opened the door; it must not be anywhere in what the entities show.
    shown = repr([s.as_dict() for s in hass.states.async_all()])
    assert created["token"] not in shown


async def test_last_visit_is_kept_over_a_reload(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    assert (await actions.open((await _grant(actions, "Plumber"))["token"], FRONT)).allowed
    await advance(hass, freezer, timedelta(seconds=31))
    before = _state(hass, LAST_VISIT)

    assert await hass.config_entries.async_reload(house.entry_id)
    await hass.async_block_till_done()

    after = _state(hass, LAST_VISIT)
    assert after.state == before.state
    assert after.attributes["grant"] == "Plumber"
    assert after.attributes["door"] == FRONT
    assert after.attributes["outcome"] == "relocked"


async def test_active_grants_counts_live_grants_and_drops_them_when_they_end(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    await _grant(actions, "Plumber", hours=1)
    cleaner = await _grant(actions, "Cleaner", hours=48)
    assert _state(hass, ACTIVE_GRANTS).state == "2"

    await advance(hass, freezer, timedelta(hours=1))
    assert _state(hass, ACTIVE_GRANTS).state == "1"

    await actions.call("revoke_grant", {"grant_id": cleaner["grant_id"]}, response=False)
    assert _state(hass, ACTIVE_GRANTS).state == "0"


async def test_logbook_describes_door_events(hass: HomeAssistant, house: MockConfigEntry) -> None:
    described: dict[str, Any] = {}

    def _register(domain: str, event_type: str, describe: Any) -> None:
        described[event_type] = (domain, describe)

    keyholder_logbook.async_describe_events(hass, _register)
    domain, describe = described[EVENT_KEYHOLDER]
    assert domain == DOMAIN
    door_id = _door_id(house, FRONT)
    base = {"entry_id": house.entry_id, "door_id": door_id, "door": FRONT, "grant_id": "g1"}

    granted = describe(
        Event(EVENT_KEYHOLDER, {**base, "type": "granted", "grant": "Cleaner", "reason": "allowed"})
    )
    assert granted == {
        "name": FRONT,
        "message": "granted to Cleaner",
        "entity_id": FRONT_EVENT,
    }
    refused = describe(
        Event(
            EVENT_KEYHOLDER,
            {**base, "type": "refused", "grant": None, "reason": "outside_window"},
        )
    )
    assert refused["message"] == "refused (outside_window)"
    relocked = describe(Event(EVENT_KEYHOLDER, {**base, "type": "relocked", "grant": "Cleaner"}))
    assert relocked["message"] == "locked again"
