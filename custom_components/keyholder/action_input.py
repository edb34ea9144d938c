"""Turning action data into typed values, with a translated error for every bad input.

Action schemas only say which keys exist; the values are parsed here, so a wrong
type, a malformed time or an oversized name is refused with a message in the
user's language naming the field, and nothing has been changed when it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
import re
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .core.models import MAX_NAME_LENGTH, MINUTES_PER_DAY, Schedule, WeeklyWindow
from .core.names import code_point, refused_character
from .validation import vol

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WINDOWS = 28
MAX_TEXT = 512
MAX_USES = 10_000
MAX_VISIT_MINUTES = 240  # as a door's longest visit
MAX_SPAN = timedelta(days=3660)  # a grant's longest life: ten years
# How far from now a start or an end may lie: well past the longest grant, and far
# from the ends of ``datetime``, where the home's local dates cannot be computed.
MAX_REACH = 2 * MAX_SPAN
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class InvalidInputError(ServiceValidationError, vol.Invalid):
    """A translated validation error that Home Assistant's REST API answers with 400.

    The REST API maps only ``vol.Invalid`` (and a missing action) to 400; any other
    error of an action, ``ServiceValidationError`` included, becomes a 500 with a
    traceback in the log (2025.4 to the newest release). The websocket API reports a
    ``vol.Invalid`` as ``invalid_format`` with ``str(error)``, which for this class is
    the English message from ``translations`` (``HomeAssistantError.__str__`` comes
    first in the method order); flows and tests still see ``translation_key``.
    """

    # probatio's Invalid (the newest releases) has a read-only ``translation_key``
    # property; this plain attribute comes first, so HomeAssistantError can set it.
    translation_key: str | None = None

    def __init__(self, key: str, placeholders: dict[str, str]) -> None:
        # HomeAssistantError passes the key on as the message, which vol.Invalid needs.
        super().__init__(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
        )


def invalid(key: str, **placeholders: str) -> InvalidInputError:
    return InvalidInputError(key, placeholders)


def text(data: Mapping[str, Any], key: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise invalid("invalid_text", field=key)
    value = value.strip()
    if len(value) > max_length:
        raise invalid("text_too_long", field=key, max=str(max_length))
    if (char := refused_character(value)) is not None:  # see core.names
        raise invalid("name_character", field=key, character=code_point(char))
    return value


def optional_text(data: Mapping[str, Any], key: str, *, max_length: int = MAX_TEXT) -> str | None:
    return None if data.get(key) is None else text(data, key, max_length=max_length)


def boolean(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise invalid("invalid_boolean", field=key)
    return value


def positive_int(data: Mapping[str, Any], key: str, *, maximum: int = MAX_USES) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise invalid("invalid_count", field=key, max=str(maximum))
    return value


def minutes(data: Mapping[str, Any], key: str) -> timedelta | None:
    """Whole minutes, 1 to 240 (a visit's longest time, as a door's is set)."""
    value = positive_int(data, key, maximum=MAX_VISIT_MINUTES)
    return None if value is None else timedelta(minutes=value)


def moment(data: Mapping[str, Any], key: str, tz: ZoneInfo) -> datetime | None:
    """A date and time; without an offset it is read in the home's time zone."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        parsed = _parse_datetime(value.strip(), key)
    elif isinstance(value, datetime):
        parsed = value
    else:
        parsed = None
    if parsed is None:
        raise invalid("invalid_datetime", field=key)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return within_reach(parsed, key)


def within_reach(value: datetime, field: str) -> datetime:
    """An aware moment no more than twenty years from now, in UTC; refused otherwise.

    Checked before converting: a moment in year 1 or 9999 may not even have a UTC
    equivalent, and none is a grant's start or end anyway.
    """
    if abs(value - dt_util.utcnow()) > MAX_REACH:
        raise invalid("too_far", field=field)
    return dt_util.as_utc(value)


def _parse_datetime(value: str, field: str) -> datetime | None:
    """None when ``value`` is no date and time at all; refused when it names one that
    cannot exist (month 13, 30 February, 25:00, an offset of a day), which Home
    Assistant's parser reports by raising rather than with None.
    """
    try:
        return dt_util.parse_datetime(value)
    except ValueError:
        raise invalid("impossible_datetime", field=field) from None


def string_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > 64:
        raise invalid("invalid_list", field=key)
    if not all(isinstance(item, str) and 0 < len(item) <= MAX_TEXT for item in value):
        raise invalid("invalid_list", field=key)
    return [item.strip() for item in value]


def _minute_of_day(value: Any, field: str) -> int:
    if isinstance(value, time):
        return value.hour * 60 + value.minute
    if not isinstance(value, str) or not (match := _TIME.match(value.strip())):
        raise invalid("invalid_time", field=field)
    hours, minutes = int(match[1]), int(match[2])
    if (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59 or (match[3] and int(match[3]) > 59):
        raise invalid("invalid_time", field=field)
    return hours * 60 + minutes


def weekly_windows(data: Mapping[str, Any], key: str) -> tuple[WeeklyWindow, ...]:
    """``[{days: [tue], start: "09:00", end: "12:00"}, ...]``; overnight windows are split."""
    raw = data.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_WINDOWS:
        raise invalid("invalid_weekly", field=key)
    windows: set[WeeklyWindow] = set()
    for item in raw:
        if not isinstance(item, Mapping) or set(item) - {"days", "start", "end"}:
            raise invalid("invalid_weekly", field=key)
        days = item.get("days")
        if isinstance(days, str):
            days = [days]
        if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
            raise invalid("invalid_weekdays", field=key)
        start = _minute_of_day(item.get("start"), f"{key}.start")
        end = _minute_of_day(item.get("end"), f"{key}.end")
        if start in (end, MINUTES_PER_DAY):
            raise invalid("empty_window", field=key)
        for day in days:
            weekday = WEEKDAYS.index(day)
            if start < end:
                windows.add(WeeklyWindow(weekday, start, end))
            else:  # overnight: until midnight, then on into the next day
                windows.add(WeeklyWindow(weekday, start, MINUTES_PER_DAY))
                if end > 0:
                    windows.add(WeeklyWindow((weekday + 1) % 7, 0, end))
    return tuple(sorted(windows, key=lambda w: (w.weekday, w.start_minute)))


def schedule(
    starts: datetime | None,
    ends: datetime | None,
    weekly: tuple[WeeklyWindow, ...],
    now: datetime,
) -> Schedule:
    """A one-off visit needs an end; a weekly grant may run forever."""
    valid_from = starts or now
    if ends is not None and ends <= valid_from:
        raise invalid("end_before_start")
    if not weekly and ends is None:
        raise invalid("end_required")
    if ends is not None and ends - valid_from > MAX_SPAN:
        raise invalid("too_long")
    return Schedule(valid_from=valid_from, valid_until=ends, weekly=weekly)
