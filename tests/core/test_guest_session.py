"""Guest-link sessions: the shared vectors, and every refusal of a sealed request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.core import guest_session as gs
from simulators.guest import Sealed, seal as page_seal

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "docs" / "protocol" / "vectors.json").read_text()
)["guest_session"]
HOME = ec.derive_private_key(
    int.from_bytes(gs.from_b64url(VECTOR["home_session_private_key"]), "big"), ec.SECP256R1()
)
HOME_KEY = gs.from_b64url(VECTOR["home_session_public_key"])
CHALLENGE_KEY = gs.from_b64url(VECTOR["challenge_key"])
ISSUED = VECTOR["challenge_issued_at"]


def _page_key() -> ec.EllipticCurvePrivateKey:
    d = gs.from_b64url(VECTOR["page_private_jwk"]["d"])
    return ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())


def _challenge() -> bytes:
    return gs.mint_challenge(CHALLENGE_KEY, ISSUED, gs.from_b64url(VECTOR["challenge_random"]))


def _sealed(plaintext: bytes, *, challenge: bytes | None = None) -> gs.SealedRequest:
    sealed = page_seal(HOME_KEY, challenge or _challenge(), plaintext)
    return gs.SealedRequest.from_relay(sealed.body)


def test_the_home_derives_the_vectors_link_secret_and_challenge() -> None:
    master = gs.from_b64url(VECTOR["link_master"])
    assert gs.b64url(gs.link_secret(master, VECTOR["grant_id"])) == VECTOR["link_secret"]
    assert gs.b64url(_challenge()) == VECTOR["challenge"]
    assert gs.public_key_bytes(HOME) == HOME_KEY
    fragment = gs.link_fragment(VECTOR["grant_id"], gs.link_secret(master, "x"), HOME_KEY)
    assert fragment.split(".")[0::3] == ["1", VECTOR["home_session_public_key"]]


def test_the_home_opens_the_vectors_sealed_request_and_seals_its_answer() -> None:
    sealed = gs.SealedRequest.from_relay(VECTOR["sealed_request"])
    opened = gs.open_request(sealed, HOME)
    assert (opened.grant_id, opened.operation, opened.door_id) == (
        VECTOR["grant_id"], "open", "front",
    )  # fmt: skip
    assert gs.b64url(opened.secret) == VECTOR["link_secret"]
    answer = gs.seal_answer(
        opened.keys, VECTOR["answer_plaintext"], gs.from_b64url(VECTOR["answer_iv"])
    )
    assert answer == VECTOR["sealed_answer"]
    page = Sealed(VECTOR["sealed_request"], opened.keys.response)  # the page's side
    assert page.open(answer) == VECTOR["answer_plaintext"]


def test_the_tests_guest_seals_the_vector_byte_for_byte() -> None:
    """simulators/guest.py is written apart from the home's code; both meet in the vector."""
    sealed = page_seal(
        HOME_KEY,
        _challenge(),
        VECTOR["request_plaintext"].encode(),
        page_key=_page_key(),
        iv=gs.from_b64url(VECTOR["request_iv"]),
    )
    assert sealed.body == VECTOR["sealed_request"]


def test_a_describe_opens_with_no_door_and_the_pages_answer_key() -> None:
    plaintext = json.dumps({"grant": "ab", "secret": "AA", "op": "describe"}).encode()
    sealed = page_seal(HOME_KEY, _challenge(), plaintext, page_key=_page_key(), iv=bytes(12))
    opened = gs.open_request(gs.SealedRequest.from_relay(sealed.body), HOME)
    assert (opened.operation, opened.door_id, opened.secret, opened.keys.response) == (
        "describe", None, b"\0", sealed.response_key,
    )  # fmt: skip


def test_a_fresh_challenge_is_accepted_until_its_lifetime_ends() -> None:
    challenge = _challenge()
    assert gs.check_challenge(CHALLENGE_KEY, challenge, ISSUED) == ISSUED
    assert gs.check_challenge(CHALLENGE_KEY, challenge, ISSUED + gs.CHALLENGE_LIFETIME - 1)
    for when in (ISSUED - 1, ISSUED + gs.CHALLENGE_LIFETIME):
        with pytest.raises(gs.GuestSessionError) as refused:
            gs.check_challenge(CHALLENGE_KEY, challenge, when)
        assert refused.value.code == "stale_challenge"


@pytest.mark.parametrize(
    "challenge",
    [
        b"short",
        bytes(40),
        gs.mint_challenge(bytes(32), ISSUED, bytes(16)),  # another run's key
    ],
    ids=["too short", "made up", "another key"],
)
def test_a_challenge_the_home_did_not_mint_is_refused(challenge: bytes) -> None:
    with pytest.raises(gs.GuestSessionError) as refused:
        gs.check_challenge(CHALLENGE_KEY, challenge, ISSUED)
    assert refused.value.code == "bad_challenge"


def test_a_challenge_needs_sixteen_random_bytes() -> None:
    with pytest.raises(ValueError, match="16 random bytes"):
        gs.mint_challenge(CHALLENGE_KEY, ISSUED, bytes(8))


def _relayed(**changes: object) -> dict[str, object]:
    return {**VECTOR["sealed_request"], **changes}


@pytest.mark.parametrize(
    "body",
    [
        {},
        _relayed(challenge=7),
        _relayed(iv="A" * 10_000),
        _relayed(iv="not base64!"),
        _relayed(iv=gs.b64url(bytes(11))),
        _relayed(public_key=gs.b64url(bytes(33))),
        _relayed(ciphertext=gs.b64url(bytes(16))),
        _relayed(iv=VECTOR["sealed_request"]["iv"] + "A"),  # not the canonical spelling
    ],
    ids=[
        "empty",
        "not a string",
        "too long",
        "not base64url",
        "short iv",
        "short key",
        "no room for a tag",
        "not canonical",
    ],
)
def test_a_malformed_envelope_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(gs.GuestSessionError) as refused:
        gs.SealedRequest.from_relay(body)
    assert refused.value.code == "bad_envelope"


def _refusal(sealed: gs.SealedRequest) -> str:
    with pytest.raises(gs.GuestSessionError) as refused:
        gs.open_request(sealed, HOME)
    return refused.value.code


def test_a_page_key_that_is_not_on_the_curve_is_refused() -> None:
    sealed = gs.SealedRequest.from_relay(VECTOR["sealed_request"])
    off_curve = gs.SealedRequest(
        sealed.challenge, b"\x04" + bytes(64), sealed.iv, sealed.ciphertext
    )
    assert _refusal(off_curve) == "bad_envelope"


def test_a_request_sealed_for_another_home_or_challenge_does_not_open() -> None:
    other_home = gs.public_key_bytes(ec.generate_private_key(ec.SECP256R1()))
    sealed = page_seal(other_home, _challenge(), b"{}")
    assert _refusal(gs.SealedRequest.from_relay(sealed.body)) == "bad_envelope"
    genuine = gs.SealedRequest.from_relay(VECTOR["sealed_request"])
    moved = gs.mint_challenge(CHALLENGE_KEY, ISSUED, bytes(range(1, 17)))
    swapped = gs.SealedRequest(moved, genuine.page_key, genuine.iv, genuine.ciphertext)
    assert _refusal(swapped) == "bad_envelope"


@pytest.mark.parametrize(
    "plaintext",
    [
        b"\xff\xfe",
        b"not json",
        b"[1, 2]",
        b'{"grant": "NOT-HEX", "secret": "AA", "op": "describe"}',
        b'{"grant": "ab", "secret": 1, "op": "describe"}',
        b'{"grant": "ab", "secret": "AA", "op": "unlock_all"}',
        b'{"grant": "ab", "secret": "AA", "op": "open"}',
        b'{"grant": "ab", "secret": "AA", "op": "open", "door_id": ""}',
        b'{"grant": "ab", "secret": "A", "op": "describe"}',
    ],
    ids=[
        "not utf-8",
        "not json",
        "not an object",
        "bad grant id",
        "secret not text",
        "unknown operation",
        "open without a door",
        "empty door",
        "secret not base64url",
    ],
)
def test_a_sealed_request_that_is_not_a_guest_request_is_refused(plaintext: bytes) -> None:
    assert _refusal(_sealed(plaintext)) == "bad_envelope"


@given(tampered=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_of_a_sealed_request_makes_it_worthless(tampered: int, bit: int) -> None:
    genuine = gs.SealedRequest.from_relay(VECTOR["sealed_request"])
    parts = [genuine.challenge, genuine.page_key, genuine.iv, genuine.ciphertext]
    flat = bytearray(b"".join(parts))
    flat[tampered % len(flat)] ^= 1 << bit
    sizes = [len(p) for p in parts]
    pieces, at = [], 0
    for size in sizes:
        pieces.append(bytes(flat[at : at + size]))
        at += size
    with pytest.raises(gs.GuestSessionError):
        gs.open_request(gs.SealedRequest(*pieces), HOME)


@pytest.mark.parametrize("text", ["A", "AB=", "A+B/"])
def test_only_canonical_unpadded_base64url_is_read(text: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        gs.from_b64url(text)
