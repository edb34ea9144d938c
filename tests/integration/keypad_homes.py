"""What the keypad-code tests share, whichever lock family they drive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import CONF_HOME_NAME, DOMAIN
from custom_components.keyholder.home import Home
from simulators.zigbee2mqtt_lock import until

# The harness logs every storage write, the private PIN file included; Home Assistant
# itself never does, so leak checks leave this logger out.
HARNESS_LOGGER = "pytest_homeassistant_custom_component.common"
SLOTS = {"first_keypad_slot": 10, "last_keypad_slot": 12}


async def until_synced(check: Callable[[], object], what: str) -> None:
    """A whole sync can take several round trips to the lock: allow longer than the default."""
    await until(check, what, seconds=20)


@asynccontextmanager
async def keypad_home(
    hass: HomeAssistant, doors: list[ConfigSubentryData]
) -> AsyncIterator[MockConfigEntry]:
    """Keyholder set up with ``doors``, unloaded afterwards."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_HOME_NAME: "Home"},
        unique_id=DOMAIN,
        subentries_data=doors,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


def home_of(entry: MockConfigEntry) -> Home:
    home: Home = entry.runtime_data.home
    return home


def door_id_of(home: Home, name: str) -> str:
    return next(door.id for door in home.doors.values() if door.name == name)


def keyholder_entity(hass: HomeAssistant, domain: str, unique_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert entity_id is not None
    return entity_id


def state_of(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return state.state if state else None
