"""The home's "Grants" calendar: every live grant's windows, and a way to make link grants.

Reading: each window a grant opens is an event (summary = grant name, uid = grant
id, location = its doors, description = its kind). A weekly grant's windows are
separate occurrences carrying a ``recurrence_id``, and an ``rrule`` when one
weekly rule describes them, as Local Calendar shows a repeating event.

Writing maps events onto grants, which have exactly one schedule each:

- creating an event creates a **link** grant: a one-off window, or with
  ``FREQ=WEEKLY;BYDAY=..[;UNTIL=..]`` weekly windows at the event's local time of
  day from its start until ``UNTIL`` (inclusive, as RFC 5545 reads it);
- deleting an event revokes the grant; deleting "this and all following" events
  of a weekly grant ends the grant before that occurrence (or revokes it, if the
  occurrence is its first or has begun);
- updating an event changes the grant's name, doors and schedule, for the whole
  series.

A single occurrence cannot be skipped or moved on its own, and no grant has more
than one rule, so such requests are refused with a translated error and nothing
changes. All-day events are refused too: access needs times.

Reading is open to every user (Home Assistant checks no admin right on it), and
each event costs Home Assistant real work (it validates and serializes every one),
so what a query costs must not grow with the range asked for: it is clipped to
``HORIZON`` either side of now, and lists at most ``MAX_QUERY`` from its start.
The frontend asks six weeks (a month view) or less at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.components.calendar.const import (
    EVENT_END,
    EVENT_LOCATION,
    EVENT_RRULE,
    EVENT_START,
    EVENT_SUMMARY,
    CalendarEntityFeature,
)
from homeassistant.components.websocket_api.connection import current_connection
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import action_input as parse
from .core.models import MINUTES_PER_DAY, Grant, GrantKind, Schedule, WeeklyWindow
from .core.schedule import EARLIEST, LATEST, any_open, occurrences
from .data import KeyholderConfigEntry
from .entity import KeyholderEntity
from .home import GrantDraft

PARALLEL_UPDATES = 1  # edits change grants one at a time

GRANTS = CalendarEntityDescription(key="grants", translation_key="grants")

THIS_AND_FUTURE = "THISANDFUTURE"
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# A weekly window lasts less than a day, so a week and a day either side of a
# query holds every occurrence that overlaps it, unclipped by the query.
_MARGIN = timedelta(days=8)
HORIZON = timedelta(days=2 * 366)  # how far from now events are listed, either way
MAX_QUERY = timedelta(days=93)  # the longest stretch one query lists
_RECURRENCE_ID_FORMAT = "%Y%m%dT%H%M%SZ"

type Interval = tuple[datetime, datetime]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([GrantsCalendar(entry.runtime_data.home, GRANTS)])


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """The only recurrence a grant has: some weekdays, starts before an instant."""

    days: frozenset[int]
    starts_before: datetime | None  # UTC; None: no end


@dataclass(frozen=True, slots=True)
class DailyPattern:
    """Weekly windows that are one time of day on some weekdays (may run past midnight)."""

    days: frozenset[int]
    start_minute: int
    end_minute: int


class GrantsCalendar(KeyholderEntity, CalendarEntity):
    """All live grants of the home; creates, changes and revokes them."""

    _attr_supported_features = (
        CalendarEntityFeature.CREATE_EVENT
        | CalendarEntityFeature.DELETE_EVENT
        | CalendarEntityFeature.UPDATE_EVENT
    )
    _event: CalendarEvent | None = None

    # ---- reading ---------------------------------------------------------------------

    @property
    def event(self) -> CalendarEvent | None:
        """The window in progress, or else the next one."""
        return self._event

    @callback
    def _async_write_ha_state(self) -> None:
        """Find the current or next window first; the base class arms timers for it."""
        self._event = self._next_event(dt_util.utcnow())
        super()._async_write_ha_state()

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        now = dt_util.utcnow()
        # Clipped before converting: the ends of ``datetime`` may have no UTC equivalent.
        first = max(start_date, now - HORIZON)
        start = dt_util.as_utc(first)
        end = dt_util.as_utc(min(end_date, now + HORIZON, first + MAX_QUERY))
        events = [
            self._calendar_event(grant, window)
            for grant in self.home.live_grants(now)
            for window in _windows(grant, self.home.tz, start, end)
        ]
        return sorted(events, key=lambda event: (event.start_datetime_local, event.summary))

    def _next_event(self, now: datetime) -> CalendarEvent | None:
        best: tuple[Grant, Interval] | None = None
        for grant in self.home.live_grants(now):
            start = max(now, grant.schedule.valid_from)
            windows = _windows(grant, self.home.tz, start, start + _MARGIN)
            upcoming = [w for w in windows if w[1] > now]
            if upcoming and (best is None or upcoming[0][0] < best[1][0]):
                best = (grant, upcoming[0])
        return None if best is None else self._calendar_event(*best)

    def _calendar_event(self, grant: Grant, window: Interval) -> CalendarEvent:
        tz = self.home.tz
        weekly = bool(grant.schedule.weekly)
        return CalendarEvent(
            start=window[0].astimezone(tz),
            end=window[1].astimezone(tz),
            summary=grant.name,
            description=grant.kind.value,
            location=self._location(grant),
            uid=grant.id,
            recurrence_id=window[0].strftime(_RECURRENCE_ID_FORMAT) if weekly else None,
            rrule=_rrule(grant.schedule) if weekly else None,
        )

    def _location(self, grant: Grant) -> str:
        doors = self.home.doors
        return ", ".join(sorted(doors[d].name if d in doors else d for d in grant.doors))

    # ---- writing ---------------------------------------------------------------------

    async def async_create_event(self, **kwargs: Any) -> None:
        """A new event is a new link grant; its token is signed as for any other."""
        context = await self._async_context()
        now = dt_util.utcnow()
        draft = GrantDraft(
            kind=GrantKind.LINK,
            name=parse.text(kwargs, EVENT_SUMMARY),
            doors=self._doors(kwargs.get(EVENT_LOCATION)),
            schedule=_requested_schedule(kwargs, self.home.tz, now),
        )
        await self.home.async_create_grant(draft, context=context)

    async def async_delete_event(
        self,
        uid: str,
        recurrence_id: str | None = None,
        recurrence_range: str | None = None,
    ) -> None:
        context = await self._async_context()
        now = dt_util.utcnow()
        grant = self.home.get_grant(uid)
        if recurrence_id is None or not grant.schedule.weekly:
            await self.home.async_revoke_grant(grant.id, context=context)
            return
        if recurrence_range != THIS_AND_FUTURE:
            raise parse.invalid("calendar_single_occurrence")
        at = self._occurrence(grant, recurrence_id)[0]
        if at <= now or not any_open(grant.schedule, self.home.tz, grant.schedule.valid_from, at):
            await self.home.async_revoke_grant(grant.id, context=context)
            return
        shortened = Schedule(
            valid_from=grant.schedule.valid_from, valid_until=at, weekly=grant.schedule.weekly
        )
        await self.home.async_update_grant(grant.id, {"schedule": shortened}, context=context)

    async def async_update_event(
        self,
        uid: str,
        event: dict[str, Any],
        recurrence_id: str | None = None,
        recurrence_range: str | None = None,
    ) -> None:
        """Change the whole grant; fields that still read as shown are left alone."""
        context = await self._async_context()
        now = dt_util.utcnow()
        grant = self.home.get_grant(uid)
        weekly = bool(grant.schedule.weekly)
        if weekly and recurrence_id is not None and recurrence_range != THIS_AND_FUTURE:
            raise parse.invalid("calendar_single_occurrence")
        if weekly and recurrence_id is not None:
            shown: Interval | None = self._occurrence(grant, recurrence_id)
        else:
            shown = self._first_window(grant)
        changes: dict[str, Any] = {}
        if (name := parse.text(event, EVENT_SUMMARY)) != grant.name:
            changes["name"] = name
        if EVENT_LOCATION in event and (doors := self._doors(event[EVENT_LOCATION])) != grant.doors:
            changes["doors"] = doors
        if (schedule := self._changed_schedule(grant, event, shown, now)) is not None:
            changes["schedule"] = schedule
        if changes:
            await self.home.async_update_grant(grant.id, changes, context=context)

    def _changed_schedule(
        self,
        grant: Grant,
        event: Mapping[str, Any],
        shown: Interval | None,
        now: datetime,
    ) -> Schedule | None:
        """The schedule the edited event asks for, or None if it still reads as shown."""
        tz = self.home.tz
        start, end = _event_times(event, tz)
        shown_rrule = _rrule(grant.schedule) if grant.schedule.weekly else None
        new_rrule = event.get(EVENT_RRULE) or None
        if shown is not None and _same_time(start, shown[0]) and _same_time(end, shown[1]):
            local_start = start.astimezone(tz)
            if new_rrule is None or shown_rrule is None:
                if new_rrule == shown_rrule:
                    return None
            elif _parse_rrule(new_rrule, local_start, tz) == _parse_rrule(
                shown_rrule, local_start, tz
            ):
                return None
        if grant.schedule.weekly and shown_rrule is None and new_rrule is None:
            # The calendar never showed this grant's rule, so it cannot have been edited here.
            raise parse.invalid("calendar_schedule_too_complex")
        valid_from = start
        first = self._first_window(grant)
        if new_rrule is not None and shown is not None and first is not None and shown > first:
            valid_from = grant.schedule.valid_from  # edited from a later occurrence: keep the start
        return _requested_schedule(event, tz, now, valid_from=valid_from)

    def _first_window(self, grant: Grant) -> Interval | None:
        start = grant.schedule.valid_from
        windows = _windows(grant, self.home.tz, start, start + _MARGIN)
        return windows[0] if windows else None

    def _occurrence(self, grant: Grant, recurrence_id: str) -> Interval:
        """The window a ``recurrence_id`` (as this calendar wrote it) names; refused if none."""
        try:
            at = datetime.strptime(recurrence_id, _RECURRENCE_ID_FORMAT).replace(tzinfo=dt_util.UTC)
        except ValueError:
            raise parse.invalid("calendar_unknown_occurrence") from None
        if not EARLIEST + _MARGIN <= at < LATEST - _MARGIN:  # no window there, nor room to look
            raise parse.invalid("calendar_unknown_occurrence")
        windows = _windows(grant, self.home.tz, at, at + timedelta(seconds=1))
        for window in windows:
            if window[0].strftime(_RECURRENCE_ID_FORMAT) == recurrence_id:
                return window
        raise parse.invalid("calendar_unknown_occurrence")

    def _doors(self, location: Any) -> frozenset[str]:
        """Door names (or ids), comma-separated; none named means every door."""
        if location is not None and not isinstance(location, str):
            raise parse.invalid("invalid_text", field=EVENT_LOCATION)
        names = [name.strip() for name in (location or "").split(",") if name.strip()]
        if not names:
            return frozenset(self.home.doors)
        return self.home.resolve_doors(names)

    async def _async_context(self) -> Context:
        """The caller's context; grants are an admin's to change, as with the actions.

        An action sets the context just before calling. The frontend's websocket
        commands set none, and Home Assistant checks no admin right on them (2025.4
        checks nothing, later releases only entity control, which every user has), so
        the caller is read from the websocket connection serving the command. The
        context is taken, not just read, so a later edit is never judged (or audited)
        by an earlier caller's context.
        """
        context = self._context or Context()
        self._context = None
        if context.user_id is None and (connection := current_connection.get()) is not None:
            context = Context(user_id=connection.user.id)
        if context.user_id is not None:
            user = await self.hass.auth.async_get_user(context.user_id)
            if user is None or not user.is_admin:
                raise Unauthorized(context=context, permission="admin")
        return context


# ---- schedules from events, and back ------------------------------------------------------


def _windows(grant: Grant, tz: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """The grant's windows that overlap ``[start, end)``, whole, not cut at the edges."""
    schedule = grant.schedule
    if not schedule.weekly and schedule.valid_until is not None:
        whole = (schedule.valid_from, schedule.valid_until)
        return [whole] if whole[0] < end and whole[1] > start else []
    return [
        (s, e)
        for s, e in occurrences(schedule, tz, start - _MARGIN, end + _MARGIN)
        if s < end and e > start
    ]


def _same_time(a: datetime, b: datetime) -> bool:
    """Equal to the minute: the frontend sends back what it showed, without seconds."""
    return abs(a - b) < timedelta(minutes=1)


def _event_times(event: Mapping[str, Any], tz: ZoneInfo) -> Interval:
    """The event's start and end in UTC; all-day events are refused."""
    start, end = event.get(EVENT_START), event.get(EVENT_END)
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        if isinstance(start, date) or isinstance(end, date):
            raise parse.invalid("calendar_all_day")
        raise parse.invalid("invalid_datetime", field=EVENT_START)
    return (
        parse.within_reach(start if start.tzinfo else start.replace(tzinfo=tz), EVENT_START),
        parse.within_reach(end if end.tzinfo else end.replace(tzinfo=tz), EVENT_END),
    )


def _requested_schedule(
    event: Mapping[str, Any], tz: ZoneInfo, now: datetime, *, valid_from: datetime | None = None
) -> Schedule:
    """The schedule an event asks for; refused if it cannot be one, or is already over."""
    start, end = _event_times(event, tz)
    if end <= start:
        raise parse.invalid("end_before_start")
    if not (rrule := event.get(EVENT_RRULE)):
        schedule = parse.schedule(start, end, (), now)
    else:
        if not isinstance(rrule, str):
            raise parse.invalid("calendar_rrule_unsupported", rrule=str(rrule))
        if end - start >= timedelta(days=1):
            raise parse.invalid("calendar_window_too_long")
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        rule = _parse_rrule(rrule, local_start, tz)
        windows = _daily_windows(rule.days, _minute(local_start), _minute(local_end))
        begin = valid_from or start
        until = _last_window_end(Schedule(valid_from=begin, weekly=windows), tz, rule)
        schedule = parse.schedule(begin, until, windows, now)
    if schedule.valid_until is not None and schedule.valid_until <= now:
        raise parse.invalid("calendar_in_the_past")
    return schedule


def _last_window_end(schedule: Schedule, tz: ZoneInfo, rule: WeeklyRule) -> datetime | None:
    """Where the grant ends: with the last window that starts before ``UNTIL`` passes."""
    if rule.starts_before is None:
        return None
    if rule.starts_before <= schedule.valid_from:
        raise parse.invalid("end_before_start")
    if rule.starts_before - schedule.valid_from > parse.MAX_SPAN:
        raise parse.invalid("too_long")
    windows = occurrences(
        schedule, tz, rule.starts_before - _MARGIN, rule.starts_before + timedelta(days=2)
    )
    started = [e for s, e in windows if s < rule.starts_before]
    if not started:
        raise parse.invalid("calendar_no_occurrence")
    return started[-1]


def _parse_rrule(value: str, local_start: datetime, tz: ZoneInfo) -> WeeklyRule:
    """``FREQ=WEEKLY[;INTERVAL=1][;BYDAY=TU,TH][;UNTIL=..][;WKST=..]``, nothing else."""
    unsupported = parse.invalid("calendar_rrule_unsupported", rrule=value[:100])
    parts: dict[str, str] = {}
    for part in value.strip().removeprefix("RRULE:").split(";"):
        key, sep, item = part.partition("=")
        key = key.strip().upper()
        if not sep or key in parts:
            raise unsupported
        parts[key] = item.strip().upper()
    if parts.pop("FREQ", None) != "WEEKLY" or parts.pop("INTERVAL", "1") != "1":
        raise unsupported
    parts.pop("WKST", None)  # the week's first day only matters with INTERVAL > 1
    byday = parts.pop("BYDAY", None)
    until = parts.pop("UNTIL", None)
    if parts:  # COUNT, BYMONTH, BYSETPOS, ...
        raise unsupported
    if byday is None:
        days = frozenset({local_start.weekday()})
    else:
        codes = byday.split(",")
        if not all(code in RRULE_DAYS for code in codes):
            raise unsupported
        days = frozenset(RRULE_DAYS.index(code) for code in codes)
    return WeeklyRule(days=days, starts_before=_until(until, tz, unsupported))


def _until(value: str | None, tz: ZoneInfo, unsupported: Exception) -> datetime | None:
    """``UNTIL`` as the instant before which a window must start (it is inclusive)."""
    if value is None:
        return None
    try:
        if len(value) == 8:  # a date: windows starting on that local day still count
            day = datetime.strptime(value, "%Y%m%d").replace(tzinfo=tz)
            return dt_util.as_utc(day + timedelta(days=1))
        if value.endswith("Z"):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt_util.UTC)
        else:  # floating: the home's wall clock
            moment = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        return dt_util.as_utc(moment) + timedelta(microseconds=1)
    except (ValueError, OverflowError):  # OverflowError: a date at the end of time
        raise unsupported from None


def _minute(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _daily_windows(days: frozenset[int], start: int, end: int) -> tuple[WeeklyWindow, ...]:
    """The same windows ``keyholder.create_grant`` makes, split at midnight if need be."""
    spec = {"days": [parse.WEEKDAYS[day] for day in sorted(days)], "start": _hhmm(start)}
    return parse.weekly_windows({"weekly": [{**spec, "end": _hhmm(end)}]}, "weekly")


def _daily_pattern(weekly: tuple[WeeklyWindow, ...]) -> DailyPattern | None:
    """One time of day on some weekdays, if that is exactly what the windows are.

    An overnight window (22:00-02:00) is stored as 22:00-24:00 plus 00:00-02:00 on
    the next day, so the first parts name the days and the second the end.
    """
    if not weekly:
        return None
    firsts = [w for w in weekly if w.start_minute > 0] or list(weekly)
    tails = [w for w in weekly if w.start_minute == 0]
    start = firsts[0].start_minute
    overnight = start > 0 and firsts[0].end_minute == MINUTES_PER_DAY and bool(tails)
    end = tails[0].end_minute if overnight else firsts[0].end_minute
    if start % MINUTES_PER_DAY == end % MINUTES_PER_DAY:
        return None  # whole days: not one window a day, and not what a calendar event is
    pattern = DailyPattern(frozenset(w.weekday for w in firsts), start, end)
    rebuilt = _daily_windows(pattern.days, start, end)
    return pattern if set(rebuilt) == set(weekly) else None


def _rrule(schedule: Schedule) -> str | None:
    """The weekly rule that yields exactly these windows, or None if no one rule does."""
    pattern = _daily_pattern(schedule.weekly)
    if pattern is None:
        return None
    rule = "FREQ=WEEKLY;BYDAY=" + ",".join(RRULE_DAYS[day] for day in sorted(pattern.days))
    if schedule.valid_until is not None:
        last_start = (schedule.valid_until - timedelta(seconds=1)).replace(microsecond=0)
        rule += ";UNTIL=" + last_start.astimezone(dt_util.UTC).strftime("%Y%m%dT%H%M%SZ")
    return rule
