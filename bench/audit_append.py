"""Measure what one audit append costs once the log is long: segments against one whole file.

Both layouts are written through Home Assistant's own ``Store`` (atomic writes: a temporary
file, fsync, rename) on a real ``HomeAssistant`` object over a temporary config folder,
in the same run, on the same chain:

- **whole file** (Keyholder up to this change): every record in ``keyholder.<entry>.audit``;
  an append saves all of them again, then the head;
- **segments** (``custom_components/keyholder/audit_store.py``): records in files of
  ``SEGMENT_RECORDS``; an append saves the last segment and the head.

The chain is N real records (``core.audit.append_record``, data shaped like the home's
door events). It is first written in the whole-file layout; the segmented store then loads
that file, which is the migration an existing install goes through, and is timed too.

Figures per layout at N records: milliseconds per append (mean and the slowest), and bytes
written per append (the sizes of the files the append rewrote: what the disk is asked to
write, not counting the filesystem's own blocks); and the time to load the segmented log,
as every start-up does. The whole-file layout is timed over fewer
appends (each one rewrites tens of megabytes at 100,000 records); the segmented layout
over more, so that its mean spans a segment filling up and a new one starting.

After the appends each layout is loaded again from disk and its chain verified, so the
figures are for storage that still holds an intact chain.

Run: ``.venv/ha-2025.4/bin/python bench/audit_append.py [--records N] [--appends M]
[--whole-file-appends K]`` (default 100,000 records, 1,000 and 20 appends).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.keyholder.audit_store import SEGMENT_RECORDS, AuditFiles
from custom_components.keyholder.core.audit import AuditRecord, append_record, verify_chain

ENTRY = "bench"
START = datetime(2026, 1, 1, tzinfo=UTC)


class BenchError(Exception):
    """Arguments the bench cannot measure anything with."""


@dataclass
class Layout:
    """One layout's figures."""

    name: str
    appends: int
    ms_per_append: list[float] = field(default_factory=list)
    bytes_per_append: list[int] = field(default_factory=list)
    intact_after: bool = False
    records_after: int = 0

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.ms_per_append)

    @property
    def max_ms(self) -> float:
        return max(self.ms_per_append)

    @property
    def mean_bytes(self) -> float:
        return statistics.fmean(self.bytes_per_append)


@dataclass
class Result:
    records: int
    whole_file: Layout
    segments: Layout
    migration_seconds: float
    segment_files: int
    reload_seconds: float


def _record(tail: AuditRecord | None, index: int) -> AuditRecord:
    data: dict[str, Any] = {
        "user_id": "9f2c4b7e1a3d4c5b8e6f0a1b2c3d4e5f",
        "grant_id": f"01JGRANT{index % 97:06d}",
        "grant": "Cleaner",
        "door_id": "01JDOORFRONT0000000000000",
    }
    if index % 3 == 0:
        data["reason"] = "allowed"
    kind = ("door_granted", "door_opened", "door_closed", "door_relocked")[index % 4]
    return append_record(tail, kind=kind, data=data, at=START + timedelta(seconds=index))


def _size(hass: HomeAssistant, key: str) -> int:
    return Path(hass.config.path(".storage", key)).stat().st_size


async def run(
    records: int, appends: int, whole_file_appends: int, workdir: Path, *, say: bool = True
) -> Result:
    """Build the chain, time both layouts' appends, reload and verify both."""
    if records < 1 or appends < 1 or whole_file_appends < 1:
        raise BenchError("records and appends must each be at least 1")
    hass = HomeAssistant(str(workdir))
    try:
        return await _run(hass, records, appends, whole_file_appends, say)
    finally:
        await hass.async_stop(force=True)


async def _run(
    hass: HomeAssistant, records: int, appends: int, whole_file_appends: int, say: bool
) -> Result:
    chain: list[dict[str, Any]] = []
    tail: AuditRecord | None = None
    for index in range(records):
        tail = _record(tail, index)
        chain.append(tail.to_dict())
    if tail is None:
        raise BenchError("no chain was built")
    if say:
        print(f"built a chain of {records:,} records")

    # The whole-file layout, as Keyholder stored the chain before segments.
    old_key, old_head_key = f"keyholder.{ENTRY}.old.audit", f"keyholder.{ENTRY}.old.audit_head"
    old: Store[dict[str, Any]] = Store(hass, 1, old_key, atomic_writes=True)
    old_head: Store[dict[str, Any]] = Store(hass, 1, old_head_key, atomic_writes=True)
    whole = Layout("whole file", whole_file_appends)
    old_records, old_tail = list(chain), tail
    await old.async_save({"records": old_records})
    for index in range(records, records + whole_file_appends):
        old_tail = _record(old_tail, index)
        started = time.perf_counter()
        old_records.append(old_tail.to_dict())
        await old.async_save({"records": old_records})
        await old_head.async_save({"length": len(old_records), "hash": old_tail.hash})
        whole.ms_per_append.append((time.perf_counter() - started) * 1000)
        whole.bytes_per_append.append(_size(hass, old_key) + _size(hass, old_head_key))
    reloaded = (await Store[dict[str, Any]](hass, 1, old_key).async_load() or {})["records"]
    whole.records_after, whole.intact_after = len(reloaded), verify_chain(reloaded).intact
    if say:
        print(f"whole file: {whole.mean_ms:,.1f} ms per append")

    # The segmented layout, starting from the whole-file layout as an upgrade does.
    seed: Store[dict[str, Any]] = Store(hass, 1, f"keyholder.{ENTRY}.audit", atomic_writes=True)
    await seed.async_save({"records": chain})
    files = AuditFiles(hass, ENTRY)
    started = time.perf_counter()
    loaded = await files.async_load()
    migration = time.perf_counter() - started
    if len(loaded) != records:
        raise BenchError(f"the segmented store loaded {len(loaded)} of {records} records")
    segments = Layout("segments", appends)
    new_tail: AuditRecord = tail
    for index in range(records, records + appends):
        new_tail = _record(new_tail, index)
        length = index + 1
        started = time.perf_counter()
        await files.async_append(new_tail.to_dict(), {"length": length, "hash": new_tail.hash})
        segments.ms_per_append.append((time.perf_counter() - started) * 1000)
        last = (length - 1) // SEGMENT_RECORDS
        segment_key = f"keyholder.{ENTRY}.audit" + (f".{last}" if last else "")
        written = _size(hass, segment_key) + _size(hass, f"keyholder.{ENTRY}.audit_head")
        segments.bytes_per_append.append(written)
    started = time.perf_counter()
    reread = await AuditFiles(hass, ENTRY).async_load()
    reload = time.perf_counter() - started
    segments.records_after, segments.intact_after = len(reread), verify_chain(reread).intact
    segment_files = -(-len(reread) // SEGMENT_RECORDS)
    return Result(records, whole, segments, migration, segment_files, reload)


def table(result: Result) -> list[str]:
    """The figures as the README quotes them."""
    lines = [
        f"audit append at {result.records:,} records "
        f"(segments of {SEGMENT_RECORDS} records, {result.segment_files:,} files)",
        f"{'layout':<12} {'appends':>8} {'ms/append':>10} {'slowest ms':>11} {'bytes/append':>13}",
    ]
    for layout in (result.whole_file, result.segments):
        lines.append(
            f"{layout.name:<12} {layout.appends:>8,} {layout.mean_ms:>10,.2f} "
            f"{layout.max_ms:>11,.2f} {layout.mean_bytes:>13,.0f}"
        )
    lines.append(
        f"whole file / segments: {result.whole_file.mean_ms / result.segments.mean_ms:,.0f}x the "
        f"time, {result.whole_file.mean_bytes / result.segments.mean_bytes:,.0f}x the bytes"
    )
    lines.append(f"loading (and splitting) the whole-file log: {result.migration_seconds:,.2f} s")
    lines.append(f"loading the segmented log: {result.reload_seconds:,.2f} s")
    return lines


def check(result: Result) -> list[str]:
    """What would make the figures meaningless: a chain that did not survive."""
    problems = []
    for layout, expected in (
        (result.whole_file, result.records + result.whole_file.appends),
        (result.segments, result.records + result.segments.appends),
    ):
        if not layout.intact_after or layout.records_after != expected:
            problems.append(f"{layout.name}: the chain did not reload intact with every record")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=1_000)
    parser.add_argument("--whole-file-appends", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="keyholder-audit-bench-") as workdir:
        result = asyncio.run(
            run(args.records, args.appends, args.whole_file_appends, Path(workdir))
        )
    print("\n".join(table(result)))
    problems = check(result)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
