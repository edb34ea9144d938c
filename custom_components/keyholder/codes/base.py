"""The keypad-code backend interface: what Keyholder needs from any lock family.

One backend per lock family (Zigbee2MQTT, ZHA, Z-Wave JS, ...) implements
``CodeBackend``; everything above it (the sync planner, the Home, the entities)
speaks only this interface, so adding a family means adding one file.

The contract
------------
- ``capabilities()`` says what the lock can do and which slots Keyholder may use.
  The slot range is the homeowner's, never the lock's full table: a backend
  refuses any slot outside it (``CodeError(OUT_OF_RANGE)``) before any radio
  traffic, so codes Keyholder does not manage are never touched.
- ``set_code(slot, pin, schedule)`` returns only once the lock has confirmed the
  code. No answer within the backend's timeout raises ``CodeError(TIMEOUT)``: a
  backend never reports "set" on hope. With a ``LockSchedule`` (only ever given
  when ``capabilities()`` has room for it) the user is created as one that obeys
  its schedules (ZCL user type Week_Day/Year_Day; Z-Wave schedule entries) and
  the entries are written and confirmed before ``set_code`` returns, so the code
  is never usable outside the window, not even between two radio frames; the
  backend undoes what it wrote if it cannot finish. Without one, the code is
  unrestricted and any schedules left in the slot are cleared.
- ``clear_code(slot)`` likewise returns only once the slot is confirmed empty.
- ``read_code(slot)`` returns the PIN, ``None`` for an empty slot, or ``MASKED``
  when the lock confirms the slot holds a code but will not say which (many
  Zigbee locks and Zigbee2MQTT without ``expose_pin``).
- ``set_schedule(slot, schedule)`` / ``clear_schedule(slot)`` put a grant's
  window on the lock itself (replacing what the slot had), or take it off, so
  the lock refuses the code outside it even with Home Assistant down; backends
  whose locks cannot raise ``NOT_SUPPORTED``. ``clear_code`` also clears the
  slot's schedules.
- ``subscribe_keypad(callback)`` calls ``callback(slot)`` once per keypad unlock
  with a slot inside the range, and returns a function that unsubscribes.
- A backend is made by its family's ``from_entity(hass, entity_id, slots,
  timings)`` classmethod, which raises ``CodeError(UNAVAILABLE)`` while the
  lock's integration has not got the lock ready, and ``NOT_SUPPORTED`` for an
  entity that is no keypad lock of that family.
- ``async_close()`` lets go of the lock (unload): subscriptions end and operations
  still waiting end with ``UNAVAILABLE``.

Every failure is one exception type, ``CodeError``, whose ``reason`` tells the
caller what to do: retry later (``TIMEOUT``, ``UNAVAILABLE``), give up on this
value (``REJECTED``), or stop asking (``NOT_SUPPORTED``, ``OUT_OF_RANGE``).

PINs pass through a backend on their way to the radio and nowhere else: a
backend never logs, stores or raises an error containing one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Final, Literal, Protocol

from .lock_schedule import LockSchedule


class SlotState(StrEnum):
    """Where one slot of one lock stands, as the UI shows it."""

    PENDING = "pending"  # wanted, not yet attempted (queued behind the rate limit)
    SETTING = "setting"  # being written, or waiting to retry a write
    SET = "set"  # on the lock, confirmed
    FAILED = "failed"  # gave up after the retry ceiling: needs the homeowner (a repair)
    CLEARING = "clearing"  # being cleared, or waiting to retry a clear
    CLEARED = "cleared"  # confirmed empty


class CodeErrorReason(StrEnum):
    """Why a backend operation did not happen."""

    TIMEOUT = "timeout"  # the lock did not answer in time; it may be asleep or gone
    REJECTED = "rejected"  # the lock (or the backend) refused this value
    UNAVAILABLE = "unavailable"  # the path to the lock is down (broker, radio, integration)
    NOT_SUPPORTED = "not_supported"  # this lock cannot do that at all
    OUT_OF_RANGE = "out_of_range"  # the slot is not one the homeowner gave Keyholder


class CodeError(Exception):
    """A backend operation failed; ``reason`` says whether retrying makes sense."""

    def __init__(self, reason: CodeErrorReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason

    @property
    def retryable(self) -> bool:
        return self.reason in (CodeErrorReason.TIMEOUT, CodeErrorReason.UNAVAILABLE)


class _Masked(Enum):
    MASKED = "masked"

    def __repr__(self) -> str:
        return "MASKED"


MASKED: Final = _Masked.MASKED
"""A read-back that confirms the slot holds a code without revealing it."""

type Masked = Literal[_Masked.MASKED]
type ReadBack = str | Masked | None
type KeypadCallback = Callable[[int], None]
type Unsubscribe = Callable[[], None]


@dataclass(frozen=True, slots=True)
class LockCapabilities:
    """What a lock can do, and the slots the homeowner lets Keyholder use."""

    slots: range
    min_pin_length: int = 4
    max_pin_length: int = 8
    week_day_schedules: int = 0  # week-day entries the lock keeps per user
    year_day_schedules: int = 0  # year-day entries the lock keeps per user
    supports_read_back: bool = False
    masks_codes_on_read: bool = False

    def __post_init__(self) -> None:
        if self.slots.step != 1 or len(self.slots) == 0 or self.slots.start < 0:
            raise ValueError("the slot range must be a non-empty run of slot numbers")
        if not 0 < self.min_pin_length <= self.max_pin_length:
            raise ValueError("PIN length range is empty")
        if self.week_day_schedules < 0 or self.year_day_schedules < 0:
            raise ValueError("a lock keeps zero or more schedule entries per user")

    @property
    def supports_schedules(self) -> bool:
        return self.week_day_schedules > 0 or self.year_day_schedules > 0


@dataclass(frozen=True, slots=True)
class RadioTimings:
    """How long a backend waits on a lock. Battery locks sleep; mains locks answer at once."""

    timeout: float = 10.0  # seconds one operation may take, the lock's answer included
    read_after_write: float = 2.0  # wait this long for the lock's own report before asking

    def __post_init__(self) -> None:
        if not 0 < self.read_after_write <= self.timeout:
            raise ValueError("timings must be positive, the read-back wait within the timeout")


class CodeBackend(Protocol):
    """One lock, seen through its own integration. See the module docstring."""

    async def capabilities(self) -> LockCapabilities: ...

    async def set_code(self, slot: int, pin: str, schedule: LockSchedule | None = None) -> None: ...

    async def clear_code(self, slot: int) -> None: ...

    async def read_code(self, slot: int) -> ReadBack: ...

    async def set_schedule(self, slot: int, schedule: LockSchedule) -> None: ...

    async def clear_schedule(self, slot: int) -> None: ...

    async def subscribe_keypad(self, callback: KeypadCallback) -> Unsubscribe: ...

    async def async_close(self) -> None: ...


def check_slot(capabilities: LockCapabilities, slot: int) -> None:
    """Refuse a slot outside the homeowner's range, before anything goes on the air."""
    if slot not in capabilities.slots:
        raise CodeError(CodeErrorReason.OUT_OF_RANGE, f"slot {slot}")


def check_pin(capabilities: LockCapabilities, pin: str) -> None:
    """Refuse a PIN this lock cannot hold; the message never contains the PIN."""
    if not (pin.isascii() and pin.isdigit()):
        raise CodeError(CodeErrorReason.REJECTED, "a PIN is digits only")
    if not capabilities.min_pin_length <= len(pin) <= capabilities.max_pin_length:
        raise CodeError(
            CodeErrorReason.REJECTED,
            f"this lock takes {capabilities.min_pin_length} to "
            f"{capabilities.max_pin_length} digits",
        )
