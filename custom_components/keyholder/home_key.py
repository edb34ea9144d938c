"""The home's Ed25519 signing key.

The home signs every grant and every delivery receipt with this key; the bridge
and carriers only ever see the public half. The private half lives in Home
Assistant's private storage (file mode 0600) and is never logged, never shown
in diagnostics and never leaves this object except as a signature.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TypedDict

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 1


class _StoredKey(TypedDict):
    private_key: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class HomeKey:
    """An Ed25519 key pair that signs on the home's behalf."""

    __slots__ = ("_private",)

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

    def __repr__(self) -> str:
        return f"HomeKey(fingerprint={self.fingerprint})"

    @classmethod
    def generate(cls) -> HomeKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private.public_key()

    @property
    def public_key_raw(self) -> bytes:
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key_b64(self) -> str:
        """The public key as unpadded base64url, as it travels on the wire."""
        return _b64(self.public_key_raw)

    @property
    def fingerprint(self) -> str:
        """A short, safe-to-show identifier of the key (SHA-256 of the public key)."""
        return hashlib.sha256(self.public_key_raw).hexdigest()[:16]

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def _private_raw(self) -> bytes:
        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _store(hass: HomeAssistant, entry_id: str) -> Store[_StoredKey]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.home_key", private=True)


async def async_load_home_key(hass: HomeAssistant, entry_id: str) -> HomeKey:
    """Load the home's key, generating and saving it at first setup."""
    store = _store(hass, entry_id)
    stored = await store.async_load()
    if stored is not None:
        return HomeKey(Ed25519PrivateKey.from_private_bytes(_unb64(stored["private_key"])))
    key = HomeKey.generate()
    await store.async_save({"private_key": _b64(key._private_raw())})
    return key


async def async_remove_home_key(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the key file when the integration is removed."""
    await _store(hass, entry_id).async_remove()
