"""Grants created through the actions open doors inside their windows and nowhere else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.integration.conftest import (
    CAR,
    FRONT,
    GARAGE,
    Actions,
    advance,
    local,
    set_switch,
)

pytestmark = pytest.mark.usefixtures("house")


async def _link_token(actions: Actions, name: str, door: str) -> str:
    """A link grant for one door, valid until 18:00 on the test day; its token."""
    created = await actions.call(
        "create_grant",
        {"kind": "link", "name": name, "doors": [door], "ends": "2026-12-01 18:00"},
    )
    return str(created["token"])


async def _refused(actions: Actions, token: str, door: str) -> str:
    decision = await actions.open(token, door)
    assert not decision.allowed
    return str(decision.reason.value)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_weekly_grant_opens_inside_its_window_and_not_outside(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 08:00"))  # a Tuesday
    created = await actions.call(
        "create_grant",
        {
            "kind": "link",
            "name": "Cleaner",
            "doors": [FRONT],
            "weekly": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
        },
    )
    token = created["token"]

    assert await _refused(actions, token, FRONT) == "outside_window"
    assert _state(hass, "lock.front") == "locked"

    freezer.move_to(local(hass, "2026-12-01 09:30"))
    assert (await actions.open(token, FRONT)).allowed
    assert _state(hass, "lock.front") == "unlocked"

    freezer.move_to(local(hass, "2026-12-02 09:30"))  # Wednesday
    assert await _refused(actions, token, FRONT) == "outside_window"


async def test_one_off_grant_is_refused_before_and_after_its_span(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 07:00"))
    token = (
        await actions.call(
            "create_grant",
            {
                "kind": "link",
                "name": "Plumber",
                "doors": [GARAGE],
                "starts": "2026-12-01 08:00",
                "ends": "2026-12-01 10:00",
            },
        )
    )["token"]
    assert await _refused(actions, token, GARAGE) == "not_yet_valid"
    freezer.move_to(local(hass, "2026-12-01 08:05"))
    await actions.open(token, GARAGE)
    assert _state(hass, "cover.garage") == "open"
    freezer.move_to(local(hass, "2026-12-01 10:00"))
    assert await _refused(actions, token, GARAGE) == "expired"


async def test_one_time_grant_works_once(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = (
        await actions.call(
            "create_grant",
            {
                "kind": "link",
                "name": "Parcel",
                "doors": [FRONT],
                "ends": "2026-12-01 18:00",
                "uses": 1,
            },
        )
    )["token"]
    await actions.open(token, FRONT)
    assert await _refused(actions, token, FRONT) == "uses_exhausted"


async def test_revoke_takes_effect_at_once(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await actions.call(
        "create_grant",
        {"kind": "link", "name": "Dog walker", "doors": [FRONT], "ends": "2026-12-01 18:00"},
    )
    await actions.call("revoke_grant", {"grant_id": created["grant_id"]}, response=False)
    assert await _refused(actions, created["token"], FRONT) == "revoked"
    assert _state(hass, "lock.front") == "locked"


async def test_paused_visits_refuse_every_remote_request(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _link_token(actions, "Guest", FRONT)
    home = house.runtime_data.home
    await home.async_set_accept_visits(False, context=actions.context)
    assert await _refused(actions, token, FRONT) == "visits_paused"
    await home.async_set_accept_visits(True, context=actions.context)
    await actions.open(token, FRONT)


async def test_car_door_is_refused_while_the_car_is_away(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _link_token(actions, "Parcel", CAR)
    await hass.services.async_call(
        "device_tracker", "see", {"dev_id": "car", "location_name": "not_home"}, blocking=True
    )
    assert await _refused(actions, token, CAR) == "car_not_home"
    await hass.services.async_call(
        "device_tracker", "see", {"dev_id": "car", "location_name": "home"}, blocking=True
    )
    await actions.open(token, CAR)
    assert _state(hass, "lock.car") == "unlocked"


async def test_door_outside_the_grant_is_refused(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _link_token(actions, "Guest", FRONT)
    assert await _refused(actions, token, GARAGE) == "door_not_in_grant"


async def test_forged_and_replayed_requests_are_refused(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _link_token(actions, "Guest", FRONT)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert await _refused(actions, forged, FRONT) == "bad_signature"

    nonce = "n" * 32
    assert (await actions.open(token, FRONT, nonce=nonce)).allowed
    assert (await actions.open(token, FRONT, nonce=nonce)).reason == "replayed"
    late = await actions.open(token, FRONT, expires_in=timedelta(seconds=-1))
    assert late.reason == "request_expired"
    far = await actions.open(token, FRONT, expires_in=timedelta(hours=1))
    assert far.reason == "request_expiry_too_far"
    assert (await actions.open(token, FRONT, nonce="short")).reason == "bad_signature"


async def test_admin_action_opens_for_a_grant_and_refuses_with_a_reason(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    grant_id = (
        await actions.call(
            "create_grant",
            {"kind": "link", "name": "Guest", "doors": [FRONT], "ends": "2026-12-01 18:00"},
        )
    )["grant_id"]
    result = await actions.call("open_door", {"grant_id": grant_id, "door": FRONT})
    assert result == {"allowed": True, "reason": "allowed"}
    assert _state(hass, "lock.front") == "unlocked"
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("open_door", {"grant_id": grant_id, "door": GARAGE})
    assert err.value.translation_key == "access_refused"
    assert err.value.translation_placeholders == {"reason": "door_not_in_grant"}
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("open_door", {"grant_id": "nope", "door": FRONT})
    assert err.value.translation_placeholders == {"reason": "unknown_grant"}


async def test_door_relocks_after_it_closes(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _link_token(actions, "Guest", FRONT)
    events: list[dict[str, Any]] = []
    hass.bus.async_listen("keyholder_event", callback(lambda e: events.append(dict(e.data))))
    await actions.open(token, FRONT)
    await set_switch(hass, "input_boolean.front_open", True)
    await advance(
        hass, freezer, timedelta(seconds=60)
    )  # still open: no relock while the door stands open
    assert _state(hass, "lock.front") == "unlocked"
    await set_switch(hass, "input_boolean.front_open", False)
    await advance(hass, freezer, timedelta(seconds=31))
    assert _state(hass, "lock.front") == "locked"
    assert [e["type"] for e in events] == ["granted", "opened", "closed", "relocked"]


async def test_door_left_open_is_reported(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    token = await _link_token(actions, "Guest", FRONT)
    events: list[str] = []
    hass.bus.async_listen("keyholder_event", callback(lambda e: events.append(e.data["type"])))
    await actions.open(token, FRONT)
    await set_switch(hass, "input_boolean.front_open", True)
    await advance(hass, freezer, timedelta(minutes=11))
    assert events == ["granted", "opened", "left_open"]


async def test_a_grants_shorter_longest_visit_is_the_one_watched(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    """A grant may shorten the door's longest visit (10 minutes here), never lengthen it."""
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    events: list[str] = []
    hass.bus.async_listen("keyholder_event", callback(lambda e: events.append(e.data["type"])))
    for max_visit, alerted_after in ((3, timedelta(minutes=4)), (60, timedelta(minutes=11))):
        created = await actions.call(
            "create_grant",
            {
                "kind": "link",
                "name": f"Courier {max_visit}",
                "doors": [FRONT],
                "ends": "2026-12-01 18:00",
                "max_visit": max_visit,
            },
        )
        listed = await actions.call("list_grants", {})
        summary = next(g for g in listed["grants"] if g["grant_id"] == created["grant_id"])
        assert summary["max_visit"] == max_visit
        events.clear()
        await actions.open(created["token"], FRONT)
        await set_switch(hass, "input_boolean.front_open", True)
        await advance(hass, freezer, alerted_after - timedelta(minutes=2))
        assert events == ["granted", "opened"]
        await advance(hass, freezer, timedelta(minutes=2))
        assert events == ["granted", "opened", "left_open"]
        await set_switch(hass, "input_boolean.front_open", False)
        await advance(hass, freezer, timedelta(seconds=31))
        assert _state(hass, "lock.front") == "locked"


async def test_refusals_and_grants_land_in_the_audit_log(
    hass: HomeAssistant, house: MockConfigEntry, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 09:00"))
    created = await actions.call(
        "create_grant",
        {"kind": "link", "name": "Guest", "doors": [FRONT], "ends": "2026-12-01 18:00"},
    )
    await _refused(actions, created["token"], GARAGE)
    records = house.runtime_data.home.audit.records
    assert [r["kind"] for r in records] == ["grant_created", "door_refused"]
    assert records[1]["data"]["reason"] == "door_not_in_grant"
    assert await actions.call("verify_audit", {}) == {
        "intact": True,
        "records": 2,
        "first_broken_record": None,
    }


async def test_grants_are_listed_without_secrets(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 08:00"))
    created = await actions.call(
        "create_grant",
        {
            "kind": "keypad",
            "name": "Cleaner",
            "doors": [FRONT],
            "weekly": [{"days": ["tue", "fri"], "start": "09:00", "end": "12:00"}],
        },
    )
    listed = await actions.call("list_grants", {})
    (grant,) = listed["grants"]
    assert grant["grant_id"] == created["grant_id"]
    assert grant["status"] == "active"
    assert (
        grant["next_window"] == local(hass, "2026-12-01 09:00").astimezone(dt_util.UTC).isoformat()
    )
    assert created["pin"] not in repr(listed)
    assert created["token"] not in repr(listed)
