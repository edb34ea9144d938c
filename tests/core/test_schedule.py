"""Schedules in the home's local time, across daylight-saving changes.

The documented rule (``core/schedule.py``) is PEP 495 ``fold=0``: a wall time in
the spring-forward gap moves forward by the length of the gap, an ambiguous one
in the fall-back overlap is its first occurrence. The hand-worked cases below pin
that rule down in three zones; the properties compare the implementation with an
oracle that finds each window's instants from UTC offsets alone, without fold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.keyholder.core.models import Schedule, WeeklyWindow
from custom_components.keyholder.core.schedule import is_open, next_boundary, occurrences

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # half-hour daylight saving
ZONES = [BERLIN, NEW_YORK, LORD_HOWE, ZoneInfo("UTC")]
TICK = timedelta(microseconds=1)
SUNDAY = 6
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly(*windows: tuple[int, int, int], valid_from: datetime = EPOCH) -> Schedule:
    return Schedule(valid_from=valid_from, weekly=tuple(WeeklyWindow(*w) for w in windows))


# --- an oracle that knows nothing of fold -----------------------------------------


def wall_instant(day: date, minute: int, tz: tzinfo) -> datetime:
    """The documented instant of a wall-clock minute, found from UTC offsets only.

    Try the offsets in force a day and a half before and after; a candidate is
    real if converting it back gives the same wall time. Two real ones: the
    overlap, take the earlier. None: the gap, use the offset from before it.
    """
    wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
    as_utc = wall.replace(tzinfo=UTC)
    before = (as_utc - timedelta(hours=36)).astimezone(tz).utcoffset()
    after = (as_utc + timedelta(hours=36)).astimezone(tz).utcoffset()
    assert before is not None
    assert after is not None
    candidates = sorted({as_utc - before, as_utc - after})
    real = [c for c in candidates if c.astimezone(tz).replace(tzinfo=None) == wall]
    return real[0] if real else as_utc - before


def oracle_is_open(schedule: Schedule, tz: tzinfo, at: datetime) -> bool:
    if at < schedule.valid_from or (
        schedule.valid_until is not None and at >= schedule.valid_until
    ):
        return False
    if not schedule.weekly:
        return True
    local_day = at.astimezone(tz).date()
    for offset in range(-2, 3):
        day = local_day + timedelta(days=offset)
        for window in schedule.weekly:
            if window.weekday == day.weekday() and (
                wall_instant(day, window.start_minute, tz)
                <= at
                < wall_instant(day, window.end_minute, tz)
            ):
                return True
    return False


@cache
def transitions(tz: ZoneInfo) -> tuple[datetime, ...]:
    """The instants in 2024 and 2025 at which the zone's UTC offset changes."""
    found = []
    hour = utc(2024, 1, 1)
    offset = hour.astimezone(tz).utcoffset()
    while hour < utc(2026, 1, 1):
        nxt = hour + timedelta(minutes=30)
        if (new := nxt.astimezone(tz).utcoffset()) != offset:
            found.append(nxt)
            offset = new
        hour = nxt
    return tuple(found)


# --- strategies ---------------------------------------------------------------------

# Minutes around the small hours, where daylight saving happens, are drawn often.
minutes = st.one_of(
    st.sampled_from([0, 60, 90, 100, 120, 130, 135, 150, 165, 180, 190, 210, 240, 1440]),
    st.integers(0, 1440),
)


@st.composite
def windows(draw: st.DrawFn) -> WeeklyWindow:
    start, end = sorted(draw(st.lists(minutes, min_size=2, max_size=2, unique=True)))
    weekday = draw(st.one_of(st.just(SUNDAY), st.integers(0, 6)))
    return WeeklyWindow(weekday, start, end)


@st.composite
def near_transition(draw: st.DrawFn, tz: ZoneInfo) -> datetime:
    base = utc(2024, 3, 31) if tz.key == "UTC" else draw(st.sampled_from(transitions(tz)))
    return base + draw(
        st.one_of(
            st.integers(-3 * 1440, 3 * 1440).map(lambda m: timedelta(minutes=m)),
            st.integers(-3 * 86400 * 10**6, 3 * 86400 * 10**6).map(
                lambda us: timedelta(microseconds=us)
            ),
        )
    )


@st.composite
def schedules(draw: st.DrawFn, around: datetime) -> Schedule:
    valid_from = around - draw(
        st.integers(-2 * 1440, 10 * 1440).map(lambda m: timedelta(minutes=m))
    )
    valid_until = draw(
        st.none() | st.integers(1, 12 * 1440).map(lambda m: valid_from + timedelta(minutes=m))
    )
    weekly_windows = draw(st.lists(windows(), max_size=4))
    if not weekly_windows and valid_until is None:
        valid_until = valid_from + timedelta(days=1)
    return Schedule(valid_from=valid_from, valid_until=valid_until, weekly=tuple(weekly_windows))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Schedule, ZoneInfo, datetime]:
    tz = draw(st.sampled_from(ZONES))
    at = draw(near_transition(tz))
    return draw(schedules(at)), tz, at


# --- examples -----------------------------------------------------------------------


def test_one_off_schedule_is_open_for_its_whole_span() -> None:
    schedule = Schedule(valid_from=utc(2024, 5, 1, 8), valid_until=utc(2024, 5, 1, 10))
    assert occurrences(schedule, BERLIN, utc(2024, 4, 1), utc(2024, 6, 1)) == [
        (utc(2024, 5, 1, 8), utc(2024, 5, 1, 10))
    ]
    assert not is_open(schedule, BERLIN, utc(2024, 5, 1, 8) - TICK)
    assert is_open(schedule, BERLIN, utc(2024, 5, 1, 8))
    assert is_open(schedule, BERLIN, utc(2024, 5, 1, 10) - TICK)
    assert not is_open(schedule, BERLIN, utc(2024, 5, 1, 10))


def test_weekly_window_is_in_local_time() -> None:
    cleaner = weekly((1, 9 * 60, 12 * 60))  # Tuesdays 09:00-12:00
    winter = occurrences(cleaner, BERLIN, utc(2024, 1, 1), utc(2024, 1, 8))
    summer = occurrences(cleaner, BERLIN, utc(2024, 7, 1), utc(2024, 7, 8))
    assert winter == [(utc(2024, 1, 2, 8), utc(2024, 1, 2, 11))]
    assert summer == [(utc(2024, 7, 2, 7), utc(2024, 7, 2, 10))]


def test_window_until_midnight_joins_the_next_days_first_window() -> None:
    late = weekly((0, 22 * 60, 1440), (1, 0, 2 * 60))
    assert occurrences(late, NEW_YORK, utc(2024, 1, 1), utc(2024, 1, 8)) == [
        (utc(2024, 1, 2, 3), utc(2024, 1, 2, 7))
    ]


def test_overlapping_windows_merge() -> None:
    schedule = weekly((2, 60, 180), (2, 120, 240), (2, 300, 360))
    assert occurrences(schedule, ZoneInfo("UTC"), utc(2024, 1, 1), utc(2024, 1, 8)) == [
        (utc(2024, 1, 3, 1), utc(2024, 1, 3, 4)),
        (utc(2024, 1, 3, 5), utc(2024, 1, 3, 6)),
    ]


def test_occurrences_are_clipped_to_validity_and_query() -> None:
    schedule = Schedule(
        valid_from=utc(2024, 1, 3, 2),
        valid_until=utc(2024, 1, 10, 3),
        weekly=((WeeklyWindow(2, 60, 240)),),
    )
    assert occurrences(schedule, ZoneInfo("UTC"), utc(2024, 1, 1), utc(2024, 1, 31)) == [
        (utc(2024, 1, 3, 2), utc(2024, 1, 3, 4)),
        (utc(2024, 1, 10, 1), utc(2024, 1, 10, 3)),
    ]
    assert occurrences(schedule, ZoneInfo("UTC"), utc(2024, 1, 3, 3), utc(2024, 1, 10, 2)) == [
        (utc(2024, 1, 3, 3), utc(2024, 1, 3, 4)),
        (utc(2024, 1, 10, 1), utc(2024, 1, 10, 2)),
    ]


def test_results_are_utc_whatever_zone_the_inputs_use() -> None:
    schedule = Schedule(
        valid_from=datetime(2024, 5, 1, 10, tzinfo=BERLIN),
        valid_until=datetime(2024, 5, 1, 12, tzinfo=BERLIN),
    )
    ((start, end),) = occurrences(schedule, BERLIN, utc(2024, 5, 1), utc(2024, 5, 2))
    assert start.tzinfo is UTC
    assert end.tzinfo is UTC
    assert (start, end) == (utc(2024, 5, 1, 8), utc(2024, 5, 1, 10))


def test_empty_or_inverted_query_has_no_occurrences() -> None:
    schedule = weekly(*((d, 0, 1440) for d in range(7)))
    assert occurrences(schedule, BERLIN, utc(2024, 5, 1), utc(2024, 5, 1)) == []
    assert occurrences(schedule, BERLIN, utc(2024, 5, 2), utc(2024, 5, 1)) == []
    assert occurrences(schedule, BERLIN, utc(2022, 5, 1), utc(2022, 5, 2)) == []  # before validity


def test_naive_times_are_refused() -> None:
    schedule = weekly((0, 0, 60))
    naive = datetime(2024, 5, 1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(schedule, BERLIN, naive, utc(2024, 5, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(schedule, BERLIN, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_boundary(schedule, BERLIN, naive)


# Each case: a Sunday window on a changeover day, and the UTC interval it becomes
# (None: the window comes out empty and does not open that day).
DST_CASES = [
    # Berlin, 2024-03-31: 02:00 CET -> 03:00 CEST (01:00 UTC).
    (BERLIN, date(2024, 3, 31), "01:00", "04:00", (utc(2024, 3, 31, 0), utc(2024, 3, 31, 2))),
    (BERLIN, date(2024, 3, 31), "02:00", "02:30", (utc(2024, 3, 31, 1), utc(2024, 3, 31, 1, 30))),
    (
        BERLIN,
        date(2024, 3, 31),
        "01:30",
        "02:30",
        (utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 30)),
    ),
    (BERLIN, date(2024, 3, 31), "02:30", "03:30", None),
    (BERLIN, date(2024, 3, 31), "02:30", "04:00", (utc(2024, 3, 31, 1, 30), utc(2024, 3, 31, 2))),
    # Berlin, 2024-10-27: 03:00 CEST -> 02:00 CET (01:00 UTC); 02:xx happens twice.
    (BERLIN, date(2024, 10, 27), "02:00", "03:00", (utc(2024, 10, 27, 0), utc(2024, 10, 27, 2))),
    (
        BERLIN,
        date(2024, 10, 27),
        "02:30",
        "02:45",
        (utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 0, 45)),
    ),
    (BERLIN, date(2024, 10, 27), "00:00", "24:00", (utc(2024, 10, 26, 22), utc(2024, 10, 27, 23))),
    # New York, 2024-03-10: 02:00 EST -> 03:00 EDT (07:00 UTC).
    (NEW_YORK, date(2024, 3, 10), "01:00", "03:00", (utc(2024, 3, 10, 6), utc(2024, 3, 10, 7))),
    (NEW_YORK, date(2024, 3, 10), "02:15", "03:15", None),
    (NEW_YORK, date(2024, 3, 10), "00:00", "24:00", (utc(2024, 3, 10, 5), utc(2024, 3, 11, 4))),
    # New York, 2024-11-03: 02:00 EDT -> 01:00 EST (06:00 UTC); 01:xx happens twice.
    (NEW_YORK, date(2024, 11, 3), "01:00", "02:00", (utc(2024, 11, 3, 5), utc(2024, 11, 3, 7))),
    (
        NEW_YORK,
        date(2024, 11, 3),
        "01:30",
        "01:45",
        (utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 5, 45)),
    ),
    # Lord Howe, 2024-10-06: 02:00 +10:30 -> 02:30 +11:00 (15:30 UTC the day before).
    (LORD_HOWE, date(2024, 10, 6), "02:00", "02:30", None),
    (
        LORD_HOWE,
        date(2024, 10, 6),
        "02:10",
        "03:00",
        (utc(2024, 10, 5, 15, 40), utc(2024, 10, 5, 16)),
    ),
    # Lord Howe, 2024-04-07: 02:00 +11:00 -> 01:30 +10:30 (15:00 UTC the day before).
    (
        LORD_HOWE,
        date(2024, 4, 7),
        "01:30",
        "02:00",
        (utc(2024, 4, 6, 14, 30), utc(2024, 4, 6, 15, 30)),
    ),
    (
        LORD_HOWE,
        date(2024, 4, 7),
        "01:40",
        "01:50",
        (utc(2024, 4, 6, 14, 40), utc(2024, 4, 6, 14, 50)),
    ),
]


def _minute(text: str) -> int:
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


@pytest.mark.parametrize(
    ("tz", "day", "start", "end", "expected"),
    DST_CASES,
    ids=[f"{c[0].key}-{c[1]}-{c[2]}-{c[3]}" for c in DST_CASES],
)
def test_window_on_a_changeover_day_follows_the_fold_zero_rule(
    tz: ZoneInfo, day: date, start: str, end: str, expected: tuple[datetime, datetime] | None
) -> None:
    assert day.weekday() == SUNDAY
    schedule = weekly((SUNDAY, _minute(start), _minute(end)))
    around = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    found = occurrences(schedule, tz, around - timedelta(days=2), around + timedelta(days=2))
    assert found == ([] if expected is None else [expected])


@pytest.mark.parametrize("tz", [BERLIN, NEW_YORK, LORD_HOWE])
def test_every_five_minutes_around_each_changeover_match_the_oracle(tz: ZoneInfo) -> None:
    """Window edges are on five-minute marks, so this visits every edge on both nights."""
    schedule = weekly(
        (5, 22 * 60, 1440), (SUNDAY, 0, 90), (SUNDAY, 95, 125), (SUNDAY, 130, 155),
        (SUNDAY, 150, 185), (SUNDAY, 200, 1440),
    )  # fmt: skip
    for change in transitions(tz)[:2]:
        minute = change - timedelta(hours=8)
        while minute < change + timedelta(hours=8):
            assert is_open(schedule, tz, minute) == oracle_is_open(schedule, tz, minute), minute
            minute += timedelta(minutes=5)


def test_each_zone_changes_twice_a_year() -> None:
    assert all(len(transitions(tz)) == 4 for tz in (BERLIN, NEW_YORK, LORD_HOWE))


# --- next_boundary ------------------------------------------------------------------


def test_next_boundary_is_the_next_opening_then_the_next_closing() -> None:
    cleaner = weekly((1, 9 * 60, 12 * 60))
    monday = utc(2024, 1, 1, 12)
    opens = next_boundary(cleaner, BERLIN, monday)
    assert opens == utc(2024, 1, 2, 8)
    assert next_boundary(cleaner, BERLIN, opens) == utc(2024, 1, 2, 11)
    assert next_boundary(cleaner, BERLIN, opens - TICK) == opens


def test_next_boundary_of_a_one_off_visit() -> None:
    plumber = Schedule(valid_from=utc(2024, 5, 2, 6), valid_until=utc(2024, 5, 2, 8))
    assert next_boundary(plumber, BERLIN, utc(2024, 5, 1)) == utc(2024, 5, 2, 6)
    assert next_boundary(plumber, BERLIN, utc(2024, 5, 2, 7)) == utc(2024, 5, 2, 8)
    assert next_boundary(plumber, BERLIN, utc(2024, 5, 2, 8)) is None


def test_next_boundary_is_none_once_windows_are_past() -> None:
    ended = Schedule(
        valid_from=utc(2024, 1, 1), valid_until=utc(2024, 2, 1), weekly=(WeeklyWindow(1, 60, 120),)
    )
    assert next_boundary(ended, BERLIN, utc(2024, 1, 31)) is None


def test_always_open_schedule_changes_only_when_it_ends() -> None:
    every_day = tuple(WeeklyWindow(d, 0, 1440) for d in range(7))
    forever = Schedule(valid_from=utc(2024, 1, 1), weekly=every_day)
    assert next_boundary(forever, BERLIN, utc(2024, 3, 1)) is None
    five_years = Schedule(valid_from=utc(2024, 1, 1), valid_until=utc(2029, 1, 1), weekly=every_day)
    assert next_boundary(five_years, BERLIN, utc(2024, 3, 1)) == utc(2029, 1, 1)
    assert next_boundary(five_years, BERLIN, utc(2023, 3, 1)) == utc(2024, 1, 1)


def test_next_boundary_finds_a_gap_that_opens_only_on_the_changeover_day() -> None:
    """Windows overlapping across the gap part on that one night: fold=0 moves 02:30 on."""
    schedule = weekly(*((d, 0, 1440) for d in range(6)), (SUNDAY, 0, 180), (SUNDAY, 150, 1440))
    assert next_boundary(schedule, BERLIN, utc(2024, 1, 1)) == utc(2024, 3, 31, 1)
    assert next_boundary(schedule, BERLIN, utc(2024, 3, 31, 1)) == utc(2024, 3, 31, 1, 30)
    assert next_boundary(schedule, BERLIN, utc(2024, 3, 31, 1, 30)) == utc(2025, 3, 30, 1)


def test_a_boundary_exactly_between_two_search_chunks_is_found() -> None:
    start = utc(2024, 1, 1)
    every_day = tuple(WeeklyWindow(d, 0, 1440) for d in range(7))
    eight_days = Schedule(valid_from=start, valid_until=start + timedelta(days=8), weekly=every_day)
    assert next_boundary(eight_days, BERLIN, start) == start + timedelta(days=8)


# --- properties ---------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(cases())
def test_is_open_matches_the_oracle(case: tuple[Schedule, ZoneInfo, datetime]) -> None:
    schedule, tz, at = case
    assert is_open(schedule, tz, at) == oracle_is_open(schedule, tz, at)


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(1, 5 * 1440))
def test_occurrences_are_sorted_disjoint_and_inside_the_query_and_validity(
    case: tuple[Schedule, ZoneInfo, datetime], length: int
) -> None:
    schedule, tz, start = case
    end = start + timedelta(minutes=length)
    found = occurrences(schedule, tz, start, end)
    for s, e in found:
        assert s < e
        assert start <= s
        assert e <= end
        assert schedule.valid_from <= s
        assert schedule.valid_until is None or e <= schedule.valid_until
        assert s.tzinfo is UTC
    for (_, e1), (s2, _) in pairwise(found):
        assert e1 < s2  # touching intervals would have been merged


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(0, 3 * 86400 - 1))
def test_is_open_agrees_with_occurrences(
    case: tuple[Schedule, ZoneInfo, datetime], seconds: int
) -> None:
    schedule, tz, start = case
    end = start + timedelta(days=3)
    found = occurrences(schedule, tz, start, end)
    probe = start + timedelta(seconds=seconds)
    assert is_open(schedule, tz, probe) == any(s <= probe < e for s, e in found)
    for s, e in found:
        assert is_open(schedule, tz, s)
        assert is_open(schedule, tz, e - TICK)
        if s > start:
            assert not is_open(schedule, tz, s - TICK)
        if e < end:
            assert not is_open(schedule, tz, e)


@settings(max_examples=80, deadline=None)
@given(cases())
def test_next_boundary_is_the_first_change(case: tuple[Schedule, ZoneInfo, datetime]) -> None:
    schedule, tz, after = case
    boundary = next_boundary(schedule, tz, after)
    probe_end = boundary if boundary is not None else after + timedelta(days=15)
    # Constant from just after ``after`` until the boundary...
    steady = occurrences(schedule, tz, after + TICK, probe_end)
    assert steady in ([], [(after + TICK, probe_end)])
    if boundary is not None:
        # ...and different from the boundary on.
        assert boundary > after
        assert is_open(schedule, tz, boundary) != is_open(schedule, tz, boundary - TICK)
