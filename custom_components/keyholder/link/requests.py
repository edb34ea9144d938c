"""What the home answers to requests relayed by the bridge.

Every request kind the bridge may relay is listed here; anything else is refused
with a reason and changes nothing. A request that could open a door goes through
the home's decision (the registry, the window, the nonce and expiry, the camera),
never around it, and is audited there. The bridge never sees a guest link's
secret; it stores nothing that opens a door.

Kinds
-----
- ``ping``: is the home there.
- ``guest.challenge`` ``{}``: a fresh challenge for a guest's page.
- ``guest.request`` ``{challenge, public_key, iv, ciphertext}``: a guest page's
  request, sealed for this home (``guest_requests``): the bridge relays it without
  being able to read it, and gets back an answer it cannot read either.
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
from ..deliveries import MAX_WINDOW, Delivery
from . import guest_requests
from .carrier_request import MAX_SKEW_SECONDS, CarrierRequest

if TYPE_CHECKING:
    from ..home import Home

type Answer = tuple[int, dict[str, Any]]


def _refused(status: int, code: str, message: str) -> Answer:
    return status, {"error": {"code": code, "message": message}}


async def async_handle(home: Home, kind: str, body: dict[str, Any]) -> Answer:
    """The status and body for one relayed request."""
    if kind == "ping":
        return 200, {"pong": True, "accepting_visits": home.accept_visits}
    if kind == "guest.challenge":
        return guest_requests.challenge(home)
    if kind == "guest.request":
        return await guest_requests.request(home, body)
    if kind == "carrier.open":
        return await _carrier_open(home, body)
    if kind == "delivery.announce":
        return await _announce(home, body)
    await home.async_audit_request_refusal(kind[:64], "unknown_request_kind")
    return _refused(400, "unknown_request_kind", "this home does not serve that request")


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
        await home.async_audit_request_refusal("carrier.open", "invalid_request")
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
        await home.async_audit_request_refusal("delivery.announce", "invalid_request")
        return _refused(400, "invalid_request", "not a delivery announcement")
    window = _window(request.json_body())
    if not isinstance(delivery_id, str) or not 0 < len(delivery_id) <= 64 or window is None:
        await home.async_audit_request_refusal(
            "delivery.announce", "invalid_request", carrier_id=request.carrier_id
        )
        return _refused(400, "invalid_request", "not a delivery announcement")
    reference, start, end = window
    if end - start > MAX_WINDOW:  # refused before any work that grows with the window
        await home.async_audit_request_refusal(
            "delivery.announce",
            "window_too_long",
            carrier_id=request.carrier_id,
            delivery_id=delivery_id,
        )
        return _refused(
            400, "invalid_request", f"a delivery window may last at most {MAX_WINDOW.days} days"
        )
    approved = home.carriers.get(request.carrier_id)
    bridge_home_id = _bridge_home_id(home)
    signed = (
        approved is not None
        and bridge_home_id is not None
        and request.announces_to(bridge_home_id)
        and request.signed_by(approved.public_key)
    )
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


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = dt_util.parse_datetime(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None
