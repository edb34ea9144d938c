"""Checking a carrier's signed request at home, with the key the homeowner approved.

The same signed bytes as the bridge's ``bridge/carrier_signature.py``
(``docs/protocol.md``), written again because the integration ships alone; both
are tested against ``docs/protocol/vectors.json``. The home trusts nothing the
bridge says about the request: the door comes from the signed path, and the
signature, the time and the nonce are all checked here.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
import re
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .wire import WireError, from_b64url

CONTEXT: Final = "keyholder-carrier-request-v1"
MAX_SKEW_SECONDS: Final = 60
_OPEN_PATH = re.compile(
    r"/api/v1/carrier/homes/([A-Za-z0-9_-]{1,64})/doors/([A-Za-z0-9_-]{1,64})/open"
)
_ANNOUNCE_PATH = re.compile(r"/api/v1/carrier/homes/([A-Za-z0-9_-]{1,64})/deliveries")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True, slots=True)
class CarrierRequest:
    """A relayed carrier request, as the carrier signed it."""

    carrier_id: str
    method: str
    path: str
    body: bytes
    timestamp: int
    nonce: str
    signature: bytes

    @classmethod
    def from_relay(cls, fields: dict[str, Any]) -> CarrierRequest:
        """The request from a ``carrier.open`` body; ``ValueError`` if it is malformed."""
        carrier_id, method, path = (
            fields.get("carrier_id"),
            fields.get("method"),
            fields.get("path"),
        )
        body, timestamp, nonce = fields.get("body"), fields.get("timestamp"), fields.get("nonce")
        signature = fields.get("signature")
        if not (
            isinstance(carrier_id, str)
            and isinstance(method, str)
            and isinstance(path, str)
            and isinstance(body, str)
            and isinstance(timestamp, int)
            and not isinstance(timestamp, bool)
            and isinstance(nonce, str)
            and _NONCE.fullmatch(nonce)
            and isinstance(signature, str)
        ):
            raise ValueError("not a carrier request")
        try:
            raw = from_b64url(signature, 64)
        except WireError as err:
            raise ValueError("not a signature") from err
        return cls(carrier_id, method, path, body.encode(), timestamp, nonce, raw)

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

    def signed_by(self, public_key: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(
                self.signature, self.signed_bytes()
            )
        except InvalidSignature:
            return False
        return True

    def door(self, home_id: str) -> str | None:
        """The door id the signed path names, if it is an open request for this home."""
        match = _OPEN_PATH.fullmatch(self.path)
        if self.method.upper() != "POST" or match is None or match.group(1) != home_id:
            return None
        return match.group(2)

    def announces_to(self, home_id: str) -> bool:
        """Whether the signed request is a delivery announcement to this home."""
        match = _ANNOUNCE_PATH.fullmatch(self.path)
        return self.method.upper() == "POST" and match is not None and match.group(1) == home_id

    def json_body(self) -> dict[str, Any]:
        """The signed body as a JSON object; empty when it is not one."""
        try:
            data = json.loads(self.body) if self.body else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
