"""The home's "Accept visits" switch: off refuses every remote visit at once.

It is the homeowner's main control, so it carries no entity category. Its state
lives in the home's registry, which is saved with every change, so it survives a
restart without the entity restoring anything.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import KeyholderConfigEntry
from .entity import KeyholderEntity

PARALLEL_UPDATES = 1  # writes go to the home's registry one at a time

ACCEPT_VISITS = SwitchEntityDescription(key="accept_visits", translation_key="accept_visits")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([AcceptVisitsSwitch(entry.runtime_data.home, ACCEPT_VISITS)])


class AcceptVisitsSwitch(KeyholderEntity, SwitchEntity):
    """Mirrors ``home.accept_visits``; the audit log records who flipped it."""

    @property
    def is_on(self) -> bool:
        return self.home.accept_visits

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.home.async_set_accept_visits(True, context=self._context or Context())

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.home.async_set_accept_visits(False, context=self._context or Context())
