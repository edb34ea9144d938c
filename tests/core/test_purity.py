"""The core stays pure: no Home Assistant, no sockets, no clock reads.

Checked on the source (``ast``) rather than at run time, so a branch no test
happens to take cannot hide an import or a call to ``datetime.now``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "custom_components" / "keyholder" / "core"
MODULES = sorted(CORE.glob("*.py"))

FORBIDDEN_IMPORTS = ("homeassistant", "socket", "asyncio", "aiohttp", "requests", "urllib")
CLOCK_READS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "monotonic_ns"),
    ("time", "perf_counter"), ("time", "localtime"), ("time", "gmtime"),
}  # fmt: skip
CLOCK_FUNCTIONS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "localtime"}


def impurities(source: str) -> list[str]:
    """Every forbidden import and clock read in ``source``, as readable findings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "time":
                found += [
                    f"from time import {a.name}" for a in node.names if a.name in CLOCK_FUNCTIONS
                ]
        else:
            modules = []
        found += [
            f"import {module}"
            for module in modules
            if module.partition(".")[0] in FORBIDDEN_IMPORTS
        ]
        if isinstance(node, ast.Attribute) and (_last_name(node.value), node.attr) in CLOCK_READS:
            found.append(f"{_last_name(node.value)}.{node.attr}")
    return found


def _last_name(node: ast.expr) -> str | None:
    """``datetime`` for both ``datetime`` and ``datetime.datetime``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def test_core_has_the_expected_modules() -> None:
    names = {path.stem for path in MODULES}
    assert {"models", "schedule", "decision", "tokens", "audit", "pins"} <= names


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_core_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "finding"),
    [
        ("import homeassistant", "import homeassistant"),
        ("from homeassistant.core import HomeAssistant", "import homeassistant.core"),
        ("import socket", "import socket"),
        ("from datetime import datetime\ndatetime.now()", "datetime.now"),
        ("import datetime\ndatetime.datetime.now(tz=None)", "datetime.now"),
        ("from datetime import datetime as dt\ndt.utcnow", None),  # aliases: see below
        ("import time\ntime.time()", "time.time"),
        ("import time\ntime.monotonic()", "time.monotonic"),
        ("from time import time", "from time import time"),
        ("from datetime import date\ndate.today()", "date.today"),
    ],
)
def test_purity_check_catches_what_it_should(source: str, finding: str | None) -> None:
    """The check itself works; an alias slips past it, so the core uses none for these."""
    found = impurities(source)
    assert (finding in found) if finding else found == []


def test_core_does_not_alias_the_clock_modules() -> None:
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    if alias.name in {"datetime", "date", "time"}:
                        assert alias.asname is None, f"{path.name}: {alias.name} imported as alias"
