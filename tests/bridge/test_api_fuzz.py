"""schemathesis against the OpenAPI document: no server error, no answer outside the contract.

It runs against the bridge as its own process (SQLite and PostgreSQL), from the
document the bridge serves, in both flavours of the suite. schemathesis 4 needs pytest
8.4 or newer, which Home Assistant 2025.4's test harness does not allow, so there it
runs from a virtual environment of its own (``scripts/test``).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import shutil
import sys

import pytest

# In the newest-HA environment it is installed beside pytest; the HA 2025.4 harness pins a
# pytest too old for it, so scripts/test gives it a venv of its own and names it here.
SCHEMATHESIS = os.environ.get("KEYHOLDER_SCHEMATHESIS") or shutil.which(
    "schemathesis", path=Path(sys.executable).parent
)

pytestmark = pytest.mark.skipif(
    SCHEMATHESIS is None or not Path(SCHEMATHESIS).exists(),
    reason="no schemathesis here: scripts/test provides it in both flavours",
)


async def test_no_server_error_and_every_answer_fits_the_document(
    bridge_url: str, tmp_path: Path
) -> None:
    assert SCHEMATHESIS is not None
    process = await asyncio.create_subprocess_exec(
        SCHEMATHESIS, "run", f"{bridge_url}/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_headers_conformance,response_schema_conformance",
        "--max-examples", "40", "--seed", "1", "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )  # fmt: skip
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    (tmp_path / "schemathesis.txt").write_text(report)
    assert process.returncode == 0, report[-8000:]
