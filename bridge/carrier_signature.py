"""Carrier request signatures: what a carrier signs, and how anyone checks it.

A carrier signs every request with its own Ed25519 key. The bridge checks the
signature and forwards the request untouched; the home checks it again with the
key its owner approved, so the bridge can neither forge a carrier's request nor
replay one. The signed bytes (``docs/protocol.md``, vectors in
``docs/protocol/vectors.json``; the integration has its own copy of this code):

    keyholder-carrier-request-v1
    <METHOD>
    <path>
    <SHA-256 of the body, lowercase hex>
    <timestamp: Unix seconds>
    <nonce>
    <carrier id>

Headers: ``Keyholder-Carrier``, ``Keyholder-Timestamp``, ``Keyholder-Nonce``,
``Keyholder-Signature`` (64 bytes, unpadded base64url). Pure: no clock reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
import hashlib
import re
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bridge.protocol import SIGNATURE_BYTES, ProtocolError, from_b64url

CONTEXT: Final = "keyholder-carrier-request-v1"
MAX_SKEW_SECONDS: Final = 60  # a request older or further ahead than this is refused
HEADERS: Final = (
    "Keyholder-Carrier",
    "Keyholder-Timestamp",
    "Keyholder-Nonce",
    "Keyholder-Signature",
)
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_CARRIER = re.compile(r"[A-Za-z0-9_-]{1,32}")


class SignatureError(ValueError):
    """A carrier request that proves nothing; ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A carrier request as signed: everything the signature covers, and the signature."""

    method: str
    path: str
    body: bytes
    carrier_id: str
    timestamp: int
    nonce: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        digest = hashlib.sha256(self.body).hexdigest()
        lines = (
            CONTEXT,
            self.method.upper(),
            self.path,
            digest,
            str(self.timestamp),
            self.nonce,
            self.carrier_id,
        )
        return "\n".join(lines).encode()


def parse(
    method: str, path: str, body: bytes, headers: Mapping[str, str] | Iterable[tuple[str, str]]
) -> SignedRequest:
    """The request's signed parts from its headers, or ``SignatureError(unsigned_request)``.

    Header names are compared without regard to case, as HTTP says (HTTP/2 sends them
    in lower case). ``headers`` may be a multi-mapping (aiohttp's ``CIMultiDictProxy``),
    whose ``items()`` yields every header: a signed header given twice is refused, since
    two readers might take different ones.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    wanted = {name.lower(): name for name in HEADERS}
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if (canonical := wanted.get(name.lower())) is not None:
            values.setdefault(canonical, []).append(value)
    twice = [name for name in HEADERS if len(values.get(name, ())) > 1]
    if twice:
        raise SignatureError("unsigned_request", f"headers given twice: {', '.join(twice)}")
    missing = [name for name in HEADERS if not values.get(name, [""])[0]]
    if missing:
        raise SignatureError("unsigned_request", f"missing headers: {', '.join(missing)}")
    carrier_id, timestamp, nonce, signature = (values[name][0] for name in HEADERS)
    if not _CARRIER.fullmatch(carrier_id):
        raise SignatureError("unsigned_request", "Keyholder-Carrier is not a carrier id")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("unsigned_request", "Keyholder-Timestamp is Unix seconds")
    if not _NONCE.fullmatch(nonce):
        raise SignatureError("unsigned_request", "Keyholder-Nonce is 16-64 of A-Z a-z 0-9 _ -")
    try:
        raw = from_b64url(signature, SIGNATURE_BYTES, "Keyholder-Signature")
    except ProtocolError as err:
        raise SignatureError("unsigned_request", str(err)) from err
    return SignedRequest(method, path, body, carrier_id, int(timestamp), nonce, raw)


def verify(request: SignedRequest, public_key: bytes, *, now: float) -> None:
    """Check the signature and the time; ``SignatureError`` says which failed."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            request.signature, request.signed_bytes()
        )
    except InvalidSignature:
        raise SignatureError("bad_signature", "the signature does not verify") from None
    if abs(now - request.timestamp) > MAX_SKEW_SECONDS:
        raise SignatureError("stale_request", "the request's time is too far from now")
