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
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .codes.base import (
    CodeBackend,
    CodeError,
    CodeErrorReason,
    LockCapabilities,
    RadioTimings,
    SlotState,
)
from .codes.executor import execute
from .codes.slots import SlotCode
from .codes.sync import DEFAULT_POLICY, RetryPolicy, SlotRecord, in_flight, plan, repaired
from .codes.zigbee2mqtt import Zigbee2MqttLock
from .const import DOMAIN, LOGGER
from .core.models import Door, DoorKind

STORAGE_VERSION = 1
# How soon to look again for a lock whose integration is not ready yet.
BACKEND_RETRY = timedelta(minutes=1)
ISSUE_FAILED = "keypad_codes_failed"
ISSUE_UNSUPPORTED = "keypad_codes_unsupported"
ISSUE_OUT_OF_RANGE = "keypad_slots_out_of_range"
# How hard to try, and how long one radio operation may take (tests shorten both).
RETRY_POLICY: RetryPolicy = DEFAULT_POLICY
RADIO_TIMINGS = RadioTimings()


class CodesStatus(StrEnum):
    """One lock's codes at a glance, as the "Keypad codes" sensor shows them."""

    IN_SYNC = "in_sync"
    SYNCING = "syncing"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"  # a slot range on a lock Keyholder cannot program


class _StoredRecord(TypedDict):
    state: str
    digest: str | None
    attempts: int
    retry_at: str | None


class _StoredDoor(TypedDict):
    grants: dict[str, str]
    records: dict[str, _StoredRecord]
    # The lock and range the records are about, so a removed door's codes can still be
    # taken off its lock. Absent in files from before they were kept.
    name: NotRequired[str]
    lock: NotRequired[str]
    slots: NotRequired[list[int]]  # [first, last]


@dataclass(slots=True)
class DoorSlots:
    """One door's slot allocations and slot records, and the lock they are on."""

    grants: dict[int, str] = field(default_factory=dict)
    records: dict[int, SlotRecord] = field(default_factory=dict)
    name: str | None = None
    lock: str | None = None
    slots: range | None = None

    @property
    def all_cleared(self) -> bool:
        """No code Keyholder wrote can still be on the lock."""
        return all(record.state is SlotState.CLEARED for record in self.records.values())


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
                name=door.get("name"),
                lock=door.get("lock"),
                slots=range(door["slots"][0], door["slots"][1] + 1) if "slots" in door else None,
            )
            for door_id, door in stored.items()
        }

    def door(self, door_id: str) -> DoorSlots:
        return self._doors.setdefault(door_id, DoorSlots())

    def all_doors(self) -> list[DoorSlots]:
        """Every door's slots, removed doors whose locks are still being cleared included."""
        return list(self._doors.values())

    def note_lock(self, door: Door) -> bool:
        """Remember which lock and range a keypad door's records are about; True if changed."""
        slots = self.door(door.id)
        if (slots.name, slots.lock, slots.slots) == (door.name, door.opener, door.keypad_slots):
            return False
        slots.name, slots.lock, slots.slots = door.name, door.opener, door.keypad_slots
        return True

    def removed_doors(self, doors: Mapping[str, Door]) -> list[Door]:
        """Doors gone from the home whose lock may still hold codes Keyholder wrote.

        Each comes back as a door on its old lock and range, to be synced to empty.
        """
        return [
            Door(
                id=door_id,
                name=slots.name or door_id,
                kind=DoorKind.DOOR,
                opener=slots.lock,
                keypad_slots=slots.slots,
            )
            for door_id, slots in self._doors.items()
            if door_id not in doors
            and slots.lock is not None
            and slots.slots is not None
            and not slots.all_cleared
        ]

    def forget(self, door_id: str) -> None:
        self._doors.pop(door_id, None)

    async def async_save(self) -> None:
        await self._store.async_save(
            {door_id: _stored_door(door) for door_id, door in self._doors.items()}
        )

    async def async_remove(self) -> None:
        self._doors = {}
        await self._store.async_remove()


def _stored_door(door: DoorSlots) -> _StoredDoor:
    stored: _StoredDoor = {
        "grants": {str(slot): grant for slot, grant in door.grants.items()},
        "records": {str(slot): _stored(record) for slot, record in door.records.items()},
    }
    if door.name is not None:
        stored["name"] = door.name
    if door.lock is not None:
        stored["lock"] = door.lock
    if door.slots is not None:
        stored["slots"] = [door.slots.start, door.slots.stop - 1]
    return stored


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


def keypad_backend(hass: HomeAssistant, door: Door, timings: RadioTimings) -> CodeBackend | None:
    """The backend for a door's lock, chosen by the integration that provides it.

    None for a door without a slot range: it is remote only. Raises ``CodeError``
    when the lock's integration has not got the lock ready yet (a retry later may
    succeed), and ``CodeError(NOT_SUPPORTED)`` for a lock family Keyholder cannot
    program. Each family's module is imported only when a lock of it is used, so
    nobody needs zigpy or the Z-Wave JS client for a lock they do not have.
    """
    if door.keypad_slots is None:
        return None
    if door.opener_domain != "lock":
        raise CodeError(CodeErrorReason.NOT_SUPPORTED, f"{door.opener} is not a lock")
    entry = er.async_get(hass).async_get(door.opener)
    if entry is None and hass.states.get(door.opener) is None:
        # Not registered and not there: its integration may still be starting.
        raise CodeError(CodeErrorReason.UNAVAILABLE, f"{door.opener} does not exist yet")
    platform = entry.platform if entry is not None else None
    slots = door.keypad_slots
    if platform == "mqtt":
        return Zigbee2MqttLock.from_entity(hass, door.opener, slots, timings)
    if platform == "zha":
        from .codes.zha import ZhaLock  # noqa: PLC0415 - zigpy only for ZHA locks

        return ZhaLock.from_entity(hass, door.opener, slots, timings)
    if platform == "zwave_js":
        from .codes.zwave_js import ZwaveJsLock  # noqa: PLC0415 - only for Z-Wave locks

        return ZwaveJsLock.from_entity(hass, door.opener, slots, timings)
    raise CodeError(
        CodeErrorReason.NOT_SUPPORTED, f"no keypad codes for {platform or 'unknown'} locks"
    )


type Wanted = Callable[[datetime, LockCapabilities], tuple[dict[int, str], list[datetime]]]
type CodeFor = Callable[[int, LockCapabilities], SlotCode | None]


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
        code_for: CodeFor,
        digest: Callable[[SlotCode], str],
        on_keypad: Callable[[int], None],
        on_change: Callable[[], None],
    ) -> None:
        self.door = door
        self._slots = slots
        self._hass = hass
        self._entry = entry
        self._book = book
        self._wanted = wanted
        self._code_for = code_for
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
        self.unsupported = False

    @property
    def status(self) -> CodesStatus:
        if self.unsupported:
            return CodesStatus.UNSUPPORTED
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
        try:
            capabilities = await backend.capabilities()
        except CodeError as err:
            LOGGER.debug("Lock of %s did not say what it can do: %s", self.door.name, err)
            self._arm(dt_util.utcnow() + BACKEND_RETRY)
            return
        desired, wake_ups = self._wanted(dt_util.utcnow(), capabilities)
        policy = RETRY_POLICY
        current = plan(self._slots, desired, slots.records, dt_util.utcnow(), policy)
        self._publish(current.states)
        if current.operations:
            slots.records.update({op.slot: in_flight(op) for op in current.operations})
            await self._book.async_save()
            done = await execute(
                backend,
                current,
                code_for=lambda slot: self._code_for(slot, capabilities),
                digest=self._digest,
                now=dt_util.utcnow,
                policy=policy,
            )
            slots.records.update(done)
            await self._book.async_save()
            desired, wake_ups = self._wanted(dt_util.utcnow(), capabilities)
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
            backend = keypad_backend(self._hass, self.door, RADIO_TIMINGS)
            if backend is None:
                return None
            self._unsubscribe_keypad = await backend.subscribe_keypad(self._on_keypad)
        except CodeError as err:
            if err.reason in (CodeErrorReason.NOT_SUPPORTED, CodeErrorReason.OUT_OF_RANGE):
                LOGGER.warning(
                    "Keypad codes cannot be put on the lock of %s: %s", self.door.name, err
                )
                self._unsupported(err.reason)
                return None
            LOGGER.debug("Lock of %s is not ready for keypad codes: %s", self.door.name, err)
            self._arm(dt_util.utcnow() + BACKEND_RETRY)
            return None
        self._backend = backend
        return backend

    def _unsupported(self, reason: CodeErrorReason) -> None:
        """A slot range on a lock no backend can program, or beyond its table: say so, stop."""
        self.unsupported = True
        key = ISSUE_OUT_OF_RANGE if reason is CodeErrorReason.OUT_OF_RANGE else ISSUE_UNSUPPORTED
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{key}_{self.door.id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={"door": self.door.name, "lock": self.door.opener},
        )
        self._on_change()

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
