"""Which code each slot should hold, and when: with and without a lock that keeps schedules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from custom_components.keyholder.codes.base import LockCapabilities, SlotState
from custom_components.keyholder.codes.lock_schedule import LockSchedule, WeekDayEntry
from custom_components.keyholder.codes.slots import (
    LEAD_TIME,
    SlotCode,
    code_digest,
    free_slot,
    slot_code,
    slots_in_use,
    wanted_codes,
)
from custom_components.keyholder.codes.sync import pin_digest
from custom_components.keyholder.core.models import Grant, GrantKind, Schedule, WeeklyWindow

UTC_ZONE = ZoneInfo("UTC")
KEY = b"k" * 32
PIN = "482913"
SLOTS = range(3, 6)
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
PLAIN = LockCapabilities(SLOTS)
WEEK_DAYS = LockCapabilities(SLOTS, week_day_schedules=5, year_day_schedules=1)
TUESDAY_MORNING = WeeklyWindow(1, 9 * 60, 12 * 60)


def _grant(schedule: Schedule, **changes: object) -> Grant:
    grant = Grant(
        id="g1",
        kind=GrantKind.KEYPAD,
        name="Cleaner",
        doors=frozenset({"front"}),
        schedule=schedule,
        created_at=MONDAY - timedelta(days=7),
    )
    return replace(grant, **changes)


def _wanted(grant: Grant, capabilities: LockCapabilities, now: datetime):
    return wanted_codes(
        "front",
        {4: grant.id},
        {grant.id: grant},
        pin_for={grant.id: PIN}.get,
        digest=lambda code: code_digest(code, key=KEY),
        capabilities=capabilities,
        tz=UTC_ZONE,
        now=now,
    )


WEEKLY = _grant(Schedule(valid_from=MONDAY, weekly=(TUESDAY_MORNING,)))
TUESDAY_9 = MONDAY + timedelta(days=1, hours=9)


def test_without_lock_schedules_a_code_is_on_only_around_its_window():
    assert _wanted(WEEKLY, PLAIN, TUESDAY_9 - LEAD_TIME - timedelta(minutes=1))[0] == {}
    assert _wanted(WEEKLY, PLAIN, TUESDAY_9 - LEAD_TIME)[0] == {
        4: code_digest(SlotCode(PIN), key=KEY)
    }
    assert 4 in _wanted(WEEKLY, PLAIN, TUESDAY_9 + timedelta(hours=2))[0]
    assert _wanted(WEEKLY, PLAIN, TUESDAY_9 + timedelta(hours=3))[0] == {}


def test_with_week_day_entries_the_code_carries_its_window_and_still_comes_off_after_it():
    code = SlotCode(PIN, LockSchedule(week_days=(WeekDayEntry(1, 540, 720),)))
    assert _wanted(WEEKLY, WEEK_DAYS, TUESDAY_9)[0] == {4: code_digest(code, key=KEY)}
    between = TUESDAY_9 + timedelta(days=2)
    wanted, wake_ups = _wanted(WEEKLY, WEEK_DAYS, between)
    assert wanted == {}  # the lock would refuse it; taking it off is defence in depth
    assert min(wake_ups) > between
    first_window = MONDAY + timedelta(days=8, hours=9)
    assert 4 in _wanted(WEEKLY, WEEK_DAYS, first_window - LEAD_TIME)[0]


def test_a_one_off_visit_goes_on_at_once_when_the_lock_keeps_year_days():
    visit = _grant(
        Schedule(
            valid_from=MONDAY + timedelta(days=3), valid_until=MONDAY + timedelta(days=3, hours=2)
        )
    )
    assert 4 in _wanted(visit, WEEK_DAYS, MONDAY)[0]
    assert _wanted(visit, PLAIN, MONDAY)[0] == {}
    assert _wanted(visit, WEEK_DAYS, MONDAY + timedelta(days=3, hours=2))[0] == {}


def test_an_ended_grant_comes_off_every_lock():
    for gone in (
        replace(WEEKLY, revoked_at=MONDAY),
        replace(WEEKLY, use_limit=1, uses=1),
        replace(WEEKLY, doors=frozenset({"back"})),
    ):
        assert _wanted(gone, WEEK_DAYS, TUESDAY_9)[0] == {}
    assert _wanted(WEEKLY, WEEK_DAYS, TUESDAY_9)[0] != {}


def test_a_grant_without_a_pin_in_the_vault_wants_nothing():
    wanted = wanted_codes(
        "front",
        {4: "g1"},
        {"g1": WEEKLY},
        pin_for=lambda _grant_id: None,
        digest=lambda code: code_digest(code, key=KEY),
        capabilities=WEEK_DAYS,
        tz=UTC_ZONE,
        now=TUESDAY_9,
    )
    assert wanted == ({}, [])


def test_a_changed_window_changes_the_digest_and_a_plain_code_keeps_its_old_one():
    on_lock = slot_code(WEEKLY, PIN, UTC_ZONE, WEEK_DAYS)
    assert on_lock.schedule is not None
    later = replace(
        WEEKLY, schedule=Schedule(valid_from=MONDAY, weekly=(WeeklyWindow(1, 600, 720),))
    )
    assert code_digest(slot_code(later, PIN, UTC_ZONE, WEEK_DAYS), key=KEY) != code_digest(
        on_lock, key=KEY
    )
    # Records written before locks had schedules: the PIN's digest alone, unchanged.
    assert code_digest(slot_code(WEEKLY, PIN, UTC_ZONE, PLAIN), key=KEY) == pin_digest(PIN, key=KEY)


def test_a_slot_code_never_shows_its_pin():
    assert PIN not in repr(SlotCode(PIN))
    assert PIN not in str(SlotCode(PIN))


def test_the_lowest_slot_no_live_grant_holds_is_free():
    grants = {"g1": WEEKLY, "old": replace(WEEKLY, id="old", revoked_at=MONDAY)}
    assert free_slot("front", SLOTS, {3: "g1", 4: "old"}, grants, TUESDAY_9) == 4
    assert free_slot("front", SLOTS, {3: "g1", 4: "g1", 5: "g1"}, grants, TUESDAY_9) is None


def test_a_slot_is_in_use_while_a_live_grant_holds_it_or_a_code_may_be_on_the_lock():
    grants = {"g1": WEEKLY, "old": replace(WEEKLY, id="old", revoked_at=MONDAY)}
    held = {3: "g1", 4: "old", 5: "old"}
    states = {
        4: SlotState.CLEARED,  # the revoked grant's code is confirmed gone
        5: SlotState.FAILED,  # its clear failed: the code may still be there
        9: SlotState.SET,  # a code written before the range was narrowed
        10: SlotState.CLEARED,
    }
    assert slots_in_use("front", held, states, grants, TUESDAY_9) == {3, 5, 9}
    assert slots_in_use("garage", held, {}, grants, TUESDAY_9) == set()  # not its door
