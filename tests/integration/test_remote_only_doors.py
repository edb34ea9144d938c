"""Doors whose lock takes no keypad codes still open for links and carriers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import CONF_HOME_NAME, DOMAIN

from .conftest import FRONT, Actions, async_setup_house, door_subentry


async def test_a_slot_range_on_a_lock_keyholder_cannot_program_is_reported_not_retried(
    hass: HomeAssistant, actions: Actions, camera_file: Path
) -> None:
    await async_setup_house(hass, camera_file)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_HOME_NAME: "Home"},
        unique_id=DOMAIN,
        # A template lock: no keypad, no integration Keyholder can program codes through.
        subentries_data=[
            door_subentry(FRONT, opener="lock.front", first_keypad_slot=1, last_keypad_slot=3)
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    (door_id,) = entry.subentries
    sensor = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{door_id}_keypad_codes")
    assert sensor is not None
    state = hass.states.get(sensor)
    assert state is not None
    assert state.state == "unsupported"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"keypad_codes_unsupported_{door_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"door": FRONT, "lock": "lock.front"}

    # The door still opens remotely: a link grant works as on any remote-only door.
    now = dt_util.now()
    created = await actions.call(
        "create_grant",
        {
            "kind": "link",
            "name": "Neighbour",
            "doors": [FRONT],
            "starts": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "ends": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert (await actions.open(created["token"], FRONT)).allowed
    assert hass.states.get("lock.front").state == "unlocked"  # type: ignore[union-attr]
