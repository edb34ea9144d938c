"""A grant's window as week-day or year-day entries a lock enforces by itself."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from custom_components.keyholder.codes.lock_schedule import (
    LockSchedule,
    WeekDayEntry,
    YearDayEntry,
    for_grant,
)
from custom_components.keyholder.core.models import Schedule, WeeklyWindow

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 1, tzinfo=UTC)
TUESDAY_MORNING = WeeklyWindow(1, 9 * 60, 12 * 60)


def _wall(*parts: int) -> datetime:
    """A naive wall-clock time, as locks keep them."""
    return datetime(*parts, tzinfo=UTC).replace(tzinfo=None)  # type: ignore[misc]


def _fits(schedule: Schedule, *, week: int = 0, year: int = 0) -> LockSchedule | None:
    return for_grant(schedule, BERLIN, week_day_entries=week, year_day_entries=year)


def test_a_weekly_grant_becomes_one_week_day_entry_per_window():
    friday_evening = WeeklyWindow(4, 18 * 60, 24 * 60)
    schedule = Schedule(valid_from=START, weekly=(friday_evening, TUESDAY_MORNING))
    fitted = _fits(schedule, week=4)
    assert fitted is not None
    assert fitted.week_days == (
        WeekDayEntry(1, 540, 720),
        WeekDayEntry(4, 1080, 1439),  # midnight is 23:59 on a lock: a minute early, never late
    )
    assert fitted.year_days == ()


def test_a_weekly_grant_that_does_not_fit_is_left_to_home_assistant():
    windows = tuple(WeeklyWindow(day, 540, 600) for day in range(3))
    schedule = Schedule(valid_from=START, weekly=windows)
    assert _fits(schedule, week=2, year=5) is None
    assert _fits(schedule, week=0, year=5) is None
    assert _fits(schedule, week=3) is not None


def test_a_one_off_visit_becomes_a_year_day_entry_in_local_wall_time():
    visit = Schedule(
        valid_from=datetime(2026, 7, 3, 6, 0, 30, tzinfo=UTC),  # 08:00:30 in Berlin (CEST)
        valid_until=datetime(2026, 7, 3, 8, 0, 59, tzinfo=UTC),
    )
    fitted = _fits(visit, year=1)
    assert fitted is not None
    # Starts round up and ends round down: the lock's span lies inside the grant's.
    assert fitted.year_days == (YearDayEntry(_wall(2026, 7, 3, 8, 1), _wall(2026, 7, 3, 10, 0)),)
    assert _fits(visit, week=5) is None


def test_a_visit_inside_the_repeated_autumn_hour_cannot_be_put_on_a_lock():
    # 02:10 to 02:50 Berlin summer time, then the clocks go back: wall time 02:10-02:50 twice.
    first = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)
    visit = Schedule(valid_from=first, valid_until=datetime(2026, 10, 25, 1, 5, tzinfo=UTC))
    assert _fits(visit, year=1) is None


@pytest.mark.parametrize(
    ("weekday", "mask", "sunday_first"),
    [(0, 0x02, 1), (1, 0x04, 2), (5, 0x40, 6), (6, 0x01, 0)],
)
def test_weekdays_in_zigbee_and_z_wave_numbering(weekday, mask, sunday_first):
    entry = WeekDayEntry(weekday, 0, 60)
    assert entry.zcl_days_mask == mask
    assert entry.sunday_first_weekday == sunday_first


def test_equal_schedules_encode_equally_and_different_ones_differently():
    one = LockSchedule(week_days=(WeekDayEntry(1, 540, 720),))
    assert one.encode() == LockSchedule(week_days=(WeekDayEntry(1, 540, 720),)).encode()
    assert one.encode() != LockSchedule(week_days=(WeekDayEntry(1, 540, 721),)).encode()
    span = YearDayEntry(_wall(2026, 1, 1, 9), _wall(2026, 1, 1, 10))
    assert LockSchedule(year_days=(span,)).encode().startswith("Y")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: WeekDayEntry(7, 0, 60), "weekday"),
        (lambda: WeekDayEntry(0, 60, 60), "starts before"),
        (lambda: WeekDayEntry(0, 0, 1440), "starts before"),
        (lambda: YearDayEntry(datetime(2026, 1, 1, tzinfo=UTC), _wall(2026, 1, 2)), "naive"),
        (lambda: YearDayEntry(_wall(2026, 1, 2), _wall(2026, 1, 1)), "starts before"),
        (LockSchedule, "week-day entries or year-day"),
        (
            lambda: LockSchedule(
                week_days=(WeekDayEntry(0, 0, 60),),
                year_days=(YearDayEntry(_wall(2026, 1, 1), _wall(2026, 1, 2)),),
            ),
            "week-day entries or year-day",
        ),
    ],
)
def test_impossible_entries_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()
