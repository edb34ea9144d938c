"""The home link's wire format, version 1, as the home speaks it.

The same protocol as the bridge's ``bridge/protocol.py`` (``docs/protocol.md``),
written again here because the integration ships alone through HACS and cannot
import the bridge. Both are tested against ``docs/protocol/vectors.json``, so the
two cannot drift apart unnoticed.

Every frame comes from the bridge, which the home does not trust: it is read with
``strict_json`` (bounded size and depth, strict UTF-8, one value per key) and each
message type's fields are checked here exactly as the bridge checks them, so the
code that acts on a message never meets a value of the wrong type.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
import json
import re
from typing import Any, Final

from .strict_json import StrictJSONError, loads

VERSION: Final = 1
MAX_FRAME_BYTES: Final = 64 * 1024
CHALLENGE_CONTEXT: Final = b"keyholder-home-link-v1"

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The fields each message type must have, and their types (``bridge/protocol.py``).
_REQUIRED: Final[Mapping[str, Mapping[str, type]]] = {
    "challenge": {"nonce": str},
    "hello": {"home_id": str, "signature": str},
    "welcome": {"heartbeat": int},
    "request": {"id": str, "kind": str, "body": dict},
    "response": {"id": str, "status": int, "body": dict},
    "event": {"kind": str, "body": dict},
    "error": {"code": str},
}


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
    """The message type and its checked fields; ``WireError`` (never anything else) for
    a frame that is not a version-1 message."""
    try:
        data = loads(frame, max_bytes=MAX_FRAME_BYTES)
    except StrictJSONError as err:
        raise WireError(err.code, str(err)) from None
    if not isinstance(data, dict):
        raise WireError("malformed", "a frame is one JSON object")
    if type(data.get("v")) is not int or data["v"] != VERSION:
        raise WireError("unsupported_version", f"this home speaks version {VERSION}")
    message_type = data.get("type")
    if not isinstance(message_type, str) or message_type not in _REQUIRED:
        raise WireError("unknown_type", "unknown message type")
    fields = {k: v for k, v in data.items() if k not in ("v", "type")}
    _check(message_type, fields)
    return message_type, fields


def _check(message_type: str, fields: Mapping[str, Any]) -> None:
    required = _REQUIRED[message_type]
    for name, kind in required.items():
        value = fields.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise WireError("malformed", f"{message_type} needs {name} ({kind.__name__})")
    for name in ("home_id", "id"):
        if name in required and not _ID.fullmatch(fields[name]):
            raise WireError("malformed", f"{name} must be 1 to 64 of A-Z a-z 0-9 _ -")
    if message_type == "response" and not 100 <= fields["status"] <= 599:
        raise WireError("malformed", "status must be an HTTP status code")
