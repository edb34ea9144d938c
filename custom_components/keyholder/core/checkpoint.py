"""Signed audit checkpoints: the home's word on its chain's head, kept by the bridge.

The chain's head file sits beside the log, so whoever can write Home Assistant's
storage can rewrite the log, recompute every hash and the head, and the result reads
as intact. A checkpoint is the head (home id, length, last hash, time) signed with the
home's Ed25519 key and handed to the bridge, which keeps it append-only and never lets
it go backwards. Comparing the local chain with the latest checkpoint (``pin_chain``)
shows a rewrite of anything the checkpoint covers.

The signed bytes are domain-separated (``CHECKPOINT_CONTEXT``) so a checkpoint
signature can mean nothing else. ``docs/protocol.md`` describes the wire form and
``docs/protocol/audit_checkpoint.json`` holds vectors that the bridge's copy of this
code is tested against too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
import re
from typing import Any, Final

CHECKPOINT_CONTEXT: Final = b"keyholder-audit-checkpoint-v1"
SIGNATURE_BYTES: Final = 64
# A length the bridge's BIGINT holds and JSON numbers carry exactly.
MAX_LENGTH: Final = 2**53
_HOME_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HASH = re.compile(r"[0-9a-f]{64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_FIELDS: Final = frozenset({"home_id", "length", "last_hash", "at", "signature"})


class CheckpointError(ValueError):
    """A checkpoint that is not exactly its shape; nothing is taken from it."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head as the home signs it; ``at`` is Unix seconds (UTC)."""

    home_id: str
    length: int
    last_hash: str
    at: int

    def __post_init__(self) -> None:
        if not _HOME_ID.fullmatch(self.home_id):
            raise CheckpointError("checkpoint home_id must be 1 to 64 of A-Z a-z 0-9 _ -")
        for name, value, low in (("length", self.length, 1), ("at", self.at, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value:
                raise CheckpointError(f"checkpoint {name} must be an integer of at least {low}")
            if value > MAX_LENGTH:
                raise CheckpointError(f"checkpoint {name} is at most {MAX_LENGTH}")
        if not isinstance(self.last_hash, str) or not _HASH.fullmatch(self.last_hash):
            raise CheckpointError("checkpoint last_hash must be 64 lowercase hex digits")

    def signed_bytes(self) -> bytes:
        """What the home signs: context, home id, length, last hash, time; one per line."""
        lines = (self.home_id, str(self.length), self.last_hash, str(self.at))
        return CHECKPOINT_CONTEXT + b"".join(b"\n" + line.encode("ascii") for line in lines)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with the home's signature over ``checkpoint.signed_bytes()``."""

    checkpoint: Checkpoint
    signature: bytes

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of the ``audit.checkpoint`` event and of the bridge's answer."""
        return {
            "home_id": self.checkpoint.home_id,
            "length": self.checkpoint.length,
            "last_hash": self.checkpoint.last_hash,
            "at": self.checkpoint.at,
            "signature": base64.urlsafe_b64encode(self.signature).rstrip(b"=").decode("ascii"),
        }

    @classmethod
    def from_wire(cls, body: object) -> SignedCheckpoint:
        """Read a checkpoint exactly as ``to_wire`` writes it; the signature is not checked."""
        if not isinstance(body, Mapping) or set(body) != _FIELDS:
            raise CheckpointError(
                "a checkpoint has exactly the fields " + ", ".join(sorted(_FIELDS))
            )
        checkpoint = Checkpoint(
            home_id=_text(body["home_id"], "home_id"),
            length=body["length"],
            last_hash=_text(body["last_hash"], "last_hash"),
            at=body["at"],
        )
        return cls(checkpoint, _signature(body["signature"]))


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise CheckpointError(f"checkpoint {name} must be a string")
    return value


def _signature(value: object) -> bytes:
    text = _text(value, "signature")
    if not _B64URL.fullmatch(text):
        raise CheckpointError("checkpoint signature must be unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise CheckpointError("checkpoint signature must be unpadded base64url") from err
    if len(raw) != SIGNATURE_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise CheckpointError(f"checkpoint signature must be {SIGNATURE_BYTES} bytes")
    return raw
