"""A Keyholder action refused for bad input is a 400 over REST and a translated error
over the websocket, never a 500 with a traceback; a failure that is not the caller's
(a lock that does not open, a bridge out of reach) stays a Home Assistant error.

Home Assistant's REST API (2025.4 to the newest release) answers 400 only for a
``vol.Invalid`` (or a missing action) and 500 for anything else an action raises,
``ServiceValidationError`` included; the websocket API reports a ``vol.Invalid`` as
``invalid_format`` with the error's text. Keyholder's input errors are both.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.keyholder.action_input import invalid
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.validation import vol
from tests.integration.conftest import FRONT, Actions

pytestmark = pytest.mark.usefixtures("house")

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("blank name", {"kind": "link", "name": " ", "doors": [FRONT], "ends": "2026-12-31 10:00"},
     "name must be non-empty text"),
    ("month 13", {"kind": "link", "name": "Guest", "doors": [FRONT], "ends": "2026-13-01 10:00"},
     "ends names a date or time that does not exist"),
    ("unknown door", {"kind": "link", "name": "Guest", "doors": ["Attic"], "ends": "2026-12-31"},
     "Attic"),
    ("unknown field", {"kind": "link", "name": "Guest", "doors": [FRONT], "pin": "123456"},
     "Unknown field: pin"),
]  # fmt: skip


@pytest.fixture
async def api(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "api", {})


@pytest.mark.usefixtures("api")
@pytest.mark.parametrize(("data", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
async def test_bad_input_over_rest_is_a_400_and_logs_no_traceback(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    actions: Actions,
    data: dict[str, Any],
    message: str,
) -> None:
    client = await hass_client()
    with caplog.at_level(logging.DEBUG):
        resp = await client.post(f"/api/services/{DOMAIN}/create_grant", json=data)
        body = await resp.text()
    assert resp.status == 400, body
    assert "Traceback" not in body
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in errors if r.exc_info], [r.getMessage() for r in errors]
    assert actions.home.grants == {}


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
async def test_bad_input_over_the_websocket_carries_the_translated_message(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    actions: Actions,
    data: dict[str, Any],
    message: str,
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "call_service", "domain": DOMAIN, "service": "create_grant",
         "service_data": data, "return_response": True}
    )  # fmt: skip
    reply = await client.receive_json()
    assert reply["success"] is False
    assert message in reply["error"]["message"]
    assert actions.home.grants == {}


async def test_the_error_is_still_a_translated_service_validation_error(
    hass: HomeAssistant, actions: Actions
) -> None:
    """Flows, automations and tests that catch ServiceValidationError keep working."""
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("create_grant", {"kind": "link", "name": " ", "doors": [FRONT]})
    assert (err.value.translation_domain, err.value.translation_key) == (DOMAIN, "invalid_text")
    assert str(err.value) == "name must be non-empty text"


async def test_a_lock_that_does_not_open_is_a_failure_not_the_callers_mistake(
    hass: HomeAssistant, actions: Actions
) -> None:
    ends = (dt_util.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    created = await actions.call(
        "create_grant", {"kind": "link", "name": "Guest", "doors": [FRONT], "ends": ends}
    )
    hass.states.async_set("lock.front", "unavailable")  # its radio dropped off, say
    with pytest.raises(HomeAssistantError) as err:
        await actions.call("open_door", {"grant_id": created["grant_id"], "door": FRONT})
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_placeholders == {"reason": "door_unavailable"}


def test_the_error_is_an_invalid_of_the_schema_library_in_use() -> None:
    """voluptuous on 2025.x, probatio (whose Invalid has a read-only translation_key) later."""
    err = invalid("invalid_text", field="name")
    assert isinstance(err, vol.Invalid)
    assert isinstance(err, ServiceValidationError)
    assert (err.translation_key, err.translation_placeholders) == (
        "invalid_text",
        {"field": "name"},
    )
