"""A grant's window in the form a lock can enforce on its own.

Zigbee Door Locks (ZCL 0x0101) and Z-Wave locks with the Schedule Entry Lock
command class keep per-user schedules of two kinds:

- **week-day** entries: a weekday and a wall-clock start and end, repeated every
  week (ZCL ``set_week_day_schedule``, Z-Wave ``setWeekDaySchedule``);
- **year-day** entries: a wall-clock start and end date-time
  (ZCL ``set_year_day_schedule``, Z-Wave ``setYearDaySchedule``).

A user has one kind or the other, never both, and a lock holds only a few entries
per user. ``for_grant`` translates a grant's ``Schedule`` when the lock can take
all of it and returns None otherwise; the lock then holds the code without a
schedule and Home Assistant puts it on and takes it off around each window, as
for a lock with no schedules at all.

What a lock enforces and what Home Assistant still does:

- A one-off grant becomes one year-day entry: the lock refuses the code before
  and after the visit by itself, so the code can go on at once.
- A weekly grant becomes one week-day entry per window: the lock refuses the code
  outside its windows by itself. Home Assistant still takes the code off after
  each window (``slots.py``); the entries guard the time it cannot.

Times are the home's wall clock, because that is what locks keep: a lock's clock
is set in local time by its controller. A window that ends at midnight (minute
1440) ends at 23:59 on the lock: the lock has no 24:00, and a minute early is the
safe side.

Pure: no Home Assistant, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from ..core.models import MINUTES_PER_DAY, Schedule, WeeklyWindow

LAST_MINUTE = MINUTES_PER_DAY - 1  # 23:59, the latest end a lock can express


@dataclass(frozen=True, slots=True)
class WeekDayEntry:
    """Every week on ``weekday`` (0 = Monday), local ``start_minute`` to ``end_minute``.

    ``end_minute`` is at most 1439 (23:59): locks count hours 0 to 23.
    """

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start_minute < self.end_minute <= LAST_MINUTE:
            raise ValueError("a week-day entry starts before it ends, within 00:00-23:59")

    @classmethod
    def from_window(cls, window: WeeklyWindow) -> WeekDayEntry:
        return cls(window.weekday, window.start_minute, min(window.end_minute, LAST_MINUTE))

    @property
    def zcl_days_mask(self) -> int:
        """The ZCL DaysMask bit: Sunday is bit 0, Monday bit 1, ... Saturday bit 6."""
        return 1 << ((self.weekday + 1) % 7)

    @property
    def sunday_first_weekday(self) -> int:
        """The weekday counted from Sunday = 0, as Z-Wave's Schedule Entry Lock CC does."""
        return (self.weekday + 1) % 7


@dataclass(frozen=True, slots=True)
class YearDayEntry:
    """From ``start`` to ``end``, both naive local wall-clock date-times."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("year-day entries are local wall-clock times (naive)")
        if self.start >= self.end:
            raise ValueError("a year-day entry starts before it ends")


@dataclass(frozen=True, slots=True)
class LockSchedule:
    """The entries one user (slot) gets on the lock: week-day or year-day, not both."""

    week_days: tuple[WeekDayEntry, ...] = ()
    year_days: tuple[YearDayEntry, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.week_days) == bool(self.year_days):
            raise ValueError("a lock schedule has week-day entries or year-day entries")

    def encode(self) -> str:
        """A canonical text form: equal schedules, equal text (it goes into slot digests)."""
        if self.week_days:
            return "W" + ";".join(
                f"{e.weekday},{e.start_minute},{e.end_minute}" for e in self.week_days
            )
        return "Y" + ";".join(f"{e.start.isoformat()},{e.end.isoformat()}" for e in self.year_days)


def for_grant(
    schedule: Schedule, tz: tzinfo, *, week_day_entries: int, year_day_entries: int
) -> LockSchedule | None:
    """The lock schedule for ``schedule``, if a lock with that many entries per user fits it.

    None when the lock cannot express it: too many windows, or no entries of the
    needed kind. A one-off schedule always has an end (``Schedule`` insists).
    """
    if schedule.weekly:
        if len(schedule.weekly) > week_day_entries:
            return None
        entries = tuple(sorted({WeekDayEntry.from_window(w) for w in schedule.weekly}, key=_order))
        return LockSchedule(week_days=entries)
    if year_day_entries < 1 or schedule.valid_until is None:
        return None
    start = _local(schedule.valid_from, tz, round_up=True)
    end = _local(schedule.valid_until, tz, round_up=False)
    if start >= end:  # a visit inside a fall-back hour: no wall-clock span expresses it
        return None
    return LockSchedule(year_days=(YearDayEntry(start, end),))


def _local(at: datetime, tz: tzinfo, *, round_up: bool) -> datetime:
    """Wall-clock time in ``tz`` to the minute (locks keep no seconds), without zone.

    Starts round up and ends round down: the lock's span lies inside the grant's.
    """
    wall = at.astimezone(tz).replace(tzinfo=None)
    minute = wall.replace(second=0, microsecond=0)
    if round_up and minute != wall:
        minute += timedelta(minutes=1)
    return minute


def _order(entry: WeekDayEntry) -> tuple[int, int, int]:
    return (entry.weekday, entry.start_minute, entry.end_minute)
