"""Keypad codes end to end: a grant's PIN on a Zigbee2MQTT lock, and back off it.

Home Assistant's real mqtt integration talks to the real Mosquitto on
127.0.0.1:1883; the lock is ``simulators/zigbee2mqtt_lock.py``, a separate MQTT client
that keeps a PIN table like the firmware. MQTT round trips need real time, so
these tests do not freeze the clock: windows are placed relative to now.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
import logging
from typing import Any

from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.const import MATCH_ALL
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.core.models import GrantKind, Schedule, WeeklyWindow
from custom_components.keyholder.core.schedule import is_open
from custom_components.keyholder.doors import door_from_subentry, validate_door
from custom_components.keyholder.home import GrantDraft
from simulators.zigbee2mqtt_lock import SimulatedZ2mLock

from .conftest import door_subentry, leaks
from .keypad_homes import (
    HARNESS_LOGGER,
    SLOTS,
    door_id_of,
    home_of,
    keyholder_entity,
    keypad_home,
    state_of,
    until_synced,
)


@pytest.fixture(autouse=True)
def _fast(fast_keypad_timings: None) -> None:
    """Radio waits and retries in fractions of a second (see the conftest fixture)."""


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None
) -> AsyncIterator[MockConfigEntry]:
    entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": 1883})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await until_synced(lambda: hass.data[DATA_MQTT].client.connected, "the broker connection")
    yield entry
    assert await hass.config_entries.async_unload(entry.entry_id)


async def _start_lock(hass: HomeAssistant, name: str) -> tuple[SimulatedZ2mLock, str]:
    device = SimulatedZ2mLock(name=name)
    await hass.async_add_executor_job(device.start)
    registry = er.async_get(hass)
    await until_synced(
        lambda: registry.async_get_entity_id("lock", "mqtt", device.unique_id), "the lock entity"
    )
    entity_id = registry.async_get_entity_id("lock", "mqtt", device.unique_id)
    assert entity_id is not None
    return device, entity_id


@pytest.fixture
async def locks(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> AsyncIterator[list[tuple[SimulatedZ2mLock, str]]]:
    started = [await _start_lock(hass, "Front lock"), await _start_lock(hass, "Back lock")]
    yield started
    for device, _ in started:
        await hass.async_add_executor_job(device.stop)


@pytest.fixture
async def home_entry(
    hass: HomeAssistant, locks: list[tuple[SimulatedZ2mLock, str]]
) -> AsyncIterator[MockConfigEntry]:
    doors = [
        door_subentry("Front", opener=locks[0][1], **SLOTS),
        door_subentry("Back", opener=locks[1][1], **SLOTS),
    ]
    async with keypad_home(hass, doors) as entry:
        yield entry


def _window_soon(hass: HomeAssistant, minutes_ahead: int) -> Schedule:
    """A weekly window starting ``minutes_ahead`` from now (inside the lead time)."""
    now = dt_util.utcnow()
    start = dt_util.as_local(now + timedelta(minutes=minutes_ahead))
    start_minute = start.hour * 60 + start.minute
    window = WeeklyWindow(start.weekday(), start_minute, min(start_minute + 60, 1440))
    return Schedule(valid_from=now - timedelta(minutes=1), weekly=(window,))


async def test_a_weekly_keypad_grant_is_programmed_attributed_and_cleared(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    locks: list[tuple[SimulatedZ2mLock, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    front, _ = locks[0]
    home = home_of(home_entry)
    door_id = door_id_of(home, "Front")
    sensor = keyholder_entity(hass, "sensor", f"{door_id}_keypad_codes")
    activity = keyholder_entity(hass, "event", f"{door_id}_door_activity")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the first sync")
    assert front.pins == {}

    schedule = _window_soon(hass, 5)
    issued = await home.async_create_grant(
        GrantDraft(GrantKind.KEYPAD, "Cleaner", frozenset({door_id}), schedule),
        context=Context(),
    )
    pin = issued.pin
    assert pin is not None
    # Before the window opens, the code is already on the lock, in the lowest slot.
    await until_synced(lambda: front.pins == {10: pin}, "the code on the lock")
    assert not is_open(schedule, home.tz, dt_util.utcnow())
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sensor")
    attributes = hass.states.get(sensor).attributes  # type: ignore[union-attr]
    assert attributes["slot_10"] == "set"

    # A keypad unlock on that slot is the cleaner's.
    await hass.async_add_executor_job(front.emit_keypad_unlock, 10)
    await until_synced(lambda: home.grants[issued.grant.id].uses == 1, "the use to be counted")
    await hass.async_block_till_done()
    fired = hass.states.get(activity)
    assert fired is not None
    assert fired.attributes["event_type"] == "keypad_used"
    assert fired.attributes["grant"] == "Cleaner"
    used = [r for r in home.audit.records if r["kind"] == "keypad_used"]
    assert used[-1]["data"]["grant"] == "Cleaner"
    assert used[-1]["data"]["door_id"] == door_id

    # A code in the range that Keyholder does not manage is audited as such.
    await hass.async_add_executor_job(front.emit_keypad_unlock, 11)
    await until_synced(
        lambda: any(r["kind"] == "keypad_used_unmanaged" for r in home.audit.records),
        "the unmanaged use",
    )

    # A restart with the code in place writes nothing to the lock.
    sent_before = len(front.commands)
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done()
    home = home_of(home_entry)
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sync after the restart")
    await asyncio.sleep(0.5)
    assert front.commands[sent_before:] == []
    assert front.pins == {10: pin}

    # Revoking takes the code off the lock.
    await home.async_revoke_grant(issued.grant.id, context=Context())
    await until_synced(lambda: front.pins == {}, "the code to be cleared")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sensor after the revoke")

    # The harness logs every storage write, the private PIN file included; Home
    # Assistant itself never does.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != HARNESS_LOGGER)
    assert not leaks(pin, logged)
    assert "<redacted>" in logged  # the MQTT debug log carried the write, blanked
    assert not any(leaks(pin, str(state.as_dict())) for state in hass.states.async_all())
    assert not any(leaks(pin, str(event.data)) for event in events)


async def test_a_dead_lock_backs_off_to_a_repair_and_the_other_lock_keeps_working(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    locks: list[tuple[SimulatedZ2mLock, str]],
) -> None:
    (front, _), (back, _) = locks
    home = home_of(home_entry)
    front_id, back_id = door_id_of(home, "Front"), door_id_of(home, "Back")
    front_sensor = keyholder_entity(hass, "sensor", f"{front_id}_keypad_codes")
    back_sensor = keyholder_entity(hass, "sensor", f"{back_id}_keypad_codes")
    await until_synced(
        lambda: state_of(hass, front_sensor) == "in_sync", "the front lock's first sync"
    )
    await until_synced(
        lambda: state_of(hass, back_sensor) == "in_sync", "the back lock's first sync"
    )

    front.answering = False
    issued = await home.async_create_grant(
        GrantDraft(
            GrantKind.KEYPAD, "Dog walker", frozenset({front_id, back_id}), _window_soon(hass, 2)
        ),
        context=Context(),
    )
    assert issued.pin is not None
    await until_synced(lambda: back.pins == {10: issued.pin}, "the code on the working lock")
    await until_synced(lambda: state_of(hass, front_sensor) == "failed", "the dead lock to fail")
    sets = [
        request
        for topic, request in front.commands
        if topic == "set" and request["pin_code"].get("pin_code") is not None
    ]
    assert len(sets) == 3  # the retry ceiling, not a flood
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"keypad_codes_failed_{front_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"door": "Front"}
    assert state_of(hass, back_sensor) == "in_sync"
    assert front.pins == {}

    # Once the lock is back, reloading (what the repair suggests) tries again.
    front.answering = True
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await until_synced(lambda: front.pins == {10: issued.pin}, "the code after the reload")
    await until_synced(lambda: state_of(hass, front_sensor) == "in_sync", "the front lock in sync")
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"keypad_codes_failed_{front_id}") is None


async def test_a_full_slot_range_refuses_the_grant(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    from homeassistant.exceptions import ServiceValidationError  # noqa: PLC0415

    home = home_of(home_entry)
    door_id = door_id_of(home, "Back")
    draft = GrantDraft(GrantKind.KEYPAD, "Guest", frozenset({door_id}), _window_soon(hass, 30))
    for _ in range(3):
        await home.async_create_grant(draft, context=Context())
    grants = len(home.grants)
    with pytest.raises(ServiceValidationError) as caught:
        await home.async_create_grant(draft, context=Context())
    assert caught.value.translation_key == "keypad_slots_full"
    assert len(home.grants) == grants


@pytest.mark.parametrize(
    ("given", "errors"),
    [
        ({}, {}),
        ({"first_keypad_slot": 10}, {"last_keypad_slot": "keypad_slots_incomplete"}),
        (
            {"first_keypad_slot": 10, "last_keypad_slot": 9},
            {"last_keypad_slot": "keypad_slots_reversed"},
        ),
        (
            {"first_keypad_slot": -1, "last_keypad_slot": 9},
            {"first_keypad_slot": "keypad_slot_invalid"},
        ),
        (
            {"first_keypad_slot": 1.5, "last_keypad_slot": 300},
            {"first_keypad_slot": "keypad_slot_invalid", "last_keypad_slot": "keypad_slot_invalid"},
        ),
    ],
)
async def test_the_keypad_slot_range_is_both_ends_in_order_or_none(
    hass: HomeAssistant, given: dict[str, float], errors: dict[str, str]
) -> None:
    hass.states.async_set("lock.front", "locked")
    data, found = validate_door(
        hass, {"name": "Front", "kind": "door", "opener": "lock.front", **given}, set()
    )
    assert found == errors
    if not errors:
        assert "first_keypad_slot" not in data
        assert door_from_subentry("d", data).keypad_slots is None


async def test_a_valid_slot_range_becomes_the_doors_slots(hass: HomeAssistant) -> None:
    hass.states.async_set("lock.front", "locked")
    data, found = validate_door(
        hass, {"name": "Front", "kind": "door", "opener": "lock.front", **SLOTS}, set()
    )
    assert found == {}
    assert door_from_subentry("d", data).keypad_slots == range(10, 13)


def _pin_kept(hass_storage: dict[str, Any], entry: MockConfigEntry, grant_id: str) -> bool:
    return grant_id in hass_storage[f"{DOMAIN}.{entry.entry_id}.pins"]["data"]


async def test_a_one_time_code_leaves_the_lock_after_its_use(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    locks: list[tuple[SimulatedZ2mLock, str]],
    hass_storage: dict[str, Any],
) -> None:
    back, _ = locks[1]
    home = home_of(home_entry)
    door_id = door_id_of(home, "Back")
    issued = await home.async_create_grant(
        GrantDraft(
            GrantKind.KEYPAD, "Plumber", frozenset({door_id}), _window_soon(hass, 1), use_limit=1
        ),
        context=Context(),
    )
    await until_synced(lambda: back.pins == {10: issued.pin}, "the code on the lock")
    await hass.async_add_executor_job(back.emit_keypad_unlock, 10)
    assert _pin_kept(hass_storage, home_entry, issued.grant.id)
    await until_synced(lambda: back.pins == {}, "the used code to be cleared")
    assert home.grants[issued.grant.id].uses == 1
    # Used up and off the lock: the PIN has nothing left to do, so it leaves storage.
    await until_synced(
        lambda: not _pin_kept(hass_storage, home_entry, issued.grant.id), "the PIN forgotten"
    )


async def test_a_visits_code_leaves_the_lock_when_its_window_ends(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    locks: list[tuple[SimulatedZ2mLock, str]],
    hass_storage: dict[str, Any],
) -> None:
    """Nobody revokes or uses it: the timer armed for the window's end clears it."""
    front, _ = locks[0]
    home = home_of(home_entry)
    door_id = door_id_of(home, "Front")
    now = dt_util.utcnow()
    visit = Schedule(valid_from=now - timedelta(minutes=1), valid_until=now + timedelta(seconds=4))
    issued = await home.async_create_grant(
        GrantDraft(GrantKind.KEYPAD, "Plumber", frozenset({door_id}), visit), context=Context()
    )
    await until_synced(lambda: front.pins == {10: issued.pin}, "the code on the lock")
    assert dt_util.utcnow() < visit.valid_until  # it went on inside the window
    assert _pin_kept(hass_storage, home_entry, issued.grant.id)
    await until_synced(lambda: front.pins == {}, "the code to leave at the window's end")
    assert dt_util.utcnow() >= visit.valid_until
    assert home.grants[issued.grant.id].uses == 0
    await until_synced(
        lambda: not _pin_kept(hass_storage, home_entry, issued.grant.id), "the PIN forgotten"
    )


async def test_grants_made_before_the_door_had_a_slot_range_get_slots_when_it_does(
    hass: HomeAssistant, locks: list[tuple[SimulatedZ2mLock, str]]
) -> None:
    front, front_entity = locks[0]
    async with keypad_home(hass, [door_subentry("Front", opener=front_entity)]) as entry:
        home = home_of(entry)
        door_id = door_id_of(home, "Front")
        issued = await home.async_create_grant(
            GrantDraft(GrantKind.KEYPAD, "Cleaner", frozenset({door_id}), _window_soon(hass, 2)),
            context=Context(),
        )
        assert home.keypad_codes(door_id) is None  # remote only, for now

        subentry = entry.subentries[door_id]
        hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, **SLOTS})
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        await until_synced(
            lambda: front.pins == {10: issued.pin}, "the waiting grant's code on the lock"
        )


async def test_slots_holding_codes_cannot_be_taken_from_the_door_until_the_codes_are_off(
    hass: HomeAssistant, home_entry: MockConfigEntry, locks: list[tuple[SimulatedZ2mLock, str]]
) -> None:
    """Narrowing the range, or swapping the lock, would leave a code on the lock for good."""
    (front, _), (_, back_entity) = locks
    home = home_of(home_entry)
    door_id = door_id_of(home, "Front")
    sensor = keyholder_entity(hass, "sensor", f"{door_id}_keypad_codes")
    issued = await home.async_create_grant(
        GrantDraft(GrantKind.KEYPAD, "Cleaner", frozenset({door_id}), _window_soon(hass, 2)),
        context=Context(),
    )
    await until_synced(lambda: front.pins == {10: issued.pin}, "the code on the lock")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the lock to confirm it")
    before = dict(home_entry.subentries[door_id].data)
    current = {**before, "name": home_entry.subentries[door_id].title}

    async def reconfigure(drop: tuple[str, ...] = (), **changes: object) -> dict[str, object]:
        flow = await hass.config_entries.subentries.async_init(
            (home_entry.entry_id, "door"),
            context={"source": "reconfigure", "subentry_id": door_id},
        )
        data = {k: v for k, v in current.items() if k not in drop} | changes
        result = await hass.config_entries.subentries.async_configure(flow["flow_id"], data)
        await hass.async_block_till_done()
        return dict(result)

    for drop, changes in [
        ((), {"first_keypad_slot": 11}),  # slot 10 leaves the range
        (("first_keypad_slot", "last_keypad_slot"), {}),  # the door becomes remote only
        ((), {"opener": back_entity}),  # another lock: slot 10 of this one is left behind
    ]:
        refused = await reconfigure(drop, **changes)
        assert refused["errors"] == {"first_keypad_slot": "keypad_slots_in_use"}, changes
        assert refused["description_placeholders"] == {"slots": "10"}
    assert home_entry.subentries[door_id].data == before
    assert front.pins == {10: issued.pin}

    # Once the grant is revoked and the lock has confirmed the code gone, the slot is free.
    await home.async_revoke_grant(issued.grant.id, context=Context())
    await until_synced(lambda: front.pins == {}, "the code to be cleared")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the clear to be confirmed")
    assert home.keypad_slots_in_use(door_id) == frozenset()
    done = await reconfigure(first_keypad_slot=11)
    assert done["reason"] == "reconfigure_successful"
    assert home_entry.subentries[door_id].data["first_keypad_slot"] == 11


async def test_removing_a_door_takes_its_codes_off_its_lock(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    locks: list[tuple[SimulatedZ2mLock, str]],
    hass_storage: dict[str, Any],
) -> None:
    """A door deleted in the UI while its lock holds a code: the code does not stay behind."""
    (front, _), (back, _) = locks
    home = home_of(home_entry)
    front_id, back_id = door_id_of(home, "Front"), door_id_of(home, "Back")
    issued = await home.async_create_grant(
        GrantDraft(
            GrantKind.KEYPAD, "Cleaner", frozenset({front_id, back_id}), _window_soon(hass, 2)
        ),
        context=Context(),
    )
    await until_synced(lambda: front.pins == {10: issued.pin}, "the code on the front lock")
    await until_synced(lambda: back.pins == {10: issued.pin}, "the code on the back lock")

    assert hass.config_entries.async_remove_subentry(home_entry, front_id)
    await until_synced(lambda: front.pins == {}, "the removed door's code to leave its lock")
    await hass.async_block_till_done()
    assert back.pins == {10: issued.pin}  # the other door keeps its code

    # Once the lock has confirmed it, the removed door is forgotten: a restart sends nothing.
    slots_file = f"{DOMAIN}.{home_entry.entry_id}.slots"
    await until_synced(
        lambda: front_id not in hass_storage[slots_file]["data"], "the removed door forgotten"
    )
    assert back_id in hass_storage[slots_file]["data"]
    sent_before = len(front.commands)
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done()
    await asyncio.sleep(0.5)
    assert front.commands[sent_before:] == []
