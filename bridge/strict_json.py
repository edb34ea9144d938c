"""JSON from strangers, read with bounds: size, nesting depth, strict UTF-8, one value per key.

Python's ``json`` recurses once per nesting level (a deep enough document raises
``RecursionError``, which no caller expects), accepts lone UTF-16 surrogates
through ``\\ud800`` escapes (which later fail to encode, far from the parser),
takes ``NaN`` and ``Infinity``, and lets a later duplicate key silently win (two
readers of one document may then disagree on what it said). ``loads`` refuses
all of these up front with a ``StrictJSONError`` whose ``code`` a caller can put
in its error answer. The work it does is linear in the input, which is capped.

The home has the same module (``custom_components/keyholder/link/strict_json.py``);
both are checked against ``docs/protocol/hostile-json.json``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

MAX_DEPTH: Final = 32

# A string, to its closing quote or, if it never closes, to the end of the input: one
# pass without backtracking. What is left once strings are gone is structure.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class StrictJSONError(ValueError):
    """Input ``loads`` refuses; ``code`` is ``too_large``, ``invalid_utf8``, ``too_deep``
    or ``malformed``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def loads(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The value ``data`` holds, or ``StrictJSONError``; never any other exception."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise StrictJSONError("too_large", f"at most {max_bytes} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise StrictJSONError("invalid_utf8", "not UTF-8") from None
    else:
        text = data
        if len(text) > max_bytes:  # more characters than bytes allowed cannot fit
            raise StrictJSONError("too_large", f"at most {max_bytes} bytes")
        if _SURROGATE.search(text):  # a str holding one did not come from UTF-8
            raise StrictJSONError("invalid_utf8", "not UTF-8")
        if len(text.encode("utf-8")) > max_bytes:
            raise StrictJSONError("too_large", f"at most {max_bytes} bytes")
    _check_depth(text, max_depth)
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except StrictJSONError:
        raise
    except (ValueError, RecursionError) as err:
        raise StrictJSONError("malformed", "not JSON") from err
    _check_strings(value)
    return value


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse nesting deeper than ``max_depth`` before ``json`` recurses into it.

    Each pass removes the innermost empty pairs, so after ``max_depth`` passes only
    a deeper document still has a pair to remove. Every pass runs in C; unbalanced
    input (which ``json`` refuses anyway) is counted exactly instead.
    """
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        reduced = _EMPTY_PAIR.sub("", skeleton)
        if reduced == skeleton:
            break
        skeleton = reduced
    else:
        if _EMPTY_PAIR.search(skeleton):
            raise StrictJSONError("too_deep", f"nested at most {max_depth} deep")
        return
    depth = 0
    for bracket in skeleton:
        depth += 1 if bracket in "[{" else -1
        if depth > max_depth:
            raise StrictJSONError("too_deep", f"nested at most {max_depth} deep")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise StrictJSONError("malformed", "a key appears twice in one object")
    return result


def _no_constant(name: str) -> Any:
    raise StrictJSONError("malformed", f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates that arrived as ``\\u`` escapes (depth already bounded)."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise StrictJSONError("invalid_utf8", "a string holds a lone surrogate")
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
