"""Count the radio operations Keyholder's keypad-code sync costs, and print them.

What it runs is the sync itself: ``codes.slots.wanted_codes`` (which code each
slot should hold), ``codes.sync.plan`` (what to change) and
``codes.executor.execute`` (doing it), driven the way ``keypad.DoorCodes`` drives
them: a lock is looked at when a grant changes and when a timer it armed fires.
Locks are simulated in memory and count every operation asked of them. Time is
simulated too, so a week takes a second.

Scenarios, for N keypad grants spread over M locks (each grant on one lock):
- install: the grants exist, the locks have never been synced;
- restart: Home Assistant restarts with every code in place (records persisted);
- week: seven days of windows opening and closing from there.
Each for a lock without schedules and one that keeps week-day and year-day
schedules (every set then carries the window; one-off visits go on at once).

Run: ``.venv/ha-2025.4/bin/python bench/keypad_radio_ops.py [--grants N] [--locks M]``
(the test environment ``scripts/test`` builds: the package imports Home Assistant).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
import random
import sys
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.keyholder.codes.base import (
    KeypadCallback,
    LockCapabilities,
    ReadBack,
    Unsubscribe,
)
from custom_components.keyholder.codes.executor import execute
from custom_components.keyholder.codes.lock_schedule import LockSchedule
from custom_components.keyholder.codes.slots import (
    SlotCode,
    code_digest,
    slot_code,
    wanted_codes,
)
from custom_components.keyholder.codes.sync import SlotRecord, plan
from custom_components.keyholder.core.models import (
    Grant,
    GrantKind,
    Schedule,
    WeeklyWindow,
)

TZ = ZoneInfo("Europe/Berlin")
KEY = b"bench" * 8
START = datetime(2026, 11, 23, 0, 0, tzinfo=TZ).astimezone(UTC)  # a Monday, local midnight
WEEK = timedelta(days=7)


class CountingLock:
    """A lock in memory that takes every operation and counts it."""

    def __init__(self, capabilities: LockCapabilities) -> None:
        self._capabilities = capabilities
        self.ops: Counter[str] = Counter()

    async def capabilities(self) -> LockCapabilities:
        return self._capabilities

    async def set_code(self, slot: int, pin: str, schedule: LockSchedule | None = None) -> None:
        self.ops["set code"] += 1
        if schedule is not None:
            self.ops["set schedule entry"] += len(schedule.week_days) + len(schedule.year_days)

    async def clear_code(self, slot: int) -> None:
        self.ops["clear code"] += 1

    async def read_code(self, slot: int) -> ReadBack:
        self.ops["read"] += 1
        return None

    async def set_schedule(self, slot: int, schedule: LockSchedule) -> None:
        self.ops["set schedule entry"] += len(schedule.week_days) + len(schedule.year_days)

    async def clear_schedule(self, slot: int) -> None:
        self.ops["clear schedule"] += 1

    async def subscribe_keypad(self, callback: KeypadCallback) -> Unsubscribe:
        return lambda: None

    async def async_close(self) -> None:
        return None


@dataclass
class SimulatedLock:
    """One door's lock with the state ``keypad.DoorCodes`` keeps for it."""

    door_id: str
    backend: CountingLock
    capabilities: LockCapabilities
    held: dict[int, str] = field(default_factory=dict)
    records: dict[int, SlotRecord] = field(default_factory=dict)
    wake_at: datetime | None = None


def make_grants(count: int, doors: list[str], rng: random.Random) -> list[Grant]:
    """A household's mix: weekly cleaners and dog walkers, and one-off visits this week."""
    grants = []
    for index in range(count):
        door = doors[index % len(doors)]
        if index % 3 == 2:  # a one-off visit of two hours, some day this week
            start = START + timedelta(days=rng.randrange(7), hours=rng.randrange(8, 18))
            schedule = Schedule(valid_from=start, valid_until=start + timedelta(hours=2))
        else:  # one or two weekly windows
            days = rng.sample(range(7), 1 + index % 2)
            hour = rng.randrange(7, 19)
            windows = tuple(WeeklyWindow(day, hour * 60, hour * 60 + 90) for day in sorted(days))
            schedule = Schedule(valid_from=START - WEEK, weekly=windows)
        grants.append(
            Grant(
                id=f"g{index}",
                kind=GrantKind.KEYPAD,
                name=f"Guest {index}",
                doors=frozenset({door}),
                schedule=schedule,
                created_at=START - WEEK,
            )
        )
    return grants


async def sync(
    lock: SimulatedLock, grants: dict[str, Grant], pins: dict[str, str], now: datetime
) -> None:
    """One look at one lock, as ``DoorCodes._sync_once`` takes it."""

    def digest(code: SlotCode) -> str:
        return code_digest(code, key=KEY)

    def code_for(slot: int) -> SlotCode | None:
        grant = grants.get(lock.held.get(slot, ""))
        return slot_code(grant, pins[grant.id], TZ, lock.capabilities) if grant else None

    for _ in range(100):  # more than one run's worth waits ``run_spacing``: same operations
        desired, wake_ups = wanted_codes(
            lock.door_id,
            lock.held,
            grants,
            pin_for=pins.get,
            digest=digest,
            capabilities=lock.capabilities,
            tz=TZ,
            now=now,
        )
        current = plan(lock.capabilities.slots, desired, lock.records, now)
        if not current.operations:
            break
        lock.records |= await execute(
            lock.backend, current, code_for=code_for, digest=digest, now=lambda: now
        )
    later = [when for when in wake_ups if when > now]
    lock.wake_at = min(later, default=None)


async def scenario(
    grant_count: int, lock_count: int, capabilities: LockCapabilities
) -> dict[str, Counter[str]]:
    rng = random.Random(1)  # the same household every run
    doors = [f"door{n}" for n in range(lock_count)]
    grants = {g.id: g for g in make_grants(grant_count, doors, rng)}
    pins = {grant_id: f"{rng.randrange(10**6):06d}" for grant_id in grants}
    locks = {door: SimulatedLock(door, CountingLock(capabilities), capabilities) for door in doors}
    for grant in grants.values():
        lock = locks[next(iter(grant.doors))]
        slot = next(s for s in capabilities.slots if s not in lock.held)
        lock.held[slot] = grant.id
    results: dict[str, Counter[str]] = {}

    def take() -> Counter[str]:
        total: Counter[str] = Counter()
        for lock in locks.values():
            total += lock.backend.ops
            lock.backend.ops = Counter()
        return total

    for lock in locks.values():
        await sync(lock, grants, pins, START)
    results["install"] = take()
    for lock in locks.values():  # restart: same records, fresh backends
        await sync(lock, grants, pins, START)
    results["restart"] = take()
    end = START + WEEK
    while due := sorted(
        (lock.wake_at, lock.door_id)
        for lock in locks.values()
        if lock.wake_at is not None and lock.wake_at < end
    ):
        when, door = due[0]
        await sync(locks[door], grants, pins, when)
    results["week"] = take()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=30)
    parser.add_argument("--locks", type=int, default=3)
    parser.add_argument("--slots", type=int, default=20, help="Keyholder's slot range per lock")
    args = parser.parse_args()
    slots = range(10, 10 + args.slots)
    if args.grants > args.slots * args.locks:
        parser.error("more grants than slots")
    kinds = {
        "lock without schedules": LockCapabilities(slots),
        "lock with schedules": LockCapabilities(slots, week_day_schedules=7, year_day_schedules=1),
    }
    print(
        f"Radio operations for {args.grants} keypad grants on {args.locks} locks "
        f"({args.slots} slots each), one simulated week"
    )
    print(f"{'':24} {'install':>10} {'restart':>10} {'week':>10}   (week, by kind)")
    for name, capabilities in kinds.items():
        results = asyncio.run(scenario(args.grants, args.locks, capabilities))
        counts = [sum(results[phase].values()) for phase in ("install", "restart", "week")]
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(results["week"].items()))
        print(f"{name:24} {counts[0]:>10} {counts[1]:>10} {counts[2]:>10}   ({detail})")


if __name__ == "__main__":
    main()
