"""Keypad codes on Z-Wave locks, through Home Assistant's own Z-Wave JS connection.

Where the lock lives
--------------------
The lock entity's node is found the way Home Assistant's zwave_js lock services
find it: ``homeassistant.components.zwave_js.helpers.async_get_node_from_entity_id``
(entity registry -> device -> config entry's client -> driver -> node; the same
call on 2025.4 with zwave-js-server-python 0.62 and on 2026.10 with 0.73). It is
looked up again for every operation, so a reconnect (which reloads zwave_js and
builds new node objects) costs nothing here but the failed operation in between.

Slots are Z-Wave user identifiers (``userId``), 1-based, exactly as Z-Wave JS and
the lock number them; the homeowner's range must lie within the lock's table
(the User Code CC values Z-Wave JS found at the interview).

The protocol (User Code CC 99, Schedule Entry Lock CC 78; zwave-js CC API docs)
-------------------------------------------------------------------------------
- code:     ``endpoint.invoke_cc_api`` User Code ``set(userId, status, code)``,
  status 1 enabled or 2 disabled (stored, but opens nothing);
  ``get(userId)`` (``util.lock.get_usercode_from_node``); ``node.set_value`` on
  ``userIdStatus``: 0 clears (as ``util.lock.clear_usercode`` does), 1 enables
  the stored code. Every request waits for its answer (``wait_for_result``),
  also for a sleeping lock, so the timeout below is the only bound.
  The lock's report reaches us as "value updated" events for ``userIdStatus`` /
  ``userCode`` of that user.
- schedule: Schedule Entry Lock ``setWeekDaySchedule({userId, slotId}, {weekday
  (0 = Sunday), startHour, startMinute, stopHour, stopMinute})``,
  ``setYearDaySchedule({userId, slotId}, {startYear (year of the century, the
  byte Z-Wave carries), startMonth, startDay, startHour, startMinute, stopYear,
  ...})``, either without a schedule erases the entry; ``setEnabled(enabled,
  userId)``; ``getNumSlots()`` for the entries per user. Z-Wave JS keeps this
  CC's values internal, so the counts come from ``getNumSlots`` (one radio round
  trip, once per backend).
- keypad:   the ``zwave_js_notification`` bus event with ``command_class`` 113,
  ``type`` 6 (Access Control), ``event`` 6 (Keypad unlock operation),
  ``parameters.userId``; the same on both Home Assistant versions.

Confirmation: a code write counts only once the lock's report shows the user the
way we wrote it (status, and the code unless the lock masks it); if no report
comes within ``read_after_write`` we ask with User Code ``get``. A schedule write
counts on a Supervision "success"; without Supervision it is read back with
``get...Schedule``. Nothing within ``timeout`` is ``CodeError(TIMEOUT)``; each
radio exchange of an operation has that bound.

Order, so a scheduled code is never usable without its schedule: the code goes
on *disabled*; then the entries (and erasure of any other entries of the user);
then ``setEnabled``; only then the user is switched to enabled. If the schedule
part fails the disabled code is cleared again (best effort). A code without a
schedule goes on enabled first (any old entries still restrict it), then the
user's entries are erased and its schedules disabled. Clearing takes the code
off first, then the entries. Erasing every entry slot of the user costs a few
frames (the lock's slot counts are small) but needs no memory of what was set.

Masking: locks like the Schlage BE469 report ``**********`` for any code; a code
of only ``*`` or only ``0`` reads back as ``MASKED``.

Logs: zwave-js-server-python logs every message sent and received at debug
level, codes included, and Home Assistant turns on the server's own log relay
at that level; ``_PinRedactor`` blanks quoted digit strings in those loggers'
records. Codes are never in this module's logs or errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
import logging
import re
from typing import Any, Self, TypeVar

from homeassistant.components.zwave_js.helpers import async_get_node_from_entity_id
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from zwave_js_server.const import CommandClass, SupervisionStatus
from zwave_js_server.const.command_class.lock import (
    LOCK_USERCODE_PROPERTY,
    LOCK_USERCODE_STATUS_PROPERTY,
    CodeSlotStatus,
)
from zwave_js_server.exceptions import (
    BaseZwaveJSServerError,
    FailedCommand,
    FailedZWaveCommand,
    NotFoundError,
)
from zwave_js_server.model.node import Node
from zwave_js_server.util.lock import (
    get_code_slot_value,
    get_code_slots,
    get_usercode_from_node,
)

from .base import (
    MASKED,
    CodeError,
    CodeErrorReason,
    KeypadCallback,
    LockCapabilities,
    RadioTimings,
    ReadBack,
    Unsubscribe,
    check_pin,
    check_slot,
)
from .lock_schedule import LockSchedule, WeekDayEntry, YearDayEntry

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

DOMAIN = "zwave_js"
NOTIFICATION_EVENT = "zwave_js_notification"
_ACCESS_CONTROL = 6
_KEYPAD_UNLOCK = 6
_Z_WAVE_PIN_LENGTHS = (4, 10)
# ZWaveErrorCodes: the controller or node did not answer (retry later) ...
_NO_ANSWER = frozenset({200, 201, 202, 203, 204})
# ... or the driver is not there (resetting, destroyed, not ready, node unknown).
_NOT_THERE = frozenset({100, 101, 102, 103, 209})
# Loggers that print Z-Wave JS traffic (the client) and the server's own log relay.
_TRAFFIC_LOGGERS = ("zwave_js_server", "zwave_js_server.server")


class _PinRedactor(logging.Filter):
    """Blanks every quoted run of 4 or more digits in Z-Wave JS traffic records."""

    _PIN = re.compile(r"""(['"])\d{4,}\1""")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(arg) for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = self._PIN.sub(r"\1<redacted>\1", record.msg)
        return True

    def _redact(self, arg: object) -> object:
        text = arg if isinstance(arg, str) else str(arg)
        redacted = self._PIN.sub(r"\1<redacted>\1", text)
        return arg if redacted == text else redacted


_REDACTOR = _PinRedactor()


class ZwaveJsLock:
    """One Z-Wave JS lock as a ``CodeBackend``; one radio operation at a time."""

    def __init__(
        self,
        hass: HomeAssistant,
        entity_id: str,
        device_id: str,
        capabilities: LockCapabilities,
        timings: RadioTimings,
        *,
        schedule_entry_lock: bool,
    ) -> None:
        self._hass = hass
        self._entity_id = entity_id
        self._device_id = device_id
        self._capabilities = capabilities
        self._schedule_entry_lock = schedule_entry_lock
        self._schedule_counts: tuple[int, int] | None = None
        self._timeout = timings.timeout
        self._read_after_write = timings.read_after_write
        self._radio = asyncio.Lock()
        self._closed: asyncio.Future[None] = hass.loop.create_future()
        self._keypad: list[KeypadCallback] = []
        self._unlisten: Callable[[], None] | None = None
        for name in _TRAFFIC_LOGGERS:
            logging.getLogger(name).addFilter(_REDACTOR)  # idempotent

    @classmethod
    def from_entity(
        cls, hass: HomeAssistant, entity_id: str, slots: range, timings: RadioTimings
    ) -> Self:
        """The backend for a zwave_js lock entity, using the homeowner's ``slots``."""
        entry = er.async_get(hass).async_get(entity_id)
        if entry is None or entry.platform != DOMAIN or entry.device_id is None:
            raise CodeError(CodeErrorReason.NOT_SUPPORTED, f"{entity_id} is no Z-Wave JS entity")
        node = _node_for(hass, entity_id)
        if not _has_cc(node, CommandClass.USER_CODE):
            raise CodeError(CodeErrorReason.NOT_SUPPORTED, f"{entity_id} has no User Code CC")
        table = len(get_code_slots(node))
        if slots.step != 1 or not slots or slots.start < 1 or slots[-1] > table:
            raise CodeError(
                CodeErrorReason.OUT_OF_RANGE, f"{entity_id} has user slots 1 to {table}"
            )
        metadata: Mapping[str, Any] = get_code_slot_value(
            node, slots.start, LOCK_USERCODE_PROPERTY
        ).metadata.data
        shortest = int(metadata.get("minLength") or _Z_WAVE_PIN_LENGTHS[0])
        longest = int(metadata.get("maxLength") or _Z_WAVE_PIN_LENGTHS[1])
        capabilities = LockCapabilities(
            slots,
            min_pin_length=max(shortest, _Z_WAVE_PIN_LENGTHS[0]),
            max_pin_length=min(longest, _Z_WAVE_PIN_LENGTHS[1]),
            supports_read_back=True,
            masks_codes_on_read=_masks(node),
        )
        return cls(
            hass,
            entity_id,
            entry.device_id,
            capabilities,
            timings,
            schedule_entry_lock=_has_cc(node, CommandClass.SCHEDULE_ENTRY_LOCK),
        )

    def __repr__(self) -> str:
        return f"ZwaveJsLock({self._entity_id!r})"

    async def capabilities(self) -> LockCapabilities:
        """The capabilities; the first call asks a Schedule Entry Lock for its slot counts."""
        async with self._radio:
            week, year = await self._schedule_slots()
        if (week, year) == (0, 0):
            return self._capabilities
        return LockCapabilities(
            self._capabilities.slots,
            self._capabilities.min_pin_length,
            self._capabilities.max_pin_length,
            week_day_schedules=week,
            year_day_schedules=year,
            supports_read_back=True,
            masks_codes_on_read=self._capabilities.masks_codes_on_read,
        )

    async def set_code(self, slot: int, pin: str, schedule: LockSchedule | None = None) -> None:
        check_slot(self._capabilities, slot)
        check_pin(self._capabilities, pin)
        async with self._radio:
            if schedule is not None:
                await self._check_fits(schedule)
            node = self._node()
            if schedule is None:
                await self._write_user(node, slot, CodeSlotStatus.ENABLED, pin)
                if self._schedule_entry_lock:
                    await self._write_entries(node, slot, None)
                    await self._enable_schedules(node, slot, enabled=False)
                _LOGGER.debug("%s: code in slot %s confirmed", self._entity_id, slot)
                return
            await self._write_user(node, slot, CodeSlotStatus.DISABLED, pin)
            try:
                await self._write_entries(node, slot, schedule)
                await self._enable_schedules(node, slot, enabled=True)
            except CodeError:
                await self._undo(node, slot)
                raise
            await self._write_user(node, slot, CodeSlotStatus.ENABLED, None)
        _LOGGER.debug("%s: code with schedule in slot %s confirmed", self._entity_id, slot)

    async def clear_code(self, slot: int) -> None:
        check_slot(self._capabilities, slot)
        async with self._radio:
            node = self._node()
            await self._write_user(node, slot, CodeSlotStatus.AVAILABLE, None)
            if self._schedule_entry_lock:
                await self._write_entries(node, slot, None)
                await self._enable_schedules(node, slot, enabled=False)
        _LOGGER.debug("%s: slot %s confirmed empty", self._entity_id, slot)

    async def read_code(self, slot: int) -> ReadBack:
        """The code in ``slot``; a disabled code opens nothing, so it reads as empty."""
        check_slot(self._capabilities, slot)
        async with self._radio:
            node = self._node()
            async with self._bounded(f"slot {slot}"):
                read = await self._exchange(get_usercode_from_node(node, slot))
        if not read.get("in_use"):
            return None
        return _shown(read.get("usercode"))

    async def set_schedule(self, slot: int, schedule: LockSchedule) -> None:
        check_slot(self._capabilities, slot)
        async with self._radio:
            await self._check_fits(schedule)
            node = self._node()
            await self._write_entries(node, slot, schedule)
            await self._enable_schedules(node, slot, enabled=True)

    async def clear_schedule(self, slot: int) -> None:
        """Take the schedule off: the code in the slot, if any, is then unrestricted."""
        check_slot(self._capabilities, slot)
        if not self._schedule_entry_lock:
            raise CodeError(CodeErrorReason.NOT_SUPPORTED, "this lock has no schedules")
        async with self._radio:
            node = self._node()
            await self._write_entries(node, slot, None)
            await self._enable_schedules(node, slot, enabled=False)

    async def subscribe_keypad(self, callback: KeypadCallback) -> Unsubscribe:
        if self._unlisten is None:
            self._unlisten = self._hass.bus.async_listen(NOTIFICATION_EVENT, self._on_notification)
        self._keypad.append(callback)

        def unsubscribe() -> None:
            if callback in self._keypad:
                self._keypad.remove(callback)

        return unsubscribe

    async def async_close(self) -> None:
        """Stop listening; operations still waiting end with ``UNAVAILABLE``."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._keypad.clear()
        if not self._closed.done():
            self._closed.set_result(None)

    # ---- the user code ----------------------------------------------------------

    async def _write_user(
        self, node: Node, slot: int, status: CodeSlotStatus, pin: str | None
    ) -> None:
        """Write ``status`` (with ``pin``, or the code already stored) and confirm it."""
        reported = asyncio.Event()

        @callback
        def on_value(event: dict[str, Any]) -> None:
            value = event.get("value")
            if (
                value is not None
                and value.command_class == CommandClass.USER_CODE
                and value.property_key == slot
            ):
                reported.set()

        stop = node.on("value updated", on_value)
        try:
            async with self._bounded(f"slot {slot}"):
                if pin is not None:
                    written = await self._exchange(
                        node.async_invoke_cc_api(
                            CommandClass.USER_CODE, "set", slot, status, pin, wait_for_result=True
                        )
                    )
                else:  # util.lock.clear_usercode, but waiting for the answer even if asleep
                    value = get_code_slot_value(node, slot, LOCK_USERCODE_STATUS_PROPERTY)
                    written = await self._exchange(
                        node.async_set_value(value, status, wait_for_result=True)
                    )
                _check_status(written, f"slot {slot}")
                deadline = self._hass.loop.time() + self._read_after_write
                while (left := deadline - self._hass.loop.time()) > 0:
                    try:
                        async with asyncio.timeout(left):
                            await self._exchange(reported.wait())
                    except TimeoutError:
                        break
                    reported.clear()
                    if _holds(node, slot, status, pin):
                        return
                await self._exchange(get_usercode_from_node(node, slot))
            if not _holds(node, slot, status, pin):
                raise CodeError(CodeErrorReason.REJECTED, f"slot {slot} did not take the write")
        finally:
            stop()

    async def _undo(self, node: Node, slot: int) -> None:
        """Best effort: take the (disabled) code off again after a failed schedule."""
        try:
            await self._write_user(node, slot, CodeSlotStatus.AVAILABLE, None)
        except CodeError as err:
            _LOGGER.warning(
                "%s: slot %s could not be cleared after a failed schedule (%s)",
                self._entity_id,
                slot,
                err.reason,
            )

    # ---- the schedule -------------------------------------------------------------

    async def _schedule_slots(self) -> tuple[int, int]:
        """Entries per user (week-day, year-day); asked once. Call with ``_radio`` held."""
        if not self._schedule_entry_lock:
            return (0, 0)
        if self._schedule_counts is None:
            node = self._node()
            async with self._bounded("the schedule slot counts"):
                counts = await self._exchange(
                    node.async_invoke_cc_api(
                        CommandClass.SCHEDULE_ENTRY_LOCK, "getNumSlots", wait_for_result=True
                    )
                )
            if not isinstance(counts, Mapping):
                raise CodeError(CodeErrorReason.TIMEOUT, "no schedule slot counts")
            self._schedule_counts = (
                int(counts.get("numWeekDaySlots") or 0),
                int(counts.get("numYearDaySlots") or 0),
            )
        return self._schedule_counts

    async def _check_fits(self, schedule: LockSchedule) -> None:
        week, year = await self._schedule_slots()
        if len(schedule.week_days) > week or len(schedule.year_days) > year:
            raise CodeError(CodeErrorReason.NOT_SUPPORTED, "the lock has no room for this schedule")

    async def _write_entries(self, node: Node, slot: int, schedule: LockSchedule | None) -> None:
        """Make the user's entries exactly ``schedule``'s (none for None), each confirmed."""
        week, year = await self._schedule_slots()
        wanted_week = schedule.week_days if schedule is not None else ()
        wanted_year = schedule.year_days if schedule is not None else ()
        for slot_id in range(1, week + 1):
            entry = wanted_week[slot_id - 1] if slot_id <= len(wanted_week) else None
            await self._write_entry(node, slot, "WeekDaySchedule", slot_id, _week_day(entry))
        for slot_id in range(1, year + 1):
            entry_y = wanted_year[slot_id - 1] if slot_id <= len(wanted_year) else None
            await self._write_entry(node, slot, "YearDaySchedule", slot_id, _year_day(entry_y))

    async def _write_entry(
        self, node: Node, slot: int, kind: str, slot_id: int, entry: dict[str, int] | None
    ) -> None:
        where = {"userId": slot, "slotId": slot_id}
        args: list[Any] = [where] if entry is None else [where, entry]
        async with self._bounded(f"slot {slot} schedule {slot_id}"):
            result = await self._exchange(
                node.async_invoke_cc_api(
                    CommandClass.SCHEDULE_ENTRY_LOCK, f"set{kind}", *args, wait_for_result=True
                )
            )
            if _supervised(result, f"slot {slot} schedule {slot_id}"):
                return
            read = await self._exchange(
                node.async_invoke_cc_api(
                    CommandClass.SCHEDULE_ENTRY_LOCK, f"get{kind}", where, wait_for_result=True
                )
            )
        if (dict(read) if isinstance(read, Mapping) else None) != entry:
            raise CodeError(CodeErrorReason.REJECTED, f"slot {slot} schedule {slot_id} differs")

    async def _enable_schedules(self, node: Node, slot: int, *, enabled: bool) -> None:
        """Switch the user's schedules on or off; the CC has no Get, so only Supervision tells."""
        async with self._bounded(f"slot {slot} schedules"):
            result = await self._exchange(
                node.async_invoke_cc_api(
                    CommandClass.SCHEDULE_ENTRY_LOCK,
                    "setEnabled",
                    enabled,
                    slot,
                    wait_for_result=True,
                )
            )
        _supervised(result, f"slot {slot} schedules")

    # ---- plumbing -----------------------------------------------------------------

    def _node(self) -> Node:
        if self._closed.done():
            raise CodeError(CodeErrorReason.UNAVAILABLE, "closed")
        return _node_for(self._hass, self._entity_id)

    def _bounded(self, what: str) -> _Bounded:
        return _Bounded(self._timeout, what)

    async def _exchange(self, awaitable: Awaitable[_T]) -> _T:
        """Await a request to the server; ``async_close`` ends it, server errors map to reasons."""
        task = asyncio.ensure_future(awaitable)
        racing: set[asyncio.Future[Any]] = {task, self._closed}
        try:
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
        if not task.done() or task.cancelled():
            raise CodeError(CodeErrorReason.UNAVAILABLE, "closed")
        try:
            return task.result()
        except BaseZwaveJSServerError as err:
            raise _failure(err) from None

    @callback
    def _on_notification(self, event: Event[dict[str, Any]]) -> None:
        data = event.data
        user = (data.get("parameters") or {}).get("userId")
        if (
            data.get("device_id") == self._device_id
            and data.get("command_class") == CommandClass.NOTIFICATION
            and data.get("type") == _ACCESS_CONTROL
            and data.get("event") == _KEYPAD_UNLOCK
            and isinstance(user, int)
            and user in self._capabilities.slots
        ):
            for keypad in list(self._keypad):
                keypad(user)


class _Bounded:
    """``asyncio.timeout`` whose expiry is ``CodeError(TIMEOUT)``."""

    def __init__(self, seconds: float, what: str) -> None:
        self._timeout = asyncio.timeout(seconds)
        self._what = what

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> None:
        try:
            await self._timeout.__aexit__(kind, error, traceback)
        except TimeoutError:
            raise CodeError(CodeErrorReason.TIMEOUT, f"no answer for {self._what}") from None


def _node_for(hass: HomeAssistant, entity_id: str) -> Node:
    try:
        node = async_get_node_from_entity_id(hass, entity_id)
    except ValueError as err:  # not loaded, driver not ready, node unknown
        raise CodeError(CodeErrorReason.UNAVAILABLE, str(err)) from None
    if not node.ready:
        raise CodeError(CodeErrorReason.UNAVAILABLE, f"node {node.node_id} is not ready")
    return node


def _has_cc(node: Node, command_class: CommandClass) -> bool:
    return any(cc.id == command_class for cc in node.endpoints[0].command_classes)


def _masks(node: Node) -> bool:
    """Whether any occupied slot shows a masked code (the BE469 shows ``**********``)."""
    return any(
        slot.get("in_use") and _shown(_code(node, slot["code_slot"])) is MASKED
        for slot in get_code_slots(node)
    )


def _code(node: Node, slot: int) -> object:
    return get_code_slot_value(node, slot, LOCK_USERCODE_PROPERTY).value


def _shown(code: object) -> ReadBack:
    if isinstance(code, str) and code.isdigit() and set(code) != {"0"}:
        return code
    return MASKED


def _holds(node: Node, slot: int, status: CodeSlotStatus, pin: str | None) -> bool:
    """Whether Z-Wave JS's view of the user (fresh from the lock) is what we wrote."""
    try:
        shown = get_code_slot_value(node, slot, LOCK_USERCODE_STATUS_PROPERTY).value
        code = _code(node, slot)
    except NotFoundError:
        return False
    if shown != status:
        return False
    if status is CodeSlotStatus.AVAILABLE or pin is None:
        return True
    read = _shown(code)
    return read is MASKED or read == pin


def _check_status(result: object, what: str) -> None:
    """Refuse a write the lock or Z-Wave JS said no to (a SetValue or Supervision result)."""
    status = getattr(result, "status", None)
    if status is None and isinstance(result, Mapping):
        status = result.get("status")
    if status is not None and int(status) in (0, 2, 3, 4, 5):
        raise CodeError(CodeErrorReason.REJECTED, f"{what}: the lock refused ({int(status)})")


def _supervised(result: object, what: str) -> bool:
    """True on a Supervision success; raises on a refusal; False when there is no result."""
    if not isinstance(result, Mapping) or "status" not in result:
        return False
    status = int(result["status"])
    if status == SupervisionStatus.SUCCESS:
        return True
    if status == SupervisionStatus.WORKING:
        return False
    raise CodeError(CodeErrorReason.REJECTED, f"{what}: the lock refused ({status})")


def _failure(err: BaseZwaveJSServerError) -> CodeError:
    """A reason for a server error; its text is left out (it may echo the request)."""
    if isinstance(err, FailedZWaveCommand):
        code = err.zwave_error_code
        if code in _NO_ANSWER:
            return CodeError(CodeErrorReason.TIMEOUT, f"Z-Wave error {code}")
        if code in _NOT_THERE:
            return CodeError(CodeErrorReason.UNAVAILABLE, f"Z-Wave error {code}")
        return CodeError(CodeErrorReason.REJECTED, f"Z-Wave error {code}")
    if isinstance(err, FailedCommand):
        return CodeError(CodeErrorReason.UNAVAILABLE, f"server error {err.error_code}")
    if isinstance(err, NotFoundError):
        return CodeError(CodeErrorReason.NOT_SUPPORTED, "the lock has no such value")
    return CodeError(CodeErrorReason.UNAVAILABLE, type(err).__name__)


def _week_day(entry: WeekDayEntry | None) -> dict[str, int] | None:
    if entry is None:
        return None
    return {
        "weekday": entry.sunday_first_weekday,
        "startHour": entry.start_minute // 60,
        "startMinute": entry.start_minute % 60,
        "stopHour": entry.end_minute // 60,
        "stopMinute": entry.end_minute % 60,
    }


def _year_day(entry: YearDayEntry | None) -> dict[str, int] | None:
    if entry is None:
        return None
    return {**_moment("start", entry.start), **_moment("stop", entry.end)}


def _moment(prefix: str, at: datetime) -> dict[str, int]:
    return {
        f"{prefix}Year": at.year % 100,
        f"{prefix}Month": at.month,
        f"{prefix}Day": at.day,
        f"{prefix}Hour": at.hour,
        f"{prefix}Minute": at.minute,
    }
