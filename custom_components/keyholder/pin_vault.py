"""Where keypad PINs live in Home Assistant: a private storage file, nowhere else.

The file is written with mode 0600 (``Store(private=True)``). PINs are kept so a
lock can be re-programmed after a reset, and no longer than that can happen: a
grant's PIN is forgotten once the grant can never open again (revoked, ended, used
up) and its code is confirmed off every lock (``KeypadDoors``). They are handed out
once, in the action response to an admin, and are never put in logs, events, states
or diagnostics.
"""

from __future__ import annotations

import secrets

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN

VERSION = 1
# The key of the slot records' PIN digests (``codes.sync.pin_digest``) sits with the
# PINs: a digest is only as safe as its key, and this file is the private one.
_DIGEST_KEY = "#digest_key"


class PinVault:
    """PINs by grant id."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, str]] = Store(
            hass, VERSION, f"{DOMAIN}.{entry_id}.pins", private=True, atomic_writes=True
        )
        self._pins: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"PinVault({len(self._pins.keys() - {_DIGEST_KEY})} pins)"

    async def async_load(self) -> None:
        self._pins = dict(await self._store.async_load() or {})

    def get(self, grant_id: str) -> str | None:
        return None if grant_id == _DIGEST_KEY else self._pins.get(grant_id)

    def grant_ids(self) -> frozenset[str]:
        """The grants whose PINs are kept."""
        return frozenset(self._pins.keys() - {_DIGEST_KEY})

    async def async_forget_all(self, grant_ids: frozenset[str]) -> None:
        """Forget several grants' PINs with one write."""
        if grant_ids & self._pins.keys() - {_DIGEST_KEY}:
            for grant_id in grant_ids - {_DIGEST_KEY}:
                self._pins.pop(grant_id, None)
            await self._store.async_save(dict(self._pins))

    def in_use(self, pin: str) -> bool:
        return any(pin == value for key, value in self._pins.items() if key != _DIGEST_KEY)

    async def async_digest_key(self) -> bytes:
        """The key for PIN digests, made on first use and kept for good."""
        if (key := self._pins.get(_DIGEST_KEY)) is None:
            key = self._pins[_DIGEST_KEY] = secrets.token_hex(32)
            await self._store.async_save(dict(self._pins))
        return bytes.fromhex(key)

    async def async_put(self, grant_id: str, pin: str) -> None:
        self._pins[grant_id] = pin
        await self._store.async_save(dict(self._pins))

    async def async_forget(self, grant_id: str) -> None:
        await self.async_forget_all(frozenset({grant_id}))

    async def async_remove(self) -> None:
        self._pins = {}
        await self._store.async_remove()
