"""Carriers the homeowner approved, each with the public key it was approved with.

A carrier's requests reach the home through the bridge, but the home checks their
signatures with the key stored here, never with one the bridge sends along: a
bridge that lied about a carrier's key after approval could otherwise forge its
requests. Approval itself takes the key from the bridge's directory, so the
homeowner can pass the key the carrier gave them to check it (``approve_carrier``).
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
from typing import TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Carrier:
    """A carrier as the bridge's directory lists it, and as the homeowner approves it."""

    id: str
    name: str
    public_key: bytes  # raw Ed25519, 32 bytes

    @property
    def fingerprint(self) -> str:
        """A short, safe-to-show identifier of the key, to compare with the carrier's."""
        return hashlib.sha256(self.public_key).hexdigest()[:16]


class _Stored(TypedDict):
    name: str
    public_key: str  # hex


class ApprovedCarriers:
    """``keyholder.<entry>.carriers``: the approved carriers of one home."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, _Stored]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.carriers", atomic_writes=True
        )
        self._carriers: dict[str, Carrier] = {}

    async def async_load(self) -> None:
        stored = await self._store.async_load() or {}
        self._carriers = {
            carrier_id: Carrier(carrier_id, raw["name"], bytes.fromhex(raw["public_key"]))
            for carrier_id, raw in stored.items()
        }

    def get(self, carrier_id: str) -> Carrier | None:
        return self._carriers.get(carrier_id)

    async def async_approve(self, carrier: Carrier) -> None:
        self._carriers[carrier.id] = carrier
        await self._store.async_save(
            {
                c.id: {"name": c.name, "public_key": c.public_key.hex()}
                for c in self._carriers.values()
            }
        )

    async def async_remove(self) -> None:
        self._carriers = {}
        await self._store.async_remove()
