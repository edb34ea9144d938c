"""When a schedule is open, as UTC intervals, with daylight saving resolved one way.

Weekly windows are wall-clock minutes in the home's time zone, but locks, timers
and the decision work in instants. Twice a year a wall time either does not exist
(spring forward) or exists twice (fall back). Both are resolved with PEP 495
``fold=0``, exactly as ``datetime(..., tzinfo=zone).astimezone(UTC)`` does:

- a wall time in the spring-forward gap is read with the offset from before the
  change, so it lands as far after the change as it was into the gap
  (Berlin 02:30 on the last Sunday of March is 03:30 CEST);
- an ambiguous wall time in the fall-back overlap is its first occurrence
  (Berlin 02:30 on the last Sunday of October is 02:30 CEST).

An interval that comes out empty or negative this way (a window that starts in the
gap and ends at the end of it) is dropped: that window does not open that day.

``is_open``, ``any_open`` and ``next_boundary`` are all defined through
``occurrences``, so they cannot disagree.

Bounded work: ``occurrences`` walks the local dates of its query (clipped to the
schedule's validity), so its cost grows with the range and every caller caps the
range it asks for. ``any_open`` answers "is there any open instant in [a, b)?"
for a range of any length by looking at most a year and a week into it (in
practice the first week or two), and ``next_boundary`` looks no further either.
Instants before ``EARLIEST`` or from ``LATEST`` on are never open: ``datetime``
cannot hold the local dates around years 1 and 9999 in every zone, and no grant
lives there (actions refuse starts and ends more than twenty years away).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from .models import MINUTES_PER_DAY, Schedule

_TICK = timedelta(microseconds=1)  # the resolution of datetime: [at, at + _TICK) is "at"
# A window on one local date lies within a day of that date's midnights, however
# far the zone's offset is from UTC; two days of margin is comfortably enough.
_DATE_MARGIN = timedelta(days=2)
_SEARCH_CHUNK = timedelta(days=8)
# The weekly pattern only changes around daylight-saving days, which recur each
# year: a schedule that keeps its state for a year and a week keeps it for good.
_SEARCH_HORIZON = timedelta(days=366 + 8)
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)

type Interval = tuple[datetime, datetime]


def occurrences(schedule: Schedule, tz: tzinfo, start: datetime, end: datetime) -> list[Interval]:
    """The UTC intervals ``[s, e)`` in which ``schedule`` is open, within ``[start, end)``.

    Intervals are clipped to the query range and to the schedule's validity,
    sorted, and merged where they touch, so the result describes the set of open
    instants and nothing else: consecutive windows (Monday to 24:00, Tuesday from
    00:00) form one interval, and two queries over neighbouring ranges agree.
    """
    _require_aware(start, end)
    if (span := _clip(schedule, start, end)) is None:
        return []
    lo, hi = span
    # A one-off schedule is open for the whole of its validity.
    raw = _weekly_intervals(schedule, tz, lo, hi) if schedule.weekly else [(lo, hi)]
    return _merge([(max(s, lo), min(e, hi)) for s, e in raw if s < hi and e > lo])


def is_open(schedule: Schedule, tz: tzinfo, at: datetime) -> bool:
    """Whether the schedule lets someone in at the instant ``at``."""
    _require_aware(at)
    return at < LATEST and bool(occurrences(schedule, tz, at, at + _TICK))


def any_open(schedule: Schedule, tz: tzinfo, start: datetime, end: datetime) -> bool:
    """Whether the schedule is open at any instant in ``[start, end)``, however long.

    Same answer as ``bool(occurrences(...))``, at bounded cost: a weekly pattern
    repeats every week but for the days the clocks change, so the range is looked
    at a week and a day at a time, and a schedule closed for a year and a week
    (every daylight-saving change once) stays closed.
    """
    _require_aware(start, end)
    if (span := _clip(schedule, start, end)) is None:
        return False
    lo, hi = span
    if not schedule.weekly:
        return True
    horizon = hi if hi - lo < _SEARCH_HORIZON else lo + _SEARCH_HORIZON
    cursor = lo
    while cursor < horizon:
        chunk_end = min(cursor + _SEARCH_CHUNK, horizon)
        if occurrences(schedule, tz, cursor, chunk_end):
            return True
        cursor = chunk_end
    return False


def next_boundary(schedule: Schedule, tz: tzinfo, after: datetime) -> datetime | None:
    """The first instant later than ``after`` at which ``is_open`` changes.

    None when it never changes again. Used to arm a timer, so the answer has to be
    exact; the search looks a year and a week ahead (every daylight-saving change
    once) and beyond that only ``valid_until`` can still close the schedule.
    """
    _require_aware(after)
    cursor = max(after, schedule.valid_from, EARLIEST)
    end = LATEST if schedule.valid_until is None else min(schedule.valid_until, LATEST)
    if cursor >= end:
        return None
    horizon = end + _TICK if end - cursor < _SEARCH_HORIZON else cursor + _SEARCH_HORIZON
    while cursor < horizon:
        chunk_end = min(cursor + _SEARCH_CHUNK, horizon)
        # Start a tick early so a boundary exactly at ``cursor`` is not lost
        # between two chunks; only an edge strictly inside the query is real.
        query_start = cursor - _TICK
        edges = [
            edge
            for s, e in occurrences(schedule, tz, query_start, chunk_end)
            for edge, real in ((s, s > query_start), (e, e < chunk_end))
            if real and edge > after
        ]
        if edges:
            return min(edges)
        cursor = chunk_end
    until = schedule.valid_until
    if until is not None and until > after and is_open(schedule, tz, until - _TICK):
        return until.astimezone(UTC)
    return None


def _clip(schedule: Schedule, start: datetime, end: datetime) -> Interval | None:
    """The query range within the schedule's validity and ``[EARLIEST, LATEST)``, in UTC.

    None if that is empty. Compared before converting, so that no instant near
    the ends of ``datetime`` is ever shifted past them.
    """
    lo = max(start, schedule.valid_from, EARLIEST)
    hi = min(end, schedule.valid_until or LATEST, LATEST)
    return (lo.astimezone(UTC), hi.astimezone(UTC)) if lo < hi else None


def _weekly_intervals(schedule: Schedule, tz: tzinfo, lo: datetime, hi: datetime) -> list[Interval]:
    """Every window on every local date that could touch ``[lo, hi)``, unclipped."""
    day = (lo - _DATE_MARGIN).astimezone(tz).date()
    last = (hi + _DATE_MARGIN).astimezone(tz).date()
    intervals: list[Interval] = []
    while day <= last:
        for window in schedule.weekly:
            if window.weekday == day.weekday():
                s = _wall_to_utc(day, window.start_minute, tz)
                e = _wall_to_utc(day, window.end_minute, tz)
                if s < e:
                    intervals.append((s, e))
        day += timedelta(days=1)
    return intervals


def _wall_to_utc(day: date, minute: int, tz: tzinfo) -> datetime:
    """The instant of a wall-clock minute of ``day`` (1440 = next midnight), fold=0."""
    days, minute = divmod(minute, MINUTES_PER_DAY)
    wall = time(minute // 60, minute % 60)  # fold=0: see the module docstring
    return datetime.combine(day + timedelta(days=days), wall, tzinfo=tz).astimezone(UTC)


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _require_aware(*moments: datetime) -> None:
    if any(moment.tzinfo is None or moment.utcoffset() is None for moment in moments):
        raise ValueError("schedule queries need timezone-aware datetimes")
