"""Desired versus actual keypad codes on one lock, as a short list of radio operations.

Pure: no Home Assistant, no I/O, no clock reads (``now`` is passed in), and no
PINs: slots are compared by a keyed digest of the PIN (``pin_digest``), and the
executor fetches the PIN itself from the vault only when it runs an operation.

The rules, each against a failure seen in keymaster and Lock Code Manager:

- Only slots in the homeowner's range are ever planned; the rest of the lock's
  table is not ours.
- A slot whose recorded state already matches is not written again. The record
  is persisted, so a restart costs no radio traffic.
- A slot in the range that Keyholder has no record of is cleared once: a code
  lingering there from before would otherwise open the door unaccounted for.
- Failures back off exponentially (``RetryPolicy``) up to a ceiling, then the
  slot is ``FAILED`` and left alone until the wanted value changes or a repair
  resets it: no retry flood draining the lock's battery.
- A masked read-back counts as confirmation of a code we wrote
  (``read_back_confirms``), so a lock that hides codes is not rewritten forever.
- At most ``max_ops_per_run`` operations per run; the rest wait ``run_spacing``.
  Clears go first, so a revoked code leaves the lock before a new one arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
import hashlib
import hmac

from .base import MASKED, Masked, SlotState


class OpKind(StrEnum):
    SET = "set"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: ``first_delay`` doubling to ``ceiling``, ``max_attempts`` in all."""

    first_delay: timedelta = timedelta(seconds=30)
    ceiling: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    max_ops_per_run: int = 2
    run_spacing: timedelta = timedelta(seconds=5)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.first_delay <= self.ceiling:
            raise ValueError("the first delay must be positive and under the ceiling")
        if self.max_attempts < 1 or self.max_ops_per_run < 1:
            raise ValueError("at least one attempt and one operation per run")

    def delay_after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th consecutive failure (1-based)."""
        if attempts < 1:
            raise ValueError("attempts are counted from 1")
        delay = self.first_delay
        for _ in range(attempts - 1):  # doubling stops at the ceiling: no overflow
            if delay >= self.ceiling:
                break
            delay *= 2
        return min(delay, self.ceiling)


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class SlotRecord:
    """What Keyholder last knew of one slot; persisted so restarts cost nothing.

    ``digest`` is the code the slot holds (``SET``) or is heading for
    (``SETTING``, ``FAILED``); None for ``CLEARED``/``CLEARING``. ``attempts``
    counts consecutive failures towards that target.
    """

    state: SlotState
    digest: str | None = None
    attempts: int = 0
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One radio operation: write the code with ``digest`` to ``slot``, or clear it."""

    kind: OpKind
    slot: int
    digest: str | None
    attempt: int  # 1 for the first try at this target


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do now, when to look again, and how each slot in the range stands."""

    operations: tuple[Operation, ...]
    next_run: datetime | None
    states: Mapping[int, SlotState]


def pin_digest(pin: str, *, key: bytes) -> str:
    """A keyed digest of a PIN, safe to persist next to the slot state.

    Keyed, because an unkeyed hash of a 4-8 digit PIN is undone by trying them all.
    """
    return hmac.new(key, pin.encode(), hashlib.sha256).hexdigest()


def read_back_confirms(expected: str | None, read: str | Masked | None) -> bool:
    """Whether a read-back (a digest, None for empty, or MASKED) confirms ``expected``.

    MASKED confirms a code we just wrote: the lock says the slot is occupied, and
    demanding more from a lock that cannot say more is a rewrite loop.
    """
    if read is MASKED:
        return expected is not None
    return read == expected


def plan(
    slots: range,
    desired: Mapping[int, str | None],
    actual: Mapping[int, SlotRecord],
    now: datetime,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> Plan:
    """The operations that bring ``actual`` to ``desired`` within ``slots``.

    ``desired`` maps a slot to the digest it should hold; a slot in the range
    that is absent or None should be empty. Entries outside the range are ignored.
    """
    due: list[Operation] = []
    states: dict[int, SlotState] = {}
    waits: list[datetime] = []
    for slot in slots:
        want = desired.get(slot)
        record = actual.get(slot)
        if _holds(record, want):
            states[slot] = SlotState.SET if want is not None else SlotState.CLEARED
            continue
        working = SlotState.SETTING if want is not None else SlotState.CLEARING
        retrying = record is not None and record.digest == want and record.attempts > 0
        if retrying and record is not None:
            if record.state is SlotState.FAILED or record.attempts >= policy.max_attempts:
                states[slot] = SlotState.FAILED
                continue
            if record.retry_at is not None and record.retry_at > now:
                states[slot] = working
                waits.append(record.retry_at)
                continue
        attempt = record.attempts + 1 if retrying and record is not None else 1
        kind = OpKind.SET if want is not None else OpKind.CLEAR
        due.append(Operation(kind, slot, want, attempt))
        states[slot] = working
    due.sort(key=lambda op: (op.kind is OpKind.SET, op.slot))
    now_ops, later = due[: policy.max_ops_per_run], due[policy.max_ops_per_run :]
    for op in later:
        states[op.slot] = SlotState.PENDING
    if later:
        waits.append(now + policy.run_spacing)
    return Plan(tuple(now_ops), min(waits, default=None), states)


def in_flight(op: Operation) -> SlotRecord:
    """The record to keep while ``op`` is on its way to the lock (written ahead of it).

    A sync cut short (Home Assistant stopped, the door removed) then leaves a slot
    that may hold a code as being set or cleared, never as the "cleared" it was
    before, so the next sync finishes the work. The attempt is not yet counted.
    """
    working = SlotState.SETTING if op.kind is OpKind.SET else SlotState.CLEARING
    return SlotRecord(working, op.digest, op.attempt - 1)


def succeeded(op: Operation) -> SlotRecord:
    """The record after ``op`` was confirmed by the lock."""
    if op.kind is OpKind.SET:
        return SlotRecord(SlotState.SET, op.digest)
    return SlotRecord(SlotState.CLEARED)


def failed(
    op: Operation,
    now: datetime,
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    give_up: bool = False,
) -> SlotRecord:
    """The record after ``op`` failed: back off, or ``FAILED`` at the ceiling.

    ``give_up`` is for failures that retrying cannot fix (the lock rejected the
    value, or the slot is out of range): straight to ``FAILED``.
    """
    if give_up or op.attempt >= policy.max_attempts:
        return SlotRecord(SlotState.FAILED, op.digest, max(op.attempt, policy.max_attempts))
    working = SlotState.SETTING if op.kind is OpKind.SET else SlotState.CLEARING
    return SlotRecord(working, op.digest, op.attempt, now + policy.delay_after(op.attempt))


def repaired(record: SlotRecord) -> SlotRecord:
    """The record once the homeowner asks to try a failed slot again."""
    return replace(record, attempts=0, retry_at=None)


def _holds(record: SlotRecord | None, want: str | None) -> bool:
    if record is None:
        return False
    if want is None:
        return record.state is SlotState.CLEARED
    return record.state is SlotState.SET and record.digest == want
