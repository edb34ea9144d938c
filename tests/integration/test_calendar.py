"""The Grants calendar shows grants' windows and creates, changes and revokes grants."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.components.calendar.const import DATA_COMPONENT
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.keyholder.const import DOMAIN
from tests.integration.conftest import FRONT, GARAGE, Actions, local

pytestmark = pytest.mark.usefixtures("house")

CALENDAR = "calendar.home_grants"
CLEANER = {
    "kind": "link",
    "name": "Cleaner",
    "doors": [FRONT],
    "weekly": [{"days": ["tue", "thu"], "start": "09:00", "end": "12:00"}],
}

type Ws = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def ws(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> Ws:
    """Send one calendar websocket command, as the frontend does, and return the reply."""
    client = await hass_ws_client(hass)

    async def _send(kind: str, **payload: Any) -> dict[str, Any]:
        await client.send_json_auto_id(
            {"type": f"calendar/event/{kind}", "entity_id": CALENDAR, **payload}
        )
        reply: dict[str, Any] = await client.receive_json()
        await hass.async_block_till_done()
        return reply

    return _send


async def _events(hass: HomeAssistant, start: str, end: str) -> list[dict[str, Any]]:
    """The calendar's events between two wall-clock times, as the calendar panel gets them."""
    calendar = hass.data[DATA_COMPONENT].get_entity(CALENDAR)
    assert calendar is not None
    events = await calendar.async_get_events(hass, local(hass, start), local(hass, end))
    return [{**asdict(e), "start": e.start.isoformat(), "end": e.end.isoformat()} for e in events]


async def _grants(actions: Actions, *, include_ended: bool = False) -> list[dict[str, Any]]:
    listed = await actions.call("list_grants", {"include_ended": include_ended})
    grants: list[dict[str, Any]] = listed["grants"]
    return grants


def _at(hass: HomeAssistant, text: str) -> str:
    return local(hass, text).isoformat()


async def test_a_weekly_grant_shows_each_window_at_local_time_across_dst(
    hass: HomeAssistant,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(local(hass, "2026-03-23 08:00"))  # Monday; clocks go forward on the 29th
    grant_id = (await actions.call("create_grant", CLEANER))["grant_id"]

    events = await _events(hass, "2026-03-24 10:00", "2026-04-06 00:00")

    assert [e["start"] for e in events] == [
        "2026-03-24T09:00:00+01:00",  # overlaps the range's start, shown whole
        "2026-03-26T09:00:00+01:00",
        "2026-03-31T09:00:00+02:00",
        "2026-04-02T09:00:00+02:00",
    ]
    assert [e["end"] for e in events][2] == "2026-03-31T12:00:00+02:00"
    first = events[0]
    assert first["summary"] == "Cleaner"
    assert first["uid"] == grant_id
    assert first["location"] == FRONT
    assert first["description"] == "link"
    assert first["rrule"] == "FREQ=WEEKLY;BYDAY=TU,TH"
    assert first["recurrence_id"] == "20260324T080000Z"
    assert len({e["recurrence_id"] for e in events}) == 4


async def test_the_calendar_is_on_during_a_window_and_names_the_next_one(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 08:00"))  # Tuesday
    await actions.call("create_grant", CLEANER)
    state = hass.states.get(CALENDAR)
    assert state is not None
    assert state.state == "off"
    assert state.attributes["message"] == "Cleaner"
    assert state.attributes["start_time"] == "2026-12-01 09:00:00"

    for moment, expected, start in (
        ("2026-12-01 09:00", "on", "2026-12-01 09:00:00"),
        ("2026-12-01 12:00", "off", "2026-12-03 09:00:00"),
    ):
        freezer.move_to(local(hass, moment))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        state = hass.states.get(CALENDAR)
        assert state is not None
        assert (state.state, state.attributes["start_time"]) == (expected, start)


async def test_creating_an_event_creates_a_link_grant(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-12-01 07:00"))
    await hass.services.async_call(
        "calendar",
        "create_event",
        {
            "summary": "Plumber",
            "location": GARAGE,
            "start_date_time": "2026-12-01 08:00:00",
            "end_date_time": "2026-12-01 10:00:00",
        },
        target={"entity_id": CALENDAR},
        blocking=True,
        context=actions.context,
    )

    (grant,) = await _grants(actions)
    assert grant["kind"] == "link"
    assert grant["name"] == "Plumber"
    assert grant["doors"] == [GARAGE]
    assert dt_util.parse_datetime(grant["starts"]) == local(hass, "2026-12-01 08:00")
    assert dt_util.parse_datetime(grant["ends"]) == local(hass, "2026-12-01 10:00")
    assert grant["weekly"] == []


async def test_a_weekly_event_becomes_weekly_windows_until_its_last_day(
    hass: HomeAssistant, actions: Actions, ws: Ws, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))
    reply = await ws(
        "create",
        event={
            "summary": "Dog walker",
            "dtstart": _at(hass, "2026-12-01 12:00"),
            "dtend": _at(hass, "2026-12-01 13:00"),
            "rrule": "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261231T235959Z",
        },
    )
    assert reply["success"], reply

    (grant,) = await _grants(actions)
    assert grant["doors"] == sorted([FRONT, GARAGE, "Car"])  # no location: every door
    assert {(w["days"][0], w["start"], w["end"]) for w in grant["weekly"]} == {
        ("tue", "12:00", "13:00"),
        ("thu", "12:00", "13:00"),
    }
    assert dt_util.parse_datetime(grant["starts"]) == local(hass, "2026-12-01 12:00")
    # UNTIL bounds the starts: the window starting on Thursday 31 December still counts.
    assert dt_util.parse_datetime(grant["ends"]) == local(hass, "2026-12-31 13:00")


async def test_an_overnight_weekly_event_reads_back_as_one_rule(
    hass: HomeAssistant,
    actions: Actions,
    ws: Ws,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))
    reply = await ws(
        "create",
        event={
            "summary": "Night nurse",
            "location": FRONT,
            "dtstart": _at(hass, "2026-12-01 22:00"),
            "dtend": _at(hass, "2026-12-02 06:00"),
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
        },
    )
    assert reply["success"], reply

    events = await _events(hass, "2026-12-01 00:00", "2026-12-10 00:00")
    assert [(e["start"], e["end"]) for e in events] == [
        ("2026-12-01T22:00:00+01:00", "2026-12-02T06:00:00+01:00"),
        ("2026-12-08T22:00:00+01:00", "2026-12-09T06:00:00+01:00"),
    ]
    assert events[0]["rrule"] == "FREQ=WEEKLY;BYDAY=TU"


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=WEEKLY;COUNT=3",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        "FREQ=DAILY",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        "FREQ=WEEKLY;BYDAY=1TU",
    ],
)
async def test_an_unsupported_repetition_is_refused_and_creates_nothing(
    hass: HomeAssistant, actions: Actions, ws: Ws, freezer: FrozenDateTimeFactory, rrule: str
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))
    reply = await ws(
        "create",
        event={
            "summary": "Cleaner",
            "dtstart": _at(hass, "2026-12-01 09:00"),
            "dtend": _at(hass, "2026-12-01 12:00"),
            "rrule": rrule,
        },
    )
    assert not reply["success"]
    assert "only repeat every week" in reply["error"]["message"]
    assert await _grants(actions, include_ended=True) == []


@pytest.mark.parametrize(
    ("event", "key"),
    [
        ({"start_date": "2026-12-01", "end_date": "2026-12-02"}, "calendar_all_day"),
        (
            {"start_date_time": "2026-11-29 08:00:00", "end_date_time": "2026-11-29 10:00:00"},
            "calendar_in_the_past",
        ),
        (
            {
                "start_date_time": "2026-12-01 08:00:00",
                "end_date_time": "2026-12-01 10:00:00",
                "location": "Back door",
            },
            "unknown_door",
        ),
    ],
)
async def test_bad_events_are_refused_with_a_reason_and_create_nothing(
    hass: HomeAssistant,
    actions: Actions,
    freezer: FrozenDateTimeFactory,
    event: dict[str, str],
    key: str,
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "calendar",
            "create_event",
            {"summary": "Plumber", **event},
            target={"entity_id": CALENDAR},
            blocking=True,
            context=actions.context,
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert await _grants(actions, include_ended=True) == []


async def test_a_user_who_is_not_an_admin_cannot_create_grants(
    hass: HomeAssistant, actions: Actions, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))
    user = await hass.auth.async_create_user("Teenager", group_ids=[GROUP_ID_USER])
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "calendar",
            "create_event",
            {
                "summary": "Party",
                "start_date_time": "2026-12-01 20:00:00",
                "end_date_time": "2026-12-01 23:00:00",
            },
            target={"entity_id": CALENDAR},
            blocking=True,
            context=Context(user_id=user.id),
        )
    assert await _grants(actions, include_ended=True) == []


async def test_deleting_an_event_revokes_its_grant(
    hass: HomeAssistant,
    actions: Actions,
    ws: Ws,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(local(hass, "2026-12-01 07:00"))
    grant_id = (await actions.call("create_grant", CLEANER))["grant_id"]

    reply = await ws("delete", uid=grant_id)

    assert reply["success"], reply
    assert await _grants(actions) == []
    (revoked,) = await _grants(actions, include_ended=True)
    assert revoked["status"] == "revoked"
    assert await _events(hass, "2026-12-01 00:00", "2026-12-08 00:00") == []


async def test_deleting_this_and_following_events_ends_the_grant_before_them(
    hass: HomeAssistant,
    actions: Actions,
    ws: Ws,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(local(hass, "2026-12-01 07:00"))  # Tuesday
    grant_id = (await actions.call("create_grant", CLEANER))["grant_id"]
    thursday = "20261203T080000Z"

    single = await ws("delete", uid=grant_id, recurrence_id=thursday)
    assert not single["success"]
    assert len((await _grants(actions))[0]["weekly"]) == 2
    assert (await _grants(actions))[0]["ends"] is None

    reply = await ws(
        "delete", uid=grant_id, recurrence_id=thursday, recurrence_range="THISANDFUTURE"
    )

    assert reply["success"], reply
    (grant,) = await _grants(actions)
    assert dt_util.parse_datetime(grant["ends"]) == local(hass, "2026-12-03 09:00")
    events = await _events(hass, "2026-12-01 00:00", "2026-12-31 00:00")
    assert [e["start"] for e in events] == ["2026-12-01T09:00:00+01:00"]
    assert events[0]["rrule"] == "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261203T075959Z"

    first = await ws(
        "delete",
        uid=grant_id,
        recurrence_id="20261201T080000Z",
        recurrence_range="THISANDFUTURE",
    )
    assert first["success"], first
    assert await _grants(actions) == []


async def test_updating_an_event_changes_the_grant(
    hass: HomeAssistant,
    actions: Actions,
    ws: Ws,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))  # Monday
    grant_id = (await actions.call("create_grant", CLEANER))["grant_id"]
    (shown, *_) = await _events(hass, "2026-12-01 00:00", "2026-12-08 00:00")

    renamed = await ws(
        "update",
        uid=grant_id,
        recurrence_id=shown["recurrence_id"],
        recurrence_range="THISANDFUTURE",
        event={
            "summary": "Cleaner Anna",
            "location": f"{FRONT}, {GARAGE}",
            "dtstart": shown["start"],
            "dtend": shown["end"],
            "rrule": shown["rrule"],
        },
    )
    assert renamed["success"], renamed
    (grant,) = await _grants(actions)
    assert (grant["name"], grant["doors"]) == ("Cleaner Anna", [FRONT, GARAGE])
    assert len(grant["weekly"]) == 2  # the schedule was left as it was

    moved = await ws(
        "update",
        uid=grant_id,
        event={
            "summary": "Cleaner Anna",
            "dtstart": _at(hass, "2026-12-02 10:00"),
            "dtend": _at(hass, "2026-12-02 13:30"),
            "rrule": "FREQ=WEEKLY;BYDAY=WE",
        },
    )
    assert moved["success"], moved
    (grant,) = await _grants(actions)
    assert grant["grant_id"] == grant_id
    assert grant["doors"] == [FRONT, GARAGE]  # no location given: doors unchanged
    assert grant["weekly"] == [{"days": ["wed"], "start": "10:00", "end": "13:30"}]
    assert dt_util.parse_datetime(grant["starts"]) == local(hass, "2026-12-02 10:00")

    one_off = await ws(
        "update",
        uid=grant_id,
        event={
            "summary": "Cleaner Anna",
            "dtstart": _at(hass, "2026-12-05 08:00"),
            "dtend": _at(hass, "2026-12-05 11:00"),
        },
    )
    assert one_off["success"], one_off
    (grant,) = await _grants(actions)
    assert grant["weekly"] == []
    assert dt_util.parse_datetime(grant["ends"]) == local(hass, "2026-12-05 11:00")


async def test_a_grant_no_single_rule_describes_can_be_renamed_but_not_rescheduled(
    hass: HomeAssistant,
    actions: Actions,
    ws: Ws,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))
    grant_id = (
        await actions.call(
            "create_grant",
            {
                **CLEANER,
                "weekly": [
                    {"days": ["tue"], "start": "09:00", "end": "12:00"},
                    {"days": ["thu"], "start": "14:00", "end": "16:00"},
                ],
            },
        )
    )["grant_id"]
    (shown, *_) = await _events(hass, "2026-12-01 00:00", "2026-12-08 00:00")
    assert shown.get("rrule") is None
    assert shown["recurrence_id"] == "20261201T080000Z"
    event = {
        "summary": "Cleaner Bo",
        "dtstart": shown["start"],
        "dtend": shown["end"],
    }
    range_ = {"recurrence_id": shown["recurrence_id"], "recurrence_range": "THISANDFUTURE"}

    renamed = await ws("update", uid=grant_id, event=event, **range_)
    assert renamed["success"], renamed

    moved = await ws(
        "update", uid=grant_id, event={**event, "dtstart": _at(hass, "2026-12-01 08:00")}, **range_
    )
    assert not moved["success"]
    (grant,) = await _grants(actions)
    assert grant["name"] == "Cleaner Bo"
    assert len(grant["weekly"]) == 2


async def test_a_grant_made_on_the_calendar_opens_only_inside_its_window(
    hass: HomeAssistant, actions: Actions, ws: Ws, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(local(hass, "2026-11-30 07:00"))  # Monday
    reply = await ws(
        "create",
        event={
            "summary": "Cleaner",
            "location": FRONT,
            "dtstart": _at(hass, "2026-12-01 09:00"),
            "dtend": _at(hass, "2026-12-01 12:00"),
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
        },
    )
    assert reply["success"], reply
    (grant,) = await _grants(actions)
    opening = {"grant_id": grant["grant_id"], "door": FRONT}

    freezer.move_to(local(hass, "2026-12-08 08:59"))  # the next Tuesday, a minute early
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("open_door", opening)
    assert err.value.translation_placeholders == {"reason": "outside_window"}

    freezer.move_to(local(hass, "2026-12-08 09:00"))
    assert await actions.call("open_door", opening) == {"allowed": True, "reason": "allowed"}
    assert hass.states.get("lock.front").state == "unlocked"

    reply = await ws("delete", uid=grant["grant_id"])
    assert reply["success"], reply
    with pytest.raises(ServiceValidationError) as err:
        await actions.call("open_door", opening)
    assert err.value.translation_placeholders == {"reason": "revoked"}


async def test_a_user_who_is_not_an_admin_cannot_change_grants_from_the_calendar_panel(
    hass: HomeAssistant,
    actions: Actions,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The calendar panel talks websocket, where Home Assistant checks no admin right."""
    client = await hass_ws_client(
        hass, hass_read_only_access_token
    )  # signs in before the clock moves
    freezer.move_to(local(hass, "2026-11-30 07:00"))
    created = await actions.call("create_grant", CLEANER)
    tuesday = {"dtstart": _at(hass, "2026-12-01 20:00"), "dtend": _at(hass, "2026-12-01 23:00")}
    for kind, payload in [
        ("create", {"event": {"summary": "Party", **tuesday}}),
        ("update", {"uid": created["grant_id"], "event": {"summary": "Cleaner", **tuesday}}),
        ("delete", {"uid": created["grant_id"]}),
    ]:
        await client.send_json_auto_id(
            {"type": f"calendar/event/{kind}", "entity_id": CALENDAR, **payload}
        )
        reply = await client.receive_json()
        assert not reply["success"], (kind, reply)
    (grant,) = await _grants(actions)
    assert grant["grant_id"] == created["grant_id"]
    assert grant["weekly"] == [
        {"days": ["tue"], "start": "09:00", "end": "12:00"},
        {"days": ["thu"], "start": "09:00", "end": "12:00"},
    ]
