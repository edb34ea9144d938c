# ruff: noqa: F811 - the rogue bridge's fixtures are imported, and named by the tests
"""No input makes the home do unbounded work: Home Assistant keeps answering meanwhile.

The worst inputs found so far each walked a schedule day by day over thousands of
years: an announce whose window ends in year 9999, a calendar query from year 1
to 9999 by a user who is not an admin, a grant valid until 9999. Each is sent
here while Home Assistant's own REST API root is asked again and again; every
answer must come within a second (timed with the event loop's clock), and the
input must get its correct answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
import json
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from simulators.carrier import Carrier

from .bridge_fixtures import until
from .conftest import FRONT, Actions
from .test_rogue_bridge import (  # noqa: F401 - the fixtures
    ROGUE_HOME_ID,
    RogueBridge,
    carrier,
    expected_lingering_timers,
    house_entry,
    rogue,
)

CALENDAR = "calendar.home_grants"
ANNOUNCE_PATH = f"/api/v1/carrier/homes/{ROGUE_HOME_ID}/deliveries"
END_OF_TIME = "9999-12-20T00:00:00+00:00"
EVERY_DAY = [
    {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "08:00",
        "end": "20:00",
    }
]
RESPONSIVE = 1.0  # seconds: the longest Home Assistant may take to answer /api/


@pytest.fixture
async def probe(
    hass: HomeAssistant, house: MockConfigEntry, hass_client: ClientSessionGenerator
) -> TestClient:
    """An admin's client for Home Assistant's REST API, set up before any other client."""
    assert await async_setup_component(hass, "api", {})
    assert await async_setup_component(hass, "websocket_api", {})
    return await hass_client()


async def _answered_meanwhile[T](client: TestClient, work: Awaitable[T]) -> T:
    """Run ``work`` while asking ``/api/`` again and again; each answer within a second.

    The probe's request is already on its way when the work starts, so a work that
    holds the event loop delays that answer by as long as it holds it.
    """
    loop = asyncio.get_running_loop()
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    slowest, probes = 0.0, 0
    while not task.done() or probes < 3:
        started = loop.time()
        response = await client.get("/api/")
        assert response.status == 200
        assert (await response.json()) == {"message": "API running."}
        slowest = max(slowest, loop.time() - started)
        probes += 1
    assert slowest < RESPONSIVE, f"/api/ took {slowest:.1f} s to answer"
    return await task


def _announcement(carrier: Carrier, delivery_id: str, start: str, end: str) -> dict[str, Any]:
    """A delivery.announce body as an honest bridge relays a carrier's signed request."""
    window = {"reference": f"PKG-{delivery_id}", "window_start": start, "window_end": end}
    body, headers = carrier.sign(ANNOUNCE_PATH, window)
    return {
        "delivery_id": delivery_id,
        "carrier_id": carrier.carrier_id,
        "method": "POST",
        "path": ANNOUNCE_PATH,
        "body": body.decode(),
        "timestamp": int(headers["Keyholder-Timestamp"]),
        "nonce": headers["Keyholder-Nonce"],
        "signature": headers["Keyholder-Signature"],
    }


async def _weekly_carrier_grant(actions: Actions, carrier: Carrier, rogue: RogueBridge) -> None:
    """An approved carrier with a grant every day from now on, without end."""
    await until(lambda: rogue.socket is not None, "the home to sign in at the bridge")
    await actions.call(
        "approve_carrier", {"carrier_id": carrier.carrier_id, "public_key": carrier.public_key}
    )
    await actions.call(
        "create_grant",
        {
            "kind": "carrier",
            "name": "Acme every day",
            "doors": [FRONT],
            "carrier": carrier.carrier_id,
            "weekly": EVERY_DAY,
        },
    )


async def test_an_announce_until_year_9999_is_refused_at_once_and_audited(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    rogue: RogueBridge,
    carrier: Carrier,
    probe: TestClient,
) -> None:
    await _weekly_carrier_grant(actions, carrier, rogue)
    now = dt_util.utcnow()
    endless = _announcement(carrier, "d-endless", now.isoformat(), END_OF_TIME)

    status, answer = await _answered_meanwhile(probe, rogue.relay("delivery.announce", endless))

    assert status == 400
    assert answer["error"]["code"] == "invalid_request"
    assert "31 days" in answer["error"]["message"]
    assert actions.home.deliveries.get("d-endless") is None
    (refused,) = [r for r in actions.home.audit.records if r["kind"] == "request_refused"]
    assert refused["data"] == {
        "request": "delivery.announce",
        "carrier_id": carrier.carrier_id,
        "delivery_id": "d-endless",
        "refusal": "window_too_long",
    }


async def test_the_longest_and_the_most_distant_announces_get_their_answers(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    rogue: RogueBridge,
    carrier: Carrier,
    probe: TestClient,
) -> None:
    """31 days is still a window; year 9998 is within the endless grant, year 1 is not."""
    await _weekly_carrier_grant(actions, carrier, rogue)
    now = dt_util.utcnow()
    announcements = [
        _announcement(carrier, "d-month", now.isoformat(), (now + timedelta(days=31)).isoformat()),
        _announcement(carrier, "d-late", "9998-06-01T08:00:00+00:00", "9998-07-01T08:00:00+00:00"),
        _announcement(carrier, "d-early", "0001-06-01T08:00:00+00:00", "0001-07-01T08:00:00+00:00"),
    ]

    async def each() -> list[tuple[int, dict[str, Any]]]:
        return [await rogue.relay("delivery.announce", body) for body in announcements]

    month, late, early = await _answered_meanwhile(probe, each())

    assert month == late == (200, {"status": "accepted"})
    assert early[0] == 403
    assert early[1]["error"]["code"] == "outside_window"
    assert [d.id for d in actions.home.deliveries.all()] == ["d-month", "d-late"]


async def test_a_calendar_query_over_all_of_time_by_a_user_lists_a_quarter_near_now(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    probe: TestClient,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    """Anyone who may see the calendar may ask it anything; it lists 93 days at most."""
    created = await actions.call(
        "create_grant",
        {
            "kind": "link",
            "name": "Cleaner",
            "doors": [FRONT],
            "starts": (dt_util.now() - timedelta(days=365 * 19)).isoformat(),
            "weekly": EVERY_DAY,
        },
    )
    user = await hass_client(hass_read_only_access_token)
    now = dt_util.utcnow()

    async def ask(start: str) -> list[datetime]:
        query = {"start": start, "end": END_OF_TIME}
        response = await user.get(f"/api/calendars/{CALENDAR}", params=query)
        assert response.status == 200
        events: list[dict[str, Any]] = json.loads(await response.text())
        assert {e["uid"] for e in events} == {created["grant_id"]}
        starts = [dt_util.parse_datetime(e["start"]["dateTime"]) for e in events]
        return [s for s in starts if s is not None]

    async def both() -> tuple[list[datetime], list[datetime]]:
        return await ask("0001-01-02T00:00:00+00:00"), await ask(now.isoformat())

    since_year_1, from_now = await _answered_meanwhile(probe, both())

    # From two years back (the horizon), one window a day for 93 days (the longest list).
    horizon = now - timedelta(days=2 * 366)
    assert horizon - timedelta(days=1) <= min(since_year_1)
    assert max(since_year_1) <= horizon + timedelta(days=93)
    assert 92 <= len(since_year_1) <= 94
    # From now: the next window first, then the coming 93 days.
    assert min(from_now) - now <= timedelta(days=1)
    assert max(from_now) <= now + timedelta(days=93)
    assert 92 <= len(from_now) <= 94


async def test_grants_reaching_to_year_1_or_9999_are_refused_and_the_home_answers(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    probe: TestClient,
) -> None:
    attempts: list[tuple[dict[str, Any], str]] = [
        ({"starts": "0001-01-01T00:00:00+00:00", "ends": END_OF_TIME}, "starts"),
        ({"ends": END_OF_TIME}, "ends"),
        ({"weekly": EVERY_DAY, "ends": END_OF_TIME}, "ends"),
        ({"weekly": EVERY_DAY, "starts": "9999-01-01T00:00:00+00:00"}, "starts"),
    ]

    async def try_all() -> list[ServiceValidationError]:
        refused = []
        for window, _ in attempts:
            data = {"kind": "link", "name": "Forever", "doors": [FRONT], **window}
            with pytest.raises(ServiceValidationError) as err:
                await actions.call("create_grant", data)
            refused.append(err.value)
        return refused

    refusals = await _answered_meanwhile(probe, try_all())

    for err, (_, field) in zip(refusals, attempts, strict=True):
        assert err.translation_key == "too_far"
        assert err.translation_placeholders == {"field": field}
    assert actions.home.grants == {}

    # Nor can an existing grant be moved there.
    weekly = {"kind": "link", "name": "Cleaner", "doors": [FRONT], "weekly": EVERY_DAY}
    grant_id = (await actions.call("create_grant", weekly))["grant_id"]
    for change in ({"ends": END_OF_TIME}, {"starts": "0001-01-01T00:00:00+00:00"}):
        with pytest.raises(ServiceValidationError) as err:
            await actions.call("update_grant", {"grant_id": grant_id, **change})
        assert err.value.translation_key == "too_far"
    (grant,) = (await actions.call("list_grants", {}))["grants"]
    assert grant["ends"] is None


async def test_the_longest_grant_allowed_costs_the_home_nothing(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    probe: TestClient,
) -> None:
    """Weekly from nineteen years ago, without end: listed, shown and shortened cheaply."""
    starts = datetime.now(UTC) - timedelta(days=365 * 19)

    async def create_and_list() -> Any:
        created = await actions.call(
            "create_grant",
            {
                "kind": "link",
                "name": "Old friend",
                "doors": [FRONT],
                "starts": starts.isoformat(),
                "weekly": EVERY_DAY,
            },
        )
        return created, await actions.call("list_grants", {})

    created, listed = await _answered_meanwhile(probe, create_and_list())

    (grant,) = listed["grants"]
    assert grant["grant_id"] == created["grant_id"]
    assert grant["status"] == "active"
    assert grant["next_window"] is not None


async def test_calendar_edits_reaching_to_year_9999_are_refused_and_the_home_answers(
    hass: HomeAssistant,
    house: MockConfigEntry,
    actions: Actions,
    probe: TestClient,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The calendar panel's own commands, as an admin sends them: a clear refusal each."""
    created = await actions.call(
        "create_grant",
        {
            "kind": "link",
            "name": "Cleaner",
            "doors": [FRONT],
            "starts": (dt_util.now() - timedelta(days=365 * 19)).isoformat(),
            "weekly": EVERY_DAY,
        },
    )
    client = await hass_ws_client(hass)
    tomorrow = dt_util.now().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    event = {
        "summary": "Party",
        "dtstart": tomorrow.isoformat(),
        "dtend": (tomorrow + timedelta(hours=2)).isoformat(),
    }
    far = tomorrow.replace(year=9999)
    far_ahead = {"dtstart": far.isoformat(), "dtend": (far + timedelta(hours=2)).isoformat()}
    commands: list[tuple[str, dict[str, Any], str]] = [
        ("create", {"event": {**event, "rrule": "FREQ=WEEKLY;UNTIL=99981231"}}, "ten years"),
        ("create", {"event": {**event, "rrule": "FREQ=WEEKLY;UNTIL=99991231"}}, "not supported"),
        ("create", {"event": {**event, **far_ahead}}, "within twenty years"),
        (
            "delete",
            {
                "uid": created["grant_id"],
                "recurrence_id": "99991231T070000Z",
                "recurrence_range": "THISANDFUTURE",
            },
            "no event at that time",
        ),
    ]

    async def send_all() -> list[dict[str, Any]]:
        replies = []
        for kind, payload, _ in commands:
            await client.send_json_auto_id(
                {"type": f"calendar/event/{kind}", "entity_id": CALENDAR, **payload}
            )
            replies.append(await client.receive_json())
        return replies

    replies = await _answered_meanwhile(probe, send_all())

    for reply, (kind, _, message) in zip(replies, commands, strict=True):
        assert not reply["success"], kind
        assert message in reply["error"]["message"], reply
    (grant,) = (await actions.call("list_grants", {}))["grants"]
    assert grant["grant_id"] == created["grant_id"]
    assert grant["ends"] is None
