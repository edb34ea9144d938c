"""Keyholder: self-hosted delivery and guest access for Home Assistant."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .data import KeyholderConfigEntry, KeyholderData
from .home_key import async_load_home_key, async_remove_home_key


async def async_setup_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Set up one home."""
    home_key = await async_load_home_key(hass, entry.entry_id)
    entry.runtime_data = KeyholderData(home_key=home_key)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Unload one home; its storage stays for the next setup."""
    return True


async def async_remove_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    """Forget the home's key when the homeowner deletes the integration."""
    await async_remove_home_key(hass, entry.entry_id)
