"""Per door: an event entity that fires for everything that happens at the door.

Automations trigger on it (a refusal, a door left open, a failed relock) and the
history shows each visit's steps. The attributes name the grant and the reason
code; a grant's PIN or token is never among them, and never in the home's data.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import KeyholderConfigEntry
from .entity import KeyholderDoorEntity, async_add_door_entities
from .home import signal_door_event
from .visit import DoorEvent

PARALLEL_UPDATES = 0  # read-only: events are pushed by the home

DOOR_ACTIVITY = EventEntityDescription(
    key="door_activity",
    translation_key="door_activity",
    event_types=[event.value for event in DoorEvent],
)

# What of the home's event data an event carries: who (by grant) and why.
_ATTRIBUTES = ("grant", "grant_id", "reason")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One event entity per door, added to the door's subentry."""
    async_add_door_entities(hass, entry, async_add_entities, DoorActivityEvent, DOOR_ACTIVITY)


class DoorActivityEvent(KeyholderDoorEntity, EventEntity):
    """Fires once for each ``DoorEvent`` at its door."""

    async def async_added_to_hass(self) -> None:
        """Also listen to this door's own events, which the home sends one by one."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_door_event(self.home.entry.entry_id, self.door.id),
                self._handle_door_event,
            )
        )

    @callback
    def _handle_door_event(self, event: DoorEvent, data: dict[str, Any]) -> None:
        self._trigger_event(event.value, {key: data.get(key) for key in _ATTRIBUTES})
        self.async_write_ha_state()
