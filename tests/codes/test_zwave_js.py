"""The Z-Wave JS backend against Home Assistant's real zwave_js and a Z-Wave JS server.

``zwave_js_server.SimulatedZwaveJsServer`` listens on 127.0.0.1 and speaks the
Z-Wave JS server protocol; Home Assistant's zwave_js integration connects to it
with the real zwave-js-server-python client, builds the lock entity from the
node dump and relays events. Nothing between the backend and the websocket is
mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
import logging
import time

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.codes.base import (
    MASKED,
    CodeError,
    CodeErrorReason,
    RadioTimings,
    SlotState,
)
from custom_components.keyholder.codes.lock_schedule import (
    LockSchedule,
    WeekDayEntry,
    YearDayEntry,
)
from custom_components.keyholder.codes.slots import SlotCode
from custom_components.keyholder.codes.zwave_js import ZwaveJsLock

from .sync_runs import sync_until_done
from .zwave_js_server import HOME_ID, SimulatedZwaveJsServer, wait_for

SLOTS = range(10, 15)
PIN = "482913"
KEY = b"k" * 32
FAST = RadioTimings(timeout=1.0, read_after_write=0.3)
CLEANER = LockSchedule(week_days=(WeekDayEntry(1, 9 * 60, 12 * 60),))  # Tuesdays 09-12
# Year-day entries are the lock's wall clock, so naive on purpose.
PLUMBER = LockSchedule(
    year_days=(
        YearDayEntry(
            datetime(2026, 12, 24, 8, 0),  # noqa: DTZ001
            datetime(2026, 12, 24, 10, 30),  # noqa: DTZ001
        ),
    )
)


@pytest.fixture
def server_options() -> dict[str, object]:
    return {}


@pytest.fixture
async def server(
    socket_enabled: None, server_options: dict[str, object]
) -> AsyncIterator[SimulatedZwaveJsServer]:
    server = SimulatedZwaveJsServer(**server_options)  # type: ignore[arg-type]
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def zwave_entry(
    hass: HomeAssistant, server: SimulatedZwaveJsServer
) -> AsyncIterator[MockConfigEntry]:
    """Home Assistant's zwave_js, connected to the simulated server."""
    entry = MockConfigEntry(
        domain="zwave_js",
        title="Z-Wave JS",
        data={"url": server.url, "use_addon": False, "integration_created_addon": False},
        unique_id=str(HOME_ID),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def lock_entity(hass: HomeAssistant, zwave_entry: MockConfigEntry) -> str:
    """The lock entity zwave_js made from the node dump."""
    entities = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), zwave_entry.entry_id)
        if e.domain == "lock"
    ]
    assert len(entities) == 1
    return entities[0]


@pytest.fixture
async def backend(hass: HomeAssistant, lock_entity: str) -> AsyncIterator[ZwaveJsLock]:
    backend = ZwaveJsLock.from_entity(hass, lock_entity, SLOTS, FAST)
    yield backend
    await backend.async_close()


def _methods(server: SimulatedZwaveJsServer) -> list[str]:
    """What went on the air, in order: CC API methods and set_value properties."""
    names = []
    for command in server.radio_commands():
        if command["command"] == "endpoint.invoke_cc_api":
            names.append(command["methodName"])
        else:
            names.append(f"{command['command']}:{command['valueId']['property']}")
    return names


async def test_capabilities_come_from_the_node(hass, backend, server):
    capabilities = await backend.capabilities()
    assert capabilities.slots == SLOTS
    assert (capabilities.min_pin_length, capabilities.max_pin_length) == (4, 10)
    assert (capabilities.week_day_schedules, capabilities.year_day_schedules) == (3, 1)
    assert capabilities.supports_read_back
    assert not capabilities.masks_codes_on_read
    await backend.capabilities()
    assert _methods(server) == ["getNumSlots"]  # asked once


async def test_set_read_back_and_clear(hass, backend, server, caplog):
    caplog.set_level(logging.DEBUG)
    await backend.set_code(12, PIN)
    assert server.code_in(12) == PIN
    assert await backend.read_code(12) == PIN
    await backend.clear_code(12)
    assert server.users[12].status == 0
    assert await backend.read_code(12) is None
    assert PIN not in caplog.text
    assert "<redacted>" in caplog.text  # zwave-js-server-python's own debug log, blanked


@pytest.mark.parametrize("server_options", [{"masks_codes": True}])
async def test_a_masking_lock_reads_back_masked(hass, backend, server, caplog):
    caplog.set_level(logging.DEBUG)
    assert (await backend.capabilities()).masks_codes_on_read
    await backend.set_code(11, PIN)
    assert server.code_in(11) == PIN
    assert await backend.read_code(11) is MASKED
    assert PIN not in caplog.text


async def test_a_week_day_schedule_is_on_the_lock_before_the_code_works(
    hass, backend, server, caplog
):
    caplog.set_level(logging.DEBUG)
    await backend.set_code(12, PIN, CLEANER)
    user = server.users[12]
    assert server.code_in(12) == PIN
    assert user.week_days == {
        1: {"weekday": 2, "startHour": 9, "startMinute": 0, "stopHour": 12, "stopMinute": 0}
    }
    assert user.year_days == {}
    assert user.schedules_enabled
    methods = _methods(server)
    assert methods[:2] == ["getNumSlots", "set"]  # the code goes on disabled ...
    assert server.radio_commands()[1]["args"][:2] == [12, 2]
    assert methods[-2:] == ["setEnabled", "node.set_value:userIdStatus"]  # ... enabled last
    assert methods.count("setWeekDaySchedule") == 3  # one entry, two slots erased
    assert methods.count("setYearDaySchedule") == 1  # the other kind erased
    assert await backend.read_code(12) == PIN
    assert PIN not in caplog.text


async def test_a_year_day_schedule_is_on_the_lock(hass, backend, server):
    await backend.set_code(13, PIN, PLUMBER)
    user = server.users[13]
    assert server.code_in(13) == PIN
    assert user.year_days == {
        1: {
            "startYear": 26,
            "startMonth": 12,
            "startDay": 24,
            "startHour": 8,
            "startMinute": 0,
            "stopYear": 26,
            "stopMonth": 12,
            "stopDay": 24,
            "stopHour": 10,
            "stopMinute": 30,
        }
    }
    assert user.week_days == {}


@pytest.mark.parametrize("server_options", [{"supervised": False}])
async def test_without_supervision_schedules_are_read_back(hass, backend, server):
    await backend.set_code(12, PIN, CLEANER)
    assert server.users[12].week_days[1]["weekday"] == 2
    methods = _methods(server)
    assert methods.count("getWeekDaySchedule") == 3
    assert methods.count("getYearDaySchedule") == 1


async def test_clearing_takes_the_code_and_its_schedule_off(hass, backend, server):
    await backend.set_code(12, PIN, CLEANER)
    await backend.clear_code(12)
    user = server.users[12]
    assert (user.status, user.code, user.week_days, user.schedules_enabled) == (0, "", {}, False)


async def test_a_code_without_schedule_loses_the_old_schedule(hass, backend, server):
    await backend.set_code(12, PIN, CLEANER)
    await backend.set_code(12, "739164")
    user = server.users[12]
    assert server.code_in(12) == "739164"
    assert (user.week_days, user.year_days, user.schedules_enabled) == ({}, {}, False)


async def test_set_and_clear_schedule_alone(hass, backend, server):
    await backend.set_code(12, PIN)
    await backend.set_schedule(12, PLUMBER)
    assert server.users[12].year_days
    assert server.users[12].schedules_enabled
    await backend.clear_schedule(12)
    assert server.users[12].year_days == {}
    assert not server.users[12].schedules_enabled
    assert server.code_in(12) == PIN


async def test_a_refused_schedule_takes_the_code_off_again(hass, backend, server, caplog):
    caplog.set_level(logging.DEBUG)
    server.refuses_schedules = True
    with pytest.raises(CodeError) as caught:
        await backend.set_code(12, PIN, CLEANER)
    assert caught.value.reason is CodeErrorReason.REJECTED
    assert server.users[12].status == 0  # never enabled, and taken off again
    assert "node.set_value:userIdStatus" in _methods(server)
    assert PIN not in caplog.text
    assert PIN not in str(caught.value)


@pytest.mark.parametrize("server_options", [{"schedule_entry_lock": False}])
async def test_a_lock_without_schedules_says_so_before_the_radio(hass, backend, server):
    capabilities = await backend.capabilities()
    assert not capabilities.supports_schedules
    with pytest.raises(CodeError) as caught:
        await backend.set_code(12, PIN, CLEANER)
    assert caught.value.reason is CodeErrorReason.NOT_SUPPORTED
    await backend.set_code(12, PIN)  # no schedule work at all
    assert _methods(server) == ["set"]


async def test_slots_outside_the_range_are_never_touched(hass, backend, server):
    for operation in (
        backend.set_code(9, PIN),
        backend.set_code(15, PIN, CLEANER),
        backend.clear_code(15),
        backend.read_code(0),
        backend.set_schedule(2, CLEANER),
        backend.clear_schedule(1),
    ):
        with pytest.raises(CodeError) as caught:
            await operation
        assert caught.value.reason is CodeErrorReason.OUT_OF_RANGE
    await asyncio.sleep(0.2)
    assert server.radio_commands() == []


async def test_a_pin_the_lock_cannot_hold_is_refused_before_the_radio(hass, backend, server):
    for pin in ("123", "12345678901", "12a4"):
        with pytest.raises(CodeError) as caught:
            await backend.set_code(10, pin)
        assert caught.value.reason is CodeErrorReason.REJECTED
    assert server.radio_commands() == []


async def test_a_dead_lock_times_out_and_is_never_reported_set(hass, backend, server, caplog):
    caplog.set_level(logging.DEBUG)
    server.dead = True
    started = time.monotonic()
    with pytest.raises(CodeError) as caught:
        await backend.set_code(11, PIN)
    assert time.monotonic() - started < FAST.timeout + 0.5
    assert caught.value.reason is CodeErrorReason.TIMEOUT
    assert caught.value.retryable
    assert _methods(server) == ["set"]
    assert PIN not in caplog.text
    assert PIN not in str(caught.value)


async def test_closing_ends_a_waiting_operation_as_unavailable(hass, lock_entity, server):
    server.dead = True
    backend = ZwaveJsLock.from_entity(hass, lock_entity, SLOTS, RadioTimings(10.0, 1.0))
    pending = asyncio.ensure_future(backend.clear_code(10))
    await wait_for(server.radio_commands, "the clear on the air")
    await backend.async_close()
    with pytest.raises(CodeError) as caught:
        await pending
    assert caught.value.reason is CodeErrorReason.UNAVAILABLE


async def test_a_keypad_unlock_reports_its_slot(hass, backend, server):
    seen: list[int] = []
    unsubscribe = await backend.subscribe_keypad(seen.append)
    await server.keypad_unlock(13)
    await server.keypad_unlock(2)  # not ours
    await wait_for(lambda: seen, "the keypad event")
    await asyncio.sleep(0.2)
    assert seen == [13]
    unsubscribe()
    await server.keypad_unlock(13)
    await asyncio.sleep(0.2)
    assert seen == [13]


async def test_an_entity_that_is_not_zwave_js_is_not_supported(hass, zwave_entry):
    with pytest.raises(CodeError) as caught:
        ZwaveJsLock.from_entity(hass, "lock.front", SLOTS, FAST)
    assert caught.value.reason is CodeErrorReason.NOT_SUPPORTED


async def test_slots_beyond_the_lock_table_are_refused(hass, lock_entity):
    with pytest.raises(CodeError) as caught:
        ZwaveJsLock.from_entity(hass, lock_entity, range(25, 35), FAST)  # the BE469 has 30
    assert caught.value.reason is CodeErrorReason.OUT_OF_RANGE


async def test_an_unloaded_zwave_js_is_unavailable(hass, lock_entity, zwave_entry):
    await hass.config_entries.async_unload(zwave_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(CodeError) as caught:
        ZwaveJsLock.from_entity(hass, lock_entity, SLOTS, FAST)
    assert caught.value.reason is CodeErrorReason.UNAVAILABLE


async def test_sync_puts_the_code_on_and_a_restart_sends_nothing(hass, lock_entity, server):
    wanted = {12: SlotCode(PIN), 13: SlotCode("739164", CLEANER)}
    first = ZwaveJsLock.from_entity(hass, lock_entity, SLOTS, FAST)
    records = await sync_until_done(first, SLOTS, wanted, {}, key=KEY)
    await first.async_close()
    assert server.code_in(12) == PIN
    assert server.code_in(13) == "739164"
    assert server.users[13].week_days[1]["weekday"] == 2
    assert {slot: record.state for slot, record in records.items()} == {
        10: SlotState.CLEARED,
        11: SlotState.CLEARED,
        12: SlotState.SET,
        13: SlotState.SET,
        14: SlotState.CLEARED,
    }

    # Home Assistant restarts: the persisted records say everything is in place.
    sent = len(server.radio_commands())
    again = ZwaveJsLock.from_entity(hass, lock_entity, SLOTS, FAST)
    assert await sync_until_done(again, SLOTS, wanted, dict(records), key=KEY) == records
    await again.async_close()
    assert len(server.radio_commands()) == sent
