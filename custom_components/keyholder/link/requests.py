"""What the home answers to requests relayed by the bridge.

Every request kind the bridge may relay is listed here; anything else is refused
with a reason and changes nothing. A request that could open a door goes through
the home's decision (``Home.async_open_door``: the grant token's signature, the
registry, the window, the nonce and expiry, the camera), never around it, and is
audited there. The bridge only ever sees a guest's token in passing; it stores
nothing that opens a door.

Kinds
-----
- ``ping``: is the home there.
- ``guest_link.describe`` ``{token}``: what the guest page shows (who, which
  doors, when); refused as ``unknown_link`` for any token this home did not sign
  or no longer knows, so a guesser learns nothing.
- ``guest_link.open`` ``{token, door_id, nonce, expires_at}``: the decision, and
  its reason code.
- ``delivery.announce`` ``{delivery_id, carrier_id, method, path, body,
  timestamp, nonce, signature}``: a carrier's signed announcement (reference and
  window in the signed body); accepted, or declined with a reason.
- ``carrier.open`` ``{carrier_id, method, path, body, timestamp, nonce,
  signature}``: a carrier's request exactly as the carrier signed it (the body may
  name a ``delivery_id``). The home checks the signature with the key its owner
  approved (``carriers.py``), takes the door from the signed path, and decides
  under the carrier's grant and deliveries (a declined or unknown delivery opens
  nothing; see ``core.decision.delivery_refusal``); a request the bridge forged,
  altered or replayed is refused here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import Context
from homeassistant.util import dt as dt_util

from ..const import CONF_BRIDGE_HOME_ID
from ..core.models import GrantKind, Schedule
from ..core.status import grant_status
from ..core.tokens import TokenError, verify_grant_token
from ..deliveries import Delivery
from .carrier_request import MAX_SKEW_SECONDS, CarrierRequest

if TYPE_CHECKING:
    from ..home import Home

type Answer = tuple[int, dict[str, Any]]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _refused(status: int, code: str, message: str) -> Answer:
    return status, {"error": {"code": code, "message": message}}


async def async_handle(home: Home, kind: str, body: dict[str, Any]) -> Answer:
    """The status and body for one relayed request."""
    if kind == "ping":
        return 200, {"pong": True, "accepting_visits": home.accept_visits}
    if kind == "guest_link.describe":
        return _describe(home, body)
    if kind == "guest_link.open":
        return await _open(home, body)
    if kind == "carrier.open":
        return await _carrier_open(home, body)
    if kind == "delivery.announce":
        return await _announce(home, body)
    return _refused(400, "unknown_request_kind", "this home does not serve that request")


def _describe(home: Home, body: dict[str, Any]) -> Answer:
    token = body.get("token")
    grant_id = _link_grant(home, token)
    if grant_id is None:
        return _refused(404, "unknown_link", "this link is not valid")
    grant = home.grants[grant_id]
    doors = home.doors
    return 200, {
        "home": home.entry.title,
        "guest": grant.name,
        "doors": [
            {"id": door_id, "name": doors[door_id].name}
            for door_id in sorted(grant.doors, key=lambda d: doors[d].name if d in doors else d)
            if door_id in doors
        ],
        "window": _window_text(grant.schedule, home),
        "status": grant_status(grant, dt_util.utcnow()).value,
    }


async def _open(home: Home, body: dict[str, Any]) -> Answer:
    token, door_id, nonce = body.get("token"), body.get("door_id"), body.get("nonce")
    expires_at = _instant(body.get("expires_at"))
    if not (isinstance(door_id, str) and isinstance(nonce, str) and expires_at is not None):
        return _refused(400, "invalid_request", "door_id, nonce and expires_at are needed")
    if not isinstance(token, str) or _link_grant(home, token) is None:
        return _refused(404, "unknown_link", "this link is not valid")
    decision = await home.async_open_door(
        token=token, door_id=door_id, nonce=nonce, expires_at=expires_at, context=Context()
    )
    return 200, {"allowed": decision.allowed, "reason": decision.reason.value}


def _expiry(home: Home, timestamp: int) -> datetime:
    """Valid for MAX_SKEW_SECONDS after the carrier signed it. One signed further ahead
    than that claims too long a life (a clock set forward to stockpile requests).
    """
    now = dt_util.utcnow()
    skew = timedelta(seconds=MAX_SKEW_SECONDS)
    signed_at = dt_util.utc_from_timestamp(timestamp)
    if signed_at - now > skew:
        return now + home.policy.max_request_lifetime + skew
    return signed_at + skew


def _bridge_home_id(home: Home) -> str | None:
    value = home.entry.options.get(CONF_BRIDGE_HOME_ID)
    return value if isinstance(value, str) else None


async def _carrier_open(home: Home, body: dict[str, Any]) -> Answer:
    try:
        request = CarrierRequest.from_relay(body)
    except ValueError:
        return _refused(400, "invalid_request", "not a carrier request")
    approved = home.carriers.get(request.carrier_id)
    bridge_home_id = _bridge_home_id(home)
    door_id = request.door(bridge_home_id) if bridge_home_id else None
    signed = approved is not None and door_id is not None and request.signed_by(approved.public_key)
    named = request.json_body().get("delivery_id")
    decision = await home.async_open_door_for_carrier(
        carrier_id=request.carrier_id,
        door_id=door_id or "",
        nonce=request.nonce,
        expires_at=_expiry(home, request.timestamp),
        signature_valid=signed,
        # Any value the signed body names is a delivery id: one that is no string names
        # no delivery of the home's, so it is refused as unknown rather than ignored.
        delivery_id=None if named is None else str(named)[:128],
        context=Context(),
    )
    if not decision.allowed:
        return _refused(403, decision.reason.value, "the home refused the request")
    return 200, {"allowed": True, "reason": decision.reason.value}


async def _announce(home: Home, body: dict[str, Any]) -> Answer:
    delivery_id = body.get("delivery_id")
    try:
        request = CarrierRequest.from_relay(body)
    except ValueError:
        return _refused(400, "invalid_request", "not a delivery announcement")
    window = _window(request.json_body())
    if not isinstance(delivery_id, str) or not 0 < len(delivery_id) <= 64 or window is None:
        return _refused(400, "invalid_request", "not a delivery announcement")
    approved = home.carriers.get(request.carrier_id)
    bridge_home_id = _bridge_home_id(home)
    signed = (
        approved is not None
        and bridge_home_id is not None
        and request.announces_to(bridge_home_id)
        and request.signed_by(approved.public_key)
    )
    reference, start, end = window
    refusal = await home.async_announce_delivery(
        Delivery(delivery_id, request.carrier_id, reference, start, end),
        nonce=request.nonce,
        expires_at=_expiry(home, request.timestamp),
        signature_valid=signed,
        context=Context(),
    )
    if refusal is not None:
        return _refused(403, refusal.value, "the home declined the delivery")
    return 200, {"status": "accepted"}


def _window(data: dict[str, Any]) -> tuple[str, datetime, datetime] | None:
    reference = data.get("reference")
    start, end = _instant(data.get("window_start")), _instant(data.get("window_end"))
    if not isinstance(reference, str) or not 0 < len(reference) <= 100:
        return None
    if start is None or end is None or start >= end:
        return None
    return reference, start, end


def _link_grant(home: Home, token: object) -> str | None:
    """The id of the link grant ``token`` is for, if this home signed it and still has it."""
    if not isinstance(token, str) or len(token) > 2048:
        return None
    try:
        claims = verify_grant_token(token, home.home_key.public_key, home_id=home.home_id)
    except TokenError:
        return None
    grant = home.grants.get(claims.grant_id)
    if grant is None or grant.kind is not GrantKind.LINK:
        return None
    return grant.id


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = dt_util.parse_datetime(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _window_text(schedule: Schedule, home: Home) -> list[str]:
    """The grant's window in the home's wall-clock time, as short lines for a page."""
    tz = home.tz

    def when(at: datetime) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    lines = [
        f"{_DAYS[w.weekday]} {w.start_minute // 60:02d}:{w.start_minute % 60:02d}"
        f"-{w.end_minute // 60:02d}:{w.end_minute % 60:02d}"
        for w in schedule.weekly
    ]
    until = f" until {when(schedule.valid_until)}" if schedule.valid_until else ""
    span = f"from {when(schedule.valid_from)}{until} ({tz.key})"
    return [*lines, span]
