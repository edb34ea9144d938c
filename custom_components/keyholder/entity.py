"""The one base class of Keyholder's entities, and the devices they belong to.

A home is one device (its calendar, switch and sensors); each door is another,
reached through the home (``via_device``), whose entities are added to the door's
subentry so deleting the door in the UI removes them. Entities never poll: the
home announces every change over the dispatcher and they re-read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .core.models import Door
from .data import KeyholderConfigEntry
from .home import Home, signal_updated

MANUFACTURER = "Keyholder"
# Home Assistant 2026.8 links a device to its parent by registry id (``via_device_id``)
# and deprecates the parent's identifier (``via_device``), the only way before.
_LINK_BY_DEVICE_ID = "via_device_id" in DeviceInfo.__optional_keys__


def home_device_info(entry: KeyholderConfigEntry) -> DeviceInfo:
    """The home's device: what the door devices hang from."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model="Home",
    )


def door_device_info(entry: KeyholderConfigEntry, door: Door, home_device_id: str) -> DeviceInfo:
    """A door's device, named after the door; the lock itself stays its own device."""
    info = DeviceInfo(
        identifiers={(DOMAIN, door.id)},
        name=door.name,
        manufacturer=MANUFACTURER,
        model=door.kind.value.capitalize(),
    )
    link: dict[str, Any] = (
        {"via_device_id": home_device_id}
        if _LINK_BY_DEVICE_ID
        else {"via_device": (DOMAIN, entry.entry_id)}
    )
    info.update(cast(DeviceInfo, link))
    return info


@callback
def async_ensure_home_device(hass: HomeAssistant, entry: KeyholderConfigEntry) -> str:
    """Register the home device, for door devices to name as their parent; its id.

    Platforms set up in parallel, so the door platforms cannot rely on the home's own
    entities having created it, and a parent that does not exist yet is not linked.
    """
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **home_device_info(entry)
    )
    return device.id


@callback
def async_add_door_entities(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[[Home, EntityDescription, Door, str], Entity],
    description: EntityDescription,
    *,
    only: Callable[[Door], bool] = lambda _door: True,
) -> None:
    """Add one entity per door (``only`` picks which), each to its door's subentry.

    Deleting the door removes them.
    """
    home = entry.runtime_data.home
    home_device_id = async_ensure_home_device(hass, entry)
    for door in home.doors.values():
        if not only(door):
            continue
        async_add_entities(
            [entity_class(home, description, door, home_device_id)], config_subentry_id=door.id
        )


class KeyholderEntity(Entity):
    """An entity of the home, on the home's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, home: Home, description: EntityDescription) -> None:
        self.home = home
        self.entity_description = description
        self._attr_unique_id = f"{home.entry.entry_id}_{description.key}"
        self._attr_device_info = home_device_info(home.entry)

    async def async_added_to_hass(self) -> None:
        """Follow the home: grants, the switch and visits all announce themselves."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_updated(self.home.entry.entry_id), self._handle_home_update
            )
        )

    @callback
    def _handle_home_update(self) -> None:
        self.async_write_ha_state()


class KeyholderDoorEntity(KeyholderEntity):
    """An entity of one door, on that door's device."""

    def __init__(
        self, home: Home, description: EntityDescription, door: Door, home_device_id: str
    ) -> None:
        super().__init__(home, description)
        self.door = door
        self._attr_unique_id = f"{door.id}_{description.key}"
        self._attr_device_info = door_device_info(home.entry, door, home_device_id)
