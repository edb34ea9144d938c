"""The home link's wire format, version 1, as the home speaks it.

The same protocol as the bridge's ``bridge/protocol.py`` (``docs/protocol.md``),
written again here because the integration ships alone through HACS and cannot
import the bridge. Both are tested against ``docs/protocol/vectors.json``, so the
two cannot drift apart unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

VERSION: Final = 1
MAX_FRAME_BYTES: Final = 64 * 1024
CHALLENGE_CONTEXT: Final = b"keyholder-home-link-v1"


class WireError(ValueError):
    """A frame the home cannot use; ``code`` goes into the ``error`` answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def from_b64url(text: str, size: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise WireError("malformed", "not base64url") from err
    if len(raw) != size or b64url(raw) != text:
        raise WireError("malformed", f"expected {size} bytes in unpadded base64url")
    return raw


def challenge_bytes(home_id: str, nonce: bytes) -> bytes:
    """What the home signs to answer the bridge's challenge."""
    return CHALLENGE_CONTEXT + b"\n" + home_id.encode("ascii") + b"\n" + b64url(nonce).encode()


def encode(message_type: str, **fields: Any) -> str:
    return json.dumps({"v": VERSION, "type": message_type, **fields}, separators=(",", ":"))


def decode(frame: str) -> tuple[str, dict[str, Any]]:
    """The message type and its fields; ``WireError`` for anything not version 1."""
    if len(frame.encode()) > MAX_FRAME_BYTES:
        raise WireError("too_large", "frame too large")
    try:
        data = json.loads(frame)
    except ValueError as err:
        raise WireError("malformed", "a frame is one JSON object") from err
    if not isinstance(data, dict):
        raise WireError("malformed", "a frame is one JSON object")
    if data.get("v") != VERSION:
        raise WireError("unsupported_version", f"this home speaks version {VERSION}")
    message_type = data.get("type")
    if not isinstance(message_type, str):
        raise WireError("unknown_type", "a message has a type")
    return message_type, {k: v for k, v in data.items() if k not in ("v", "type")}
