"""One visit at one door, watched until the door is locked again.

After an unlock the door should be opened, closed and relocked. With a contact
sensor, the relock delay runs from the moment the door closes (or from the
unlock, if nobody opens it); without one, from the unlock. A door still open
after the visit's longest time (the door's, or the grant's when shorter) raises
``left_open`` once. The relock is confirmed by the opener's state; if it does not
report locked (or closed, for a cover) in time, ``relock_failed`` is raised so the
homeowner can act.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from homeassistant.const import STATE_ON
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .core.models import Door

RELOCK_CONFIRM_TIMEOUT = timedelta(seconds=30)
# The states that confirm a relock. Plain strings: the LockState and CoverState enums
# live in different modules across the Home Assistant versions Keyholder supports.
LOCKED = "locked"
CLOSED = "closed"


class DoorEvent(StrEnum):
    """What happens at a door, as the door's event entity and the logbook show it."""

    GRANTED = "granted"
    REFUSED = "refused"
    OPENED = "opened"
    CLOSED = "closed"
    RELOCKED = "relocked"
    RELOCK_FAILED = "relock_failed"
    LEFT_OPEN = "left_open"
    CAMERA_PROBLEM = "camera_problem"
    KEYPAD_USED = "keypad_used"


@dataclass(slots=True)
class Visit:
    """What is known about a visit so far."""

    door_id: str
    grant_id: str
    grant_name: str
    started_at: datetime
    max_visit: timedelta  # the door's longest visit, or the grant's when shorter
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: DoorEvent | None = None  # RELOCKED or RELOCK_FAILED once over


type VisitListener = Callable[[Visit, DoorEvent], None]


class VisitWatcher:
    """Watches one visit: sensor changes, timers, the relock and its confirmation."""

    def __init__(
        self, hass: HomeAssistant, door: Door, visit: Visit, listener: VisitListener
    ) -> None:
        self._hass = hass
        self._door = door
        self.visit = visit
        self._listener = listener
        self._unsubs: list[CALLBACK_TYPE] = []
        self._relock_timer: CALLBACK_TYPE | None = None
        self._left_open_timer: CALLBACK_TYPE | None = None
        self._relock_task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.visit.ended_at is None

    @callback
    def start(self) -> None:
        if self._door.contact_sensor:
            self._unsubs.append(
                async_track_state_change_event(
                    self._hass, self._door.contact_sensor, self._on_contact
                )
            )
        self._schedule_relock()

    @callback
    def stop(self) -> None:
        """Stop watching (unload); the door keeps whatever state it has."""
        self._release()
        if self._relock_task is not None:
            self._relock_task.cancel()

    def _release(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._cancel_timers()

    @callback
    def _on_contact(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None or not self.active:
            return
        is_open = new.state == STATE_ON
        was_open = self.visit.opened_at is not None and self.visit.closed_at is None
        if is_open == was_open:
            return
        now = dt_util.utcnow()
        if is_open:
            self.visit.opened_at, self.visit.closed_at = now, None
            self._cancel_relock_timer()
            self._listener(self.visit, DoorEvent.OPENED)
            if self._left_open_timer is None:
                remaining = self.visit.max_visit - (now - self.visit.started_at)
                self._left_open_timer = async_call_later(
                    self._hass, max(remaining.total_seconds(), 0), self._on_left_open
                )
        else:
            self.visit.closed_at = now
            self._listener(self.visit, DoorEvent.CLOSED)
            self._schedule_relock()

    @callback
    def _on_left_open(self, _now: datetime) -> None:
        self._left_open_timer = None
        if self.active and self.visit.closed_at is None:
            self._listener(self.visit, DoorEvent.LEFT_OPEN)

    def _schedule_relock(self) -> None:
        self._cancel_relock_timer()
        self._relock_timer = async_call_later(
            self._hass, self._door.relock_delay.total_seconds(), self._on_relock_due
        )

    @callback
    def _on_relock_due(self, _now: datetime) -> None:
        self._relock_timer = None
        if self.visit.opened_at is not None and self.visit.closed_at is None:
            return  # still open: relock once it closes
        self._relock_task = self._hass.async_create_background_task(
            self._relock(), f"keyholder relock {self._door.id}"
        )

    async def _relock(self) -> None:
        domain = self._door.opener_domain
        if domain == "lock":
            service, locked_state = "lock", LOCKED
        else:
            service, locked_state = "close_cover", CLOSED
        confirmed = asyncio.Event()

        @callback
        def _on_opener(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None and new.state == locked_state:
                confirmed.set()

        unsub = async_track_state_change_event(self._hass, self._door.opener, _on_opener)
        try:
            await self._hass.services.async_call(
                domain, service, {"entity_id": self._door.opener}, blocking=True
            )
            state = self._hass.states.get(self._door.opener)
            if state is None or state.state != locked_state:
                async with asyncio.timeout(RELOCK_CONFIRM_TIMEOUT.total_seconds()):
                    await confirmed.wait()
        except (HomeAssistantError, TimeoutError) as err:
            LOGGER.warning("Door %s did not relock: %s", self._door.name, err or "no confirmation")
            self._end(DoorEvent.RELOCK_FAILED)
        else:
            self._end(DoorEvent.RELOCKED)
        finally:
            unsub()

    def _end(self, outcome: DoorEvent) -> None:
        self.visit.ended_at = dt_util.utcnow()
        self.visit.outcome = outcome
        self._release()
        self._listener(self.visit, outcome)

    def _cancel_relock_timer(self) -> None:
        if self._relock_timer is not None:
            self._relock_timer()
            self._relock_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_relock_timer()
        if self._left_open_timer is not None:
            self._left_open_timer()
            self._left_open_timer = None
