"""The audit hash chain: any edit of the stored records is detected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import hashlib
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.keyholder.core.audit import (
    GENESIS_HASH,
    AuditRecord,
    ChainCheck,
    append_record,
    verify_chain,
)

START = datetime(2024, 5, 7, 10, 0, tzinfo=UTC)
INTACT = ChainCheck(intact=True, length=4, first_broken_seq=None)


def build(*entries: dict[str, Any]) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for index, data in enumerate(entries):
        tail = records[-1] if records else None
        at = START + timedelta(minutes=index)
        records.append(append_record(tail, kind=f"kind{index % 2}", data=data, at=at))
    return records


def stored(records: list[AuditRecord]) -> list[dict[str, Any]]:
    """The records as they come back from a JSON storage file."""
    loaded: list[dict[str, Any]] = json.loads(json.dumps([r.to_dict() for r in records]))
    return loaded


def chain() -> list[dict[str, Any]]:
    return stored(
        build(
            {"grant": "g1", "reason": "allowed", "door": "front"},
            {"grant": "g1", "uses": 1, "ratio": 0.5, "camera": True, "note": None},
            {"grant": "g2", "reason": "outside_window", "text": "Grüße ✓"},
            {},
        )
    )


def broken_at(position: int, length: int = 4) -> ChainCheck:
    return ChainCheck(intact=False, length=length, first_broken_seq=position)


# --- building and reading -----------------------------------------------------------


def test_first_record_starts_from_the_genesis_hash() -> None:
    first = append_record(None, kind="grant_created", data={"grant": "g1"}, at=START)
    assert first.seq == 0
    assert first.prev_hash == GENESIS_HASH
    assert len(first.hash) == 64


def test_each_record_links_to_the_one_before() -> None:
    records = build({"a": 1}, {"b": 2}, {"c": 3})
    assert [r.seq for r in records] == [0, 1, 2]
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash


def test_hash_is_sha256_of_the_canonical_json() -> None:
    """Written down so another implementation (the bridge, a script) can check it."""
    record = append_record(None, kind="k", data={"b": 1, "a": "é"}, at=START)
    canonical = '[0,"2024-05-07T10:00:00+00:00","k",{"a":"é","b":1},"' + GENESIS_HASH + '"]'
    assert record.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_times_are_stored_in_utc() -> None:
    local = datetime(2024, 5, 7, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    record = append_record(None, kind="k", data={}, at=local)
    assert record.at == START
    assert record.to_dict()["at"] == "2024-05-07T10:00:00+00:00"


def test_record_round_trips_through_storage() -> None:
    records = build({"grant": "g1", "n": 3, "x": 1.25, "ok": False, "none": None})
    assert [AuditRecord.from_dict(d) for d in stored(records)] == records


def test_record_data_cannot_be_changed_after_the_fact() -> None:
    record = append_record(None, kind="k", data={"a": 1}, at=START)
    with pytest.raises(TypeError):
        record.data["a"] = 2  # type: ignore[index]


def test_record_does_not_share_the_callers_dict() -> None:
    data: dict[str, Any] = {"a": 1}
    record = append_record(None, kind="k", data=data, at=START)
    data["a"] = 2
    assert record.data["a"] == 1


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"nested": {"a": 1}}, "scalar"),
        ({"list": [1, 2]}, "scalar"),
        ({"tuple": (1,)}, "scalar"),
        ({"when": START}, "scalar"),
        ({1: "a"}, "keys must be strings"),
        ({"nan": float("nan")}, "finite"),
        ({"inf": float("inf")}, "finite"),
        (["a"], "mapping"),
    ],
)
def test_data_that_cannot_be_hashed_canonically_is_refused(data: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        append_record(None, kind="k", data=data, at=START)


def test_record_needs_a_kind_and_an_aware_time() -> None:
    with pytest.raises(ValueError, match="kind"):
        append_record(None, kind="", data={}, at=START)
    with pytest.raises(ValueError, match="timezone-aware"):
        append_record(None, kind="k", data={}, at=datetime(2024, 1, 1))  # noqa: DTZ001


# --- verifying ----------------------------------------------------------------------


def test_intact_chain_verifies() -> None:
    assert verify_chain(chain()) == INTACT


def test_empty_chain_is_intact() -> None:
    assert verify_chain([]) == ChainCheck(intact=True, length=0, first_broken_seq=None)


def test_changed_data_is_detected() -> None:
    records = chain()
    records[1]["data"]["uses"] = 0
    assert verify_chain(records) == broken_at(1)


def test_added_data_field_is_detected() -> None:
    records = chain()
    records[3]["data"]["note"] = "added later"
    assert verify_chain(records) == broken_at(3)


def test_changed_kind_is_detected() -> None:
    records = chain()
    records[2]["kind"] = "kind1"
    assert verify_chain(records) == broken_at(2)


def test_changed_time_is_detected() -> None:
    records = chain()
    records[0]["at"] = "2024-05-07T09:00:00+00:00"
    assert verify_chain(records) == broken_at(0)


def test_same_instant_written_differently_is_detected() -> None:
    records = chain()
    records[0]["at"] = "2024-05-07T12:00:00+02:00"
    assert verify_chain(records) == broken_at(0)
    records = chain()
    records[0]["at"] = "2024-05-07 10:00:00+00:00"
    assert verify_chain(records) == broken_at(0)


def test_removed_record_is_detected() -> None:
    records = chain()
    del records[1]
    assert verify_chain(records) == broken_at(1, length=3)


def test_removed_first_record_is_detected() -> None:
    assert verify_chain(chain()[1:]) == broken_at(0, length=3)


def test_reordered_records_are_detected() -> None:
    records = chain()
    records[1], records[2] = records[2], records[1]
    assert verify_chain(records) == broken_at(1)


def test_altered_hash_is_detected() -> None:
    records = chain()
    records[3]["hash"] = "f" * 64
    assert verify_chain(records) == broken_at(3)


def test_rehashed_record_breaks_the_link_to_the_next() -> None:
    """Editing a record and fixing its own hash still breaks the following record."""
    records = chain()
    forged = append_record(
        AuditRecord.from_dict(records[0]), kind="kind1", data={"grant": "g9"}, at=START
    )
    records[1] = forged.to_dict()
    assert verify_chain(records) == broken_at(2)


def test_non_contiguous_sequence_is_detected() -> None:
    records = chain()
    records[2]["seq"] = 5
    assert verify_chain(records) == broken_at(2)


def test_chain_not_starting_at_genesis_is_detected() -> None:
    records = chain()
    records[0]["prev_hash"] = "1" * 64
    assert verify_chain(records) == broken_at(0)


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.pop("hash"),
        lambda r: r.update(extra=1),
        lambda r: r.update(seq="1"),
        lambda r: r.update(seq=True),
        lambda r: r.update(seq=-1),
        lambda r: r.update(at=12345),
        lambda r: r.update(at="yesterday"),
        lambda r: r.update(at="2024-05-07T10:01:00"),
        lambda r: r.update(kind=None),
        lambda r: r.update(data=None),
        lambda r: r.update(data={"nested": {"a": 1}}),
        lambda r: r.update(prev_hash=None),
        lambda r: r.update(hash="F" * 64),
        lambda r: r.update(hash="abc"),
        lambda r: r.clear(),
    ],
    ids=[
        "missing-field", "extra-field", "seq-string", "seq-bool", "seq-negative", "at-number",
        "at-text", "at-naive", "kind-none", "data-none", "data-nested", "prev-none",
        "hash-uppercase", "hash-short", "empty",
    ],
)  # fmt: skip
def test_malformed_record_is_detected(edit: Any) -> None:
    records = chain()
    edit(records[1])
    assert verify_chain(records) == broken_at(1)
    with pytest.raises(ValueError):  # noqa: PT011 - any of several messages
        AuditRecord.from_dict(records[1])


def test_record_that_is_not_a_mapping_is_detected() -> None:
    records: list[Any] = chain()
    records[2] = ["not", "a", "record"]
    assert verify_chain(records) == broken_at(2)


# --- properties ---------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
datas = st.dictionaries(st.text(max_size=10), scalars, max_size=4)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@st.composite
def mutations(draw: st.DrawFn, record: dict[str, Any]) -> tuple[str, Any]:
    """One field of ``record`` and a value for it that differs from the stored one."""
    field = draw(st.sampled_from(["seq", "at", "kind", "data", "prev_hash", "hash"]))
    new: Any
    if field == "seq":
        new = draw(st.integers(0, 50))
    elif field == "at":
        moved = START + draw(st.integers(-(10**6), 10**6).map(lambda s: timedelta(seconds=s)))
        new = draw(
            st.sampled_from(
                [moved.isoformat(), moved.astimezone(timezone(timedelta(hours=2))).isoformat()]
            )
        )
    elif field == "kind":
        new = draw(st.text(min_size=1, max_size=10))
    elif field == "data":
        new = draw(datas)
    else:
        new = draw(st.text("0123456789abcdef", min_size=64, max_size=64))
    if canonical(new) == canonical(record[field]):
        new = {"seq": 99, "at": "2000-01-01T00:00:00+00:00", "kind": "changed"}.get(
            field, {"changed": True} if field == "data" else "e" * 64
        )
    return field, new


@settings(max_examples=100, deadline=None)
@given(entries=st.lists(datas, min_size=1, max_size=6), data=st.data())
def test_any_single_field_mutation_breaks_the_chain(
    entries: list[dict[str, Any]], data: st.DataObject
) -> None:
    records = stored(build(*entries))
    assert verify_chain(records).intact
    position = data.draw(st.integers(0, len(records) - 1))
    field, value = data.draw(mutations(records[position]))
    records[position][field] = value
    assert verify_chain(records) == broken_at(position, length=len(records))


@settings(max_examples=40, deadline=None)
@given(entries=st.lists(datas, min_size=2, max_size=6), data=st.data())
def test_any_removal_or_swap_breaks_the_chain(
    entries: list[dict[str, Any]], data: st.DataObject
) -> None:
    records = stored(build(*entries))
    i = data.draw(st.integers(0, len(records) - 1))
    j = data.draw(st.integers(0, len(records) - 1).filter(lambda k: k != i))
    swapped = list(records)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert not verify_chain(swapped).intact
    if i < len(records) - 1:  # dropping the newest record is truncation, see audit.py
        assert not verify_chain(records[:i] + records[i + 1 :]).intact
