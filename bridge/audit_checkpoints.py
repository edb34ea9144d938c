"""Homes' signed audit checkpoints: taken from the home link, given to anyone who asks.

A home sends ``audit.checkpoint`` events over its link (``docs/protocol.md``). The
bridge checks the signature against the key the home enrolled with and keeps the
checkpoint append-only (``db.checkpoints``), so a log rewritten at home cannot be
passed off as the original one by sending the bridge a new head for it.

``GET /api/v1/homes/{home_id}/audit/checkpoint`` answers the latest one, and
``GET /api/v1/homes/{home_id}/audit/checkpoints?after=<length>`` all of them, a page at a
time: the home compares its chain with every one, so that a longer checkpoint signed for
a rewritten log (by someone who took the home's key) cannot hide the earlier ones. Neither
needs credentials: a checkpoint is signed by the home and carries no secret, and the home
checks the signature itself, so a bridge cannot forge one; it can only withhold some.

The checkpoint bytes are written again here (the integration cannot import the
bridge, nor the bridge Home Assistant); both copies are tested against
``docs/protocol/audit_checkpoint.json``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
import logging
import re
from typing import Any, Final

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bridge.db.checkpoints import Outcome
from bridge.db.tables import AuditCheckpoint
from bridge.errors import error_response
from bridge.storage import CHECKPOINTS_KEY, REGISTRY_KEY

LOGGER = logging.getLogger(__name__)
EVENT_KIND: Final = "audit.checkpoint"
CHECKPOINT_CONTEXT: Final = b"keyholder-audit-checkpoint-v1"
SIGNATURE_BYTES: Final = 64
MAX_NUMBER: Final = 2**53
PAGE_SIZE: Final = 100
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,15}")
_HOME_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HASH = re.compile(r"[0-9a-f]{64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]{86}")
_FIELDS: Final = frozenset({"home_id", "length", "last_hash", "at", "signature"})
# The refusals a home is told, as the code of an ``error`` message on its link.
REFUSALS: Final = {
    "malformed": "the checkpoint is not exactly its shape",
    "wrong_home": "a home sends only its own checkpoints",
    "unknown_home": "no such home, or revoked",
    "bad_signature": "the checkpoint's signature does not verify with the home's key",
    "checkpoint_conflict": "the checkpoint goes backwards from the one the bridge holds",
}

routes = web.RouteTableDef()


class CheckpointRefusedError(ValueError):
    """A checkpoint the bridge does not keep; ``code`` is one of ``REFUSALS``."""

    def __init__(self, code: str) -> None:
        super().__init__(REFUSALS[code])
        self.code = code


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A home's signed chain head, as it travels."""

    home_id: str
    length: int
    last_hash: str
    at: int
    signature: bytes

    def signed_bytes(self) -> bytes:
        """Context, home id, length, last hash and time, one per line (docs/protocol.md)."""
        lines = (self.home_id, str(self.length), self.last_hash, str(self.at))
        return CHECKPOINT_CONTEXT + b"".join(b"\n" + line.encode("ascii") for line in lines)

    def to_wire(self) -> dict[str, Any]:
        return {
            "home_id": self.home_id,
            "length": self.length,
            "last_hash": self.last_hash,
            "at": self.at,
            "signature": base64.urlsafe_b64encode(self.signature).rstrip(b"=").decode("ascii"),
        }

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> SignedCheckpoint:
        return cls(row.home_id, row.length, row.last_hash, row.signed_at, row.signature)


def parse_checkpoint(body: object) -> SignedCheckpoint:
    """A checkpoint exactly in its wire shape, or ``CheckpointRefusedError("malformed")``."""
    if not isinstance(body, Mapping) or set(body) != _FIELDS:
        raise CheckpointRefusedError("malformed")
    home_id, last_hash = body["home_id"], body["last_hash"]
    length, at, signature = body["length"], body["at"], body["signature"]
    if not (isinstance(home_id, str) and _HOME_ID.fullmatch(home_id)):
        raise CheckpointRefusedError("malformed")
    if not (isinstance(last_hash, str) and _HASH.fullmatch(last_hash)):
        raise CheckpointRefusedError("malformed")
    if not (_number(length, 1) and _number(at, 0)):
        raise CheckpointRefusedError("malformed")
    return SignedCheckpoint(home_id, length, last_hash, at, _signature(signature))


def _number(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_NUMBER


def _signature(value: object) -> bytes:
    if not (isinstance(value, str) and _B64URL.fullmatch(value)):
        raise CheckpointRefusedError("malformed")
    raw = base64.urlsafe_b64decode(value + "==")  # 86 base64url characters: 64 bytes
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != value:
        raise CheckpointRefusedError("malformed")  # stray bits in the last character
    return raw


async def receive_checkpoint(app: web.Application, link_home_id: str, body: object) -> None:
    """Keep a checkpoint a home sent over its link, or say why not (``CheckpointRefusedError``).

    Every refusal is logged with its reason and the home, never with the signature.
    """
    try:
        checkpoint = parse_checkpoint(body)
        await _keep(app, link_home_id, checkpoint)
    except CheckpointRefusedError as err:
        LOGGER.warning(
            "audit checkpoint refused",
            extra={"home_id": link_home_id, "reason": err.code},
        )
        raise


async def _keep(app: web.Application, link_home_id: str, checkpoint: SignedCheckpoint) -> None:
    if checkpoint.home_id != link_home_id:
        raise CheckpointRefusedError("wrong_home")
    home = await app[REGISTRY_KEY].get_home(checkpoint.home_id)
    if home is None or home.revoked_at is not None:
        raise CheckpointRefusedError("unknown_home")
    try:
        Ed25519PublicKey.from_public_bytes(home.public_key).verify(
            checkpoint.signature, checkpoint.signed_bytes()
        )
    except InvalidSignature as err:
        raise CheckpointRefusedError("bad_signature") from err
    outcome = await app[CHECKPOINTS_KEY].record(
        home_id=checkpoint.home_id,
        length=checkpoint.length,
        last_hash=checkpoint.last_hash,
        signed_at=checkpoint.at,
        signature=checkpoint.signature,
    )
    if outcome is Outcome.CONFLICT:
        raise CheckpointRefusedError("checkpoint_conflict")
    if outcome is Outcome.ACCEPTED:
        LOGGER.info(
            "audit checkpoint kept",
            extra={"home_id": checkpoint.home_id, "length": checkpoint.length},
        )


@routes.get("/api/v1/homes/{home_id}/audit/checkpoint")
async def latest_checkpoint(request: web.Request) -> web.Response:
    """The latest checkpoint the home's own key signed, for the home to compare with."""
    home_id = request.match_info["home_id"]
    row = (
        await request.app[CHECKPOINTS_KEY].latest(home_id) if _HOME_ID.fullmatch(home_id) else None
    )
    if row is None:
        return error_response(404, "no_checkpoint", "the bridge holds no checkpoint for this home")
    return web.json_response({"checkpoint": SignedCheckpoint.from_row(row).to_wire()})


@routes.get("/api/v1/homes/{home_id}/audit/checkpoints")
async def checkpoints(request: web.Request) -> web.Response:
    """Accepted checkpoints longer than ``after`` (default 0), shortest first, a page at a time.

    A page shorter than ``PAGE_SIZE`` is the last one; the next page starts after the
    length of the last checkpoint on this one.
    """
    home_id = request.match_info["home_id"]
    after_text = request.query.get("after", "0")
    if not _DECIMAL.fullmatch(after_text) or int(after_text) > MAX_NUMBER:
        return error_response(
            400, "invalid_request", f"after must be a whole number from 0 to {MAX_NUMBER}"
        )
    rows = (
        await request.app[CHECKPOINTS_KEY].accepted(home_id, after=int(after_text), limit=PAGE_SIZE)
        if _HOME_ID.fullmatch(home_id)
        else []
    )
    return web.json_response(
        {"checkpoints": [SignedCheckpoint.from_row(row).to_wire() for row in rows]}
    )
