"""The audit log as a hash chain: editing any stored record shows.

Each record's hash covers its own content and the previous record's hash, so
changing, removing, inserting or reordering records breaks the chain from that
point on. What a chain alone cannot show is records cut off its end; that needs
the latest hash kept somewhere the editor cannot reach.

Records are stored as plain dicts (``to_dict``) and checked as stored
(``verify_chain``), so what is verified is the file on disk, not a copy of it
that loading may have tidied up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
import hashlib
import json
import math
import re
from types import MappingProxyType
from typing import Any

type Scalar = str | int | float | bool | None

GENESIS_HASH = "0" * 64
_HASH = re.compile(r"[0-9a-f]{64}")
_FIELDS = frozenset({"seq", "at", "kind", "data", "prev_hash", "hash"})


class AuditRecordError(ValueError):
    """A record that cannot be part of the chain: malformed when stored, or unhashable."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the chain; ``hash`` seals everything else in it."""

    seq: int
    at: datetime
    kind: str
    data: Mapping[str, Scalar]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-able values, the form in which it is stored."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "data": dict(self.data),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AuditRecord:
        """Read a stored record back, refusing anything that is not exactly its shape.

        The hash is not checked here (``verify_chain`` does), only the form.
        """
        if not isinstance(raw, Mapping) or set(raw) != _FIELDS:
            raise AuditRecordError(
                "an audit record has exactly the fields " + ", ".join(sorted(_FIELDS))
            )
        seq, at, kind = raw["seq"], raw["at"], raw["kind"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise AuditRecordError("audit record seq must be a non-negative integer")
        if not isinstance(at, str):
            raise AuditRecordError("audit record time must be an ISO 8601 string")
        for name in ("prev_hash", "hash"):
            if not isinstance(raw[name], str) or not _HASH.fullmatch(raw[name]):
                raise AuditRecordError(f"audit record {name} must be 64 lowercase hex digits")
        return cls(
            seq=seq,
            at=_parse_time(at),
            kind=_check_kind(kind),
            data=_check_data(raw["data"]),
            prev_hash=raw["prev_hash"],
            hash=raw["hash"],
        )


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The verdict on a stored chain; ``first_broken_seq`` is the position that fails."""

    intact: bool
    length: int
    first_broken_seq: int | None


def append_record(
    tail: AuditRecord | None, *, kind: str, data: Mapping[str, Scalar], at: datetime
) -> AuditRecord:
    """The record that follows ``tail`` (or starts the chain when there is none).

    ``data`` holds scalars only: nested values have no single canonical form that
    both this code and a future reader would be sure to hash the same way.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise AuditRecordError("audit times must be timezone-aware")
    seq = 0 if tail is None else tail.seq + 1
    prev_hash = GENESIS_HASH if tail is None else tail.hash
    at = at.astimezone(UTC)
    kind = _check_kind(kind)
    frozen = _check_data(data)
    digest = _digest(seq, at, kind, frozen, prev_hash)
    return AuditRecord(seq=seq, at=at, kind=kind, data=frozen, prev_hash=prev_hash, hash=digest)


def verify_chain(records: Sequence[Mapping[str, Any]]) -> ChainCheck:
    """Check stored records from the first: each well-formed, in sequence, linked, sealed."""
    prev_hash = GENESIS_HASH
    for position, raw in enumerate(records):
        try:
            record = AuditRecord.from_dict(raw)
        except ValueError:  # AuditRecordError, or an unparseable time
            return ChainCheck(intact=False, length=len(records), first_broken_seq=position)
        expected = _digest(record.seq, record.at, record.kind, record.data, record.prev_hash)
        if record.seq != position or record.prev_hash != prev_hash or record.hash != expected:
            return ChainCheck(intact=False, length=len(records), first_broken_seq=position)
        prev_hash = record.hash
    return ChainCheck(intact=True, length=len(records), first_broken_seq=None)


def _digest(seq: int, at: datetime, kind: str, data: Mapping[str, Scalar], prev: str) -> str:
    canonical = json.dumps(
        [seq, at.isoformat(), kind, dict(data), prev],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text)  # ValueError for anything that is not a time
    if at.tzinfo is None:
        raise AuditRecordError("audit record time must carry its UTC offset")
    # The hash covers ``isoformat()``; another spelling of the same instant would
    # be an edit the hash cannot see, so only the canonical spelling is accepted.
    if at.isoformat() != text:
        raise AuditRecordError("audit record time is not in canonical ISO 8601 form")
    return at


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or not kind:
        raise AuditRecordError("audit record kind must be a non-empty string")
    return kind


def _check_data(data: object) -> Mapping[str, Scalar]:
    """A read-only copy of ``data`` once every key is a string and every value a scalar."""
    if not isinstance(data, Mapping):
        raise AuditRecordError("audit record data must be a mapping")
    checked: dict[str, Scalar] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise AuditRecordError("audit record data keys must be strings")
        if value is not None and not isinstance(value, str | int | float):  # bool is an int
            raise AuditRecordError(f"audit record data {key!r} must be a scalar, not nested")
        if isinstance(value, float) and not math.isfinite(value):
            raise AuditRecordError(f"audit record data {key!r} must be a finite number")
        checked[key] = value
    return MappingProxyType(checked)


def pin_chain(
    check: ChainCheck, records: Sequence[Mapping[str, Any]], length: int, last_hash: str
) -> ChainCheck:
    """Fold a pin (the chain's head, or a signed checkpoint) into ``check``.

    A pin says "the chain had ``length`` records and the last one hashed to
    ``last_hash``". Records stored locally that fall short of it, or whose record at
    that position has another hash, are broken from there; the earliest break wins.
    A pin of length 0 pins nothing.
    """
    if length < 1:
        return check
    last = length - 1
    if last < len(records) and records[last].get("hash") == last_hash:
        return check
    cut = min(last, len(records))
    first = cut if check.first_broken_seq is None else min(cut, check.first_broken_seq)
    return ChainCheck(intact=False, length=len(records), first_broken_seq=first)
