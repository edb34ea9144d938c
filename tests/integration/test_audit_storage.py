"""The audit chain in segments: an append rewrites one small file, old files are split.

Home Assistant's storage is the test harness's in-memory one (``hass_storage``): what
Keyholder saves lands there as the JSON a file would hold, so the tests see which
files an append rewrote (a saved file is a new object there).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.audit_store import SEGMENT_RECORDS
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.core.audit import AuditRecord, append_record

START = datetime(2026, 1, 1, tzinfo=UTC)


def _old_layout(hass_storage: dict[str, Any], entry_id: str, length: int) -> list[dict[str, Any]]:
    """A whole chain in one file and its head, as Keyholder stored it before segments."""
    tail: AuditRecord | None = None
    records = []
    for index in range(length):
        tail = append_record(
            tail, kind="door_granted", data={"n": index}, at=START + timedelta(minutes=index)
        )
        records.append(tail.to_dict())
    assert tail is not None
    key = f"{DOMAIN}.{entry_id}.audit"
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": {"records": records}}
    hass_storage[f"{key}_head"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{key}_head",
        "data": {"length": length, "hash": tail.hash},
    }
    return records


def _segments(hass_storage: dict[str, Any], entry_id: str) -> list[list[dict[str, Any]]]:
    base = f"{DOMAIN}.{entry_id}.audit"
    found = []
    while (key := base if not found else f"{base}.{len(found)}") in hass_storage:
        found.append(hass_storage[key]["data"]["records"])
    return found


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    if entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries(DOMAIN)}:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_an_old_whole_chain_file_is_split_into_segments_and_stays_intact(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    records = _old_layout(hass_storage, config_entry.entry_id, 2 * SEGMENT_RECORDS + 88)
    await _set_up(hass, config_entry)

    audit = config_entry.runtime_data.home.audit
    assert audit.check.intact
    assert audit.records == records
    segments = _segments(hass_storage, config_entry.entry_id)
    assert [len(s) for s in segments] == [SEGMENT_RECORDS, SEGMENT_RECORDS, 88]
    assert [r for s in segments for r in s] == records

    # Loaded again from the segments alone: the same chain, still intact.
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.runtime_data.home.audit.records == records
    assert config_entry.runtime_data.home.audit.check.intact


async def test_an_append_rewrites_only_the_last_segment_and_the_head(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    _old_layout(hass_storage, config_entry.entry_id, SEGMENT_RECORDS + 5)
    await _set_up(hass, config_entry)
    base = f"{DOMAIN}.{config_entry.entry_id}.audit"
    first, last, head = hass_storage[base], hass_storage[f"{base}.1"], hass_storage[f"{base}_head"]

    audit = config_entry.runtime_data.home.audit
    await audit.async_append("accept_visits_changed", {"accept": False}, at=START)
    await hass.async_block_till_done()

    assert hass_storage[base] is first, "a full segment is never written again"
    assert hass_storage[f"{base}.1"] is not last
    assert len(hass_storage[f"{base}.1"]["data"]["records"]) == 6
    assert hass_storage[f"{base}_head"] is not head
    assert hass_storage[f"{base}_head"]["data"]["length"] == SEGMENT_RECORDS + 6


async def test_a_segment_deleted_from_the_middle_breaks_the_chain_where_it_was(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    _old_layout(hass_storage, config_entry.entry_id, 2 * SEGMENT_RECORDS + 3)
    await _set_up(hass, config_entry)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    del hass_storage[f"{DOMAIN}.{config_entry.entry_id}.audit.1"]

    await _set_up(hass, config_entry)
    check = config_entry.runtime_data.home.audit.check
    assert not check.intact
    assert check.first_broken_seq == SEGMENT_RECORDS  # the head knew it was longer


async def test_removing_the_home_deletes_every_audit_segment(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    _old_layout(hass_storage, config_entry.entry_id, 2 * SEGMENT_RECORDS + 3)
    await _set_up(hass, config_entry)
    assert len(_segments(hass_storage, config_entry.entry_id)) == 3

    assert (await hass.config_entries.async_remove(config_entry.entry_id))[
        "require_restart"
    ] is False
    await hass.async_block_till_done()
    assert not [
        key for key in hass_storage if key.startswith(f"{DOMAIN}.{config_entry.entry_id}.audit")
    ]
