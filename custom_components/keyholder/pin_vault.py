"""Where keypad PINs live in Home Assistant: a private storage file, nowhere else.

The file is written with mode 0600 (``Store(private=True)``). PINs are kept so a
lock can be re-programmed after a reset; they are handed out once, in the action
response to an admin, and are never put in logs, events, states or diagnostics.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN

VERSION = 1


class PinVault:
    """PINs by grant id."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, str]] = Store(
            hass, VERSION, f"{DOMAIN}.{entry_id}.pins", private=True, atomic_writes=True
        )
        self._pins: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"PinVault({len(self._pins)} pins)"

    async def async_load(self) -> None:
        self._pins = dict(await self._store.async_load() or {})

    def get(self, grant_id: str) -> str | None:
        return self._pins.get(grant_id)

    def in_use(self, pin: str) -> bool:
        return pin in self._pins.values()

    async def async_put(self, grant_id: str, pin: str) -> None:
        self._pins[grant_id] = pin
        await self._store.async_save(dict(self._pins))

    async def async_forget(self, grant_id: str) -> None:
        if self._pins.pop(grant_id, None) is not None:
            await self._store.async_save(dict(self._pins))

    async def async_remove(self) -> None:
        self._pins = {}
        await self._store.async_remove()
