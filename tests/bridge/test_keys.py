"""Only raw Ed25519 public keys, in one spelling, are accepted."""

from __future__ import annotations

import base64

import pytest

from bridge.keys import PublicKeyError, encode_public_key, parse_public_key

RAW = bytes(range(1, 33))


def test_a_key_round_trips_in_base64url() -> None:
    text = encode_public_key(RAW)
    assert len(text) == 43
    assert parse_public_key(text) == RAW
    assert parse_public_key(text + "=") == RAW, "one trailing pad is tolerated"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a key",
        base64.b64encode(b"\xfb" * 32).decode(),  # standard alphabet: + and /
        encode_public_key(RAW[:31]),  # 31 bytes
        encode_public_key(RAW + b"\x00"),  # 33 bytes
        encode_public_key(RAW)[:-1] + "B",  # stray low bits: a second spelling of a key
        "-----BEGIN PUBLIC KEY-----",
        encode_public_key(RAW) + "\n",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(PublicKeyError):
        parse_public_key(text)
