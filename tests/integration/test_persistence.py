"""Grants, use counts and the audit chain survive restarts; tampering is detected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.keyholder.const import DOMAIN
from tests.integration.conftest import FRONT, Actions, async_setup_house, local

pytestmark = pytest.mark.usefixtures("house")


async def _one_time_grant_used_once(hass: HomeAssistant, actions: Actions) -> dict[str, Any]:
    created: dict[str, Any] = await actions.call(
        "create_grant",
        {"kind": "link", "name": "Parcel", "doors": [FRONT], "ends": "2026-12-01 18:00", "uses": 2},
    )
    await actions.open(created["token"], FRONT)
    return created


async def _tamper_and_restart(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    hass_storage: dict[str, Any],
    edit: Callable[[list[dict[str, Any]]], None],
) -> dict[str, Any]:
    """Use a grant, edit the audit file while Keyholder is stopped, start it, verify."""
    await _one_time_grant_used_once(hass, actions)
    assert await hass.config_entries.async_unload(house.entry_id)
    edit(hass_storage[f"{DOMAIN}.{house.entry_id}.audit"]["data"]["records"])
    assert await hass.config_entries.async_setup(house.entry_id)
    await hass.async_block_till_done()
    result: dict[str, Any] = await actions.call("verify_audit", {})
    return result


async def test_reload_keeps_grants_counts_and_chain(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await _one_time_grant_used_once(hass, actions)
    before = house.runtime_data.home.audit.records

    assert await hass.config_entries.async_reload(house.entry_id)
    await hass.async_block_till_done()

    home = house.runtime_data.home
    assert home.grants[created["grant_id"]].uses == 1
    assert home.audit.records == before
    assert home.audit.check.intact
    assert (await actions.open(created["token"], FRONT)).allowed  # the second of two uses
    assert (await actions.open(created["token"], FRONT)).reason == "uses_exhausted"


async def test_a_fresh_home_assistant_on_the_same_storage_keeps_everything(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    tmp_path: Path,
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await _one_time_grant_used_once(hass, actions)
    records = house.runtime_data.home.audit.records
    public_key = house.runtime_data.home.home_key.public_key_b64
    assert await hass.config_entries.async_unload(house.entry_id)

    async with async_test_home_assistant(config_dir=str(tmp_path)) as fresh:
        fresh.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # as enable_custom_integrations does
        await async_setup_house(fresh, tmp_path / "porch.jpg")
        entry = MockConfigEntry(
            domain=DOMAIN,
            entry_id=house.entry_id,
            title=house.title,
            data=dict(house.data),
            unique_id=DOMAIN,
            subentries_data=[
                {
                    "data": dict(s.data),
                    "subentry_id": s.subentry_id,
                    "subentry_type": s.subentry_type,
                    "title": s.title,
                    "unique_id": s.unique_id,
                }
                for s in house.subentries.values()
            ],
        )
        entry.add_to_hass(fresh)
        assert await fresh.config_entries.async_setup(entry.entry_id)
        await fresh.async_block_till_done()
        home = entry.runtime_data.home
        assert home.home_key.public_key_b64 == public_key
        assert home.grants[created["grant_id"]].uses == 1
        assert home.audit.records == records
        assert home.audit.check.intact
        decision = await home.async_open_door(
            token=created["token"],
            door_id=next(iter(home.doors)),
            nonce="fresh-instance-nonce-0001",
            expires_at=local(fresh, "2026-12-01 09:01"),
            context=Context(),
        )
        assert decision.allowed
        assert await fresh.config_entries.async_unload(entry.entry_id)
        await fresh.async_stop(force=True)


async def test_edited_audit_file_is_detected_as_a_broken_chain(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))

    def rewrite_history(records: list[dict[str, Any]]) -> None:
        records[1]["data"]["grant"] = "Someone else"

    result = await _tamper_and_restart(hass, house, actions, hass_storage, rewrite_history)
    assert result["intact"] is False
    assert result["first_broken_record"] == 1
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"audit_chain_broken_{house.entry_id}")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.CRITICAL
    assert house.runtime_data.home.audit.records[-1]["kind"] == "audit_chain_broken"


async def test_deleted_audit_record_is_detected(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))

    def delete_first(records: list[dict[str, Any]]) -> None:
        del records[0]

    result = await _tamper_and_restart(hass, house, actions, hass_storage, delete_first)
    assert result["intact"] is False


async def test_records_cut_off_the_end_are_detected(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    lengths: list[int] = []

    def cut_the_last(records: list[dict[str, Any]]) -> None:
        lengths.append(len(records))
        del records[-1]  # the chain that remains is still internally consistent

    result = await _tamper_and_restart(hass, house, actions, hass_storage, cut_the_last)
    assert result["intact"] is False
    (length,) = lengths
    assert result["first_broken_record"] == length - 1


async def test_a_registry_file_from_before_max_visit_is_brought_forward(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Version 1.1 files have no ``max_visit_minutes``: their grants get the door's.

    Nor ``announced_only`` (1.3): a link grant gets it off.
    """
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await _one_time_grant_used_once(hass, actions)
    shortened = await actions.call(
        "create_grant",
        {"kind": "link", "name": "Quick", "doors": [FRONT], "ends": "2026-12-01 18:00"}
        | {"max_visit": 5},
    )
    assert await hass.config_entries.async_unload(house.entry_id)
    key = f"{DOMAIN}.{house.entry_id}.registry"
    stored = hass_storage[key]
    assert (stored["version"], stored["minor_version"]) == (1, 3)
    saved = {g["id"]: g for g in stored["data"]["grants"]}
    assert saved[shortened["grant_id"]]["max_visit_minutes"] == 5

    later = {"max_visit_minutes", "announced_only"}
    old = {g["id"]: {k: v for k, v in g.items() if k not in later} for g in saved.values()}
    hass_storage[key] = stored | {
        "minor_version": 1,
        "data": stored["data"] | {"grants": list(old.values())},
    }
    assert await hass.config_entries.async_setup(house.entry_id)
    await hass.async_block_till_done()
    home = house.runtime_data.home
    assert home.grants[created["grant_id"]].max_visit is None
    assert home.grants[created["grant_id"]].uses == 1
    assert not home.grants[created["grant_id"]].announced_only
    assert (await actions.open(created["token"], FRONT)).allowed


async def test_a_carrier_grant_from_before_announced_only_admits_announced_deliveries_only(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A 1.2 registry: carrier grants come forward with the policy on, others with it off.

    Before 1.3 a carrier opened whenever its grant did, declined delivery or not; the
    safe reading of an old carrier grant is the new default.
    """
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    carrier = await actions.grant_carrier_now("acme-parcel", name="Acme", announced_only=False)
    link = await actions.call(
        "create_grant", {"kind": "link", "name": "Guest", "doors": [FRONT], "ends": "2026-12-02"}
    )
    assert await hass.config_entries.async_unload(house.entry_id)
    key = f"{DOMAIN}.{house.entry_id}.registry"
    stored = hass_storage[key]
    grants = [
        {k: v for k, v in g.items() if k != "announced_only"} for g in stored["data"]["grants"]
    ]
    hass_storage[key] = stored | {"minor_version": 2, "data": stored["data"] | {"grants": grants}}
    assert await hass.config_entries.async_setup(house.entry_id)
    await hass.async_block_till_done()
    home = house.runtime_data.home
    assert home.grants[carrier["grant_id"]].announced_only
    assert not home.grants[link["grant_id"]].announced_only
