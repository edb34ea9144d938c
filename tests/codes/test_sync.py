"""The planner: pure, so every rule is checked over many generated locks."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.keyholder.codes.base import MASKED, SlotState
from custom_components.keyholder.codes.sync import (
    Operation,
    OpKind,
    RetryPolicy,
    SlotRecord,
    failed,
    in_flight,
    pin_digest,
    plan,
    read_back_confirms,
    repaired,
    succeeded,
)

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
KEY = b"k" * 32
SLOTS = range(10, 20)

digests = st.sampled_from(["d1", "d2", "d3"])
slot_numbers = st.integers(min_value=0, max_value=40)
desired_maps = st.dictionaries(slot_numbers, st.none() | digests, max_size=30)
records = st.builds(
    SlotRecord,
    state=st.sampled_from(list(SlotState)),
    digest=st.none() | digests,
    attempts=st.integers(min_value=0, max_value=10),
    retry_at=st.none() | st.sampled_from([NOW - timedelta(seconds=1), NOW + timedelta(minutes=5)]),
)
actual_maps = st.dictionaries(slot_numbers, records, max_size=30)
ranges = st.builds(
    lambda start, size: range(start, start + size),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=1, max_value=10),
)
policies = st.builds(
    RetryPolicy,
    first_delay=st.sampled_from([timedelta(seconds=1), timedelta(seconds=30)]),
    ceiling=st.sampled_from([timedelta(minutes=1), timedelta(hours=1)]),
    max_attempts=st.integers(min_value=1, max_value=8),
    max_ops_per_run=st.integers(min_value=1, max_value=4),
)


def _converge(
    slots: range, desired: dict[int, str | None], actual: dict[int, SlotRecord], policy: RetryPolicy
) -> tuple[dict[int, SlotRecord], int]:
    """Run plans, every operation succeeding, until one has nothing to do."""
    now, ops = NOW, 0
    for _ in range(len(slots) + 1):
        step = plan(slots, desired, actual, now, policy)
        if not step.operations:
            return actual, ops
        for op in step.operations:
            actual[op.slot] = succeeded(op)
            ops += 1
        now = step.next_run or now
    raise AssertionError("the plan did not converge")


@settings(max_examples=300, deadline=None)
@given(ranges, desired_maps, actual_maps, policies)
def test_no_operation_ever_leaves_the_homeowners_range(slots, desired, actual, policy):
    step = plan(slots, desired, actual, NOW, policy)
    assert all(op.slot in slots for op in step.operations)
    assert set(step.states) == set(slots)


@settings(max_examples=300, deadline=None)
@given(ranges, desired_maps, actual_maps, policies)
def test_a_run_never_exceeds_the_rate_limit(slots, desired, actual, policy):
    step = plan(slots, desired, actual, NOW, policy)
    assert len(step.operations) <= policy.max_ops_per_run
    assert len({op.slot for op in step.operations}) == len(step.operations)


@settings(max_examples=200, deadline=None)
@given(ranges, desired_maps, policies)
def test_applying_the_plan_then_replanning_settles_with_nothing_to_do(slots, desired, policy):
    actual, ops = _converge(slots, dict(desired), {}, policy)
    assert ops == len(slots)  # every slot written or cleared exactly once
    again = plan(slots, desired, actual, NOW + timedelta(days=1), policy)
    assert again.operations == ()
    assert again.next_run is None
    for slot in slots:
        want = desired.get(slot)
        assert again.states[slot] is (SlotState.SET if want else SlotState.CLEARED)
        assert actual[slot].digest == want


@given(ranges, desired_maps)
def test_a_restart_with_codes_in_place_costs_no_radio_traffic(slots, desired):
    persisted = {
        slot: SlotRecord(SlotState.SET, want) if want else SlotRecord(SlotState.CLEARED)
        for slot in slots
        for want in [desired.get(slot)]
    }
    assert plan(slots, desired, persisted, NOW).operations == ()


@settings(max_examples=300, deadline=None)
@given(ranges, desired_maps, actual_maps, policies)
def test_a_sync_cut_short_after_writing_ahead_is_planned_again_whole(
    slots, desired, actual, policy
):
    """Stopped between the write-ahead and the lock's answer: the next run redoes it all.

    Whatever the lock got before the stop, each slot is planned again with the same
    target and attempt, so no code is left on a lock under a stale "cleared".
    """
    step = plan(slots, desired, actual, NOW, policy)
    cut_short = {**actual, **{op.slot: in_flight(op) for op in step.operations}}
    again = plan(slots, desired, cut_short, NOW, policy)
    assert set(step.operations) <= set(again.operations)
    for op in step.operations:
        assert cut_short[op.slot].state is not SlotState.CLEARED


@given(policies, st.integers(min_value=1, max_value=200))
def test_backoff_never_shrinks_and_never_passes_the_ceiling(policy, attempts):
    delay = policy.delay_after(attempts)
    assert policy.first_delay <= delay <= policy.ceiling
    assert policy.delay_after(attempts + 1) >= delay


@given(policies)
def test_a_lock_that_never_answers_ends_failed_after_bounded_attempts(policy):
    desired = {10: "d1"}
    actual = {s: SlotRecord(SlotState.CLEARED) for s in SLOTS}
    now, tries, last_delay = NOW, 0, timedelta(0)
    for _ in range(2 * policy.max_attempts + 2):  # each try: one run to fail, one to wait
        step = plan(SLOTS, desired, actual, now, policy)
        ops = [op for op in step.operations if op.slot == 10]
        if not ops:
            if step.states[10] is SlotState.FAILED:
                break
            assert actual[10].retry_at is not None
            assert actual[10].retry_at - now >= last_delay  # backoff never shrinks
            last_delay = actual[10].retry_at - now
            now = actual[10].retry_at
            continue
        tries += 1
        actual[10] = failed(ops[0], now, policy)
        for op in step.operations:
            if op.slot != 10:
                actual[op.slot] = succeeded(op)
    assert tries == policy.max_attempts
    assert actual[10].state is SlotState.FAILED
    # Failed stays put (no retry flood) until the homeowner repairs it.
    assert not any(
        op.slot == 10 for op in plan(SLOTS, desired, actual, now + timedelta(days=9)).operations
    )
    retry = plan(SLOTS, desired, {**actual, 10: repaired(actual[10])}, now, policy)
    assert Operation(OpKind.SET, 10, "d1", 1) in retry.operations


def test_a_retry_waits_for_its_time_and_shows_as_setting():
    first = plan(SLOTS, {12: "d1"}, {s: SlotRecord(SlotState.CLEARED) for s in SLOTS}, NOW)
    (op,) = first.operations
    record = failed(op, NOW)
    assert record == SlotRecord(SlotState.SETTING, "d1", 1, NOW + timedelta(seconds=30))
    later = plan(
        SLOTS, {12: "d1"}, {**{s: SlotRecord(SlotState.CLEARED) for s in SLOTS}, 12: record}, NOW
    )
    assert later.operations == ()
    assert later.states[12] is SlotState.SETTING
    assert later.next_run == NOW + timedelta(seconds=30)


def test_a_changed_code_starts_a_fresh_attempt_count():
    stuck = SlotRecord(SlotState.SETTING, "d1", 5, NOW + timedelta(hours=1))
    step = plan(range(12, 13), {12: "d2"}, {12: stuck}, NOW)
    assert step.operations == (Operation(OpKind.SET, 12, "d2", 1),)


def test_a_rejected_value_fails_at_once():
    op = Operation(OpKind.SET, 12, "d1", 1)
    assert failed(op, NOW, give_up=True).state is SlotState.FAILED
    assert (
        plan(range(12, 13), {12: "d1"}, {12: failed(op, NOW, give_up=True)}, NOW).operations == ()
    )


def test_clears_go_before_sets_and_the_rest_waits_its_turn():
    actual = {s: SlotRecord(SlotState.SET, "old") for s in SLOTS}
    step = plan(SLOTS, {10: "new", 11: "new2"}, actual, NOW, RetryPolicy(max_ops_per_run=3))
    assert [op.kind for op in step.operations] == [OpKind.CLEAR] * 3
    assert step.next_run == NOW + timedelta(seconds=5)
    assert step.states[10] is SlotState.PENDING


def test_unknown_slots_in_the_range_are_cleared_once():
    step = plan(range(10, 12), {}, {}, NOW)
    assert [op.kind for op in step.operations] == [OpKind.CLEAR, OpKind.CLEAR]


@pytest.mark.parametrize(
    ("expected", "read", "confirms"),
    [
        ("d1", "d1", True),
        ("d1", MASKED, True),  # the lock hides codes: occupied is all it can say
        ("d1", None, False),
        ("d1", "d2", False),
        (None, None, True),
        (None, MASKED, False),
    ],
)
def test_read_back_confirms(expected, read, confirms):
    assert read_back_confirms(expected, read) is confirms


def test_masked_read_back_then_replanning_does_not_rewrite():
    op = Operation(OpKind.SET, 12, "d1", 1)
    assert read_back_confirms(op.digest, MASKED)
    assert plan(range(12, 13), {12: "d1"}, {12: succeeded(op)}, NOW).operations == ()


def test_the_digest_is_keyed_and_never_the_pin():
    digest = pin_digest("482913", key=KEY)
    assert "482913" not in digest
    assert digest != pin_digest("482913", key=b"x" * 32)
    assert digest == pin_digest("482913", key=KEY)


def test_a_policy_with_no_room_is_refused():
    with pytest.raises(ValueError, match="first delay"):
        RetryPolicy(first_delay=timedelta(hours=2))
    with pytest.raises(ValueError, match="counted from 1"):
        RetryPolicy().delay_after(0)


@pytest.mark.parametrize("module", ["sync.py", "base.py", "lock_schedule.py", "slots.py"])
def test_the_planner_and_the_interface_are_pure(module):
    """No Home Assistant, no I/O, no clock: the planner can be tested and benched alone."""
    source = Path(__file__).resolve().parents[2] / "custom_components/keyholder/codes" / module
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
        )
    }
    assert not {
        n for n in imported if n.split(".")[0] in {"homeassistant", "asyncio", "socket", "time"}
    }
    calls = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not calls & {"now", "utcnow", "today", "monotonic"}
