"""Schedule queries cost the same however long the range, up to the ends of ``datetime``.

``any_open`` is checked against ``occurrences`` (the oracle) on ranges of up to a
month; its cost over thousands of years is measured by counting how often it asks
the time zone for an offset, which is what walking day by day does.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from custom_components.keyholder.core.models import Schedule
from custom_components.keyholder.core.schedule import (
    EARLIEST,
    LATEST,
    any_open,
    is_open,
    next_boundary,
    occurrences,
)

from .test_schedule import BERLIN, NEW_YORK, SUNDAY, cases, utc, weekly

DAWN = datetime.min.replace(tzinfo=UTC)
DUSK = datetime.max.replace(tzinfo=UTC)
# The ends of time as a zone west of UTC writes them: no UTC instant for either.
WEST = timezone(timedelta(hours=-5))
EAST = timezone(timedelta(hours=5))
FAR_WEST_END = datetime.max.replace(tzinfo=WEST)
FAR_EAST_START = datetime.min.replace(tzinfo=EAST)
EVERY_DAY = tuple((day, 8 * 60, 20 * 60) for day in range(7))


class CountingZone(tzinfo):
    """A real zone that counts the offsets asked of it: one or two per window and day."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.asked = 0

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        self.asked += 1
        return self.zone.utcoffset(None if dt is None else dt.replace(tzinfo=self.zone))

    def dst(self, dt: datetime | None) -> timedelta | None:
        return self.zone.dst(None if dt is None else dt.replace(tzinfo=self.zone))

    def tzname(self, dt: datetime | None) -> str | None:
        return self.zone.tzname(None if dt is None else dt.replace(tzinfo=self.zone))

    def fromutc(self, dt: datetime) -> datetime:
        return self.zone.fromutc(dt.replace(tzinfo=self.zone)).replace(tzinfo=self)


class DailyJump(tzinfo):
    """Clocks go forward at 02:00 and back at 12:00, every day: 02:00-03:00 never happens.

    A weekly window from 02:00 to 03:00 is in the gap each day, so it never opens
    (the module's fold=0 rule); no real zone does this, which is what it is for: a
    schedule closed for ever, the longest search there is.
    """

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self.dst(dt)

    def dst(self, dt: datetime | None) -> timedelta:
        if dt is not None and time(3) <= dt.time() < time(12):
            return timedelta(hours=1)
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "JUMP"


NEVER = weekly(*((day, 2 * 60, 3 * 60) for day in range(7)))


# --- any_open against the oracle ----------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(cases(), st.integers(0, 31 * 1440))
def test_any_open_agrees_with_occurrences(
    case: tuple[Schedule, ZoneInfo, datetime], length: int
) -> None:
    schedule, tz, start = case
    end = start + timedelta(minutes=length)
    assert any_open(schedule, tz, start, end) == bool(occurrences(schedule, tz, start, end))


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(0, 31 * 1440), st.integers(1, 40))
def test_a_longer_range_is_open_whenever_a_shorter_one_inside_it_is(
    case: tuple[Schedule, ZoneInfo, datetime], length: int, years: int
) -> None:
    schedule, tz, start = case
    short = any_open(schedule, tz, start, start + timedelta(minutes=length))
    assert not short or any_open(schedule, tz, start, start + timedelta(days=365 * years))


def test_a_schedule_that_never_opens_is_closed_over_any_range() -> None:
    jump = DailyJump()
    start = utc(2024, 1, 1)
    assert occurrences(NEVER, jump, start, start + timedelta(days=31)) == []
    assert not any_open(NEVER, jump, start, start + timedelta(days=31))
    assert not any_open(NEVER, jump, DAWN, DUSK)
    assert next_boundary(NEVER, jump, start) is None


# --- bounded work -------------------------------------------------------------------------


def test_any_open_over_all_of_time_looks_at_about_a_week() -> None:
    zone = CountingZone(BERLIN)
    schedule = weekly((SUNDAY, 2 * 60, 3 * 60), valid_from=DAWN)
    assert any_open(schedule, zone, DAWN, DUSK)
    assert zone.asked < 100  # a day-by-day walk would ask millions of times


def test_a_schedule_closed_for_ever_is_searched_a_year_and_a_week_at_most() -> None:
    class CountingJump(DailyJump):
        asked = 0

        def utcoffset(self, dt: datetime | None) -> timedelta:
            CountingJump.asked += 1
            return super().utcoffset(dt)

    zone = CountingJump()
    assert not any_open(NEVER, zone, utc(2024, 1, 1), DUSK)
    searched = zone.asked
    assert not any_open(NEVER, zone, utc(2024, 1, 1), utc(2025, 1, 9))
    assert zone.asked - searched == searched  # the same work for 7,975 years as for one
    assert searched < 20 * 400  # a few offsets per window, 7 windows a day, ~400 days


def test_next_boundary_far_from_now_is_found_without_walking_there() -> None:
    zone = CountingZone(NEW_YORK)
    opens = utc(9998, 12, 1, 14)  # 09:00 in New York, an hour into that day's window
    schedule = weekly(*EVERY_DAY, valid_from=opens)
    assert next_boundary(schedule, zone, utc(2026, 12, 1)) == opens
    assert next_boundary(schedule, zone, opens) == utc(9998, 12, 2, 1)  # 20:00 local
    assert zone.asked < 200


# --- the ends of time ---------------------------------------------------------------------


def test_nothing_is_open_before_earliest_or_from_latest_on() -> None:
    always = Schedule(valid_from=DAWN, valid_until=DUSK)
    assert occurrences(always, NEW_YORK, DAWN, DUSK) == [(EARLIEST, LATEST)]
    assert occurrences(always, NEW_YORK, FAR_EAST_START, FAR_WEST_END) == [(EARLIEST, LATEST)]
    assert any_open(always, NEW_YORK, FAR_EAST_START, FAR_WEST_END)
    assert not any_open(always, NEW_YORK, FAR_EAST_START, EARLIEST)
    assert not any_open(always, NEW_YORK, LATEST, FAR_WEST_END)
    assert is_open(always, NEW_YORK, LATEST - timedelta(microseconds=1))
    assert not is_open(always, NEW_YORK, LATEST)
    assert not is_open(always, NEW_YORK, DUSK)
    assert not is_open(always, NEW_YORK, DAWN)


def test_weekly_windows_at_the_ends_of_time_are_computed_without_overflow() -> None:
    schedule = weekly(*EVERY_DAY, valid_from=DAWN)
    for tz in (NEW_YORK, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")):
        late = occurrences(schedule, tz, LATEST - timedelta(days=3), FAR_WEST_END)
        early = occurrences(schedule, tz, FAR_EAST_START, EARLIEST + timedelta(days=3))
        assert 2 <= len(late) <= 4
        assert 2 <= len(early) <= 4
        assert all(EARLIEST <= s < e <= LATEST for s, e in late + early)


def test_next_boundary_at_the_ends_of_time() -> None:
    always = Schedule(valid_from=DAWN, valid_until=DUSK)
    # Open from EARLIEST on, closed from LATEST on: those are its only changes.
    assert next_boundary(always, NEW_YORK, DAWN) == EARLIEST
    assert next_boundary(always, NEW_YORK, LATEST - timedelta(days=30)) == LATEST
    assert next_boundary(always, NEW_YORK, LATEST) is None
    assert next_boundary(always, NEW_YORK, DUSK) is None
    # A schedule that starts only after LATEST never opens.
    assert (
        next_boundary(
            Schedule(valid_from=DUSK - timedelta(days=1), valid_until=DUSK), NEW_YORK, DAWN
        )
        is None
    )
    # Weekly windows in the last days of LATEST, in a zone west of UTC.
    schedule = weekly(*EVERY_DAY, valid_from=DAWN)
    first = next_boundary(schedule, NEW_YORK, LATEST - timedelta(days=2))
    assert first is not None
    assert first < LATEST
    assert is_open(schedule, NEW_YORK, first) != is_open(
        schedule, NEW_YORK, first - timedelta(microseconds=1)
    )
