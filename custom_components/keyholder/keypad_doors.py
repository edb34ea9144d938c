"""The home's keypad doors: which grant holds which slot, and one code sync per lock.

``Home`` decides and records; this keeps the locks in step with its grants. Each
keypad grant takes a slot on every keypad door it names (``allocate``), and each
door with a slot range gets a ``DoorCodes`` sync that puts the grant's code on the
lock and takes it off again (``keypad.py``). A door removed from the home while
its lock still holds codes Keyholder wrote is synced to empty on its old lock and
range, then forgotten. Keypad events come back to ``Home`` as (door, slot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from .action_input import invalid
from .codes.base import LockCapabilities, SlotState
from .codes.slots import (
    SlotCode,
    code_digest,
    free_slot,
    slot_code,
    slots_in_use,
    wanted_codes,
)
from .const import DOMAIN, LOGGER
from .core.models import Door, Grant, GrantKind
from .core.status import is_live
from .keypad import CodesStatus, DoorCodes, SlotBook
from .pin_vault import PinVault


class KeypadDoors:
    """Slot allocations and the code syncs of every keypad door of one home."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        pins: PinVault,
        *,
        doors: Callable[[], Mapping[str, Door]],
        grants: Callable[[], Mapping[str, Grant]],
        tz: Callable[[], tzinfo],
        on_keypad: Callable[[Door, int], None],
        on_change: Callable[[], None],
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._pins = pins
        self._doors = doors
        self._grants = grants
        self._tz = tz
        self._on_keypad = on_keypad
        self._on_change = on_change
        self._slots = SlotBook(hass, entry.entry_id)
        self._codes: dict[str, DoorCodes] = {}
        self._removed: dict[str, DoorCodes] = {}
        self._digest_key = b""

    async def async_load(self, now: datetime) -> None:
        """Load the slot book; give slots to grants waiting for them; note each lock."""
        await self._slots.async_load()
        gave = self._give_slots_to_waiting_grants(now)
        noted = [self._slots.note_lock(d) for d in self._doors().values() if d.keypad_slots]
        if gave or any(noted):
            await self._slots.async_save()
        self._digest_key = await self._pins.async_digest_key()
        await self.async_forget_spent_pins(now)

    async def async_remove(self) -> None:
        await self._slots.async_remove()

    # ---- the syncs ------------------------------------------------------------------

    @callback
    def start(self) -> None:
        """Start one sync task per door with keypad codes; none waits for another."""
        for door in self._doors().values():
            if door.keypad_slots is None:
                continue
            codes = DoorCodes(
                self._hass,
                self._entry,
                door,
                door.keypad_slots,
                self._slots,
                wanted=partial(self._wanted_codes, door),
                code_for=partial(self._code_in_slot, door),
                digest=self.digest,
                on_keypad=partial(self._on_keypad, door),
                on_change=self._on_codes_change,
            )
            self._codes[door.id] = codes
            codes.request_sync()
        for door in self._slots.removed_doors(self._doors()):
            self._start_clearing_removed_door(door)

    async def async_stop(self) -> None:
        for codes in [*self._codes.values(), *self._removed.values()]:
            await codes.async_stop()
        self._codes.clear()
        self._removed.clear()

    # ---- PINs no longer needed ----------------------------------------------------------

    @callback
    def _on_codes_change(self) -> None:
        """A sync moved: tell the home, and let go of PINs whose codes are now off."""
        self._on_change()
        if spent := self._spent_pins(dt_util.utcnow()):  # decided now, on this change
            self._entry.async_create_background_task(
                self._hass, self._pins.async_forget_all(spent), f"{DOMAIN} forget spent PINs"
            )

    async def async_forget_spent_pins(self, now: datetime) -> None:
        """Forget every PIN its grant can no longer use and no lock may still hold."""
        await self._pins.async_forget_all(self._spent_pins(now))

    def _spent_pins(self, now: datetime) -> frozenset[str]:
        return frozenset(g for g in self._pins.grant_ids() if not self._pin_needed(g, now))

    def _pin_needed(self, grant_id: str, now: datetime) -> bool:
        grant = self._grants().get(grant_id)
        if grant is not None and is_live(grant, now):
            return True  # it may need (re)programming, now or in a later window
        return any(
            (record := slots.records.get(slot)) is not None
            and record.state is not SlotState.CLEARED
            for slots in self._slots.all_doors()
            for slot, holder in slots.grants.items()
            if holder == grant_id
        )

    def codes(self, door_id: str) -> DoorCodes | None:
        """The keypad codes of a door's lock; None for a remote-only door."""
        return self._codes.get(door_id)

    @callback
    def sync(self, door_ids: frozenset[str]) -> None:
        for door_id in door_ids:
            if (codes := self._codes.get(door_id)) is not None:
                codes.request_sync()

    def digest(self, code: SlotCode) -> str:
        return code_digest(code, key=self._digest_key)

    # ---- slots ----------------------------------------------------------------------

    def grant_in_slot(self, door_id: str, slot: int) -> str | None:
        return self._slots.door(door_id).grants.get(slot)

    def slots_in_use(self, door_id: str, now: datetime) -> frozenset[int]:
        """Slots of the door's lock held by a live grant or maybe still holding a code."""
        slots = self._slots.door(door_id)
        states = {slot: record.state for slot, record in slots.records.items()}
        return slots_in_use(door_id, slots.grants, states, self._grants(), now)

    def allocate(
        self, grant_id: str, kind: GrantKind, door_ids: frozenset[str], now: datetime
    ) -> dict[str, int]:
        """A free slot on each keypad door of a keypad grant; refuse if a range is full."""
        if kind is not GrantKind.KEYPAD:
            return {}
        doors = self._doors()
        allocations: dict[str, int] = {}
        for door_id in sorted(door_ids):
            door = doors[door_id]
            if door.keypad_slots is None:
                continue
            held = self._slots.door(door_id).grants
            if grant_id in held.values():
                continue
            free = free_slot(door_id, door.keypad_slots, held, self._grants(), now)
            if free is None:
                raise invalid("keypad_slots_full", door=door.name)
            allocations[door_id] = free
        for door_id, slot in allocations.items():
            self._slots.door(door_id).grants[slot] = grant_id
        return allocations

    async def async_save_allocations(self, allocations: Mapping[str, int]) -> None:
        if allocations:
            await self._slots.async_save()

    def _give_slots_to_waiting_grants(self, now: datetime) -> bool:
        """Slots for live keypad grants that have none on a keypad door; whether any changed.

        A door can get its slot range after its grants were made; those grants then
        take slots here.
        """
        changed = False
        grants = self._grants()
        for door in self._doors().values():
            if door.keypad_slots is None:
                continue
            held = self._slots.door(door.id).grants
            for grant in sorted(grants.values(), key=lambda g: g.created_at):
                waiting = (
                    grant.kind is GrantKind.KEYPAD
                    and door.id in grant.doors
                    and is_live(grant, now)
                    and grant.id not in held.values()
                )
                if not waiting:
                    continue
                slot = free_slot(door.id, door.keypad_slots, held, grants, now)
                if slot is None:
                    LOGGER.warning("No free keypad slot on %s for grant %s", door.name, grant.name)
                    continue
                held[slot] = grant.id
                changed = True
        return changed

    def _wanted_codes(
        self, door: Door, now: datetime, capabilities: LockCapabilities
    ) -> tuple[dict[int, str], list[datetime]]:
        return wanted_codes(
            door.id,
            self._slots.door(door.id).grants,
            self._grants(),
            pin_for=self._pins.get,
            digest=self.digest,
            capabilities=capabilities,
            tz=self._tz(),
            now=now,
        )

    def _code_in_slot(
        self, door: Door, slot: int, capabilities: LockCapabilities
    ) -> SlotCode | None:
        grant_id = self._slots.door(door.id).grants.get(slot)
        grant = self._grants().get(grant_id) if grant_id is not None else None
        pin = self._pins.get(grant_id) if grant_id is not None else None
        if grant is None or pin is None:
            return None
        return slot_code(grant, pin, self._tz(), capabilities)

    # ---- removed doors --------------------------------------------------------------

    def _start_clearing_removed_door(self, door: Door) -> None:
        """A door removed with codes on its lock: take every code Keyholder wrote off it.

        Its grants may still name it, but nothing is wanted on its lock any more. Once
        the lock confirms every slot clear, the door's slot records are forgotten.
        """
        if door.keypad_slots is None:  # removed_doors gives only doors with a range
            return
        LOGGER.info("Taking Keyholder's codes off the lock of removed door %s", door.name)
        codes = DoorCodes(
            self._hass,
            self._entry,
            door,
            door.keypad_slots,
            self._slots,
            wanted=lambda _now, _capabilities: ({}, []),
            code_for=lambda _slot, _capabilities: None,
            digest=self.digest,
            on_keypad=lambda _slot: None,
            on_change=partial(self._on_removed_door_change, door.id),
        )
        self._removed[door.id] = codes
        codes.request_sync()

    @callback
    def _on_removed_door_change(self, door_id: str) -> None:
        codes = self._removed.get(door_id)
        if codes is None or codes.status is not CodesStatus.IN_SYNC:
            return
        if self._slots.door(door_id).all_cleared:
            self._entry.async_create_background_task(
                self._hass, self._forget_removed_door(door_id), f"{DOMAIN} forget {door_id}"
            )

    async def _forget_removed_door(self, door_id: str) -> None:
        if (codes := self._removed.pop(door_id, None)) is None:
            return
        await codes.async_stop()
        self._slots.forget(door_id)
        await self._slots.async_save()
        LOGGER.info("The lock of removed door %s holds no Keyholder code any more", codes.door.name)
        await self.async_forget_spent_pins(dt_util.utcnow())
