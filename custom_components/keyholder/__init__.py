"""Keyholder: self-hosted delivery and guest access for Home Assistant."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .const import CONF_BRIDGE_HOME_ID, CONF_BRIDGE_URL, DOMAIN
from .data import KeyholderConfigEntry, KeyholderData
from .guest_keys import async_remove_guest_keys
from .home import Home, signal_updated
from .home_key import async_load_home_key, async_remove_home_key
from .keypad import SlotBook
from .link.client import BridgeLink
from .link.requests import async_handle
from .pin_vault import PinVault
from .services import async_setup_services
from .store import KeyholderStorage

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, whether or not a home is loaded."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Set up one home: its key, registry, audit chain, and entities."""
    home_key = await async_load_home_key(hass, entry.entry_id)
    home = Home(
        hass,
        entry,
        home_key,
        KeyholderStorage(hass, entry.entry_id),
        PinVault(hass, entry.entry_id),
    )
    await home.async_load()
    entry.runtime_data = KeyholderData(home=home, link=_bridge_link(hass, entry, home))
    entry.async_on_unload(home.async_unload)
    # Adding, editing or removing a door (a subentry) reloads the home with the new doors.
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    home.async_start_codes()  # in the background: radio work never holds up setup
    if (link := entry.runtime_data.link) is not None:
        link.start(partial(entry.async_create_background_task, hass))
    return True


def _bridge_link(hass: HomeAssistant, entry: KeyholderConfigEntry, home: Home) -> BridgeLink | None:
    """The link to the bridge the homeowner enrolled with in the options, if any."""
    url, home_id = entry.options.get(CONF_BRIDGE_URL), entry.options.get(CONF_BRIDGE_HOME_ID)
    if not url or not home_id:
        return None
    return BridgeLink(
        hass,
        url=url,
        home_id=home_id,
        sign=home.home_key.sign,
        handle=partial(async_handle, home),
        on_change=partial(async_dispatcher_send, hass, signal_updated(entry.entry_id)),
        audit=partial(_async_audit_link, home),
    )


async def _async_audit_link(home: Home, kind: str, data: Mapping[str, str | int]) -> None:
    """What the link refused goes into the home's audit log, like every other refusal."""
    await home.audit.async_append(kind, data, at=dt_util.utcnow())


async def _async_reload(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Unload one home; its storage stays for the next setup."""
    if (link := entry.runtime_data.link) is not None:
        await link.stop()
    await entry.runtime_data.home.async_stop_codes()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    """Forget the home's key, grants, PINs and audit log when the homeowner deletes it."""
    await async_remove_home_key(hass, entry.entry_id)
    await async_remove_guest_keys(hass, entry.entry_id)
    await KeyholderStorage(hass, entry.entry_id).async_remove()
    await PinVault(hass, entry.entry_id).async_remove()
    await SlotBook(hass, entry.entry_id).async_remove()
