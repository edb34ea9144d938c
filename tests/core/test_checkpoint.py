"""Signed audit checkpoints: exact bytes, strict wire form, and the comparison with a chain."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.core.audit import (
    ChainCheck,
    append_record,
    pin_chain,
    verify_chain,
)
from custom_components.keyholder.core.checkpoint import (
    MAX_LENGTH,
    Checkpoint,
    CheckpointError,
    SignedCheckpoint,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/protocol/audit_checkpoint.json").read_text()
)
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HASH = "ab" * 32


def _key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(seed + "="))


def _chain(length: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    tail = None
    for index in range(length):
        tail = append_record(tail, kind="k", data={"i": index}, at=START + timedelta(seconds=index))
        records.append(tail.to_dict())
    return records


@pytest.mark.parametrize("vector", VECTORS["valid"])
def test_the_checkpoint_vector_reads_signs_and_writes_back_identically(
    vector: dict[str, Any],
) -> None:
    signed = SignedCheckpoint.from_wire(vector["checkpoint"])
    assert signed.checkpoint.signed_bytes() == vector["signed_bytes_utf8"].encode()
    # Ed25519 is deterministic: the home's key gives exactly the vector's signature.
    resigned = _key(vector["private_key_seed"]).sign(signed.checkpoint.signed_bytes())
    assert resigned == signed.signature
    assert signed.to_wire() == vector["checkpoint"]


@pytest.mark.parametrize("vector", VECTORS["malformed"], ids=lambda v: v["why"])
def test_a_malformed_checkpoint_is_refused(vector: dict[str, Any]) -> None:
    with pytest.raises(CheckpointError):
        SignedCheckpoint.from_wire(vector["checkpoint"])


@pytest.mark.parametrize(
    "fields",
    [
        {"length": 1.5},
        {"at": 2.0},
        {"at": MAX_LENGTH + 1},
        {"last_hash": 7},
        {"home_id": None},
        {"signature": 64},
        {"signature": "AAAAA"},  # base64url letters that do not decode at all
        {"signature": "AAAA"},  # decodes, but to 3 bytes
    ],
)
def test_a_checkpoint_with_a_wrong_value_is_refused(fields: dict[str, Any]) -> None:
    body = VECTORS["valid"][0]["checkpoint"] | fields
    with pytest.raises(CheckpointError):
        SignedCheckpoint.from_wire(body)


def test_a_checkpoint_is_made_only_of_valid_values() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(home_id="home-1", length=True, last_hash=HASH, at=0)
    assert Checkpoint(home_id="home-1", length=MAX_LENGTH, last_hash=HASH, at=0).length


def test_the_signed_bytes_name_their_purpose_and_every_field() -> None:
    checkpoint = Checkpoint(home_id="home-1", length=3, last_hash=HASH, at=1800000000)
    assert checkpoint.signed_bytes() == (
        b"keyholder-audit-checkpoint-v1\nhome-1\n3\n" + HASH.encode() + b"\n1800000000"
    )


# --- comparing a chain with a checkpoint --------------------------------------------


def test_a_chain_that_holds_the_checkpoint_record_stays_intact() -> None:
    records = _chain(5)
    check = verify_chain(records)
    assert pin_chain(check, records, 3, records[2]["hash"]) == check
    assert pin_chain(check, records, 5, records[4]["hash"]) == check


def test_a_pin_of_no_records_pins_nothing() -> None:
    check = verify_chain([])
    assert pin_chain(check, [], 0, HASH) == check


def test_a_chain_shorter_than_the_checkpoint_is_broken_where_it_ends() -> None:
    records = _chain(3)
    pinned = pin_chain(verify_chain(records), records, 7, HASH)
    assert pinned == ChainCheck(intact=False, length=3, first_broken_seq=3)


def test_a_rehashed_chain_is_broken_at_the_checkpoint_record() -> None:
    original = _chain(6)
    tail = append_record(None, kind="k", data={"i": "rewritten"}, at=START)
    rewritten = [tail.to_dict()]
    for index in range(1, 6):
        tail = append_record(tail, kind="k", data={"i": index}, at=START + timedelta(seconds=index))
        rewritten.append(tail.to_dict())
    assert verify_chain(rewritten).intact  # on its own, the rewrite reads as intact
    pinned = pin_chain(verify_chain(rewritten), rewritten, 4, original[3]["hash"])
    assert pinned == ChainCheck(intact=False, length=6, first_broken_seq=3)


def test_an_earlier_known_break_wins_over_the_checkpoint() -> None:
    records = _chain(6)
    known = ChainCheck(intact=False, length=6, first_broken_seq=1)
    assert pin_chain(known, records, 5, HASH) == known
    late = ChainCheck(intact=False, length=6, first_broken_seq=5)
    assert pin_chain(late, records, 3, HASH).first_broken_seq == 2


@given(
    length=st.integers(min_value=1, max_value=MAX_LENGTH),
    at=st.integers(min_value=0, max_value=MAX_LENGTH),
    home_id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    signature=st.binary(min_size=64, max_size=64),
)
def test_any_checkpoint_survives_the_wire(
    length: int, at: int, home_id: str, signature: bytes
) -> None:
    signed = SignedCheckpoint(Checkpoint(home_id, length, HASH, at), signature)
    assert SignedCheckpoint.from_wire(json.loads(json.dumps(signed.to_wire()))) == signed
