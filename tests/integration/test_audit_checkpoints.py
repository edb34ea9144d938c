"""Signed audit checkpoints with a real bridge: a rewritten and rehashed log is reported broken.

The attacker here can write Home Assistant's storage folder while Keyholder is stopped:
they rewrite the audit log, recompute every hash and the head file, so the chain on disk
verifies on its own. The bridge (the installed ``keyholder-bridge`` as its own process,
SQLite and PostgreSQL) holds the home's signed checkpoint from before; at the next start
the home fetches it, and the rewrite shows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.keyholder.audit_checkpoints import INTERVAL
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.core.audit import AuditRecord, append_record
from custom_components.keyholder.core.checkpoint import Checkpoint, SignedCheckpoint
from custom_components.keyholder.home_key import HomeKey
from custom_components.keyholder.link import wire

from ..bridge.process import BridgeProcess
from .bridge_fixtures import until
from .conftest import FRONT, Actions, set_switch


async def _latest(bridge: BridgeProcess, entry: MockConfigEntry) -> dict[str, Any] | None:
    url = f"{bridge.url}/api/v1/homes/{entry.options['bridge_home_id']}/audit/checkpoint"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        if resp.status == 404:
            return None
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return dict(body["checkpoint"])


async def _until_checkpointed(bridge: BridgeProcess, entry: MockConfigEntry) -> int:
    """Wait until the bridge's latest checkpoint covers the whole chain; its length."""
    for _ in range(400):
        length = entry.runtime_data.home.audit.check.length
        latest = await _latest(bridge, entry)
        if latest is not None and latest["length"] == length:
            return length
        await asyncio.sleep(0.05)
    pytest.fail("the bridge never held a checkpoint of the whole chain")


async def _first_checkpointed_record(bridge: BridgeProcess, entry: MockConfigEntry) -> int:
    """The last record of the shortest checkpoint: where a rewrite of record 0 first shows."""
    url = f"{bridge.url}/api/v1/homes/{entry.options['bridge_home_id']}/audit/checkpoints"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        first: int = (await resp.json())["checkpoints"][0]["length"]
    return first - 1


async def _grant(actions: Actions, name: str) -> dict[str, Any]:
    now = dt_util.now()
    created: dict[str, Any] = await actions.call(
        "create_grant",
        {
            "kind": "link",
            "name": name,
            "doors": [FRONT],
            "starts": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "ends": (now + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    return created


async def _a_visit(hass: HomeAssistant, actions: Actions) -> None:
    """A guest opens the front door, walks through, closes it; the home relocks: a visit's end."""
    created = await _grant(actions, "Cleaner")
    assert (await actions.open(created["token"], FRONT)).allowed
    await set_switch(hass, "input_boolean.front_open", True)
    await set_switch(hass, "input_boolean.front_open", False)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await until(lambda: hass.states.get("lock.front").state == "locked", "the relock")  # type: ignore[union-attr]


def _rewrite_and_rehash(
    hass_storage: dict[str, Any], entry_id: str, *, extend: bool = False
) -> AuditRecord:
    """Change the first record, recompute every hash after it and the head; the new tail.

    ``extend`` adds a record at the end, so the rewritten chain is longer than before.
    """
    records = hass_storage[f"{DOMAIN}.{entry_id}.audit"]["data"]["records"]
    tail: AuditRecord | None = None
    rewritten = []
    for position, raw in enumerate(records):
        record = AuditRecord.from_dict(raw)
        data = dict(record.data) | ({"grant": "Nobody"} if position == 0 else {})
        tail = append_record(tail, kind=record.kind, data=data, at=record.at)
        rewritten.append(tail.to_dict())
    assert tail is not None
    if extend:
        tail = append_record(tail, kind="grant_revoked", data={"grant": "Nobody"}, at=tail.at)
        rewritten.append(tail.to_dict())
    records[:] = rewritten
    hass_storage[f"{DOMAIN}.{entry_id}.audit_head"]["data"] = {
        "length": len(rewritten),
        "hash": tail.hash,
    }
    return tail


async def test_a_rewritten_and_rehashed_log_is_reported_broken_against_the_signed_checkpoint(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    hass_storage: dict[str, Any],
) -> None:
    await _a_visit(hass, actions)  # the visit's end sends a checkpoint
    home = linked_house.runtime_data.home
    pinned = await _until_checkpointed(bridge, linked_house)
    first_pinned = await _first_checkpointed_record(bridge, linked_house)
    checkpoint = await _latest(bridge, linked_house)
    assert checkpoint is not None
    assert checkpoint["last_hash"] == home.audit.records[pinned - 1]["hash"]

    assert await hass.config_entries.async_unload(linked_house.entry_id)
    length = _rewrite_and_rehash(hass_storage, linked_house.entry_id).seq + 1
    assert await hass.config_entries.async_setup(linked_house.entry_id)
    await hass.async_block_till_done()
    home = linked_house.runtime_data.home
    assert home.audit.records[0]["data"]["grant"] == "Nobody"  # the rewrite is what loaded

    await until(lambda: not home.audit.check.intact, "the checkpoint to be compared")
    result = await actions.call("verify_audit", {})
    assert result["intact"] is False
    assert result["first_broken_record"] == first_pinned
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"audit_chain_broken_{linked_house.entry_id}"
    )
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.CRITICAL
    assert issue.translation_key == "audit_chain_rewritten"
    assert issue.translation_placeholders == {"record": str(first_pinned)}
    broken = home.audit.records[length]
    assert (broken["kind"], broken["data"]["found_in"]) == ("audit_chain_broken", "checkpoint")

    # The home does not move the bridge's checkpoint onto the rewritten chain.
    async_fire_time_changed(hass, dt_util.utcnow() + INTERVAL + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert await _latest(bridge, linked_house) == checkpoint


async def test_an_untouched_log_stays_intact_and_keeps_being_checkpointed(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
) -> None:
    await _a_visit(hass, actions)
    home = linked_house.runtime_data.home
    await _until_checkpointed(bridge, linked_house)

    assert await hass.config_entries.async_reload(linked_house.entry_id)
    await hass.async_block_till_done()
    home = linked_house.runtime_data.home
    await until(lambda: home.audit.checkpoint is not None, "the checkpoint to be compared")
    assert home.audit.check.intact
    await _grant(actions, "Dog walker")
    # Something was appended: within the interval the chain's new head goes to the bridge.
    async_fire_time_changed(hass, dt_util.utcnow() + INTERVAL + timedelta(seconds=1))
    await _until_checkpointed(bridge, linked_house)
    assert (await actions.call("verify_audit", {}))["intact"] is True


async def _send_as_the_home(
    bridge: BridgeProcess, home_id: str, key: HomeKey, checkpoint: Checkpoint
) -> None:
    """Sign in to the bridge with the home's key and send a checkpoint, as a thief would."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{bridge.url}/api/v1/homes/link") as socket,
    ):
        _, challenge = wire.decode(await socket.receive_str())
        nonce = wire.from_b64url(challenge["nonce"], 32)
        signature = key.sign(wire.challenge_bytes(home_id, nonce))
        await socket.send_str(
            wire.encode("hello", home_id=home_id, signature=wire.b64url(signature))
        )
        assert wire.decode(await socket.receive_str())[0] == "welcome"
        signed = SignedCheckpoint(checkpoint, key.sign(checkpoint.signed_bytes()))
        await socket.send_str(wire.encode("event", kind="audit.checkpoint", body=signed.to_wire()))
        await socket.send_str(wire.encode("event", kind="barrier", body={}))
        _, error = wire.decode(await socket.receive_str())
        assert error["code"] == "unknown_event", "the checkpoint itself was taken"


async def test_a_longer_checkpoint_signed_with_the_stolen_key_does_not_hide_the_rewrite(
    hass: HomeAssistant,
    linked_house: MockConfigEntry,
    actions: Actions,
    bridge: BridgeProcess,
    hass_storage: dict[str, Any],
) -> None:
    """The home's key is in the same folder: the attacker signs a checkpoint for the
    rewritten, longer log and sends it as the home. The bridge cannot tell it from the
    home's own and takes it as the latest; the earlier one still shows the rewrite."""
    await _a_visit(hass, actions)
    home = linked_house.runtime_data.home
    await _until_checkpointed(bridge, linked_house)
    first_pinned = await _first_checkpointed_record(bridge, linked_house)
    key, home_id = home.home_key, linked_house.options["bridge_home_id"]

    assert await hass.config_entries.async_unload(linked_house.entry_id)
    tail = _rewrite_and_rehash(hass_storage, linked_house.entry_id, extend=True)
    forged = Checkpoint(home_id, tail.seq + 1, tail.hash, int(dt_util.utcnow().timestamp()))
    await _send_as_the_home(bridge, home_id, key, forged)
    assert (await _latest(bridge, linked_house) or {}).get("length") == tail.seq + 1

    assert await hass.config_entries.async_setup(linked_house.entry_id)
    await hass.async_block_till_done()
    home = linked_house.runtime_data.home
    await until(lambda: not home.audit.check.intact, "the checkpoints to be compared")
    result = await actions.call("verify_audit", {})
    assert (result["intact"], result["first_broken_record"]) == (False, first_pinned)
