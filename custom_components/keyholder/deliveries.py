"""Deliveries announced to this home: accepted or declined, opened, and how the visit ended.

A carrier announces a delivery (reference and expected window) through the bridge.
The home accepts it when an approved carrier grant could let the carrier in during
that window and visits are accepted, and declines it otherwise; the homeowner is
told (``keyholder_event`` ``delivery_announced``) and may decline it afterwards
(``keyholder.decline_delivery``). A declined delivery opens nothing. Once the
carrier opened the door for a delivery, the end of that visit (closed and locked,
left open, or not relocked) is reported back to the bridge, for the carrier's
status stream.

The desk is kept in ``keyholder.<entry>.deliveries``, so a restart of Home Assistant
between the announcement and the carrier at the door changes nothing; deliveries
whose window ended more than ``KEEP_AFTER_WINDOW`` ago are dropped at load. A visit
running across a restart is not watched to its end (visits are not restored), so
its end is then not reported; the bridge keeps the delivery's last status.

An announced window is at most ``MAX_WINDOW`` long (longer ones are refused as
invalid before anything is decided), and whether a grant could open in it is
answered by ``any_open``, whose cost does not grow with the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final, TypedDict

from .core.decision import Reason
from .core.models import Grant
from .core.schedule import any_open
from .visit import DoorEvent

MAX_DELIVERIES: Final = 1000
KEEP_AFTER_WINDOW: Final = timedelta(days=1)
MAX_WINDOW: Final = timedelta(days=31)  # the longest delivery window a carrier may announce
# How a visit's end is reported for the delivery it was for.
VISIT_END: Final = {
    DoorEvent.RELOCKED: "locked",
    DoorEvent.LEFT_OPEN: "left_open",
    DoorEvent.RELOCK_FAILED: "relock_failed",
}

type Report = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    carrier_id: str
    reference: str
    window_start: datetime
    window_end: datetime
    declined: bool = False
    door_id: str | None = None  # the door it opened, while its visit runs


class StoredDelivery(TypedDict):
    id: str
    carrier_id: str
    reference: str
    window_start: str
    window_end: str
    declined: bool
    door_id: str | None


def delivery_to_stored(delivery: Delivery) -> StoredDelivery:
    return {
        "id": delivery.id,
        "carrier_id": delivery.carrier_id,
        "reference": delivery.reference,
        "window_start": delivery.window_start.isoformat(),
        "window_end": delivery.window_end.isoformat(),
        "declined": delivery.declined,
        "door_id": delivery.door_id,
    }


def delivery_from_stored(stored: StoredDelivery) -> Delivery:
    return Delivery(
        id=stored["id"],
        carrier_id=stored["carrier_id"],
        reference=stored["reference"],
        window_start=datetime.fromisoformat(stored["window_start"]),
        window_end=datetime.fromisoformat(stored["window_end"]),
        declined=stored["declined"],
        door_id=stored["door_id"],
    )


def announcement_refusal(
    carrier_grants: Iterable[Grant],
    window_start: datetime,
    window_end: datetime,
    *,
    accept_visits: bool,
    tz: tzinfo,
) -> Reason | None:
    """Why a delivery in that window would be declined; None to accept it. Pure."""
    if not accept_visits:
        return Reason.VISITS_PAUSED
    grants = list(carrier_grants)
    if not grants:
        return Reason.UNKNOWN_GRANT
    if not any(any_open(g.schedule, tz, window_start, window_end) for g in grants):
        return Reason.OUTSIDE_WINDOW
    return None


class DeliveryDesk:
    """The home's deliveries by id, and the visits they are in."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._deliveries: dict[str, Delivery] = {}

    def get(self, delivery_id: str) -> Delivery | None:
        return self._deliveries.get(delivery_id)

    def all(self) -> list[Delivery]:
        """Every delivery the desk keeps, oldest first."""
        return list(self._deliveries.values())

    def restore(self, deliveries: Iterable[Delivery], now: datetime) -> None:
        """Take back stored deliveries, leaving out those long over."""
        self._deliveries = {d.id: d for d in deliveries if d.window_end > now - KEEP_AFTER_WINDOW}

    def announced(self, delivery: Delivery) -> None:
        if len(self._deliveries) >= MAX_DELIVERIES:  # the oldest go first
            del self._deliveries[next(iter(self._deliveries))]
        self._deliveries[delivery.id] = delivery

    def decline(self, delivery_id: str) -> bool:
        """Decline a delivery not yet opened; tell the bridge. False if unknown or opened."""
        delivery = self._deliveries.get(delivery_id)
        if delivery is None or delivery.door_id is not None:
            return False
        self._deliveries[delivery_id] = replace(delivery, declined=True)
        self._report(
            "delivery.status",
            {"delivery_id": delivery_id, "status": "declined", "reason": "declined_by_home"},
        )
        return True

    def opened(self, delivery_id: str, door_id: str) -> None:
        if (delivery := self._deliveries.get(delivery_id)) is not None:
            self._deliveries[delivery_id] = replace(delivery, door_id=door_id)

    def visit_event(self, door_id: str, event: DoorEvent) -> bool:
        """Report the end of a delivery's visit at ``door_id``; True if a delivery ended."""
        if (status := VISIT_END.get(event)) is None:
            return False
        ended = False
        for delivery in list(self._deliveries.values()):
            if delivery.door_id == door_id:
                self._report("delivery.status", {"delivery_id": delivery.id, "status": status})
                if event is not DoorEvent.LEFT_OPEN:  # left open: the relock is still to come
                    del self._deliveries[delivery.id]
                    ended = True
        return ended
