"""Running the real planner and executor against a backend, as ``keypad.DoorCodes`` does."""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.util import dt as dt_util

from custom_components.keyholder.codes.base import CodeBackend
from custom_components.keyholder.codes.executor import execute
from custom_components.keyholder.codes.slots import SlotCode, code_digest
from custom_components.keyholder.codes.sync import SlotRecord, plan


async def sync_until_done(
    backend: CodeBackend,
    slots: range,
    desired: Mapping[int, SlotCode],
    records: dict[int, SlotRecord],
    *,
    key: bytes,
    runs: int = 10,
) -> dict[int, SlotRecord]:
    """Plan and execute until a plan has nothing to do now; the records."""
    digests = {slot: code_digest(code, key=key) for slot, code in desired.items()}
    for _ in range(runs):
        step = plan(slots, digests, records, dt_util.utcnow())
        if not step.operations:
            return records
        records |= await execute(
            backend,
            step,
            code_for=desired.get,
            digest=lambda code: code_digest(code, key=key),
            now=dt_util.utcnow,
        )
    return records
