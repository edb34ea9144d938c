"""A carrier as tests play it: its own Ed25519 key, signing requests as docs/protocol.md says."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
import hashlib
import json
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CONTEXT = "keyholder-carrier-request-v1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class Carrier:
    """A carrier: its key, and requests signed with it."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    carrier_id: str = ""

    @property
    def public_key(self) -> str:
        return b64url(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body bytes and the four signature headers for a request."""
        raw = json.dumps(body or {}).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        once = nonce or secrets.token_urlsafe(18)
        lines = (
            CONTEXT, method, path, hashlib.sha256(raw).hexdigest(), str(stamp), once,
            self.carrier_id,
        )  # fmt: skip
        signature = self.key.sign("\n".join(lines).encode())
        return raw, {
            "Keyholder-Carrier": self.carrier_id,
            "Keyholder-Timestamp": str(stamp),
            "Keyholder-Nonce": once,
            "Keyholder-Signature": b64url(signature),
            "Content-Type": "application/json",
        }
