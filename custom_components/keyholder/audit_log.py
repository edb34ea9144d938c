"""The home's audit log: every grant change, decision and door event, hash-chained.

Records are appended through ``core.audit`` and saved verbatim. At load the chain
is verified; a broken chain (an edited or truncated file) raises a repair issue,
is itself audited, and new records continue from the stored tail so the break
stays visible to every later check.

A hash chain cannot show records cut off its end, so the chain's head (length and
last hash) is also kept in a file of its own and compared at load: a log shorter
than its head, or whose record there has another hash, is broken from that point.

The head lives beside the log, so whoever can write Home Assistant's storage can
rewrite both. The home therefore also signs its head now and then and gives it to
the bridge (``audit_checkpoints``); the latest signed checkpoint the bridge holds is
compared the same way as the head (``apply_checkpoint``), and a rewrite of anything
it covers is reported broken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER
from .core.audit import AuditRecord, ChainCheck, append_record, pin_chain, verify_chain
from .core.checkpoint import Checkpoint
from .store import KeyholderStorage

ISSUE_BROKEN_CHAIN = "audit_chain_broken"
# The same issue, worded for a chain that verifies on its own but not against the checkpoint.
ISSUE_REWRITTEN_CHAIN = "audit_chain_rewritten"

type AuditValue = str | int | float | bool | None
type AppendListener = Callable[[AuditRecord], None]


class AuditLog:
    """Append-only, persisted, verifiable."""

    def __init__(self, hass: HomeAssistant, entry_id: str, storage: KeyholderStorage) -> None:
        self._hass = hass
        self._entry_id = entry_id
        self._storage = storage
        self._records: list[dict[str, Any]] = []
        self._tail: AuditRecord | None = None
        self._check = ChainCheck(intact=True, length=0, first_broken_seq=None)
        self._listeners: list[AppendListener] = []
        self._checkpoint: Checkpoint | None = None

    @property
    def check(self) -> ChainCheck:
        """The chain's integrity as of load, updated as records are appended."""
        return self._check

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The latest signed checkpoint the chain was compared with, if any."""
        return self._checkpoint

    @property
    def tail(self) -> AuditRecord | None:
        """The last record appended (or the last parsable one loaded): the chain's head."""
        return self._tail

    @callback
    def listen(self, listener: AppendListener) -> Callable[[], None]:
        """Call ``listener`` with every record once it is stored; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def async_load(self, now: datetime) -> None:
        self._records = await self._storage.async_load_audit()
        check = verify_chain(self._records)
        if (head := await self._storage.async_load_audit_head()) is not None:
            check = pin_chain(check, self._records, head["length"], head["hash"])
        self._check = check
        self._tail = self._last_parsable_record()
        if self._check.intact:
            ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
            return
        await self._async_report_broken(now, "stored")

    async def async_apply_checkpoint(self, checkpoint: Checkpoint, now: datetime) -> bool:
        """Compare the chain with a checkpoint whose signature the caller checked.

        True when the chain holds the checkpoint's record unchanged. A chain that does
        not is broken from there, exactly as for the head, and reported (again, when the
        checkpoint shows an earlier break than was known).
        """
        self._checkpoint = checkpoint
        whole = ChainCheck(intact=True, length=len(self._records), first_broken_seq=None)
        if pin_chain(whole, self._records, checkpoint.length, checkpoint.last_hash).intact:
            return True
        after = pin_chain(self._check, self._records, checkpoint.length, checkpoint.last_hash)
        if after != self._check:
            self._check = after
            await self._async_report_broken(now, "checkpoint")
        return False

    async def _async_report_broken(self, now: datetime, found_in: str) -> None:
        LOGGER.error(
            "The audit log is broken at record %s: it was edited outside Keyholder (%s)",
            self._check.first_broken_seq,
            found_in,
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.CRITICAL,
            translation_key=ISSUE_REWRITTEN_CHAIN
            if found_in == "checkpoint"
            else ISSUE_BROKEN_CHAIN,
            translation_placeholders={"record": str(self._check.first_broken_seq)},
        )
        await self.async_append(
            "audit_chain_broken",
            {"first_broken_seq": self._check.first_broken_seq, "found_in": found_in},
            at=now,
        )

    async def async_append(
        self, kind: str, data: Mapping[str, AuditValue], *, at: datetime
    ) -> AuditRecord:
        record = append_record(self._tail, kind=kind, data=dict(data), at=at)
        self._tail = record
        stored = record.to_dict()
        self._records.append(stored)
        self._check = ChainCheck(
            intact=self._check.intact,
            length=len(self._records),
            first_broken_seq=self._check.first_broken_seq,
        )
        await self._storage.async_append_audit(
            stored, {"length": len(self._records), "hash": record.hash}
        )
        for listener in list(self._listeners):
            listener(record)
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
