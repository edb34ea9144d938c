"""Both sides read hostile JSON alike: the shared vectors, and properties against ``json``."""

from __future__ import annotations

import base64
from collections.abc import Callable
import json
from pathlib import Path
from typing import Any

from hypothesis import given, strategies as st
import pytest

from bridge import strict_json as bridge_json
from custom_components.keyholder.link import strict_json as home_json

VECTORS = json.loads(
    (Path(__file__).parents[2] / "docs" / "protocol" / "hostile-json.json").read_text()
)["cases"]
SIDES = pytest.mark.parametrize("side", [bridge_json, home_json], ids=["bridge", "home"])

type Loads = Callable[..., Any]


def _input(case: dict[str, Any]) -> str | bytes:
    if "bytes_b64" in case:
        text: str = case["bytes_b64"]
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return str(case["text"])


@SIDES
@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_each_side_reads_the_shared_vectors_alike(side: Any, case: dict[str, Any]) -> None:
    data = _input(case)
    for given_data in (data, data.encode() if isinstance(data, str) else data):
        if "error" in case:
            with pytest.raises(side.StrictJSONError) as refused:
                side.loads(given_data, max_bytes=case["max_bytes"])
            assert refused.value.code == case["error"]
        else:
            assert side.loads(given_data, max_bytes=case["max_bytes"]) == case["value"]


def test_the_two_copies_are_the_same_code() -> None:
    """The integration cannot import the bridge; the copy must not drift."""
    bridge_source = Path(bridge_json.__file__).read_text().split('"""', 2)[2]
    home_source = Path(home_json.__file__).read_text().split('"""', 2)[2]
    assert bridge_source == home_source


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@SIDES
@given(value=_JSON)
def test_any_json_document_within_the_bounds_reads_as_json_reads_it(side: Any, value: Any) -> None:
    text = json.dumps(value)
    assert side.loads(text, max_bytes=len(text.encode()) + 1) == json.loads(text)


@SIDES
@given(data=st.binary(max_size=200) | st.text(max_size=200))
def test_any_input_gives_a_value_or_a_strict_json_error_and_nothing_else(
    side: Any, data: bytes | str
) -> None:
    code = None
    try:
        side.loads(data, max_bytes=150)
    except side.StrictJSONError as err:
        code = err.code
    assert code in {None, "too_large", "invalid_utf8", "too_deep", "malformed"}
