"""A keypad grant's PIN, its token and the home's private key never leak.

One keypad grant lives its whole life (created, listed, updated, used remotely by a
link grant beside it, revoked) while every log line, state, attribute, bus event
and the diagnostics dump are captured; none may contain a secret.
"""

from __future__ import annotations

from datetime import timedelta
import json
import logging
from typing import Any

# The diagnostics view imports the Supervisor client lazily; importing it while
# freezegun has replaced ``datetime`` fails, so it is imported here, unfrozen.
import aiohasupervisor  # noqa: F401
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import MATCH_ALL
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.core.guest_session import b64url
from tests.integration.conftest import FRONT, Actions, advance, leaks, local, set_switch

HARNESS_LOGGER = "pytest_homeassistant_custom_component.common"


async def test_no_secret_in_logs_states_events_or_diagnostics(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []

    @callback
    def _record(event: Event) -> None:
        events.append(event)

    hass.bus.async_listen(MATCH_ALL, _record)
    signed_in_at = dt_util.utcnow()  # the test client's access token is issued now
    freezer.move_to(local(hass, "2026-12-01 08:00"))

    keypad = await actions.call(
        "create_grant",
        {
            "kind": "keypad",
            "name": "Cleaner",
            "doors": [FRONT],
            "weekly": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
        },
    )
    link = await actions.call(
        "create_grant",
        {"kind": "link", "name": "Guest", "doors": [FRONT], "ends": "2026-12-01 18:00"},
    )
    await actions.call("list_grants", {"include_ended": True})
    await actions.call("update_grant", {"grant_id": keypad["grant_id"], "name": "Cleaner Ann"})
    freezer.move_to(local(hass, "2026-12-01 09:30"))
    await actions.open(link["token"], FRONT)
    await set_switch(hass, "input_boolean.front_open", True)
    await set_switch(hass, "input_boolean.front_open", False)
    await advance(hass, freezer, timedelta(seconds=31))
    await actions.call("revoke_grant", {"grant_id": keypad["grant_id"]}, response=False)
    freezer.move_to(signed_in_at)  # back within the access token's lifetime
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, house)

    pin = keypad["pin"]
    private_key = hass_storage[f"{DOMAIN}.{house.entry_id}.home_key"]["data"]["private_key"]
    guest_keys = hass_storage[f"{DOMAIN}.{house.entry_id}.guest_keys"]["data"]
    link_secret = b64url(house.runtime_data.home.guest_keys.link_secret(link["grant_id"]))
    secrets = {"PIN": pin, "keypad token": keypad["token"], "link token": link["token"],
               "private key": private_key, "link secret": link_secret,
               "session key": guest_keys["session_key"],
               "link master": guest_keys["link_master"]}  # fmt: skip
    assert len(pin) == 6
    assert pin.isdigit()

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != HARNESS_LOGGER)
    states = json.dumps([s.as_dict() for s in hass.states.async_all()], default=str)
    fired = json.dumps([{"type": e.event_type, "data": e.data} for e in events], default=str)
    dumped = json.dumps(diagnostics, default=str)
    for name, secret in secrets.items():
        assert not leaks(secret, logged), f"{name} in a log line"
        assert not leaks(secret, states), f"{name} in a state or attribute"
        assert not leaks(secret, fired), f"{name} in an event"
        assert not leaks(secret, dumped), f"{name} in diagnostics"
    # The PIN is kept where it must be: Home Assistant's private storage, until revoked.
    assert not leaks(pin, json.dumps(hass_storage[f"{DOMAIN}.{house.entry_id}.registry"]))
    assert not leaks(pin, json.dumps(hass_storage[f"{DOMAIN}.{house.entry_id}.audit"]))
    assert keypad["grant_id"] not in hass_storage[f"{DOMAIN}.{house.entry_id}.pins"]["data"]


async def test_pin_and_token_reach_only_admins(
    hass: HomeAssistant, house: MockConfigEntry, hass_read_only_user: Any
) -> None:
    from homeassistant.core import Context  # noqa: PLC0415
    from homeassistant.exceptions import Unauthorized  # noqa: PLC0415

    data = {"kind": "keypad", "name": "Cleaner", "doors": [FRONT], "ends": "2030-01-01 00:00"}
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "create_grant", data, blocking=True, return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )  # fmt: skip
    # An automation (no user) may create the grant, but is not handed the PIN or token.
    response = await hass.services.async_call(
        DOMAIN, "create_grant", data, blocking=True, return_response=True
    )
    assert response is not None
    assert set(response) == {"grant_id"}
