"""Grant tokens: compact JWS (EdDSA) signed by the home's Ed25519 key.

A token proves the home issued a grant; it is not the grant. The home still looks
the grant up in its registry on every use, which is what makes revocation
immediate, so a token carries no expiry and ``exp`` is never consulted.

Signing goes through a ``signer`` callable so the private key never leaves the
object holding it. Verification pins ``EdDSA``: a token claiming ``none`` or an
HMAC algorithm (keyed with the public key, the classic confusion attack) fails.
Only the JWS layer of PyJWT is used, because its JWT layer reads the clock.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
import jwt

ALGORITHM = "EdDSA"
MAX_TOKEN_LENGTH = 4096
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


class TokenError(ValueError):
    """A grant token that does not prove anything; the message never quotes it."""


@dataclass(frozen=True, slots=True)
class GrantClaims:
    """What a verified grant token says: which grant, issued by which home, when."""

    grant_id: str
    home_id: str
    issued_at: datetime


def sign_grant_token(
    signer: Callable[[bytes], bytes], *, grant_id: str, home_id: str, issued_at: datetime
) -> str:
    """Issue the token for ``grant_id``, signed with the home's key through ``signer``."""
    if not grant_id or not home_id:
        raise ValueError("a grant token needs a grant id and a home id")
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": home_id}
    claims = {"gid": grant_id, "hid": home_id, "iat": int(issued_at.timestamp())}
    signing_input = f"{_b64_json(header)}.{_b64_json(claims)}"
    signature = signer(signing_input.encode("ascii"))
    return f"{signing_input}.{_b64(signature)}"


def verify_grant_token(token: str, public_key: Ed25519PublicKey, *, home_id: str) -> GrantClaims:
    """The claims of ``token`` if ``home_id``'s key signed it; ``TokenError`` otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("grant token is not a string of acceptable length")
    _require_canonical_segments(token)
    try:
        verified = jwt.PyJWS().decode_complete(token, public_key, algorithms=[ALGORITHM])
    except jwt.PyJWTError as err:
        # PyJWT's messages may echo decoded header fields; name only the failure.
        raise TokenError(f"grant token rejected ({type(err).__name__})") from None
    claims = _json_object(verified["payload"])
    grant_id, token_home, issued = claims.get("gid"), claims.get("hid"), claims.get("iat")
    if not isinstance(grant_id, str) or not grant_id:
        raise TokenError("grant token has no grant id")
    if token_home != home_id:
        raise TokenError("grant token was issued for another home")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise TokenError("grant token has no issue time")
    try:
        issued_at = datetime.fromtimestamp(issued, UTC)
    except (OverflowError, OSError, ValueError):
        raise TokenError("grant token has an impossible issue time") from None
    return GrantClaims(grant_id=grant_id, home_id=home_id, issued_at=issued_at)


def _require_canonical_segments(token: str) -> None:
    """Accept each token in exactly one spelling.

    Base64 decoders skip stray characters and ignore the spare bits of the last
    one, so several strings can carry the same signed bytes. Refusing all but the
    canonical one means a token string can safely serve as a key (say, for
    replay bookkeeping).
    """
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise TokenError("grant token is not a compact JWS")
    try:
        canonical = all(_b64(_unb64(segment)) == segment for segment in segments)
    except (binascii.Error, ValueError):
        canonical = False
    if not canonical:
        raise TokenError("grant token is not canonically encoded")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise TokenError("grant token claims are not JSON") from None
    if not isinstance(value, dict):
        raise TokenError("grant token claims are not a JSON object")
    return value


def _b64_json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
