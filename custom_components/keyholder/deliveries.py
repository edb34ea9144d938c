"""Deliveries announced to this home: accepted or declined, opened, and how the visit ended.

A carrier announces a delivery (reference and expected window) through the bridge.
The home accepts it when an approved carrier grant could let the carrier in during
that window and visits are accepted, and declines it otherwise; the homeowner is
told (``keyholder_event`` ``delivery_announced``) and may decline it afterwards
(``keyholder.decline_delivery``). A declined delivery opens nothing. Once the
carrier opened the door for a delivery, the end of that visit (closed and locked,
left open, or not relocked) is reported back to the bridge, for the carrier's
status stream.

Kept in memory: after a Home Assistant restart a delivery in progress is no longer
known here (its opening is refused as ``unknown_delivery``); the bridge keeps the
record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any, Final

from .core.decision import Reason
from .core.models import Grant
from .core.schedule import occurrences
from .visit import DoorEvent

MAX_DELIVERIES: Final = 1000
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
    if not any(occurrences(g.schedule, tz, window_start, window_end) for g in grants):
        return Reason.OUTSIDE_WINDOW
    return None


class DeliveryDesk:
    """The home's deliveries by id, and the visits they are in."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._deliveries: dict[str, Delivery] = {}

    def get(self, delivery_id: str) -> Delivery | None:
        return self._deliveries.get(delivery_id)

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

    def visit_event(self, door_id: str, event: DoorEvent) -> None:
        """Report the end of a delivery's visit at ``door_id``."""
        if (status := VISIT_END.get(event)) is None:
            return
        for delivery in list(self._deliveries.values()):
            if delivery.door_id == door_id:
                self._report("delivery.status", {"delivery_id": delivery.id, "status": status})
                if event is not DoorEvent.LEFT_OPEN:  # left open: the relock is still to come
                    del self._deliveries[delivery.id]
