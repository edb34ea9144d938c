"""What a loaded Keyholder entry holds at run time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .home import Home
    from .link.client import BridgeLink


@dataclass(slots=True)
class KeyholderData:
    """Runtime state of one home, kept in ``entry.runtime_data``."""

    home: Home
    link: BridgeLink | None = None  # None while the home is not linked to a bridge


type KeyholderConfigEntry = ConfigEntry[KeyholderData]
