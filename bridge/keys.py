"""Ed25519 public keys as the bridge accepts them: 32 raw bytes, written in base64url.

Only public keys ever reach the bridge. Parsing is strict (one spelling per key) so the same
key cannot be registered twice under two spellings.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PUBLIC_KEY_BYTES = 32
_BASE64URL_32 = re.compile(r"[A-Za-z0-9_-]{43}=?")


class PublicKeyError(ValueError):
    """The text is not a raw Ed25519 public key in base64url."""


def parse_public_key(text: str) -> bytes:
    """The 32 raw key bytes, or :class:`PublicKeyError` saying what is wrong."""
    if not _BASE64URL_32.fullmatch(text):
        raise PublicKeyError(
            "public key must be 32 raw Ed25519 bytes in base64url (43 characters, A-Z a-z 0-9 - _)"
        )
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=")
    except binascii.Error as err:  # pragma: no cover - the pattern already excludes this
        raise PublicKeyError("public key is not valid base64url") from err
    if encode_public_key(raw) != text.rstrip("="):
        raise PublicKeyError("public key has stray bits in its last character")
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as err:
        raise PublicKeyError(f"not an Ed25519 public key: {err}") from err
    return raw


def encode_public_key(raw: bytes) -> str:
    """Unpadded base64url, the one spelling the bridge prints and stores in its API."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
