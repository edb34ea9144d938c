"""Keypad codes end to end on a Z-Wave lock: a weekly grant as a user code with schedule.

Home Assistant's real zwave_js integration talks over a real websocket to
``tests/codes/zwave_js_server.py``, a Z-Wave JS server whose lock node (a
Schlage BE469 dump plus the Schedule Entry Lock CC) keeps its user codes and
schedule entries like firmware. The websocket takes real time, so the clock is
not frozen: windows are placed relative to now.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
import logging
from typing import Any

from homeassistant.const import MATCH_ALL
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.core.models import GrantKind, Schedule, WeeklyWindow
from custom_components.keyholder.home import GrantDraft

from ..codes.zwave_js_server import HOME_ID, SimulatedZwaveJsServer
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
async def server(socket_enabled: None) -> AsyncIterator[SimulatedZwaveJsServer]:
    server = SimulatedZwaveJsServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def lock_entity(hass: HomeAssistant, server: SimulatedZwaveJsServer) -> AsyncIterator[str]:
    entry = MockConfigEntry(
        domain="zwave_js",
        title="Z-Wave JS",
        data={"url": server.url, "use_addon": False, "integration_created_addon": False},
        unique_id=str(HOME_ID),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    locks = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "lock"
    ]
    assert len(locks) == 1
    yield locks[0]
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
async def home_entry(hass: HomeAssistant, lock_entity: str) -> AsyncIterator[MockConfigEntry]:
    async with keypad_home(hass, [door_subentry("Front", opener=lock_entity, **SLOTS)]) as entry:
        yield entry


def _writes(server: SimulatedZwaveJsServer) -> list[dict[str, Any]]:
    """Commands that change the lock (reads such as ``get`` or ``getNumSlots`` left out)."""
    return [
        c
        for c in server.radio_commands()
        if c["command"] == "node.set_value" or c.get("methodName", "").startswith("set")
    ]


async def test_a_weekly_keypad_grant_is_a_scheduled_user_code_on_the_z_wave_lock(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    server: SimulatedZwaveJsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    home = home_of(home_entry)
    door_id = door_id_of(home, "Front")
    sensor = keyholder_entity(hass, "sensor", f"{door_id}_keypad_codes")
    activity = keyholder_entity(hass, "event", f"{door_id}_door_activity")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the first sync")
    assert all(server.code_in(slot) is None for slot in (10, 11, 12))

    now = dt_util.utcnow()
    start = dt_util.as_local(now + timedelta(minutes=5))
    start_minute = start.hour * 60 + start.minute
    window = WeeklyWindow(start.weekday(), start_minute, min(start_minute + 60, 1440))
    issued = await home.async_create_grant(
        GrantDraft(
            GrantKind.KEYPAD,
            "Cleaner",
            frozenset({door_id}),
            Schedule(valid_from=now - timedelta(minutes=1), weekly=(window,)),
        ),
        context=Context(),
    )
    pin = issued.pin
    assert pin is not None

    # The code is on the lock with the window as a week-day entry the lock enforces.
    await until_synced(lambda: server.code_in(10) == pin, "the code on the lock")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sensor")
    end = min(window.end_minute, 1439)
    assert server.users[10].week_days == {
        1: {
            "weekday": (window.weekday + 1) % 7,
            "startHour": window.start_minute // 60,
            "startMinute": window.start_minute % 60,
            "stopHour": end // 60,
            "stopMinute": end % 60,
        }
    }
    assert server.users[10].schedules_enabled

    # A keypad unlock by user 10 is the cleaner's.
    await server.keypad_unlock(10)
    await until_synced(lambda: home.grants[issued.grant.id].uses == 1, "the use to be counted")
    await hass.async_block_till_done()
    fired = hass.states.get(activity)
    assert fired is not None
    assert fired.attributes["event_type"] == "keypad_used"
    assert fired.attributes["grant"] == "Cleaner"
    used = [r for r in home.audit.records if r["kind"] == "keypad_used"]
    assert used[-1]["data"]["grant"] == "Cleaner"
    assert used[-1]["data"]["door_id"] == door_id

    # A restart with the code in place writes nothing to the lock.
    writes_before = len(_writes(server))
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done()
    home = home_of(home_entry)
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sync after the restart")
    assert len(_writes(server)) == writes_before
    assert server.code_in(10) == pin

    # Revoking takes the code and its schedule off the lock.
    await home.async_revoke_grant(issued.grant.id, context=Context())
    await until_synced(lambda: server.users[10].status == 0, "the code to be cleared")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sensor after the revoke")
    assert server.users[10].week_days == {}
    assert not server.users[10].schedules_enabled

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != HARNESS_LOGGER)
    assert not leaks(pin, logged)
    assert not any(leaks(pin, str(state.as_dict())) for state in hass.states.async_all())
    assert not any(leaks(pin, str(event.data)) for event in events)


async def test_a_slot_range_beyond_the_locks_table_is_reported_and_nothing_is_sent(
    hass: HomeAssistant, lock_entity: str, server: SimulatedZwaveJsServer
) -> None:
    """The BE469 has users 1 to 30: slots 29 to 31 cannot all be Keyholder's."""
    sent = len(server.commands)
    door = door_subentry("Front", opener=lock_entity, first_keypad_slot=29, last_keypad_slot=31)
    async with keypad_home(hass, [door]) as entry:
        (door_id,) = entry.subentries
        sensor = keyholder_entity(hass, "sensor", f"{door_id}_keypad_codes")
        await until_synced(lambda: state_of(hass, sensor) == "unsupported", "the sensor to say so")
        assert ir.async_get(hass).async_get_issue(DOMAIN, f"keypad_slots_out_of_range_{door_id}")
        assert server.commands[sent:] == []
