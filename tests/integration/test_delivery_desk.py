"""The home's delivery desk without a bridge: when it accepts, and what it reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from custom_components.keyholder.core.decision import Reason
from custom_components.keyholder.core.models import Grant, GrantKind, Schedule, WeeklyWindow
from custom_components.keyholder.deliveries import (
    Delivery,
    DeliveryDesk,
    announcement_refusal,
    delivery_from_stored,
    delivery_to_stored,
)
from custom_components.keyholder.visit import DoorEvent

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
TZ = ZoneInfo("UTC")
WEEKDAY_MORNINGS = Grant(
    id="g",
    kind=GrantKind.CARRIER,
    name="Acme",
    doors=frozenset({"front"}),
    schedule=Schedule(
        valid_from=MONDAY, weekly=tuple(WeeklyWindow(day, 8 * 60, 12 * 60) for day in range(5))
    ),
    created_at=MONDAY,
    carrier_id="carrier-acme",
)


def _refusal(start: datetime, hours: int = 1, *, accept: bool = True) -> Reason | None:
    return announcement_refusal(
        [WEEKDAY_MORNINGS], start, start + timedelta(hours=hours), accept_visits=accept, tz=TZ
    )


def test_a_delivery_is_accepted_when_the_grant_is_open_at_some_time_in_its_window() -> None:
    assert _refusal(MONDAY + timedelta(hours=9)) is None
    assert _refusal(MONDAY + timedelta(hours=6), hours=3) is None  # overlaps 08:00-09:00
    assert _refusal(MONDAY + timedelta(hours=13)) is Reason.OUTSIDE_WINDOW
    assert _refusal(MONDAY + timedelta(days=5, hours=9)) is Reason.OUTSIDE_WINDOW  # Saturday
    assert _refusal(MONDAY + timedelta(hours=9), accept=False) is Reason.VISITS_PAUSED
    assert (
        announcement_refusal([], MONDAY, MONDAY + timedelta(hours=1), accept_visits=True, tz=TZ)
        is Reason.UNKNOWN_GRANT
    )


def test_the_desk_reports_declines_and_the_visits_end_once() -> None:
    reports: list[tuple[str, dict[str, object]]] = []
    desk = DeliveryDesk(lambda kind, body: reports.append((kind, body)))
    window = (MONDAY, MONDAY + timedelta(hours=1))
    desk.announced(Delivery("d1", "carrier-acme", "PKG-1", *window))
    desk.announced(Delivery("d2", "carrier-acme", "PKG-2", *window))
    assert desk.decline("d2")
    assert not desk.decline("nope")
    desk.opened("d1", "front")
    assert not desk.decline("d1")  # the door is open: too late to decline
    desk.visit_event("front", DoorEvent.CLOSED)  # not an end
    desk.visit_event("front", DoorEvent.LEFT_OPEN)  # reported; the relock may still come
    desk.visit_event("front", DoorEvent.RELOCKED)
    desk.visit_event("front", DoorEvent.RELOCKED)  # already over: nothing more
    assert reports == [
        (
            "delivery.status",
            {"delivery_id": "d2", "status": "declined", "reason": "declined_by_home"},
        ),
        ("delivery.status", {"delivery_id": "d1", "status": "left_open"}),
        ("delivery.status", {"delivery_id": "d1", "status": "locked"}),
    ]
    assert desk.get("d1") is None
    declined = desk.get("d2")
    assert declined is not None
    assert declined.declined


def test_stored_deliveries_come_back_except_those_long_over() -> None:
    desk = DeliveryDesk(lambda kind, body: None)
    recent = Delivery("d1", "carrier-acme", "PKG-1", MONDAY, MONDAY + timedelta(hours=1))
    opened = replace(recent, id="d2", door_id="front", declined=False)
    old = replace(recent, id="d3", window_end=MONDAY - timedelta(days=2))
    stored = [delivery_to_stored(d) for d in (recent, opened, old)]
    desk.restore(map(delivery_from_stored, stored), MONDAY + timedelta(hours=3))
    assert desk.all() == [recent, opened]
