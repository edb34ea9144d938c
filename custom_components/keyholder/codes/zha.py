"""Keypad codes on ZHA locks, written straight to the lock's Door Lock cluster.

Why not ZHA's own actions
-------------------------
``zha.set_lock_user_code`` and friends always make an Enabled/Unrestricted user,
cannot read a code back and cannot set schedules, and they report success
without the lock's answer. So this backend talks to the lock's Door Lock
cluster (ZCL 0x0101) through zigpy, the library ZHA itself drives the radio
with, and reads the lock's answer to every command.

Where the lock lives
--------------------
``homeassistant.components.zha.helpers.get_zha_gateway_proxy(hass)``
``.get_entity_reference(entity_id).entity_data.device_proxy.device.device`` is
the zigpy device behind a ZHA lock entity (the same on 2025.4 with zha 0.0.56 /
zigpy 0.78 and on 2026.10 with zha 2.3 / zigpy 2.x); the endpoint whose input
clusters hold 0x0101 carries the lock. This is ZHA's internal API, so it is
looked up again for every radio exchange rather than kept: a reload of ZHA
replaces the zigpy objects, and a backend holding old ones would talk to a
radio that is gone.

The protocol (ZCL Door Lock cluster, zigpy ``closures.DoorLock``)
-----------------------------------------------------------------
- Slots are ZCL ``user_id`` numbers, counted from 0, exactly as Zigbee2MQTT's
  ``user``. (ZHA's actions and its ``zha_event`` count ``code_slot`` from 1:
  ``code_slot = user_id + 1``.)
- ``set_pin_code(user_id, user_status, user_type, pin_code)``, ``get_pin_code``,
  ``clear_pin_code``, ``set_user_type``; each is answered with a ``*_response``
  carrying a status (``get_pin_code_response`` carries status, type and code).
  Every status must be SUCCESS, else ``CodeError(REJECTED)``.
- User type Week_Day (2) or Year_Day (1) makes a user obey its schedules; a user
  of such a type with no schedule entries opens nothing.
- ``set_week_day_schedule(schedule_id, user_id, days_mask, start_hour,
  start_minute, end_hour, end_minute)`` and ``set_year_day_schedule(schedule_id,
  user_id, local_start_time, local_end_time)``, with ``clear_*_schedule``.
  ZCL LocalTime counts seconds from 2000-01-01 00:00 on the lock's own
  (local) wall clock, so a naive ``YearDayEntry`` time converts with plain
  subtraction: no time zone and no daylight-saving arithmetic is involved,
  the lock does not know either.
- Capabilities come from the attributes ``num_of_pin_users_supported``,
  ``min_pin_len``/``max_pin_len`` and the schedule counts per user, read once
  (zigpy's attribute cache first, so a restart costs no radio traffic).

Writing a code, and why in this order
-------------------------------------
Without a schedule: ``set_pin_code(Enabled, Unrestricted)``, then the user's
schedule entries are cleared. With a ``LockSchedule``: the user's old entries
are cleared first, then ``set_pin_code`` with the restricting user type, then
the new entries. So the new code never meets an old window and is never
unrestricted, not even between two frames: until its entries are on the lock it
opens nothing. If a step after the code fails, the code is cleared again (best
effort) before the error is raised. Clearing entries costs one frame per entry
the lock keeps per user; locks keep few.

Then the code is read back with ``get_pin_code``: status Enabled, the user type
asked for (a lock that silently made a scheduled user unrestricted must not
keep the code) and the code itself, or an empty code. An empty code for an
occupied user is how masking locks answer; the first one seen marks the lock
``masks_codes_on_read`` and ``read_code`` returns ``MASKED`` for such users.
A Disabled user reads back as None: its code opens nothing, and the planner
should write it again.

Timing: ``RadioTimings.timeout`` bounds each radio exchange (one command and
its answer); zigpy's own timeout for sleepy end devices is longer. ZCL answers
each command directly, so ``read_after_write`` is not needed here.

Keypad events
-------------
ZHA turns the lock's ``operation_event_notification`` into a ``zha_event`` on
the bus: ``device_ieee``, ``cluster_id`` 0x0101, ``command``
``operation_event_notification``, ``args`` ``{"source": "Keypad", "operation":
"Unlock", "code_slot": user_id + 1}`` (zha 0.0.56's DoorLock cluster handler
and zha 2.3's ``DoorLockOperationEvent`` build the same). The backend listens on
the bus, not on the zigpy cluster: the bus event is ZHA's public surface, it
outlives a reload of ZHA, and it needs no listener on internal objects.

PINs go to the radio and nowhere else. zigpy logs every frame it sends at debug
level (``Sending request: set_pin_code(..., pin_code='...')``); a log filter on
zigpy's loggers blanks PINs in those records, as the Zigbee2MQTT backend does
for MQTT.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
import logging
import re
from typing import Any, Final, Self

from homeassistant.core import Event, HomeAssistant, callback
import zigpy.exceptions  # type: ignore[import-untyped, unused-ignore]  # typed from zigpy 2

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

DOOR_LOCK_CLUSTER: Final = 0x0101
ZHA_EVENT: Final = "zha_event"

# ZCL Door Lock values (zigpy's enums are ints; comparing numbers works on every version).
_SUCCESS: Final = 0x00
_NOT_FOUND: Final = 0x8B  # clearing an entry that is not there
_ENABLED: Final = 0x01  # UserStatus
_UNRESTRICTED: Final = 0x00  # UserType
_YEAR_DAY_USER: Final = 0x01
_WEEK_DAY_USER: Final = 0x02
_SET_PIN_FAILURES: Final = {1: "general failure", 2: "memory full", 3: "duplicate code"}

# Seconds on the lock's wall clock count from here (ZCL LocalTime). Naive on purpose.
_ZCL_EPOCH: Final = datetime(2000, 1, 1)  # noqa: DTZ001 - the lock's local wall clock
_ZCL_TIME_MAX: Final = 0xFFFFFFFE  # 0xFFFFFFFF means "invalid"

_CAPABILITY_ATTRIBUTES: Final = (
    "num_of_pin_users_supported",
    "min_pin_len",
    "max_pin_len",
    "num_of_week_day_schedules_supported_per_user",
    "num_of_year_day_schedules_supported_per_user",
)

# zigpy's loggers that print frames at debug level, and the radio libraries' main ones.
_FRAME_LOGGERS: Final = (
    "zigpy.zcl",
    "zigpy.device",
    "zigpy.endpoint",
    "zigpy.application",
    "bellows.zigbee.application",
    "zigpy_znp.zigbee.application",
    "zigpy_deconz.zigbee.application",
)


class _PinRedactor(logging.Filter):
    """Keeps PINs out of zigpy's debug log of Door Lock frames.

    Decoded frames show ``pin_code='...'`` (sent), ``code='...'`` (read back)
    and ``pin='...'`` (the code typed, in some locks' operation events): those
    values are always blanked. Raw frames show a PIN as digits inside a bytes
    literal: digit runs in bytes literals are blanked in every record about the
    Door Lock cluster, and in every record while an exchange that carries a PIN
    is in flight (``sensitive``; the radio libraries' records name no cluster).
    """

    _KEYWORD = re.compile(r"\b((?:pin_)?code=|pin=)(?:'[^']*'|\"[^\"]*\"|[^,)\s]*)")
    _FRAME = re.compile(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"")
    _DIGITS = re.compile(r"\d{3,}")
    _DOOR_LOCK = re.compile(r":0x0101\]|cluster_id=257\b|cluster=257\b")

    def __init__(self) -> None:
        super().__init__()
        self.sensitive = 0

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken record: logging reports it itself
            return True
        redacted = self._KEYWORD.sub(r"\1<redacted>", message)
        if self.sensitive or self._DOOR_LOCK.search(redacted):
            redacted = self._FRAME.sub(
                lambda frame: self._DIGITS.sub("<redacted>", frame.group()), redacted
            )
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR = _PinRedactor()


def door_lock_cluster(hass: HomeAssistant, entity_id: str) -> Any:
    """The zigpy Door Lock cluster behind a ZHA lock entity (zigpy objects are untyped).

    ``CodeError(UNAVAILABLE)`` while ZHA is not loaded or does not know the
    entity yet, ``NOT_SUPPORTED`` for a device without a Door Lock cluster.
    """
    if "zha" not in hass.config.components:
        raise CodeError(CodeErrorReason.UNAVAILABLE, "ZHA is not loaded")
    try:
        from homeassistant.components.zha.helpers import (  # noqa: PLC0415 - only with ZHA
            get_zha_gateway_proxy,
        )
    except ImportError as err:
        raise CodeError(CodeErrorReason.UNAVAILABLE, "ZHA is not installed") from err
    try:
        reference = get_zha_gateway_proxy(hass).get_entity_reference(entity_id)
    except ValueError as err:  # "No gateway object exists"
        raise CodeError(CodeErrorReason.UNAVAILABLE, "ZHA is not loaded") from err
    if reference is None:
        raise CodeError(CodeErrorReason.UNAVAILABLE, f"ZHA does not know {entity_id} yet")
    try:
        device = reference.entity_data.device_proxy.device.device
        endpoints: Mapping[int, Any] = device.endpoints
    except AttributeError as err:  # ZHA's internals moved: say so rather than guess
        raise CodeError(CodeErrorReason.UNAVAILABLE, "ZHA's device model is unknown") from err
    for endpoint_id, endpoint in sorted(endpoints.items()):
        if endpoint_id == 0:  # ZDO
            continue
        if (cluster := endpoint.in_clusters.get(DOOR_LOCK_CLUSTER)) is not None:
            return cluster
    raise CodeError(CodeErrorReason.NOT_SUPPORTED, f"{entity_id} has no Door Lock cluster")


def zcl_local_time(at: datetime) -> int:
    """A naive wall-clock time as ZCL LocalTime: seconds since 2000-01-01 00:00."""
    seconds = int((at - _ZCL_EPOCH).total_seconds())
    if not 0 <= seconds <= _ZCL_TIME_MAX:
        raise CodeError(CodeErrorReason.REJECTED, "a year-day entry outside the lock's calendar")
    return seconds


class ZhaLock:
    """One ZHA lock as a ``CodeBackend``; one radio exchange at a time."""

    def __init__(
        self, hass: HomeAssistant, entity_id: str, ieee: str, slots: range, timings: RadioTimings
    ) -> None:
        self._hass = hass
        self._entity_id = entity_id
        self._ieee = ieee
        self._slots = LockCapabilities(slots).slots  # validated like any capabilities
        self._timeout = timings.timeout
        self._capabilities: LockCapabilities | None = None
        self._radio = asyncio.Lock()
        self._closed: asyncio.Future[None] = hass.loop.create_future()
        self._keypad: list[KeypadCallback] = []
        self._unlisten: Callable[[], None] | None = None
        for name in _FRAME_LOGGERS:
            logging.getLogger(name).addFilter(_REDACTOR)  # idempotent

    @classmethod
    def from_entity(
        cls, hass: HomeAssistant, entity_id: str, slots: range, timings: RadioTimings
    ) -> Self:
        """The backend for a ZHA lock entity, using the homeowner's ``slots``."""
        cluster = door_lock_cluster(hass, entity_id)
        return cls(hass, entity_id, str(cluster.endpoint.device.ieee), slots, timings)

    def __repr__(self) -> str:
        return f"ZhaLock({self._entity_id!r})"

    async def capabilities(self) -> LockCapabilities:
        async with self._radio:
            return await self._read_capabilities()

    async def set_code(self, slot: int, pin: str, schedule: LockSchedule | None = None) -> None:
        self._check_range(slot)
        async with self._radio:
            capabilities = await self._read_capabilities()
            check_slot(capabilities, slot)
            check_pin(capabilities, pin)
            if schedule is None:
                await self._set_pin(slot, pin, _UNRESTRICTED)
                await self._clear_entries(slot, capabilities)
                await self._confirm(slot, pin, _UNRESTRICTED)
            else:
                user_type = self._schedule_user_type(capabilities, schedule)
                await self._clear_entries(slot, capabilities)
                await self._set_pin(slot, pin, user_type)
                try:
                    await self._write_entries(slot, schedule)
                    await self._confirm(slot, pin, user_type)
                except CodeError:
                    await self._undo(slot)
                    raise
        _LOGGER.debug("%s: code in slot %s confirmed", self, slot)

    async def clear_code(self, slot: int) -> None:
        self._check_range(slot)
        async with self._radio:
            capabilities = await self._read_capabilities()
            check_slot(capabilities, slot)
            response = await self._exchange(
                "clear_pin_code", lambda cluster: cluster.clear_pin_code(slot)
            )
            self._expect_success(response, f"slot {slot} was not cleared")
            await self._clear_entries(slot, capabilities)
        _LOGGER.debug("%s: slot %s confirmed empty", self, slot)

    async def read_code(self, slot: int) -> ReadBack:
        self._check_range(slot)
        async with self._radio:
            check_slot(await self._read_capabilities(), slot)
            return await self._read(slot)

    async def set_schedule(self, slot: int, schedule: LockSchedule) -> None:
        """Put ``schedule`` on the code in ``slot``: no window is open while it changes."""
        self._check_range(slot)
        async with self._radio:
            capabilities = await self._read_capabilities()
            check_slot(capabilities, slot)
            user_type = self._schedule_user_type(capabilities, schedule)
            await self._clear_entries(slot, capabilities)
            await self._set_user_type(slot, user_type)
            await self._write_entries(slot, schedule)

    async def clear_schedule(self, slot: int) -> None:
        """Take the schedule off: the code in ``slot`` opens at any time again."""
        self._check_range(slot)
        async with self._radio:
            capabilities = await self._read_capabilities()
            check_slot(capabilities, slot)
            if not capabilities.supports_schedules:
                raise CodeError(CodeErrorReason.NOT_SUPPORTED, "this lock keeps no schedules")
            await self._set_user_type(slot, _UNRESTRICTED)
            await self._clear_entries(slot, capabilities)

    async def subscribe_keypad(self, callback: KeypadCallback) -> Unsubscribe:
        if self._closed.done():
            raise CodeError(CodeErrorReason.UNAVAILABLE, "closed")
        if self._unlisten is None:
            self._unlisten = self._hass.bus.async_listen(ZHA_EVENT, self._on_zha_event)
        self._keypad.append(callback)

        def unsubscribe() -> None:
            if callback in self._keypad:
                self._keypad.remove(callback)

        return unsubscribe

    async def async_close(self) -> None:
        """Stop listening; an exchange in flight ends with ``UNAVAILABLE``."""
        if not self._closed.done():
            self._closed.set_result(None)
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._keypad.clear()

    # --- the steps -------------------------------------------------------------------

    def _check_range(self, slot: int) -> None:
        if slot not in self._slots:
            raise CodeError(CodeErrorReason.OUT_OF_RANGE, f"slot {slot}")

    async def _read_capabilities(self) -> LockCapabilities:
        """The lock's limits, read once; the homeowner's range cut to the lock's users."""
        if self._capabilities is not None:
            return self._capabilities
        values, _unsupported = await self._exchange(
            "read_attributes",
            lambda cluster: cluster.read_attributes(list(_CAPABILITY_ATTRIBUTES), allow_cache=True),
        )
        users = _number(values.get("num_of_pin_users_supported"))
        slots = self._slots
        if users is not None and users > 0:
            slots = range(slots.start, min(slots.stop, users))
            if len(slots) == 0:
                raise CodeError(
                    CodeErrorReason.OUT_OF_RANGE, f"the lock has only {users} PIN users"
                )
        low = _number(values.get("min_pin_len"))
        high = _number(values.get("max_pin_len"))
        if low is None or high is None or not 0 < low <= high:
            low, high = 4, 8
        self._capabilities = LockCapabilities(
            slots,
            min_pin_length=low,
            max_pin_length=high,
            week_day_schedules=_number(values.get("num_of_week_day_schedules_supported_per_user"))
            or 0,
            year_day_schedules=_number(values.get("num_of_year_day_schedules_supported_per_user"))
            or 0,
            supports_read_back=True,
        )
        return self._capabilities

    def _schedule_user_type(self, capabilities: LockCapabilities, schedule: LockSchedule) -> int:
        if schedule.week_days:
            if len(schedule.week_days) > capabilities.week_day_schedules:
                raise CodeError(CodeErrorReason.NOT_SUPPORTED, "too many week-day entries")
            return _WEEK_DAY_USER
        if len(schedule.year_days) > capabilities.year_day_schedules:
            raise CodeError(CodeErrorReason.NOT_SUPPORTED, "too many year-day entries")
        for entry in schedule.year_days:  # refuse before anything is written
            zcl_local_time(entry.start)
            zcl_local_time(entry.end)
        return _YEAR_DAY_USER

    async def _set_pin(self, slot: int, pin: str, user_type: int) -> None:
        response = await self._exchange(
            "set_pin_code",
            lambda cluster: cluster.set_pin_code(slot, _ENABLED, user_type, pin),
            sensitive=True,
        )
        status = _status(response)
        if status != _SUCCESS:
            reason = _SET_PIN_FAILURES.get(status if status is not None else -1, f"status {status}")
            raise CodeError(
                CodeErrorReason.REJECTED, f"slot {slot} did not take the code: {reason}"
            )

    async def _set_user_type(self, slot: int, user_type: int) -> None:
        response = await self._exchange(
            "set_user_type", lambda cluster: cluster.set_user_type(slot, user_type)
        )
        self._expect_success(response, f"slot {slot} kept its user type")

    async def _write_entries(self, slot: int, schedule: LockSchedule) -> None:
        for schedule_id, week_day in enumerate(schedule.week_days):
            await self._write_week_day(schedule_id, slot, week_day)
        for schedule_id, year_day in enumerate(schedule.year_days):
            await self._write_year_day(schedule_id, slot, year_day)

    async def _write_week_day(self, schedule_id: int, slot: int, entry: WeekDayEntry) -> None:
        response = await self._exchange(
            "set_week_day_schedule",
            lambda cluster: cluster.set_week_day_schedule(
                schedule_id,
                slot,
                entry.zcl_days_mask,
                entry.start_minute // 60,
                entry.start_minute % 60,
                entry.end_minute // 60,
                entry.end_minute % 60,
            ),
        )
        self._expect_success(response, f"slot {slot} did not take week-day entry {schedule_id}")

    async def _write_year_day(self, schedule_id: int, slot: int, entry: YearDayEntry) -> None:
        start, end = zcl_local_time(entry.start), zcl_local_time(entry.end)
        response = await self._exchange(
            "set_year_day_schedule",
            lambda cluster: cluster.set_year_day_schedule(schedule_id, slot, start, end),
        )
        self._expect_success(response, f"slot {slot} did not take year-day entry {schedule_id}")

    async def _clear_entries(self, slot: int, capabilities: LockCapabilities) -> None:
        """Clear every schedule entry the lock keeps for this user (an absent one is fine)."""
        for command, count in (
            ("clear_week_day_schedule", capabilities.week_day_schedules),
            ("clear_year_day_schedule", capabilities.year_day_schedules),
        ):
            for schedule_id in range(count):
                response = await self._exchange(command, _command(command, schedule_id, slot))
                if _status(response) not in (_SUCCESS, _NOT_FOUND):
                    raise CodeError(
                        CodeErrorReason.REJECTED, f"slot {slot} kept schedule entry {schedule_id}"
                    )

    async def _read(self, slot: int) -> ReadBack:
        response = await self._get_pin_code(slot)
        if getattr(response, "user_status", None) is None:  # a default response
            raise CodeError(CodeErrorReason.REJECTED, f"slot {slot} could not be read")
        return self._held(slot, response)

    async def _confirm(self, slot: int, pin: str, user_type: int) -> None:
        """Read the slot back: enabled, of the type asked for, holding this code (or masked)."""
        response = await self._get_pin_code(slot)
        if getattr(response, "user_status", None) is None:
            return  # a lock that cannot read codes back: its set response stands
        held = self._held(slot, response)
        if held is None or (held is not MASKED and held != pin):
            raise CodeError(CodeErrorReason.REJECTED, f"slot {slot} does not hold the code")
        shown_type = getattr(response, "user_type", None)
        if shown_type is None or int(shown_type) != user_type:
            raise CodeError(CodeErrorReason.REJECTED, f"slot {slot} has another user type")

    async def _get_pin_code(self, slot: int) -> Any:
        return await self._exchange(
            "get_pin_code", lambda cluster: cluster.get_pin_code(slot), sensitive=True
        )

    def _held(self, slot: int, response: Any) -> ReadBack:
        """What a ``get_pin_code_response`` says the slot holds; notes a masking lock."""
        if int(response.user_status) != _ENABLED:
            return None
        if code := str(getattr(response, "code", "") or ""):
            return code
        if self._capabilities is not None and not self._capabilities.masks_codes_on_read:
            _LOGGER.debug("%s: the lock masks codes on read (slot %s)", self, slot)
            self._capabilities = replace(self._capabilities, masks_codes_on_read=True)
        return MASKED

    async def _undo(self, slot: int) -> None:
        """Clear a code whose schedule could not be completed (best effort)."""
        with suppress(CodeError):
            await self._exchange("clear_pin_code", lambda cluster: cluster.clear_pin_code(slot))

    def _expect_success(self, response: Any, failure: str) -> None:
        if _status(response) != _SUCCESS:
            raise CodeError(CodeErrorReason.REJECTED, f"{failure} (status {_status(response)})")

    async def _exchange(
        self, what: str, send: Callable[[Any], Awaitable[Any]], *, sensitive: bool = False
    ) -> Any:
        """One command and its answer, within the timeout; closing ends it at once.

        ``sensitive``: the frame or its answer carries a PIN (see ``_PinRedactor``).
        """
        if self._closed.done():
            raise CodeError(CodeErrorReason.UNAVAILABLE, "closed")
        cluster = door_lock_cluster(self._hass, self._entity_id)
        _REDACTOR.sensitive += sensitive
        request = asyncio.ensure_future(send(cluster))
        try:
            done, _ = await asyncio.wait(
                (request, self._closed),
                timeout=self._timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not request.done():
                request.cancel()
                with suppress(
                    asyncio.CancelledError, TimeoutError, zigpy.exceptions.ZigbeeException
                ):
                    await request
            _REDACTOR.sensitive -= sensitive
        if request not in done:
            if self._closed.done():
                raise CodeError(CodeErrorReason.UNAVAILABLE, "closed")
            raise CodeError(CodeErrorReason.TIMEOUT, f"no answer to {what}")
        try:
            return request.result()
        except (TimeoutError, zigpy.exceptions.DeliveryError) as err:
            raise CodeError(CodeErrorReason.TIMEOUT, f"{what} did not reach the lock") from err
        except zigpy.exceptions.ZigbeeException as err:
            raise CodeError(CodeErrorReason.UNAVAILABLE, f"{what}: the radio failed") from err

    @callback
    def _on_zha_event(self, event: Event[Mapping[str, Any]]) -> None:
        data = event.data
        args = data.get("args")
        if (
            data.get("device_ieee") != self._ieee
            or data.get("cluster_id") != DOOR_LOCK_CLUSTER
            or data.get("command") != "operation_event_notification"
            or not isinstance(args, Mapping)
            or args.get("source") != "Keypad"
            or args.get("operation") != "Unlock"
        ):
            return
        code_slot = args.get("code_slot")
        if not isinstance(code_slot, int) or (slot := code_slot - 1) not in self._slots:
            return
        for keypad in list(self._keypad):
            keypad(slot)


def _command(name: str, *args: int) -> Callable[[Any], Awaitable[Any]]:
    """Send Door Lock command ``name`` with ``args`` to the cluster it is given."""
    return lambda cluster: getattr(cluster, name)(*args)


def _status(response: Any) -> int | None:
    status = getattr(response, "status", None)
    return None if status is None else int(status)


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, int) else None
