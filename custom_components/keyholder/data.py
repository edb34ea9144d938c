"""What a loaded Keyholder entry holds at run time."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .home_key import HomeKey


@dataclass(slots=True)
class KeyholderData:
    """Runtime state of one home, kept in ``entry.runtime_data``."""

    home_key: HomeKey


type KeyholderConfigEntry = ConfigEntry[KeyholderData]
