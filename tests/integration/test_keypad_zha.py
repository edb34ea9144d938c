"""Keypad codes end to end on a ZHA lock: a grant's PIN and window on the lock itself.

Home Assistant's real ZHA integration runs over a simulated radio
(``tests/codes/zha_radio.py``): zigpy sends real ZCL frames to a Door Lock
firmware that keeps a user table and week-day / year-day schedules and decides,
as a lock does, whether a typed code opens at a given wall-clock time. The
clock is not frozen: radio round trips and Keyholder's timers run in real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from unittest.mock import patch

from homeassistant.const import MATCH_ALL
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from zigpy.zcl.clusters.closures import DoorLock

from custom_components.keyholder.core.models import GrantKind, Schedule, WeeklyWindow
from custom_components.keyholder.home import GrantDraft

from ..codes.test_zha import lock_entity_id, setup_zha
from ..codes.zha_radio import DoorLockFirmware, SimulatedZigbeeNetwork
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


@dataclass
class ZhaLockRig:
    network: SimulatedZigbeeNetwork
    lock: DoorLockFirmware
    entity_id: str
    zha_entry: MockConfigEntry


@pytest.fixture
async def rig(hass: HomeAssistant) -> AsyncIterator[ZhaLockRig]:
    lock = DoorLockFirmware()
    network = SimulatedZigbeeNetwork(lock)
    with (
        network.patch_radio(),
        patch("homeassistant.components.zha.radio_manager.CONNECT_DELAY_S", 0),
    ):
        zha_entry = await setup_zha(hass, network)
        yield ZhaLockRig(network, lock, lock_entity_id(hass), zha_entry)
        await hass.config_entries.async_unload(zha_entry.entry_id)


@pytest.fixture
async def home_entry(hass: HomeAssistant, rig: ZhaLockRig) -> AsyncIterator[MockConfigEntry]:
    async with keypad_home(hass, [door_subentry("Front", opener=rig.entity_id, **SLOTS)]) as entry:
        yield entry


def _wall(at: datetime) -> datetime:
    """The home's wall-clock time at ``at``, as the lock's clock shows it."""
    return dt_util.as_local(at).replace(tzinfo=None)


async def test_a_weekly_grant_puts_its_window_on_the_lock_and_is_attributed(
    hass: HomeAssistant,
    rig: ZhaLockRig,
    home_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    lock = rig.lock
    home = home_of(home_entry)
    door_id = door_id_of(home, "Front")
    sensor = keyholder_entity(hass, "sensor", f"{door_id}_keypad_codes")
    activity = keyholder_entity(hass, "event", f"{door_id}_door_activity")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the first sync")
    assert lock.pins == {}

    # A window from 5 minutes from now, an hour long, every week on that weekday.
    now = dt_util.utcnow()
    start = _wall(now + timedelta(minutes=5)).replace(second=0, microsecond=0)
    start_minute = start.hour * 60 + start.minute
    end_minute = min(start_minute + 60, 1439)
    window = WeeklyWindow(start.weekday(), start_minute, end_minute)
    schedule = Schedule(valid_from=now - timedelta(minutes=1), weekly=(window,))
    issued = await home.async_create_grant(
        GrantDraft(GrantKind.KEYPAD, "Cleaner", frozenset({door_id}), schedule),
        context=Context(),
    )
    pin = issued.pin
    assert pin is not None
    await until_synced(lambda: lock.pins == {10: pin}, "the code on the lock")
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sensor")

    # On the lock: a week-day user with the window, so the lock itself refuses it outside.
    assert lock.users[10].type == DoorLock.UserType.Week_Day_Schedule_User
    (entry,) = lock.schedules_of(10)["week_day"].values()
    assert (entry.days_mask, entry.start, entry.end) == (
        1 << ((window.weekday + 1) % 7),
        start_minute,
        end_minute,
    )
    assert not lock.would_open(pin, _wall(now))  # now: before the window
    assert lock.would_open(pin, start + timedelta(minutes=1))
    assert not lock.would_open(pin, start + timedelta(days=1, minutes=1))

    # A keypad unlock from the device is the cleaner's.
    rig.network.keypad_unlock(lock, 10)
    await until_synced(lambda: home.grants[issued.grant.id].uses == 1, "the use to be counted")
    await hass.async_block_till_done()
    fired = hass.states.get(activity)
    assert fired is not None
    assert fired.attributes["event_type"] == "keypad_used"
    assert fired.attributes["grant"] == "Cleaner"
    used = [r for r in home.audit.records if r["kind"] == "keypad_used"]
    assert used[-1]["data"]["grant"] == "Cleaner"
    assert used[-1]["data"]["door_id"] == door_id

    # Home Assistant restarts (ZHA and Keyholder, same storage): nothing is written.
    writes = len(lock.writes)
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    assert await hass.config_entries.async_unload(rig.zha_entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(rig.zha_entry.entry_id)  # the radio is still ours
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done()
    home = home_of(home_entry)
    await until_synced(lambda: state_of(hass, sensor) == "in_sync", "the sync after the restart")
    assert lock.writes[writes:] == []
    assert lock.pins == {10: pin}

    # The keypad still reaches the grant after the restart.
    rig.network.keypad_unlock(lock, 10)
    await until_synced(lambda: home.grants[issued.grant.id].uses == 2, "the use after the restart")

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != HARNESS_LOGGER)
    assert not leaks(pin, logged)
    assert not any(leaks(pin, str(state.as_dict())) for state in hass.states.async_all())
    assert not any(leaks(pin, str(event.data)) for event in events)


async def test_a_visits_code_is_on_the_lock_for_its_window_only(
    hass: HomeAssistant, rig: ZhaLockRig, home_entry: MockConfigEntry
) -> None:
    """A one-off visit: a year-day entry on the lock, and the code gone at ``valid_until``."""
    lock = rig.lock
    home = home_of(home_entry)
    door_id = door_id_of(home, "Front")
    now = dt_util.utcnow()
    # Locks keep minutes: starting two minutes ago leaves a whole minute on the lock.
    visit = Schedule(valid_from=now - timedelta(minutes=2), valid_until=now + timedelta(seconds=5))
    issued = await home.async_create_grant(
        GrantDraft(GrantKind.KEYPAD, "Plumber", frozenset({door_id}), visit), context=Context()
    )
    pin = issued.pin
    assert pin is not None
    # The code first, then its entry (the set's next frame).
    await until_synced(
        lambda: lock.schedules_of(10)["year_day"], "the code and its entry on the lock"
    )
    assert dt_util.utcnow() < visit.valid_until
    assert lock.pins == {10: pin}
    assert lock.users[10].type == DoorLock.UserType.Year_Day_Schedule_User
    assert not lock.would_open(pin, _wall(visit.valid_until + timedelta(minutes=1)))
    await until_synced(lambda: lock.pins == {}, "the code to leave at the window's end")
    assert dt_util.utcnow() >= visit.valid_until
    # The code goes first, then its schedule entries (the clear's next frames).
    await until_synced(
        lambda: lock.schedules_of(10) == {"week_day": {}, "year_day": {}}, "the entries cleared"
    )


async def test_a_weekly_codes_window_ends_and_the_code_leaves_the_lock(
    hass: HomeAssistant, rig: ZhaLockRig, home_entry: MockConfigEntry
) -> None:
    """The lock keeps the week-day entry, and Home Assistant still takes the code off at the end.

    The window open now is cut short by the grant's end a few seconds away: the
    window's end is then that instant, reached by the timer with nobody acting.
    """
    lock = rig.lock
    home = home_of(home_entry)
    door_id = door_id_of(home, "Front")
    now = dt_util.utcnow()
    wall = _wall(now)
    start_minute = max(wall.hour * 60 + wall.minute - 2, 0)
    window = WeeklyWindow(wall.weekday(), start_minute, min(start_minute + 60, 1440))
    schedule = Schedule(
        valid_from=now - timedelta(minutes=5),
        valid_until=now + timedelta(seconds=6),
        weekly=(window,),
    )
    issued = await home.async_create_grant(
        GrantDraft(GrantKind.KEYPAD, "Cleaner", frozenset({door_id}), schedule), context=Context()
    )
    pin = issued.pin
    assert pin is not None
    await until_synced(lambda: lock.schedules_of(10)["week_day"], "the code and its week-day entry")
    assert lock.pins == {10: pin}
    assert lock.users[10].type == DoorLock.UserType.Week_Day_Schedule_User
    assert dt_util.utcnow() < schedule.valid_until  # type: ignore[operator]
    await until_synced(lambda: lock.pins == {}, "the code to leave at the window's end")
    assert dt_util.utcnow() >= schedule.valid_until  # type: ignore[operator]
    await until_synced(
        lambda: lock.schedules_of(10) == {"week_day": {}, "year_day": {}}, "the entries cleared"
    )
