"""Guest-link sessions: what a guest's browser and the home say through a bridge that listens.

A guest link is ``<bridge>/g/<home id>#1.<grant id>.<link secret>.<home session key>``.
Everything after ``#`` is the URL fragment, which browsers never send to a server:
the bridge serves the page and relays its requests, but never sees the secret.

Each request the page makes goes like this (``docs/protocol.md``, "Guest links"):

1. The page asks the home, through the bridge, for a **challenge**: 40 bytes the
   home mints (issue time, 16 random bytes, a MAC under a key that changes at every
   start of the home), valid for ``CHALLENGE_LIFETIME`` and spent on first use. The
   home keeps no state for challenges it hands out; it remembers only spent ones.
2. The page makes an ephemeral P-256 key, derives two AES-256-GCM keys from ECDH with
   the home's session key (from the fragment, so a bridge cannot substitute its own)
   by HKDF-SHA256 salted with the challenge, and sends the sealed request (the grant
   id, the link secret, what it wants) with its ephemeral public key.
3. The home opens it, checks the challenge and the secret, decides, and seals its
   answer with the second key.

So a bridge that records every byte it relays holds ciphertexts under keys it cannot
derive, for challenges that are spent: it can open nothing, now or later, and learns
nothing but that a guest of that home used a link. What an active bridge can still do
is in ``docs/threat-model.md``.

Pure: no Home Assistant, no clock (``now`` is passed in), no randomness except where
the caller passes a source (``secrets.token_bytes`` in production, fixed bytes in the
test vectors).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
import hashlib
import hmac
import json
import re
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

LINK_VERSION: Final = "1"
CHALLENGE_LIFETIME: Final = 120  # seconds: a page's round trip, with room for a slow phone
CHALLENGE_BYTES: Final = 40
SECRET_BYTES: Final = 32
PUBLIC_KEY_BYTES: Final = 65  # an uncompressed P-256 point, as WebCrypto exports it ("raw")
IV_BYTES: Final = 12
MAX_SEALED_BYTES: Final = 4096  # a request is a few hundred bytes
KDF_INFO: Final = b"keyholder-guest-session-v1"
REQUEST_AAD: Final = b"keyholder-guest-request-v1"
RESPONSE_AAD: Final = b"keyholder-guest-response-v1"
_CHALLENGE_MAC: Final = b"keyholder-guest-challenge-v1"
_LINK_SECRET: Final = b"keyholder-link-secret-v1"
_GRANT_ID = re.compile(r"[0-9a-f]{1,64}")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Bytes from unpadded base64url in its one canonical spelling; ``ValueError`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise ValueError("not base64url") from err
    if b64url(raw) != text:
        raise ValueError("not canonical unpadded base64url")
    return raw


class GuestSessionError(ValueError):
    """A challenge or sealed request the home cannot use; ``code`` is the answer's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def link_secret(master: bytes, grant_id: str) -> bytes:
    """The secret of a grant's link: derived, so the home stores no secret per link."""
    return hmac.new(master, _LINK_SECRET + b"\n" + grant_id.encode(), hashlib.sha256).digest()


def link_fragment(grant_id: str, secret: bytes, session_key: bytes) -> str:
    """What follows ``#`` in a guest link."""
    return ".".join((LINK_VERSION, grant_id, b64url(secret), b64url(session_key)))


def public_key_bytes(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def mint_challenge(key: bytes, now: int, random: bytes) -> bytes:
    """A challenge issued at ``now`` (Unix seconds), from 16 random bytes."""
    if len(random) != 16:
        raise ValueError("a challenge takes 16 random bytes")
    body = now.to_bytes(8, "big") + random
    return body + _challenge_mac(key, body)


def check_challenge(key: bytes, challenge: bytes, now: int) -> int:
    """When the home minted ``challenge``, if it did and it is still fresh."""
    if len(challenge) != CHALLENGE_BYTES:
        raise GuestSessionError("bad_challenge", "not a challenge of this home")
    body, mac = challenge[:24], challenge[24:]
    if not hmac.compare_digest(mac, _challenge_mac(key, body)):
        raise GuestSessionError("bad_challenge", "not a challenge of this home")
    issued = int.from_bytes(body[:8], "big")
    if not issued <= now < issued + CHALLENGE_LIFETIME:
        raise GuestSessionError("stale_challenge", "the challenge has expired")
    return issued


def _challenge_mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _CHALLENGE_MAC + body, hashlib.sha256).digest()[:16]


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """The two keys of one request: the page's to the home, and the home's answer."""

    request: bytes
    response: bytes


def session_keys(
    shared_secret: bytes, challenge: bytes, page_key: bytes, home_key: bytes
) -> SessionKeys:
    """HKDF-SHA256 over the ECDH secret, salted with the challenge, bound to both keys."""
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=64,
        salt=challenge,
        info=KDF_INFO + page_key + home_key,
    ).derive(shared_secret)
    return SessionKeys(request=okm[:32], response=okm[32:])


@dataclass(frozen=True, slots=True)
class SealedRequest:
    """A request as the bridge relays it: nothing in it is readable without the home's key."""

    challenge: bytes
    page_key: bytes
    iv: bytes
    ciphertext: bytes

    @classmethod
    def from_relay(cls, body: Mapping[str, Any]) -> SealedRequest:
        """The request's parts, each checked for shape; ``GuestSessionError`` otherwise."""
        try:
            return cls(
                challenge=_field(body, "challenge", CHALLENGE_BYTES),
                page_key=_field(body, "public_key", PUBLIC_KEY_BYTES),
                iv=_field(body, "iv", IV_BYTES),
                ciphertext=_field(body, "ciphertext", None),
            )
        except ValueError as err:
            raise GuestSessionError("bad_envelope", "not a sealed guest request") from err


def _field(body: Mapping[str, Any], name: str, size: int | None) -> bytes:
    value = body.get(name)
    if not isinstance(value, str) or len(value) > 2 * MAX_SEALED_BYTES:
        raise ValueError(name)
    raw = from_b64url(value)
    if (size is not None and len(raw) != size) or (size is None and len(raw) <= 16):
        raise ValueError(name)
    return raw


@dataclass(frozen=True, slots=True)
class OpenedRequest:
    """What the guest's page asked, once opened; ``keys`` seal the answer."""

    grant_id: str
    secret: bytes
    operation: str
    door_id: str | None
    keys: SessionKeys


def open_request(
    sealed: SealedRequest, home_private_key: ec.EllipticCurvePrivateKey
) -> OpenedRequest:
    """Decrypt and check the shape of a sealed request; the secret is checked by the caller."""
    try:
        page_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sealed.page_key)
    except ValueError as err:
        raise GuestSessionError("bad_envelope", "not a P-256 public key") from err
    shared = home_private_key.exchange(ec.ECDH(), page_public)
    keys = session_keys(
        shared, sealed.challenge, sealed.page_key, public_key_bytes(home_private_key)
    )
    try:
        plain = AESGCM(keys.request).decrypt(sealed.iv, sealed.ciphertext, REQUEST_AAD)
    except InvalidTag as err:
        raise GuestSessionError("bad_envelope", "the request does not decrypt") from err
    try:
        data = json.loads(plain.decode("utf-8"))
    except ValueError as err:  # UnicodeDecodeError is a ValueError
        raise GuestSessionError("bad_envelope", "the request is not JSON") from err
    if not isinstance(data, dict):
        raise GuestSessionError("bad_envelope", "the request is not an object")
    grant_id, secret, operation = data.get("grant"), data.get("secret"), data.get("op")
    door_id = data.get("door_id")
    if not isinstance(grant_id, str) or not _GRANT_ID.fullmatch(grant_id):
        raise GuestSessionError("bad_envelope", "the request names no grant")
    if not isinstance(secret, str) or operation not in ("describe", "open"):
        raise GuestSessionError("bad_envelope", "the request is not a guest request")
    if operation == "open" and not (isinstance(door_id, str) and 0 < len(door_id) <= 64):
        raise GuestSessionError("bad_envelope", "an opening names its door")
    try:
        secret_raw = from_b64url(secret)
    except ValueError as err:
        raise GuestSessionError("bad_envelope", "the secret is not base64url") from err
    return OpenedRequest(
        grant_id=grant_id,
        secret=secret_raw,
        operation=str(operation),
        door_id=door_id if operation == "open" else None,
        keys=keys,
    )


def seal_answer(keys: SessionKeys, answer: Mapping[str, Any], iv: bytes) -> dict[str, str]:
    """The home's answer, readable only by the page that asked."""
    plain = json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return {
        "iv": b64url(iv),
        "ciphertext": b64url(AESGCM(keys.response).encrypt(iv, plain, RESPONSE_AAD)),
    }
