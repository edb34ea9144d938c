"""The radio-operation bench runs the real sync, so its promises are checked here too."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

from custom_components.keyholder.codes.base import LockCapabilities

BENCH = Path(__file__).resolve().parents[2] / "bench" / "keypad_radio_ops.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("keypad_radio_ops", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def test_a_restart_costs_nothing_and_every_window_costs_one_set_and_one_clear():
    bench = _bench()
    slots = range(10, 20)
    plain = await bench.scenario(12, 2, LockCapabilities(slots))
    scheduled = await bench.scenario(
        12, 2, LockCapabilities(slots, week_day_schedules=7, year_day_schedules=1)
    )
    for results in (plain, scheduled):
        assert sum(results["restart"].values()) == 0
        assert results["install"]["set code"] + results["install"]["clear code"] == 2 * len(slots)
    # Every window costs a set and a clear, on either lock; a lock that keeps schedules
    # also gets the window with each set (one-off visits went on at install already).
    assert plain["week"]["set code"] == plain["week"]["clear code"]
    assert scheduled["week"]["clear code"] == plain["week"]["clear code"]
    assert scheduled["week"]["set schedule entry"] >= scheduled["week"]["set code"] > 0
