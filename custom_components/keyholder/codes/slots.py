"""Which code each slot of a lock should hold, and when that changes.

Pure: the home passes in its grants, the slot allocations, a PIN lookup and the
clock. The sync planner (``sync.py``) then compares the answer with what the lock
holds.

When a code is on the lock
--------------------------
- A lock that cannot enforce a grant's window gets the code ``LEAD_TIME`` before
  each window and loses it at the window's end: outside its windows the code is
  simply not on the lock.
- A lock that can (``lock_schedule.for_grant`` fits the grant into its week-day
  or year-day entries) gets the code together with the window, so the lock itself
  refuses it outside the window, also with Home Assistant down or its clock
  astray. A one-off visit's code then goes on at once (its year-day entry guards
  both ends). A weekly grant's code still goes on ``LEAD_TIME`` before each
  window and comes off at its end, like on any lock: the entries are the guard
  for when Home Assistant cannot take it off, not a reason to leave it there.
- Either way the code comes off when the grant is over: revoked, used up, or
  past ``valid_until``.

What a slot should hold is a ``SlotCode``: the PIN and, on a lock that enforces
it, the lock schedule. The planner compares slots by ``code_digest``, a keyed
digest of both, so a changed window is rewritten even when the PIN is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from ..core.models import Grant
from ..core.schedule import next_boundary, occurrences
from ..core.status import is_live
from .base import LockCapabilities, SlotState
from .lock_schedule import LockSchedule, for_grant
from .sync import pin_digest

# How long before its window a code goes onto a lock: radio time, a sleepy lock.
LEAD_TIME = timedelta(minutes=10)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SlotCode:
    """What one slot should hold: a PIN, and the window the lock enforces (if it can)."""

    pin: str
    schedule: LockSchedule | None = None

    def __repr__(self) -> str:  # never the PIN, not even in a traceback
        return f"SlotCode(schedule={self.schedule!r})"


def code_digest(code: SlotCode, *, key: bytes) -> str:
    """The keyed digest a slot record keeps of ``code``.

    A code without a schedule digests as its PIN alone, so records written before
    locks had schedules still match and cost no rewrite.
    """
    material = code.pin if code.schedule is None else f"{code.pin}|{code.schedule.encode()}"
    return pin_digest(material, key=key)


def slot_code(grant: Grant, pin: str, tz: tzinfo, capabilities: LockCapabilities) -> SlotCode:
    """The code for ``grant`` on a lock with ``capabilities``."""
    schedule = for_grant(
        grant.schedule,
        tz,
        week_day_entries=capabilities.week_day_schedules,
        year_day_entries=capabilities.year_day_schedules,
    )
    return SlotCode(pin, schedule)


def holds_slot(grant: Grant | None, door_id: str, now: datetime) -> bool:
    """Whether a slot's grant still has a claim on it: it exists, names the door, is live."""
    return grant is not None and door_id in grant.doors and is_live(grant, now)


def free_slot(
    door_id: str,
    slots: range,
    held: Mapping[int, str],
    grants: Mapping[str, Grant],
    now: datetime,
) -> int | None:
    """The lowest slot of a door's range that no live grant for this door holds.

    A code still on the lock from a finished grant is simply overwritten.
    """
    taken = {
        slot for slot, grant_id in held.items() if holds_slot(grants.get(grant_id), door_id, now)
    }
    return next((slot for slot in slots if slot not in taken), None)


def slots_in_use(
    door_id: str,
    held: Mapping[int, str],
    states: Mapping[int, SlotState],
    grants: Mapping[str, Grant],
    now: datetime,
) -> frozenset[int]:
    """The slots of a lock Keyholder cannot give up yet.

    A slot is in use while a live grant for the door holds it, or while a code
    Keyholder wrote may still be on the lock (its last known state is anything but
    confirmed cleared). A slot taken out of the door's range, or a lock swapped for
    another, would otherwise keep such a code for good: the sync only ever looks
    inside the range of the lock it has.
    """
    live = {
        slot for slot, grant_id in held.items() if holds_slot(grants.get(grant_id), door_id, now)
    }
    written = {slot for slot, state in states.items() if state is not SlotState.CLEARED}
    return frozenset(live | written)


def wanted_codes(
    door_id: str,
    held: Mapping[int, str],
    grants: Mapping[str, Grant],
    *,
    pin_for: Callable[[str], str | None],
    digest: Callable[[SlotCode], str],
    capabilities: LockCapabilities,
    tz: tzinfo,
    now: datetime,
) -> tuple[dict[int, str], list[datetime]]:
    """The digests a door's lock should hold now, and the instants that can change it."""
    wanted: dict[int, str] = {}
    wake_ups: list[datetime] = []
    for slot, grant_id in held.items():
        grant = grants.get(grant_id)
        if grant is None or not holds_slot(grant, door_id, now):
            continue
        if (pin := pin_for(grant_id)) is None:
            continue
        code = slot_code(grant, pin, tz, capabilities)
        if _on_lock(grant, code.schedule, tz, now):
            wanted[slot] = digest(code)
        if (change := next_boundary(grant.schedule, tz, now)) is not None:
            wake_ups.append(change)
        if (coming := next_boundary(grant.schedule, tz, now + LEAD_TIME)) is not None:
            wake_ups.append(coming - LEAD_TIME)
    return wanted, wake_ups


def _on_lock(grant: Grant, schedule: LockSchedule | None, tz: tzinfo, now: datetime) -> bool:
    """Whether a live grant's code belongs on the lock at ``now``."""
    if schedule is not None and schedule.year_days:
        return True  # the lock refuses it before and after the visit by itself
    # Inclusive of ``now + LEAD_TIME``: the timer armed for exactly that instant must
    # find the window, or the code would wait for the window itself.
    return bool(occurrences(grant.schedule, tz, now, now + LEAD_TIME + _TICK))
