"""The home's keys for guest links: a P-256 session key and the secret links derive from.

- The **session key** (P-256, for ECDH with the guest's browser: WebCrypto on every
  phone has it) opens what a guest's page seals for the home. Its public half is in
  every link's fragment, so the page never has to ask a bridge for it.
- The **link master** (32 random bytes) derives each link's secret
  (``core.guest_session.link_secret``), so no per-link secret is stored, and the
  home can show a link again; revoking the grant is what ends it.
- The **challenge key** is new at every start: a challenge minted before a restart,
  which the home no longer remembers spending, is worth nothing after it.

All three live in Home Assistant's private storage (mode 0600) or in memory, and are
never logged, shown, or sent anywhere.
"""

from __future__ import annotations

import secrets
from typing import TypedDict

from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .core.guest_session import b64url, from_b64url, link_secret, public_key_bytes

STORAGE_VERSION = 1


class _StoredGuestKeys(TypedDict):
    session_key: str  # the P-256 private value, 32 bytes, base64url
    link_master: str


class GuestKeys:
    """The session key pair, the link master, and this run's challenge key."""

    __slots__ = ("_link_master", "_session", "challenge_key")

    def __init__(self, session: ec.EllipticCurvePrivateKey, link_master: bytes) -> None:
        self._session = session
        self._link_master = link_master
        self.challenge_key = secrets.token_bytes(32)

    def __repr__(self) -> str:
        return "GuestKeys(…)"

    @property
    def session_private_key(self) -> ec.EllipticCurvePrivateKey:
        return self._session

    @property
    def session_public_key(self) -> bytes:
        return public_key_bytes(self._session)

    def link_secret(self, grant_id: str) -> bytes:
        return link_secret(self._link_master, grant_id)


def _store(hass: HomeAssistant, entry_id: str) -> Store[_StoredGuestKeys]:
    return Store(
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.guest_keys", private=True, atomic_writes=True
    )


async def async_load_guest_keys(hass: HomeAssistant, entry_id: str) -> GuestKeys:
    """Load the keys, making and saving them on first use."""
    store = _store(hass, entry_id)
    stored = await store.async_load()
    if stored is not None:
        value = int.from_bytes(from_b64url(stored["session_key"]), "big")
        session = ec.derive_private_key(value, ec.SECP256R1())
        return GuestKeys(session, from_b64url(stored["link_master"]))
    session = ec.generate_private_key(ec.SECP256R1())
    master = secrets.token_bytes(32)
    private = session.private_numbers().private_value.to_bytes(32, "big")
    await store.async_save({"session_key": b64url(private), "link_master": b64url(master)})
    return GuestKeys(session, master)


async def async_remove_guest_keys(hass: HomeAssistant, entry_id: str) -> None:
    await _store(hass, entry_id).async_remove()
