"""The audit-append bench, small: both layouts on real files, each chain reloaded intact.

Behaviour only, never timings: every append lands, each layout reloads with every record
and an intact chain, and an append of the segmented layout writes less than a whole-file
one once the chain is longer than a segment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.audit_append import BenchError, check, run, table
from custom_components.keyholder.audit_store import SEGMENT_RECORDS


async def test_audit_bench_appends_to_both_layouts_and_reloads_intact_chains(
    tmp_path: Path,
) -> None:
    records = 2 * SEGMENT_RECORDS + 10  # an old file that splits into three segments
    result = await run(records, SEGMENT_RECORDS, 3, tmp_path, say=False)

    assert check(result) == []
    assert result.segments.records_after == records + SEGMENT_RECORDS
    assert result.segment_files == 4  # the appends filled the third segment, began a fourth
    assert len(result.segments.bytes_per_append) == SEGMENT_RECORDS
    assert max(result.segments.bytes_per_append) < min(result.whole_file.bytes_per_append)
    assert len(table(result)) == 7


async def test_audit_bench_refuses_an_empty_run(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="at least 1"):
        await run(0, 1, 1, tmp_path, say=False)
