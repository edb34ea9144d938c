"""What a loaded Keyholder entry holds at run time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .home import Home


@dataclass(slots=True)
class KeyholderData:
    """Runtime state of one home, kept in ``entry.runtime_data``."""

    home: Home


type KeyholderConfigEntry = ConfigEntry[KeyholderData]
