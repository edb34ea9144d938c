"""The shared hostile-JSON vectors as frames of the home link, and what either side answers.

Both sides' hostile-frame tests (``tests/integration/test_link_hostile_frames.py`` for the
home, ``tests/bridge/test_home_link_hostile.py`` for the bridge) send these and expect the
same answer, as the protocol says they must.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HOSTILE_JSON: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "protocol" / "hostile-json.json").read_text()
)["cases"]
MAX_FRAME_BYTES = 64 * 1024


def vector_code(case: dict[str, Any]) -> str:
    """The ``error`` code a vector's text gets as a frame: no vector is a version-1 message."""
    text: str = case["text"]
    if len(text.encode()) > MAX_FRAME_BYTES:
        return "too_large"
    if case.get("error") not in (None, "too_large"):  # too_large there is a small limit
        return str(case["error"])
    try:
        value = json.loads(text)
    except ValueError:
        return "malformed"
    return "unsupported_version" if isinstance(value, dict) else "malformed"
