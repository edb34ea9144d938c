"""Deliveries, as carriers see them: announce, ask again, and follow the status to the end.

All three are signed like every carrier request (``carrier_signature``). The home
answers an announcement (accepted, or declined with a reason); the door's opening
is the carrier API's ``open``; the visit's end (closed and locked, left open, or
not relocked) is reported by the home. Every status is stored, so a carrier can ask
again at any time, also after the bridge restarted.

``GET .../events`` is a stream of server-sent events: one ``status`` event with the
delivery now, then one per change, until a final status; a comment every 15 s
keeps idle connections open.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime, timedelta
import json
from typing import Any

from aiohttp import web

from bridge.bodies import json_object
from bridge.carriers import MAX_BODY_BYTES, log_refusal, refuse, signed_carrier_request
from bridge.db.deliveries import FINAL_STATUSES
from bridge.db.repository import is_display_text
from bridge.db.tables import Delivery
from bridge.delivery_watch import DELIVERY_WATCH_KEY
from bridge.errors import error_response
from bridge.homes import LINKS_KEY
from bridge.links import LinkError
from bridge.protocol import b64url
from bridge.storage import DELIVERIES_KEY, REGISTRY_KEY

KEEPALIVE_SECONDS = 15
MAX_REFERENCE = 100
# The home refuses a longer window too (docs/protocol.md); refusing it here spares the
# home the request and keeps such a delivery out of the bridge's database.
MAX_WINDOW = timedelta(days=31)

routes = web.RouteTableDef()


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "home_id": delivery.home_id,
        "reference": delivery.reference,
        "window_start": delivery.window_start.isoformat(),
        "window_end": delivery.window_end.isoformat(),
        "status": delivery.status,
        "reason": delivery.reason,
        "updated_at": delivery.updated_at.isoformat(),
    }


def _window(data: dict[str, Any]) -> tuple[str, datetime, datetime] | None:
    reference, start, end = data.get("reference"), data.get("window_start"), data.get("window_end")
    if not isinstance(reference, str) or not 0 < len(reference) <= MAX_REFERENCE:
        return None
    if not is_display_text(reference) or not isinstance(start, str) or not isinstance(end, str):
        return None
    try:
        begins = datetime.fromisoformat(start)
        ends = datetime.fromisoformat(end)
        if begins.tzinfo is None or ends.tzinfo is None:
            return None
        # In UTC now: at the ends of the calendar, converting later would overflow.
        begins, ends = begins.astimezone(UTC), ends.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if begins >= ends or ends - begins > MAX_WINDOW:
        return None
    return reference, begins, ends


@routes.post("/api/v1/carrier/homes/{home_id}/deliveries")
async def announce(request: web.Request) -> web.Response:
    checked = await signed_carrier_request(request)
    if isinstance(checked, web.Response):
        return checked
    signed, body = checked
    data = json_object(body, MAX_BODY_BYTES)
    if isinstance(data, web.Response):
        log_refusal(request, "invalid_json")
        return data
    parsed = _window(data)
    if parsed is None:
        return refuse(
            request, 400, "invalid_request",
            "reference (1-100 printable characters) and an aware window of at most 31 days "
            "are needed",
        )  # fmt: skip
    home = await request.app[REGISTRY_KEY].get_home(request.match_info["home_id"])
    if home is None or home.revoked_at is not None:
        return refuse(request, 404, "unknown_home", "no such home")
    reference, start, end = parsed
    book = request.app[DELIVERIES_KEY]
    delivery = await book.create(
        home_id=home.id,
        carrier_id=signed.carrier_id,
        reference=reference,
        window_start=start,
        window_end=end,
    )
    try:
        answer = await request.app[LINKS_KEY].relay(
            home.id,
            "delivery.announce",
            {
                "delivery_id": delivery.id,
                "carrier_id": signed.carrier_id,
                "method": signed.method,
                "path": signed.path,
                "body": body.decode(),
                "timestamp": signed.timestamp,
                "nonce": signed.nonce,
                "signature": b64url(signed.signature),
            },
        )
    except LinkError as err:
        return error_response(503 if err.code == "home_offline" else 504, err.code, str(err))
    error = answer.body.get("error")
    reason = error.get("code") if isinstance(error, dict) else None
    status = "accepted" if answer.status == 200 else "declined"
    await book.set_status(delivery.id, home_id=home.id, status=status, reason=reason)
    request.app[DELIVERY_WATCH_KEY].notify(delivery.id)
    stored = await book.get(delivery.id) or delivery
    return web.json_response(delivery_json(stored), status=201)


async def _own_delivery(request: web.Request, carrier_id: str) -> Delivery | None:
    delivery = await request.app[DELIVERIES_KEY].get(request.match_info["delivery_id"])
    return delivery if delivery is not None and delivery.carrier_id == carrier_id else None


@routes.get("/api/v1/carrier/deliveries/{delivery_id}")
async def status(request: web.Request) -> web.Response:
    checked = await signed_carrier_request(request)
    if isinstance(checked, web.Response):
        return checked
    delivery = await _own_delivery(request, checked[0].carrier_id)
    if delivery is None:
        return refuse(request, 404, "unknown_delivery", "no such delivery of this carrier")
    return web.json_response(delivery_json(delivery))


@routes.get("/api/v1/carrier/deliveries/{delivery_id}/events")
async def events(request: web.Request) -> web.StreamResponse:
    checked = await signed_carrier_request(request)
    if isinstance(checked, web.Response):
        return checked
    carrier_id = checked[0].carrier_id
    delivery = await _own_delivery(request, carrier_id)
    if delivery is None:
        return refuse(request, 404, "unknown_delivery", "no such delivery of this carrier")
    stream = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await stream.prepare(request)
    watch = request.app[DELIVERY_WATCH_KEY]
    sent: tuple[str, str | None] | None = None
    while True:
        changed = watch.changed(delivery.id)  # before reading, so no change slips between
        current = await _own_delivery(request, carrier_id)
        if current is None:
            break
        if (current.status, current.reason) != sent:
            sent = (current.status, current.reason)
            payload = json.dumps(delivery_json(current))
            await stream.write(f"event: status\ndata: {payload}\n\n".encode())
        if current.status in FINAL_STATUSES:
            break
        with suppress(TimeoutError):
            async with asyncio.timeout(KEEPALIVE_SECONDS):
                await changed.wait()
                continue
        await stream.write(b": keepalive\n\n")
    await stream.write_eof()
    return stream
