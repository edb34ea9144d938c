"""The audit chain on disk: fixed-size segments, so an append rewrites one small file.

One Home Assistant ``Store`` held every record, and every append rewrote all of them:
at 100,000 records that is tens of megabytes per door event (``bench/audit_append.py``).
Records now go into segments of ``SEGMENT_RECORDS``; an append rewrites only the last
segment and the head, so its cost no longer grows with the log.

- ``keyholder.<entry>.audit`` is segment 0: records 0 to ``SEGMENT_RECORDS - 1``. An
  install from before segments has every record in this one file; loading splits it
  (the later segments are written first, segment 0 last, so an interrupted split is
  simply done again).
- ``keyholder.<entry>.audit.<n>`` is segment n. Loading reads segments until the first
  missing one; a segment deleted from the middle therefore shortens the chain, which
  the head (and the signed checkpoint) shows. A segment cut short inside is read as it
  is, and the chain check shows the gap.
- ``keyholder.<entry>.audit_head``: the chain's length and last hash.

Segments are written verbatim and never tidied: a segment someone edited stays as it
is, so the break stays visible to every later check. Appends go to the last segment
as loaded (a new one once it is full), never to a position computed from the length,
so a segment cut short in the middle is not written over.
"""

from __future__ import annotations

from typing import Any, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN

AUDIT_VERSION = 1
SEGMENT_RECORDS = 256


class StoredAudit(TypedDict):
    records: list[dict[str, Any]]


class AuditHead(TypedDict):
    """The chain's length and last hash, kept apart so cutting records off the end shows."""

    length: int
    hash: str


class AuditFiles:
    """One home's audit segments and head."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._hass = hass
        self._key = f"{DOMAIN}.{entry_id}.audit"
        self._stores: list[Store[StoredAudit]] = []
        self._segments: list[list[dict[str, Any]]] = []
        self._head: Store[AuditHead] = Store(
            hass, AUDIT_VERSION, f"{self._key}_head", atomic_writes=True
        )

    def _store(self, index: int) -> Store[StoredAudit]:
        while len(self._stores) <= index:
            n = len(self._stores)
            key = self._key if n == 0 else f"{self._key}.{n}"
            self._stores.append(Store(self._hass, AUDIT_VERSION, key, atomic_writes=True))
        return self._stores[index]

    async def async_load(self) -> list[dict[str, Any]]:
        """Every stored record, in order, as stored."""
        first = await self._store(0).async_load()
        if first is None:
            self._segments = []
            return []
        records = list(first["records"])
        if len(records) > SEGMENT_RECORDS:
            await self._async_split(records)
            return records
        self._segments = [records[:]]
        while (stored := await self._store(len(self._segments)).async_load()) is not None:
            self._segments.append(list(stored["records"]))
            records.extend(self._segments[-1])
        return records

    async def _async_split(self, records: list[dict[str, Any]]) -> None:
        """Bring a whole-chain file (the layout before segments) into segments."""
        self._segments = [
            records[start : start + SEGMENT_RECORDS]
            for start in range(0, len(records), SEGMENT_RECORDS)
        ]
        for index in range(len(self._segments) - 1, -1, -1):
            await self._store(index).async_save({"records": list(self._segments[index])})

    async def async_append(self, record: dict[str, Any], head: AuditHead) -> None:
        """Store one more record: the last segment (or a new one) and the head."""
        if not self._segments or len(self._segments[-1]) >= SEGMENT_RECORDS:
            self._segments.append([])
        index = len(self._segments) - 1
        self._segments[index].append(record)
        await self._store(index).async_save({"records": list(self._segments[index])})
        await self._head.async_save(head)

    async def async_load_head(self) -> AuditHead | None:
        return await self._head.async_load()

    async def async_remove(self) -> None:
        """Delete every segment (as far as they run) and the head."""
        index = 0
        while await self._store(index).async_load() is not None:
            await self._store(index).async_remove()
            index += 1
        await self._head.async_remove()
