"""The ZHA backend against Home Assistant's real ZHA integration over a simulated radio.

ZHA, zha (the library) and zigpy run for real; only the radio is simulated
(``zha_radio``): frames leave zigpy at ``send_packet`` and reach a Door Lock
firmware that keeps a user table and schedules and answers like a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
import logging
import time
from unittest.mock import patch

from homeassistant.components.zha.config_flow import ZhaConfigFlowHandler
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from zigpy.zcl.clusters.closures import DoorLock

from custom_components.keyholder.codes.base import (
    MASKED,
    CodeError,
    CodeErrorReason,
    RadioTimings,
    SlotState,
)
from custom_components.keyholder.codes.lock_schedule import LockSchedule, WeekDayEntry, YearDayEntry
from custom_components.keyholder.codes.slots import SlotCode
from custom_components.keyholder.codes.zha import ZhaLock, zcl_local_time
from simulators.zigbee2mqtt_lock import until

from .sync_runs import sync_until_done
from .zha_radio import DoorLockFirmware, SimulatedZigbeeNetwork, User


def wall(*parts: int) -> datetime:
    """A naive local wall-clock time, as locks keep them."""
    return datetime(*parts)  # noqa: DTZ001


SLOTS = range(10, 15)
PIN = "482913"
OTHER_PIN = "750316"
KEY = b"k" * 32
TIMINGS = RadioTimings(timeout=1.0, read_after_write=0.1)
# Tuesday 09:00-12:00 and Thursday 14:00-15:30 (weekday 0 is Monday).
WEEKLY = LockSchedule(
    week_days=(WeekDayEntry(1, 9 * 60, 12 * 60), WeekDayEntry(3, 14 * 60, 15 * 60 + 30))
)
ONCE = LockSchedule(year_days=(YearDayEntry(wall(2026, 12, 3, 8, 0), wall(2026, 12, 3, 10, 0)),))


def zha_entry() -> MockConfigEntry:
    """A ZHA config entry for an ezsp stick, at the version this Home Assistant writes."""
    return MockConfigEntry(
        domain="zha",
        version=ZhaConfigFlowHandler.VERSION,
        minor_version=getattr(ZhaConfigFlowHandler, "MINOR_VERSION", 1),
        data={
            "device": {"path": "/dev/ttyUSB0", "baudrate": 115200, "flow_control": "hardware"},
            "radio_type": "ezsp",
        },
    )


async def setup_zha(hass: HomeAssistant, network: SimulatedZigbeeNetwork) -> MockConfigEntry:
    """Set up ZHA over ``network`` (call inside ``network.patch_radio()``)."""
    entry = zha_entry()
    entry.add_to_hass(hass)
    if "zha" in hass.config.components:
        assert await hass.config_entries.async_setup(entry.entry_id)
    else:
        assert await async_setup_component(hass, "zha", {"zha": {"enable_quirks": False}})
    await hass.async_block_till_done()
    return entry


def lock_entity_id(hass: HomeAssistant) -> str:
    registry = er.async_get(hass)
    locks = [
        e.entity_id
        for e in registry.entities.values()
        if e.platform == "zha" and e.domain == "lock"
    ]
    assert len(locks) == 1, locks
    return locks[0]


@pytest.fixture
def lock() -> DoorLockFirmware:
    return DoorLockFirmware()


@pytest.fixture
async def network(
    hass: HomeAssistant, lock: DoorLockFirmware
) -> AsyncIterator[SimulatedZigbeeNetwork]:
    """ZHA set up over a simulated network holding ``lock``."""
    air = SimulatedZigbeeNetwork(lock)
    with air.patch_radio(), patch("homeassistant.components.zha.radio_manager.CONNECT_DELAY_S", 0):
        entry = await setup_zha(hass, air)
        yield air
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
async def entity_id(hass: HomeAssistant, network: SimulatedZigbeeNetwork) -> str:
    return lock_entity_id(hass)


@pytest.fixture
async def backend(hass: HomeAssistant, entity_id: str) -> AsyncIterator[ZhaLock]:
    backend = ZhaLock.from_entity(hass, entity_id, SLOTS, TIMINGS)
    yield backend
    await backend.async_close()


MONDAY = wall(2026, 11, 30)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the week of Monday 2026-11-30 (``day`` 0 is that Monday)."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


async def test_zha_must_be_loaded(hass):
    with pytest.raises(CodeError) as caught:
        ZhaLock.from_entity(hass, "lock.front_door", SLOTS, TIMINGS)
    assert caught.value.reason is CodeErrorReason.UNAVAILABLE


async def test_an_entity_zha_does_not_know_is_unavailable(hass, network):
    with pytest.raises(CodeError) as caught:
        ZhaLock.from_entity(hass, "lock.not_there", SLOTS, TIMINGS)
    assert caught.value.reason is CodeErrorReason.UNAVAILABLE


async def test_a_device_without_a_door_lock_is_not_supported(hass, lock):
    plug = DoorLockFirmware(
        ieee="00:0d:6f:00:0a:90:69:e8",
        nwk=0x1234,
        model="Plug",
        device_type=0x0051,
        in_clusters=(0x0000, 0x0006),
    )
    air = SimulatedZigbeeNetwork(lock, plug)
    with air.patch_radio(), patch("homeassistant.components.zha.radio_manager.CONNECT_DELAY_S", 0):
        entry = await setup_zha(hass, air)
        registry = er.async_get(hass)
        switch = next(
            e.entity_id
            for e in registry.entities.values()
            if e.platform == "zha" and e.domain == "switch"
        )
        with pytest.raises(CodeError) as caught:
            ZhaLock.from_entity(hass, switch, SLOTS, TIMINGS)
        assert caught.value.reason is CodeErrorReason.NOT_SUPPORTED
        assert ZhaLock.from_entity(hass, lock_entity_id(hass), SLOTS, TIMINGS) is not None
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_capabilities_come_from_the_lock(hass, backend, lock):
    capabilities = await backend.capabilities()
    assert capabilities.slots == SLOTS
    assert (capabilities.min_pin_length, capabilities.max_pin_length) == (4, 8)
    assert (capabilities.week_day_schedules, capabilities.year_day_schedules) == (2, 1)
    assert capabilities.supports_read_back
    assert not capabilities.masks_codes_on_read
    reads = len(lock.attribute_reads)
    await backend.capabilities()
    assert len(lock.attribute_reads) == reads  # read once


async def test_set_read_back_and_clear(hass, backend, lock, caplog):
    caplog.set_level(logging.DEBUG)
    await backend.set_code(12, PIN)
    assert lock.pins == {12: PIN}
    assert lock.users[12].status == DoorLock.UserStatus.Enabled
    assert lock.users[12].type == DoorLock.UserType.Unrestricted
    assert await backend.read_code(12) == PIN
    assert await backend.read_code(11) is None
    await backend.clear_code(12)
    assert lock.pins == {}
    assert await backend.read_code(12) is None
    assert PIN not in caplog.text
    assert "set_pin_code" in caplog.text  # zigpy's frame log is there, blanked


@pytest.mark.parametrize("lock", [DoorLockFirmware(masks_codes=True)])
async def test_a_masking_lock_reads_back_masked(hass, backend, lock):
    await backend.set_code(10, PIN)
    assert lock.pins == {10: PIN}
    assert (await backend.capabilities()).masks_codes_on_read
    assert await backend.read_code(10) is MASKED
    assert await backend.read_code(11) is None


async def test_a_week_day_schedule_is_enforced_by_the_lock(hass, backend, lock):
    await backend.set_code(13, PIN, WEEKLY)
    assert lock.users[13].type == DoorLock.UserType.Week_Day_Schedule_User
    entries = lock.schedules_of(13)["week_day"]
    assert {(e.days_mask, e.start, e.end) for e in entries.values()} == {
        (DoorLock.DayMask.Tue, 540, 720),
        (DoorLock.DayMask.Thu, 840, 930),
    }
    assert lock.would_open(PIN, _local(1, 10))  # Tuesday 10:00
    assert lock.would_open(PIN, _local(3, 15, 29))  # Thursday 15:29
    assert not lock.would_open(PIN, _local(1, 8, 59))
    assert not lock.would_open(PIN, _local(1, 12, 0))
    assert not lock.would_open(PIN, _local(2, 10))  # Wednesday
    assert not lock.would_open(PIN, _local(3, 15, 30))


async def test_a_year_day_schedule_is_enforced_by_the_lock(hass, backend, lock):
    await backend.set_code(10, PIN, ONCE)
    assert lock.users[10].type == DoorLock.UserType.Year_Day_Schedule_User
    assert lock.schedules_of(10)["year_day"] == {
        0: (zcl_local_time(wall(2026, 12, 3, 8)), zcl_local_time(wall(2026, 12, 3, 10)))
    }
    assert lock.would_open(PIN, wall(2026, 12, 3, 8, 0))
    assert lock.would_open(PIN, wall(2026, 12, 3, 9, 59))
    assert not lock.would_open(PIN, wall(2026, 12, 3, 7, 59))
    assert not lock.would_open(PIN, wall(2026, 12, 3, 10, 0))
    assert not lock.would_open(PIN, wall(2026, 12, 10, 9, 0))


def test_zcl_local_time_counts_wall_clock_seconds_from_2000():
    assert zcl_local_time(wall(2000, 1, 1)) == 0
    assert zcl_local_time(wall(2000, 1, 2, 0, 0, 1)) == 86401
    # 2026-03-29 02:30 does not exist in Berlin; the lock's clock has no zone: plain counting.
    assert zcl_local_time(wall(2026, 3, 29, 3)) - zcl_local_time(wall(2026, 3, 29, 1)) == 7200


async def test_an_old_window_never_applies_to_a_new_code(hass, backend, lock):
    await backend.set_code(11, PIN, WEEKLY)
    await backend.set_code(11, OTHER_PIN, ONCE)
    assert lock.pins == {11: OTHER_PIN}
    assert lock.schedules_of(11)["week_day"] == {}
    assert not lock.would_open(OTHER_PIN, _local(1, 10))
    # Order on the air: old entries cleared before the new code exists.
    names = [name for name, _ in lock.commands]
    second = names[names.index("get_pin_code") + 1 :]
    assert second[:3] == [
        "clear_week_day_schedule",
        "clear_week_day_schedule",
        "clear_year_day_schedule",
    ]
    assert second[3] == "set_pin_code"


async def test_an_unrestricted_code_loses_the_old_schedule(hass, backend, lock):
    await backend.set_code(12, PIN, WEEKLY)
    await backend.set_code(12, PIN)
    assert lock.users[12].type == DoorLock.UserType.Unrestricted
    assert lock.schedules_of(12) == {"week_day": {}, "year_day": {}}
    assert lock.would_open(PIN, _local(2, 3))


async def test_clear_takes_the_schedule_too(hass, backend, lock):
    await backend.set_code(14, PIN, WEEKLY)
    await backend.clear_code(14)
    assert lock.pins == {}
    assert lock.schedules_of(14) == {"week_day": {}, "year_day": {}}
    assert not lock.would_open(PIN, _local(1, 10))


async def test_set_and_clear_schedule_on_a_code(hass, backend, lock):
    await backend.set_code(10, PIN)
    await backend.set_schedule(10, WEEKLY)
    assert lock.users[10].type == DoorLock.UserType.Week_Day_Schedule_User
    assert not lock.would_open(PIN, _local(2, 10))
    assert lock.would_open(PIN, _local(1, 10))
    await backend.clear_schedule(10)
    assert lock.would_open(PIN, _local(2, 10))
    assert lock.schedules_of(10) == {"week_day": {}, "year_day": {}}


async def test_a_refused_schedule_takes_the_code_off_again(hass, backend, lock, monkeypatch):
    monkeypatch.setattr(lock, "_set_week_day_schedule", lambda args: {"status": 1})
    with pytest.raises(CodeError) as caught:
        await backend.set_code(12, PIN, WEEKLY)
    assert caught.value.reason is CodeErrorReason.REJECTED
    assert PIN not in str(caught.value)
    assert lock.pins == {}
    assert lock.writes[-1] == "clear_pin_code"


async def test_a_duplicate_code_is_rejected(hass, backend, lock):
    await backend.set_code(10, PIN)
    with pytest.raises(CodeError) as caught:
        await backend.set_code(11, PIN)
    assert caught.value.reason is CodeErrorReason.REJECTED
    assert "duplicate" in str(caught.value)
    assert lock.pins == {10: PIN}


async def test_slots_outside_the_range_are_never_touched(hass, backend, lock):
    for operation in (
        backend.set_code(9, PIN),
        backend.clear_code(15),
        backend.read_code(0),
        backend.set_schedule(20, WEEKLY),
        backend.clear_schedule(5),
    ):
        with pytest.raises(CodeError) as caught:
            await operation
        assert caught.value.reason is CodeErrorReason.OUT_OF_RANGE
    assert lock.commands == []
    assert lock.attribute_reads == []


@pytest.mark.parametrize("lock", [DoorLockFirmware(pin_users=12)])
async def test_slots_beyond_the_locks_users_are_never_touched(hass, backend, lock):
    assert (await backend.capabilities()).slots == range(10, 12)
    with pytest.raises(CodeError) as caught:
        await backend.set_code(13, PIN)
    assert caught.value.reason is CodeErrorReason.OUT_OF_RANGE
    assert lock.commands == []


async def test_a_pin_the_lock_cannot_hold_is_refused_before_the_radio(hass, backend, lock):
    for pin in ("12", "123456789", "12a4"):
        with pytest.raises(CodeError) as caught:
            await backend.set_code(10, pin)
        assert caught.value.reason is CodeErrorReason.REJECTED
    assert lock.commands == []


@pytest.mark.parametrize("lock", [DoorLockFirmware(dead=True)])
async def test_a_dead_lock_times_out_within_the_timeout(hass, backend, lock, caplog):
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(CodeError) as caught:
        await backend.set_code(11, PIN)
    assert caught.value.reason is CodeErrorReason.TIMEOUT
    assert caught.value.retryable
    assert time.monotonic() - started < TIMINGS.timeout + 0.5
    assert lock.pins == {}
    assert PIN not in caplog.text


async def test_a_lock_that_stops_answering_times_out(hass, backend, lock):
    await backend.capabilities()
    lock.dead = True
    started = time.monotonic()
    with pytest.raises(CodeError) as caught:
        await backend.set_code(11, PIN, WEEKLY)
    assert caught.value.reason is CodeErrorReason.TIMEOUT
    assert time.monotonic() - started < TIMINGS.timeout + 0.5
    assert lock.writes == ["clear_week_day_schedule"]  # one frame, no answer, stop


@pytest.mark.parametrize("lock", [DoorLockFirmware(dead=True)])
async def test_closing_ends_an_operation_in_flight(hass, entity_id, lock):
    backend = ZhaLock.from_entity(
        hass, entity_id, SLOTS, RadioTimings(timeout=30, read_after_write=1)
    )
    operation = asyncio.create_task(backend.set_code(10, PIN))
    await until(lambda: lock.attribute_reads, "the first frame")
    await backend.async_close()
    with pytest.raises(CodeError) as caught:
        await operation
    assert caught.value.reason is CodeErrorReason.UNAVAILABLE


async def test_a_keypad_unlock_reports_its_slot(hass, backend, network, lock, caplog):
    caplog.set_level(logging.DEBUG)
    await backend.set_code(13, PIN)
    lock.users[2] = User(DoorLock.UserStatus.Enabled, DoorLock.UserType.Unrestricted, OTHER_PIN)
    seen: list[int] = []
    unsubscribe = await backend.subscribe_keypad(seen.append)
    network.keypad_unlock(lock, 13)
    network.keypad_unlock(lock, 2)
    await until(lambda: seen, "the keypad event")
    await hass.async_block_till_done()
    assert seen == [13]
    unsubscribe()
    network.keypad_unlock(lock, 13)
    await hass.async_block_till_done()
    assert seen == [13]
    assert PIN not in caplog.text
    assert OTHER_PIN not in caplog.text


async def test_the_keypad_event_is_zhas_own(hass, backend, network, lock):
    """Pin down the ``zha_event`` shape the backend relies on, on this Home Assistant."""
    events = []
    hass.bus.async_listen("zha_event", events.append)
    network.keypad_unlock(lock, 13)
    await until(lambda: events, "zha_event")
    data = events[0].data
    assert data["device_ieee"] == lock.ieee
    assert data["cluster_id"] == DoorLock.cluster_id
    assert data["command"] == "operation_event_notification"
    assert data["args"] == {"source": "Keypad", "operation": "Unlock", "code_slot": 14}


async def test_the_backend_survives_a_zha_reload(hass, entity_id, network, lock):
    backend = ZhaLock.from_entity(hass, entity_id, SLOTS, TIMINGS)
    seen: list[int] = []
    await backend.subscribe_keypad(seen.append)
    entry = hass.config_entries.async_entries("zha")[0]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await backend.set_code(12, PIN)
    assert lock.pins == {12: PIN}
    network.keypad_unlock(lock, 12)
    await until(lambda: seen, "the keypad event after the reload")
    assert seen == [12]
    await backend.async_close()


async def test_sync_puts_the_codes_on_and_a_restart_sends_nothing(hass, entity_id, lock):
    first = ZhaLock.from_entity(hass, entity_id, SLOTS, TIMINGS)
    wanted = {12: SlotCode(PIN, WEEKLY), 13: SlotCode(OTHER_PIN)}
    records = await sync_until_done(first, SLOTS, wanted, {}, key=KEY)
    await first.async_close()
    assert lock.pins == {12: PIN, 13: OTHER_PIN}
    assert lock.users[12].type == DoorLock.UserType.Week_Day_Schedule_User
    assert records[12].state is SlotState.SET
    assert records[13].state is SlotState.SET
    assert {slot: r.state for slot, r in records.items()} == dict.fromkeys(SLOTS, SlotState.SET) | {
        10: SlotState.CLEARED,
        11: SlotState.CLEARED,
        14: SlotState.CLEARED,
    }

    sent = len(lock.commands)
    again = ZhaLock.from_entity(hass, entity_id, SLOTS, TIMINGS)
    assert await sync_until_done(again, SLOTS, wanted, dict(records), key=KEY) == records
    await again.async_close()
    assert len(lock.commands) == sent
