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
- ``set_code(slot, pin)`` returns only once the lock has confirmed the code.
  No answer within the backend's timeout raises ``CodeError(TIMEOUT)``: a
  backend never reports "set" on hope.
- ``clear_code(slot)`` likewise returns only once the slot is confirmed empty.
- ``read_code(slot)`` returns the PIN, ``None`` for an empty slot, or ``MASKED``
  when the lock confirms the slot holds a code but will not say which (many
  Zigbee locks and Zigbee2MQTT without ``expose_pin``).
- ``set_schedule(slot, schedule)`` / ``clear_schedule(slot)`` put the grant's
  window on the lock itself, so the lock refuses the code outside it even with
  Home Assistant down; backends whose locks cannot raise ``NOT_SUPPORTED``.
- ``subscribe_keypad(callback)`` calls ``callback(slot)`` once per keypad unlock
  with a slot inside the range, and returns a function that unsubscribes.
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

from ..core.models import Schedule


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
    supports_schedules: bool = False
    supports_read_back: bool = False
    masks_codes_on_read: bool = False

    def __post_init__(self) -> None:
        if self.slots.step != 1 or len(self.slots) == 0 or self.slots.start < 0:
            raise ValueError("the slot range must be a non-empty run of slot numbers")
        if not 0 < self.min_pin_length <= self.max_pin_length:
            raise ValueError("PIN length range is empty")


class CodeBackend(Protocol):
    """One lock, seen through its own integration. See the module docstring."""

    async def capabilities(self) -> LockCapabilities: ...

    async def set_code(self, slot: int, pin: str) -> None: ...

    async def clear_code(self, slot: int) -> None: ...

    async def read_code(self, slot: int) -> ReadBack: ...

    async def set_schedule(self, slot: int, schedule: Schedule) -> None: ...

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
