"""Per door: is a visit in progress? For the home: is its bridge link up?

A visit runs from the unlock until the door is locked again.

``RUNNING`` rather than ``OCCUPANCY``: Keyholder knows that a visit it let in has
not ended yet, not that anyone is inside. After the guest leaves and closes the
door, the visit still runs until the relock is confirmed; calling that "occupied"
would tell the homeowner something nobody measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import KeyholderConfigEntry
from .entity import KeyholderDoorEntity, KeyholderEntity, async_add_door_entities
from .validation import HAS_PROBATIO

# Newer Home Assistant defines the device classes in ``const`` and only re-exports
# them from the package, which strict typing does not accept; at run time the
# package has them in every supported release.
if TYPE_CHECKING and HAS_PROBATIO:
    from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
else:
    from homeassistant.components.binary_sensor import BinarySensorDeviceClass

PARALLEL_UPDATES = 0  # read-only: the state is pushed by the home

VISIT_IN_PROGRESS = BinarySensorEntityDescription(
    key="visit_in_progress",
    translation_key="visit_in_progress",
    device_class=BinarySensorDeviceClass.RUNNING,
)

BRIDGE_LINK = BinarySensorEntityDescription(
    key="bridge_link",
    translation_key="bridge_link",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One sensor per door, added to the door's subentry; the link's, when linked."""
    async_add_door_entities(
        hass, entry, async_add_entities, VisitInProgressSensor, VISIT_IN_PROGRESS
    )
    if entry.runtime_data.link is not None:
        async_add_entities([BridgeLinkSensor(entry.runtime_data.home, BRIDGE_LINK)])


class VisitInProgressSensor(KeyholderDoorEntity, BinarySensorEntity):
    """On while the home watches a visit at this door."""

    @property
    def is_on(self) -> bool:
        return self.home.visit_in_progress(self.door.id)


class BridgeLinkSensor(KeyholderEntity, BinarySensorEntity):
    """On while the home is signed in at its bridge; off while it reconnects."""

    @property
    def is_on(self) -> bool:
        link = self.home.entry.runtime_data.link
        return link is not None and link.connected
