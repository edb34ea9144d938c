"""The home link's wire format, version 1: what travels over the home's websocket.

``docs/protocol.md`` describes it for people; ``docs/protocol/vectors.json`` holds test
vectors that the bridge's tests and the integration's tests both check, so the two sides
cannot drift apart. This module is pure (no sockets, no clock): it builds and checks
messages, and says exactly which bytes a home signs to prove itself.

Every message is one JSON object in one text frame, with ``"v": 1`` and a ``"type"``.
A message the receiver cannot use is answered with an ``error`` message carrying a
stable ``code``; it never changes anything. A frame is read with ``strict_json``
(bounded size and depth, strict UTF-8, one value per key), so no frame a home sends
can make the bridge recurse, or keep a string it cannot encode again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
import json
import re
from typing import Any, Final, Literal

from bridge.strict_json import StrictJSONError, loads

VERSION: Final = 1
MAX_FRAME_BYTES: Final = 64 * 1024
NONCE_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
# Domain separation: a signature over these bytes can mean nothing else.
CHALLENGE_CONTEXT: Final = b"keyholder-home-link-v1"

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

type MessageType = Literal["challenge", "hello", "welcome", "request", "response", "event", "error"]
MESSAGE_TYPES: Final = frozenset(
    {"challenge", "hello", "welcome", "request", "response", "event", "error"}
)


class ProtocolError(ValueError):
    """A message that breaks the protocol; ``code`` goes into the ``error`` answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Message:
    """A checked message: its type and its fields (``v`` and ``type`` removed)."""

    type: MessageType
    fields: Mapping[str, Any]


def b64url(raw: bytes) -> str:
    """Unpadded base64url, the one spelling of binary values in the protocol."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def from_b64url(text: str, size: int, what: str) -> bytes:
    """Exactly ``size`` bytes from unpadded base64url, or ``ProtocolError``."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise ProtocolError("malformed", f"{what} is not base64url") from err
    if len(raw) != size or b64url(raw) != text:
        raise ProtocolError("malformed", f"{what} must be {size} bytes in unpadded base64url")
    return raw


def challenge_bytes(home_id: str, nonce: bytes) -> bytes:
    """What a home signs to answer a challenge: context, home id and nonce, one per line."""
    return CHALLENGE_CONTEXT + b"\n" + home_id.encode("ascii") + b"\n" + b64url(nonce).encode()


def encode(message_type: MessageType, **fields: Any) -> str:
    """One message as the text of one frame."""
    return json.dumps({"v": VERSION, "type": message_type, **fields}, separators=(",", ":"))


def decode(frame: str) -> Message:
    """A checked message from one frame's text, or ``ProtocolError`` (never anything else)
    saying what is wrong."""
    try:
        data = loads(frame, max_bytes=MAX_FRAME_BYTES)
    except StrictJSONError as err:
        raise ProtocolError(err.code, str(err)) from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed", "a frame is one JSON object")
    if type(data.get("v")) is not int or data["v"] != VERSION:
        raise ProtocolError("unsupported_version", f"this bridge speaks version {VERSION}")
    message_type = data.get("type")
    if message_type not in MESSAGE_TYPES:
        raise ProtocolError("unknown_type", "unknown message type")
    fields = {k: v for k, v in data.items() if k not in ("v", "type")}
    _check(message_type, fields)
    return Message(message_type, fields)


_REQUIRED: Final[Mapping[str, Mapping[str, type]]] = {
    "challenge": {"nonce": str},
    "hello": {"home_id": str, "signature": str},
    "welcome": {"heartbeat": int},
    "request": {"id": str, "kind": str, "body": dict},
    "response": {"id": str, "status": int, "body": dict},
    "event": {"kind": str, "body": dict},
    "error": {"code": str},
}


def _check(message_type: str, fields: Mapping[str, Any]) -> None:
    required = _REQUIRED[message_type]
    for name, kind in required.items():
        value = fields.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ProtocolError("malformed", f"{message_type} needs {name} ({kind.__name__})")
    for name in ("home_id", "id"):
        if name in required and not _ID.fullmatch(fields[name]):
            raise ProtocolError("malformed", f"{name} must be 1 to 64 of A-Z a-z 0-9 _ -")
    if message_type == "response" and not 100 <= fields["status"] <= 599:
        raise ProtocolError("malformed", "status must be an HTTP status code")
