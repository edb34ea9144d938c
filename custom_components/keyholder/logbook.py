"""How door events read in the logbook: "Front door: granted to Cleaner".

The logbook has no translations for integration events, so the messages are
English, as in Home Assistant's own integrations. Each entry links to the door's
event entity, so it also shows on that entity's page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN, EVENT_KEYHOLDER
from .visit import DoorEvent

type Describe = Callable[[Event], dict[str, str | None]]

_FIXED: Mapping[str, str] = {
    DoorEvent.OPENED: "opened",
    DoorEvent.CLOSED: "closed",
    DoorEvent.RELOCKED: "locked again",
    DoorEvent.RELOCK_FAILED: "did not lock again",
    DoorEvent.LEFT_OPEN: "left open",
}


def describe_door_event(data: Mapping[str, Any]) -> str:
    """The message for one ``keyholder_event``; an unknown type is shown as it is."""
    kind = str(data.get("type"))
    grant, reason = data.get("grant"), data.get("reason")
    because = f" ({reason})" if reason else ""
    if kind == DoorEvent.GRANTED:
        return f"granted to {grant}" if grant else "granted"
    if kind == DoorEvent.REFUSED:
        return (f"refused to {grant}" if grant else "refused") + because
    if kind == DoorEvent.CAMERA_PROBLEM:
        return "camera problem" + because
    if kind == DoorEvent.KEYPAD_USED:
        return f"opened with the keypad code of {grant}" if grant else "opened with a keypad code"
    return _FIXED.get(kind, kind)


@callback
def async_describe_events(
    hass: HomeAssistant, async_describe_event: Callable[[str, str, Describe], None]
) -> None:
    """Describe ``keyholder_event`` for the logbook."""

    @callback
    def describe(event: Event) -> dict[str, str | None]:
        door_id = event.data.get("door_id")
        entity_id = (
            er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{door_id}_door_activity")
            if door_id
            else None
        )
        return {
            LOGBOOK_ENTRY_NAME: event.data.get("door") or "Keyholder",
            LOGBOOK_ENTRY_MESSAGE: describe_door_event(event.data),
            LOGBOOK_ENTRY_ENTITY_ID: entity_id,
        }

    async_describe_event(DOMAIN, EVENT_KEYHOLDER, describe)
