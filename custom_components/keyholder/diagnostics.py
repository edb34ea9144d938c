"""Diagnostics: what support needs, nothing that opens a door."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .data import KeyholderConfigEntry

TO_REDACT = {"private_key", "pin", "token", "secret"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: KeyholderConfigEntry
) -> dict[str, Any]:
    data = entry.runtime_data
    return async_redact_data(
        {
            "entry": {"title": entry.title, "version": entry.version, "data": dict(entry.data)},
            "home_key": {"fingerprint": data.home_key.fingerprint},
        },
        TO_REDACT,
    )
