"""Every action refuses bad input with a translated error, and changes nothing."""

from __future__ import annotations

import copy
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from tests.integration.conftest import FRONT, Actions, local

pytestmark = pytest.mark.usefixtures("house")

VALID: dict[str, Any] = {
    "kind": "link",
    "name": "Guest",
    "doors": [FRONT],
    "ends": "2026-12-02 10:00",
}

CREATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown door", {"doors": ["Back door"]}, "unknown_door"),
    ("no doors", {"doors": []}, "invalid_list"),
    ("door not text", {"doors": [7]}, "invalid_list"),
    ("end before start", {"starts": "2026-12-02 10:00", "ends": "2026-12-02 09:00"}, "end_before_start"),
    ("one-off without end", {"ends": None}, "end_required"),
    ("malformed datetime", {"ends": "tomorrow-ish"}, "invalid_datetime"),
    ("datetime of wrong type", {"ends": 12}, "invalid_datetime"),
    ("month 13", {"ends": "2026-13-01 10:00"}, "impossible_datetime"),
    ("30 February", {"starts": "2027-02-30 10:00", "ends": "2027-03-01 10:00"}, "impossible_datetime"),
    ("hour 25", {"ends": "2026-12-02 25:00"}, "impossible_datetime"),
    ("offset of a day", {"ends": "2026-12-02T10:00:00+25:00"}, "impossible_datetime"),
    ("malformed time", {"weekly": [{"days": ["tue"], "start": "9h", "end": "12:00"}]}, "invalid_time"),
    ("hour out of range", {"weekly": [{"days": ["tue"], "start": "25:00", "end": "26:00"}]}, "invalid_time"),
    ("unknown weekday", {"weekly": [{"days": ["tuesday"], "start": "09:00", "end": "12:00"}]}, "invalid_weekdays"),
    ("empty window", {"weekly": [{"days": ["tue"], "start": "09:00", "end": "09:00"}]}, "empty_window"),
    ("window with extra keys", {"weekly": [{"days": ["tue"], "start": "09:00", "end": "12:00", "x": 1}]}, "invalid_weekly"),
    ("weekly not a list", {"weekly": "tuesdays"}, "invalid_weekly"),
    ("oversized name", {"name": "x" * 65}, "text_too_long"),
    ("blank name", {"name": "   "}, "invalid_text"),
    ("name of wrong type", {"name": 42}, "invalid_text"),
    ("name with a right-to-left override", {"name": "Clean\u202ereg"}, "name_character"),
    ("name with an isolate", {"name": "Dog \u2067walker\u2069"}, "name_character"),
    ("name with NUL", {"name": "Guest\x00"}, "name_character"),
    ("name with a line break", {"name": "Guest\nAdmin"}, "name_character"),
    ("name with an escape sequence", {"name": "Guest\x1b[31m"}, "name_character"),
    ("unknown kind", {"kind": "master"}, "invalid_kind"),
    ("uses zero", {"uses": 0}, "invalid_count"),
    ("uses of wrong type", {"uses": "once"}, "invalid_count"),
    ("uses as boolean", {"uses": True}, "invalid_count"),
    ("camera flag of wrong type", {"camera_required": "yes"}, "invalid_boolean"),
    ("carrier on a link grant", {"carrier": "acme"}, "carrier_mismatch"),
    ("carrier grant without carrier", {"kind": "carrier"}, "carrier_mismatch"),
    ("announced_only on a link grant", {"announced_only": False}, "announced_only_not_carrier"),
    ("unknown field", {"pin": "482915"}, "unknown_field"),
    ("ten years and more", {"ends": "2037-01-01 00:00"}, "too_long"),
]  # fmt: skip


def _keyholder_storage(hass_storage: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in hass_storage.items() if k.startswith(DOMAIN)})


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES]
)
async def test_create_grant_refuses_bad_input(
    hass: HomeAssistant,
    actions: Actions,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    change: dict[str, Any],
    expected: str,
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    before = _keyholder_storage(hass_storage)
    data = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("create_grant", data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == expected
    assert _keyholder_storage(hass_storage) == before
    assert actions.home.grants == {}


UPDATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown grant", {"grant_id": "0000"}, "unknown_grant"),
    ("nothing to change", {}, "nothing_to_update"),
    ("end before start", {"ends": "2026-11-30 10:00"}, "end_before_start"),
    ("unknown door", {"doors": ["Cellar"]}, "unknown_door"),
    ("oversized name", {"name": "y" * 200}, "text_too_long"),
    ("name with an override", {"name": "Guest\u202d"}, "name_character"),
    ("announced_only on a link grant", {"announced_only": True}, "announced_only_not_carrier"),
    ("wrong type", {"uses": [1]}, "invalid_count"),
    ("unknown field", {"kind": "keypad"}, "unknown_field"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES]
)
async def test_update_grant_refuses_bad_input(
    hass: HomeAssistant,
    actions: Actions,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    change: dict[str, Any],
    expected: str,
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    grant_id = (await actions.call("create_grant", VALID))["grant_id"]
    before = _keyholder_storage(hass_storage)
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("update_grant", {"grant_id": grant_id, **change})
    assert err.value.translation_key == expected
    assert _keyholder_storage(hass_storage) == before


async def test_revoke_and_open_refuse_bad_input(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, hass_storage: dict[str, Any]
) -> None:
    before = _keyholder_storage(hass_storage)
    for name, data, expected in [
        ("revoke_grant", {"grant_id": "missing"}, "unknown_grant"),
        ("revoke_grant", {"grant_id": 5}, "invalid_text"),
        ("open_door", {"grant_id": "missing", "door": "Nowhere"}, "unknown_door"),
        ("open_door", {"grant_id": ["x"], "door": FRONT}, "invalid_text"),
        ("list_grants", {"include_ended": "sometimes"}, "invalid_boolean"),
    ]:
        with pytest.raises(ServiceValidationError) as err:
            await actions.call(name, data, response=name != "revoke_grant")
        assert err.value.translation_key == expected, (name, data)
    assert _keyholder_storage(hass_storage) == before


async def test_update_applies_a_valid_change(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    grant_id = (await actions.call("create_grant", VALID))["grant_id"]
    updated = await actions.call(
        "update_grant",
        {
            "grant_id": grant_id,
            "name": "Guest Bo",
            "weekly": [{"days": ["fri"], "start": "22:00", "end": "02:00"}],
        },
    )
    assert updated["name"] == "Guest Bo"
    assert updated["weekly"] == [
        {"days": ["fri"], "start": "22:00", "end": "24:00"},
        {"days": ["sat"], "start": "00:00", "end": "02:00"},
    ]
