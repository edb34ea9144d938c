"""Keypad codes at run time: which slot holds which grant, and one sync task per lock.

``SlotBook`` is the persisted half: per door, the grant each slot is given to and
the last known ``SlotRecord`` of each slot (digests only, never a PIN), so a
restart with the codes already in place costs no radio traffic.

``DoorCodes`` drives one lock. Every reason to look at the lock (a grant changed,
a window is about to open or has closed, a retry is due) calls ``request_sync``;
the syncs of one lock run one after another in a single background task, and
no lock ever waits for another, so a dead lock only delays itself. What the lock
should hold comes from the home (``wanted``); the pure planner and the executor
in ``codes/`` decide and do the radio work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, TypedDict

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .codes.base import CodeBackend, CodeError, SlotState
from .codes.executor import execute
from .codes.sync import DEFAULT_POLICY, RetryPolicy, SlotRecord, plan, repaired
from .codes.zigbee2mqtt import Zigbee2MqttLock
from .const import DOMAIN, LOGGER
from .core.models import Door, Grant
from .core.schedule import next_boundary, occurrences
from .core.status import is_live

STORAGE_VERSION = 1
# How long before its window a code goes onto a lock that cannot enforce schedules.
LEAD_TIME = timedelta(minutes=10)
# How soon to look again for a lock whose integration is not ready yet.
BACKEND_RETRY = timedelta(minutes=1)
ISSUE_FAILED = "keypad_codes_failed"
# How hard to try, and how long one radio operation may take (tests shorten both).
RETRY_POLICY: RetryPolicy = DEFAULT_POLICY
BACKEND_OPTIONS: dict[str, float] = {"timeout": 10.0, "read_after_write": 2.0}


class CodesStatus(StrEnum):
    """One lock's codes at a glance, as the "Keypad codes" sensor shows them."""

    IN_SYNC = "in_sync"
    SYNCING = "syncing"
    FAILED = "failed"


class _StoredRecord(TypedDict):
    state: str
    digest: str | None
    attempts: int
    retry_at: str | None


class _StoredDoor(TypedDict):
    grants: dict[str, str]
    records: dict[str, _StoredRecord]


@dataclass(slots=True)
class DoorSlots:
    """One door's slot allocations and slot records."""

    grants: dict[int, str] = field(default_factory=dict)
    records: dict[int, SlotRecord] = field(default_factory=dict)


class SlotBook:
    """Slots of every door with keypad codes, kept in ``keyholder.<entry>.slots``."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, _StoredDoor]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.slots", atomic_writes=True
        )
        self._doors: dict[str, DoorSlots] = {}

    async def async_load(self) -> None:
        stored = await self._store.async_load() or {}
        self._doors = {
            door_id: DoorSlots(
                grants={int(slot): grant for slot, grant in door["grants"].items()},
                records={int(slot): _record(raw) for slot, raw in door["records"].items()},
            )
            for door_id, door in stored.items()
        }

    def door(self, door_id: str) -> DoorSlots:
        return self._doors.setdefault(door_id, DoorSlots())

    async def async_save(self) -> None:
        await self._store.async_save(
            {
                door_id: {
                    "grants": {str(slot): grant for slot, grant in door.grants.items()},
                    "records": {str(slot): _stored(rec) for slot, rec in door.records.items()},
                }
                for door_id, door in self._doors.items()
            }
        )

    async def async_remove(self) -> None:
        self._doors = {}
        await self._store.async_remove()


def _stored(record: SlotRecord) -> _StoredRecord:
    return {
        "state": record.state.value,
        "digest": record.digest,
        "attempts": record.attempts,
        "retry_at": record.retry_at.isoformat() if record.retry_at else None,
    }


def _record(raw: _StoredRecord) -> SlotRecord:
    retry_at = dt_util.parse_datetime(raw["retry_at"]) if raw["retry_at"] else None
    return SlotRecord(SlotState(raw["state"]), raw["digest"], raw["attempts"], retry_at)


def _holds_slot(grant: Grant | None, door_id: str, now: datetime) -> bool:
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
        slot for slot, grant_id in held.items() if _holds_slot(grants.get(grant_id), door_id, now)
    }
    return next((slot for slot in slots if slot not in taken), None)


def wanted_codes(
    door_id: str,
    held: Mapping[int, str],
    grants: Mapping[str, Grant],
    *,
    pin_for: Callable[[str], str | None],
    digest: Callable[[str], str],
    tz: tzinfo,
    now: datetime,
) -> tuple[dict[int, str], list[datetime]]:
    """The digests a lock without schedules should hold now, and when that next changes.

    A code goes on ``LEAD_TIME`` before its window and comes off at the window's
    end, on revocation and when its uses run out (the grant is no longer live).
    """
    wanted: dict[int, str] = {}
    wake_ups: list[datetime] = []
    for slot, grant_id in held.items():
        grant = grants.get(grant_id)
        if grant is None or not _holds_slot(grant, door_id, now):
            continue
        if (pin := pin_for(grant_id)) is None:
            continue
        if occurrences(grant.schedule, tz, now, now + LEAD_TIME):
            wanted[slot] = digest(pin)
        if (change := next_boundary(grant.schedule, tz, now)) is not None:
            wake_ups.append(change)
        if (coming := next_boundary(grant.schedule, tz, now + LEAD_TIME)) is not None:
            wake_ups.append(coming - LEAD_TIME)
    return wanted, wake_ups


def keypad_backend(hass: HomeAssistant, door: Door) -> CodeBackend | None:
    """The backend for a door's lock, chosen by the integration that provides it.

    None for a door without a slot range or a lock family with no backend yet: such
    a door is remote only. Raises ``CodeError`` when the lock's integration has not
    got the lock ready yet (a retry later may succeed).
    """
    if door.keypad_slots is None or door.opener_domain != "lock":
        return None
    entry = er.async_get(hass).async_get(door.opener)
    if entry is not None and entry.platform == "mqtt":
        return Zigbee2MqttLock.from_entity(hass, door.opener, door.keypad_slots, **BACKEND_OPTIONS)
    return None


type Wanted = Callable[[datetime], tuple[dict[int, str], list[datetime]]]


class DoorCodes:
    """One lock's keypad codes: a serialised sync loop, its timer, its keypad events."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        door: Door,
        slots: range,
        book: SlotBook,
        *,
        wanted: Wanted,
        pin_for: Callable[[int], str | None],
        digest: Callable[[str], str],
        on_keypad: Callable[[int], None],
        on_change: Callable[[], None],
    ) -> None:
        self.door = door
        self._slots = slots
        self._hass = hass
        self._entry = entry
        self._book = book
        self._wanted = wanted
        self._pin_for = pin_for
        self._digest = digest
        self._on_keypad = on_keypad
        self._on_change = on_change
        self._backend: CodeBackend | None = None
        self._unsubscribe_keypad: Callable[[], None] | None = None
        self._timer: CALLBACK_TYPE | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._stopped = False
        self._fresh = True
        self.states: Mapping[int, SlotState] | None = None

    @property
    def status(self) -> CodesStatus:
        if self.states is None:
            return CodesStatus.SYNCING
        if SlotState.FAILED in self.states.values():
            return CodesStatus.FAILED
        if any(state not in (SlotState.SET, SlotState.CLEARED) for state in self.states.values()):
            return CodesStatus.SYNCING
        return CodesStatus.IN_SYNC

    @callback
    def request_sync(self) -> None:
        """Look at the lock soon; a sync already running is followed by one more."""
        if self._stopped:
            return
        self._again = True
        if self._task is None or self._task.done():
            self._task = self._entry.async_create_background_task(
                self._hass, self._run(), f"{DOMAIN} keypad codes {self.door.id}"
            )

    async def async_stop(self) -> None:
        self._stopped = True
        self._cancel_timer()
        if self._task is not None and not self._task.done():
            # Wait for the sync to end before closing the backend: a radio operation it
            # was awaiting is cancelled with it, rather than failed by the close with
            # nobody left to hear it.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._unsubscribe_keypad is not None:
            self._unsubscribe_keypad()
            self._unsubscribe_keypad = None
        if self._backend is not None:
            await self._backend.async_close()
        self._backend = None

    async def _run(self) -> None:
        while self._again and not self._stopped:
            self._again = False
            try:
                await self._sync_once()
            except Exception:  # noqa: BLE001 - one lock's bug must not stop its retries
                LOGGER.exception("Keypad codes for %s could not be synced", self.door.name)
                self._arm(dt_util.utcnow() + BACKEND_RETRY)

    async def _sync_once(self) -> None:
        backend = await self._async_backend()
        if backend is None:
            return
        slots = self._book.door(self.door.id)
        if self._fresh:  # a reload is the homeowner's "try again" (the repair says so)
            self._fresh = False
            for slot, record in list(slots.records.items()):
                if record.state is SlotState.FAILED:
                    slots.records[slot] = repaired(record)
        desired, wake_ups = self._wanted(dt_util.utcnow())
        policy = RETRY_POLICY
        current = plan(self._slots, desired, slots.records, dt_util.utcnow(), policy)
        self._publish(current.states)
        if current.operations:
            done = await execute(
                backend,
                current,
                pin_for=self._pin_for,
                digest=self._digest,
                now=dt_util.utcnow,
                policy=policy,
            )
            slots.records.update(done)
            await self._book.async_save()
            desired, wake_ups = self._wanted(dt_util.utcnow())
            current = plan(self._slots, desired, slots.records, dt_util.utcnow(), policy)
            if current.operations:  # more than one run's worth: come back after the spacing
                wake_ups.append(dt_util.utcnow() + policy.run_spacing)
                pending = {op.slot: SlotState.PENDING for op in current.operations}
                current = replace(current, operations=(), states={**current.states, **pending})
            self._publish(current.states)
        if current.next_run is not None:
            wake_ups.append(current.next_run)
        now = dt_util.utcnow()
        later = [when for when in wake_ups if when > now]
        if later:
            self._arm(min(later))

    async def _async_backend(self) -> CodeBackend | None:
        if self._backend is not None:
            return self._backend
        try:
            backend = keypad_backend(self._hass, self.door)
            if backend is None:
                return None
            self._unsubscribe_keypad = await backend.subscribe_keypad(self._on_keypad)
        except CodeError as err:
            LOGGER.debug("Lock of %s is not ready for keypad codes: %s", self.door.name, err)
            self._arm(dt_util.utcnow() + BACKEND_RETRY)
            return None
        self._backend = backend
        return backend

    def _publish(self, states: Mapping[int, SlotState]) -> None:
        self.states = dict(states)
        registry_key = f"{ISSUE_FAILED}_{self.door.id}"
        if SlotState.FAILED in states.values():
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                registry_key,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_FAILED,
                translation_placeholders={"door": self.door.name},
            )
        else:
            ir.async_delete_issue(self._hass, DOMAIN, registry_key)
        self._on_change()

    def _arm(self, when: datetime) -> None:
        self._cancel_timer()
        if not self._stopped:
            self._timer = async_track_point_in_utc_time(self._hass, self._on_timer, when)

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._timer = None
        self.request_sync()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None
