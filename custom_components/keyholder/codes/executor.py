"""Running one lock's plan against its backend: the only place a PIN meets the radio.

The planner works on digests; here the code for a slot (its PIN from the vault,
and the lock schedule) is fetched through ``code_for`` just before it is written,
and checked against the digest the plan was made for, so a grant changed or
revoked in between is not written from a stale plan. Operations run one at a
time, in the plan's order; a failure is recorded with its backoff and the next
operation still runs. Nothing here
touches another lock: each lock has its own plan, backend and records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .base import CodeBackend, CodeError
from .slots import SlotCode
from .sync import DEFAULT_POLICY, OpKind, Plan, RetryPolicy, SlotRecord, failed, succeeded


async def execute(
    backend: CodeBackend,
    plan: Plan,
    *,
    code_for: Callable[[int], SlotCode | None],
    digest: Callable[[SlotCode], str],
    now: Callable[[], datetime],
    policy: RetryPolicy = DEFAULT_POLICY,
) -> dict[int, SlotRecord]:
    """Run ``plan``'s operations; the new record of each slot that was operated on.

    A set whose code no longer matches the plan's digest is skipped (no record):
    the next plan sees the new wish. A rejection is final (``FAILED`` at once, a
    repair); a timeout or an unavailable lock backs off.
    """
    records: dict[int, SlotRecord] = {}
    for op in plan.operations:
        try:
            if op.kind is OpKind.SET:
                code = code_for(op.slot)
                if code is None or digest(code) != op.digest:
                    continue
                await backend.set_code(op.slot, code.pin, code.schedule)
            else:
                await backend.clear_code(op.slot)
        except CodeError as err:
            records[op.slot] = failed(op, now(), policy, give_up=not err.retryable)
        else:
            records[op.slot] = succeeded(op)
    return records
