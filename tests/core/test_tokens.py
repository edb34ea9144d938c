"""Grant tokens: only the home's own Ed25519 signature, over EdDSA, proves a grant."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings, strategies as st
import jwt
import pytest

from custom_components.keyholder.core.tokens import (
    MAX_TOKEN_LENGTH,
    GrantClaims,
    TokenError,
    sign_grant_token,
    verify_grant_token,
)

HOME = "home-1"
ISSUED = datetime(2024, 5, 7, 10, 0, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def signed(header: dict[str, Any], claims: Any, key: Ed25519PrivateKey = KEY) -> str:
    """A token with any header and claims, properly signed: only the content is wrong."""
    signing_input = f"{b64_json(header)}.{b64_json(claims)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def good_token(grant_id: str = "grant-1") -> str:
    return sign_grant_token(KEY.sign, grant_id=grant_id, home_id=HOME, issued_at=ISSUED)


def refused(token: str, *, home_id: str = HOME, key: Any = PUBLIC) -> TokenError:
    with pytest.raises(TokenError) as caught:
        verify_grant_token(token, key, home_id=home_id)
    message = str(caught.value)
    assert all(part not in message for part in [token, *token.split(".")] if len(part) > 8)
    assert caught.value.__cause__ is None
    return caught.value


def test_token_round_trips() -> None:
    claims = verify_grant_token(good_token(), PUBLIC, home_id=HOME)
    assert claims == GrantClaims(grant_id="grant-1", home_id=HOME, issued_at=ISSUED)


def test_token_is_a_standard_eddsa_jws() -> None:
    token = good_token()
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "JWT", "kid": HOME}
    decoded = jwt.decode(token, PUBLIC, algorithms=["EdDSA"])
    assert decoded == {"gid": "grant-1", "hid": HOME, "iat": int(ISSUED.timestamp())}


def test_issue_time_is_kept_to_the_second_in_utc() -> None:
    issued = datetime(2024, 5, 7, 12, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=2)))
    token = sign_grant_token(KEY.sign, grant_id="g", home_id=HOME, issued_at=issued)
    claims = verify_grant_token(token, PUBLIC, home_id=HOME)
    assert claims.issued_at == datetime(2024, 5, 7, 10, 0, 0, tzinfo=UTC)
    assert claims.issued_at.tzinfo is UTC


def test_signing_needs_ids_and_an_aware_time() -> None:
    with pytest.raises(ValueError, match="grant id and a home id"):
        sign_grant_token(KEY.sign, grant_id="", home_id=HOME, issued_at=ISSUED)
    with pytest.raises(ValueError, match="grant id and a home id"):
        sign_grant_token(KEY.sign, grant_id="g", home_id="", issued_at=ISSUED)
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_grant_token(
            KEY.sign,
            grant_id="g",
            home_id=HOME,
            issued_at=datetime(2024, 1, 1),  # noqa: DTZ001
        )


def test_an_old_token_still_verifies() -> None:
    """Tokens do not expire; the registry decides whether the grant still holds."""
    issued = datetime(2001, 1, 1, tzinfo=UTC)
    token = sign_grant_token(KEY.sign, grant_id="g", home_id=HOME, issued_at=issued)
    assert verify_grant_token(token, PUBLIC, home_id=HOME).issued_at == issued


def test_exp_and_future_iat_are_ignored() -> None:
    header = {"alg": "EdDSA", "typ": "JWT", "kid": HOME}
    token = signed(header, {"gid": "g", "hid": HOME, "iat": 4_000_000_000, "exp": 1})
    assert verify_grant_token(token, PUBLIC, home_id=HOME).grant_id == "g"


# --- tampering ----------------------------------------------------------------------


def test_tampered_payload_is_refused() -> None:
    header, _, signature = good_token().split(".")
    forged = b64_json({"gid": "grant-2", "hid": HOME, "iat": int(ISSUED.timestamp())})
    refused(f"{header}.{forged}.{signature}")


def test_tampered_signature_is_refused() -> None:
    header, payload, signature = good_token().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    refused(f"{header}.{payload}.{flipped}")


def test_tampered_header_is_refused() -> None:
    _, payload, signature = good_token().split(".")
    header = b64_json({"alg": "EdDSA", "typ": "JWT", "kid": "home-2"})
    refused(f"{header}.{payload}.{signature}")


def test_signature_spelled_differently_is_refused() -> None:
    """Base64 ignores the spare bits of the last character; the token may not."""
    header, payload, signature = good_token().split(".")
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = last.index(signature[-1])
    variant = signature[:-1] + last[index ^ 1]  # same six-bit group but the low bit
    assert base64.urlsafe_b64decode(variant + "==") == base64.urlsafe_b64decode(signature + "==")
    refused(f"{header}.{payload}.{variant}")


def test_alg_none_is_refused() -> None:
    _, payload, _ = good_token().split(".")
    header = b64_json({"alg": "none", "typ": "JWT"})
    refused(f"{header}.{payload}.")
    refused(f"{header}.{payload}.AAAA")


@pytest.mark.parametrize("encoding", ["raw", "pem"])
def test_hmac_keyed_with_the_public_key_is_refused(encoding: str) -> None:
    if encoding == "raw":
        secret = PUBLIC.public_bytes(Encoding.Raw, PublicFormat.Raw)
    else:
        secret = PUBLIC.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = b64_json({"alg": "HS256", "typ": "JWT", "kid": HOME})
    payload = b64_json({"gid": "g", "hid": HOME, "iat": 1})
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    refused(f"{header}.{payload}.{b64(mac)}")


def test_token_for_another_home_is_refused() -> None:
    error = refused(good_token(), home_id="home-2")
    assert "another home" in str(error)


def test_token_signed_by_another_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    token = sign_grant_token(other.sign, grant_id="g", home_id=HOME, issued_at=ISSUED)
    refused(token)


def test_token_checked_against_another_key_is_refused() -> None:
    refused(good_token(), key=Ed25519PrivateKey.generate().public_key())


def test_oversized_token_is_refused_before_parsing() -> None:
    header = b64_json({"alg": "EdDSA", "typ": "JWT", "kid": HOME})
    huge = signed(
        {"alg": "EdDSA", "typ": "JWT", "kid": HOME},
        {"gid": "g" * MAX_TOKEN_LENGTH, "hid": HOME, "iat": 1},
    )
    assert huge.startswith(header)
    assert "acceptable length" in str(refused(huge))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "a..c",
        "ü.ä.ö",
        "a+b.c/d.e=f",
        "eyJ.eyJ.AAAA",
        "A.B.C",
        "not a token at all",
    ],
)
def test_garbage_is_refused(token: str) -> None:
    refused(token)


def test_non_string_is_refused() -> None:
    with pytest.raises(TokenError):
        verify_grant_token(b"a.b.c", PUBLIC, home_id=HOME)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "claims",
    [
        {"hid": HOME, "iat": 1},
        {"gid": "", "hid": HOME, "iat": 1},
        {"gid": 7, "hid": HOME, "iat": 1},
        {"gid": "g", "iat": 1},
        {"gid": "g", "hid": None, "iat": 1},
        {"gid": "g", "hid": HOME},
        {"gid": "g", "hid": HOME, "iat": "1"},
        {"gid": "g", "hid": HOME, "iat": 1.5},
        {"gid": "g", "hid": HOME, "iat": True},
        {"gid": "g", "hid": HOME, "iat": 10**20},
        ["g", HOME, 1],
        "g",
    ],
)
def test_signed_token_with_bad_claims_is_refused(claims: Any) -> None:
    refused(signed({"alg": "EdDSA", "typ": "JWT", "kid": HOME}, claims))


def test_signed_token_whose_claims_are_not_json_is_refused() -> None:
    header = b64_json({"alg": "EdDSA", "typ": "JWT"})
    for payload in (b"\xff\xfe", b"{not json"):
        signing_input = f"{header}.{b64(payload)}"
        token = f"{signing_input}.{b64(KEY.sign(signing_input.encode()))}"
        assert "not JSON" in str(refused(token))


def test_detached_payload_header_is_refused() -> None:
    refused(signed({"alg": "EdDSA", "b64": False}, {"gid": "g", "hid": HOME, "iat": 1}))


# --- properties ---------------------------------------------------------------------

ids = st.text(min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(
    grant_id=ids,
    home_id=ids,
    issued=st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_any_token_round_trips(grant_id: str, home_id: str, issued: datetime) -> None:
    token = sign_grant_token(KEY.sign, grant_id=grant_id, home_id=home_id, issued_at=issued)
    claims = verify_grant_token(token, PUBLIC, home_id=home_id)
    assert claims == GrantClaims(grant_id, home_id, issued.replace(microsecond=0))


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_-]{0,60}(\.[A-Za-z0-9_-]{0,90}){2}"))
def test_arbitrary_text_only_ever_raises_token_error(token: str) -> None:
    refused(token)


@settings(max_examples=100, deadline=None)
@given(position=st.integers(0, 10_000), replacement=st.sampled_from("AQgw-_.x9"))
def test_any_one_character_change_is_refused(position: int, replacement: str) -> None:
    token = good_token()
    position %= len(token)
    changed = token[:position] + replacement + token[position + 1 :]
    if changed != token:
        refused(changed)
