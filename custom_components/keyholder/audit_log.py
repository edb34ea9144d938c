"""The home's audit log: every grant change, decision and door event, hash-chained.

Records are appended through ``core.audit`` and saved verbatim. At load the chain
is verified; a broken chain (an edited or truncated file) raises a repair issue,
is itself audited, and new records continue from the stored tail so the break
stays visible to every later check.

A hash chain cannot show records cut off its end, so the chain's head (length and
last hash) is also kept in a file of its own and compared at load: a log shorter
than its head, or whose record there has another hash, is broken from that point.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER
from .core.audit import AuditRecord, ChainCheck, append_record, verify_chain
from .store import AuditHead, KeyholderStorage

ISSUE_BROKEN_CHAIN = "audit_chain_broken"

type AuditValue = str | int | float | bool | None


class AuditLog:
    """Append-only, persisted, verifiable."""

    def __init__(self, hass: HomeAssistant, entry_id: str, storage: KeyholderStorage) -> None:
        self._hass = hass
        self._entry_id = entry_id
        self._storage = storage
        self._records: list[dict[str, Any]] = []
        self._tail: AuditRecord | None = None
        self._check = ChainCheck(intact=True, length=0, first_broken_seq=None)

    @property
    def check(self) -> ChainCheck:
        """The chain's integrity as of load, updated as records are appended."""
        return self._check

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    async def async_load(self, now: datetime) -> None:
        self._records = await self._storage.async_load_audit()
        self._check = _with_head(
            verify_chain(self._records), self._records, await self._storage.async_load_audit_head()
        )
        self._tail = self._last_parsable_record()
        if self._check.intact:
            ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
            return
        LOGGER.error(
            "The audit log is broken at record %s: it was edited outside Keyholder",
            self._check.first_broken_seq,
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.CRITICAL,
            translation_key=ISSUE_BROKEN_CHAIN,
            translation_placeholders={"record": str(self._check.first_broken_seq)},
        )
        await self.async_append(
            "audit_chain_broken", {"first_broken_seq": self._check.first_broken_seq}, at=now
        )

    async def async_append(
        self, kind: str, data: Mapping[str, AuditValue], *, at: datetime
    ) -> AuditRecord:
        record = append_record(self._tail, kind=kind, data=dict(data), at=at)
        self._tail = record
        self._records.append(record.to_dict())
        self._check = ChainCheck(
            intact=self._check.intact,
            length=len(self._records),
            first_broken_seq=self._check.first_broken_seq,
        )
        await self._storage.async_save_audit(
            self._records, {"length": len(self._records), "hash": record.hash}
        )
        return record

    @property
    def _issue_id(self) -> str:
        return f"{ISSUE_BROKEN_CHAIN}_{self._entry_id}"

    def _last_parsable_record(self) -> AuditRecord | None:
        for raw in reversed(self._records):
            try:
                return AuditRecord.from_dict(raw)
            except ValueError:
                continue
        return None


def _with_head(
    check: ChainCheck, records: list[dict[str, Any]], head: AuditHead | None
) -> ChainCheck:
    """Fold the head comparison into the chain check: the earliest break wins."""
    if head is None or head["length"] < 1:
        return check
    last = head["length"] - 1
    if last < len(records) and records[last].get("hash") == head["hash"]:
        return check
    cut = min(last, len(records))
    first = cut if check.first_broken_seq is None else min(cut, check.first_broken_seq)
    return ChainCheck(intact=False, length=len(records), first_broken_seq=first)
