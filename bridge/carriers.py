"""The carrier API: the directory homeowners approve carriers from, and signed requests to open.

A carrier's request is signed with the carrier's own key (``carrier_signature``).
The bridge checks the signature, the time and that the nonce is new, so a forged
or replayed request never reaches a home, then forwards it untouched; the home
checks it all again with the key its owner approved and decides. The bridge's
checks protect homes from noise; the home's checks are the ones that count.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
import re
import time

from aiohttp import web

from bridge.bodies import json_object, read_body
from bridge.carrier_signature import (
    MAX_SKEW_SECONDS,
    SignatureError,
    SignedRequest,
    parse,
    verify,
)
from bridge.delivery_watch import DELIVERY_WATCH_KEY
from bridge.errors import error_response
from bridge.homes import LINKS_KEY, client_key
from bridge.keys import encode_public_key
from bridge.links import Answer, LinkError
from bridge.protocol import b64url
from bridge.ratelimit import FailureLimiter
from bridge.storage import DELIVERIES_KEY, NONCES_KEY, REGISTRY_KEY

LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024
# A request is fresh for MAX_SKEW_SECONDS either side of its timestamp, so a nonce is
# remembered for twice that from when it was first seen: longer than any replay could work.
NONCE_LIFETIME = timedelta(seconds=2 * MAX_SKEW_SECONDS)
OPEN_PATH = "/api/v1/carrier/homes/{home_id}/doors/{door_id}/open"
_CARRIER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")

CARRIER_LIMITER_KEY = web.AppKey("carrier_limiter", FailureLimiter)

routes = web.RouteTableDef()


def log_refusal(request: web.Request, reason: str) -> None:
    """One line per refused carrier request: the reason, who claimed to ask, from where.

    Never the signature, the nonce, the timestamp or the body: only what says why and
    who, and the carrier id only if it is spelled like one (it is the client's claim).
    """
    claimed = request.headers.get("Keyholder-Carrier", "")
    LOGGER.warning(
        "carrier request refused: %s",
        reason,
        extra={
            "reason": reason,
            "carrier_id": claimed if _CARRIER_ID.fullmatch(claimed) else None,
            "client": client_key(request),
            "method": request.method,
            "route": request.match_info.route.resource.canonical
            if request.match_info.route.resource is not None
            else None,
        },
    )


def refuse(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The refusal, logged."""
    log_refusal(request, code)
    return error_response(status, code, message, headers=headers)


@routes.get("/api/v1/carriers")
async def directory(request: web.Request) -> web.Response:
    """Carriers a homeowner can approve: id, name and public key (all public)."""
    carriers = await request.app[REGISTRY_KEY].list_carriers(include_revoked=False)
    return web.json_response(
        {
            "carriers": [
                {"id": c.id, "name": c.name, "public_key": encode_public_key(c.public_key)}
                for c in carriers
            ]
        }
    )


async def signed_carrier_request(
    request: web.Request,
) -> tuple[SignedRequest, bytes] | web.Response:
    """The checked request and its body, or the refusal to send (counted as a failure)."""
    limiter = request.app[CARRIER_LIMITER_KEY]
    client = client_key(request)
    if (wait := limiter.retry_after(client)) is not None:
        return refuse(
            request, 429, "rate_limited", "too many refused requests; try later",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    body = await read_body(request, MAX_BODY_BYTES)
    if isinstance(body, web.Response):
        log_refusal(request, "body_too_large")
        return body
    try:
        return await checked_request(request, body), body
    except SignatureError as err:
        limiter.failed(client)  # which logs a lockout it starts
        return refuse(request, 401, err.code, str(err))


@routes.post(OPEN_PATH)
async def carrier_open(request: web.Request) -> web.Response:
    checked = await signed_carrier_request(request)
    if isinstance(checked, web.Response):
        return checked
    signed, body = checked
    if body:  # an empty body is an open without a reference
        parsed = json_object(body, MAX_BODY_BYTES)
        if isinstance(parsed, web.Response):
            log_refusal(request, "invalid_json")
            return parsed
        named = parsed.get("delivery_id")
    else:
        named = None
    # Strict UTF-8 was checked by json_object; the home gets the text exactly as signed.
    return await _forward(request, signed, body.decode(), named)


async def checked_request(request: web.Request, body: bytes) -> SignedRequest:
    """The request if its carrier is known, its signature verifies, and it is new and fresh.

    The headers go in as aiohttp's case-insensitive mapping: HTTP/2 and many clients
    send header names in lower case.
    """
    now = time.time()
    signed = parse(request.method, request.rel_url.raw_path, body, request.headers)
    carrier = await request.app[REGISTRY_KEY].get_carrier(signed.carrier_id)
    if carrier is None or carrier.revoked_at is not None:
        raise SignatureError("unknown_carrier", "no such carrier, or revoked")
    verify(signed, carrier.public_key, now=now)
    at = datetime.fromtimestamp(now, UTC)
    if not await request.app[NONCES_KEY].first_use(
        carrier.id, signed.nonce, now=at, expires_at=at + NONCE_LIFETIME
    ):
        raise SignatureError("replayed_request", "this nonce was already used")
    return signed


async def _forward(
    request: web.Request, signed: SignedRequest, text: str, named: object
) -> web.Response:
    """Relay the request as signed; the home's answer, or why there is none."""
    home = await request.app[REGISTRY_KEY].get_home(request.match_info["home_id"])
    if home is None or home.revoked_at is not None:
        return refuse(request, 404, "unknown_home", "no such home")
    try:
        answer = await request.app[LINKS_KEY].relay(
            home.id,
            "carrier.open",
            {
                "carrier_id": signed.carrier_id,
                "method": signed.method,
                "path": signed.path,
                "body": text,
                "timestamp": signed.timestamp,
                "nonce": signed.nonce,
                "signature": b64url(signed.signature),
            },
        )
    except LinkError as err:
        status = 503 if err.code == "home_offline" else 504
        return error_response(status, err.code, str(err))
    await _record_opening(request, home.id, signed.carrier_id, named, answer)
    return web.json_response(dict(answer.body), status=answer.status)


async def _record_opening(
    request: web.Request, home_id: str, carrier_id: str, named: object, answer: Answer
) -> None:
    """For a delivery named in the body: store what the home answered (opened or refused)."""
    book = request.app[DELIVERIES_KEY]
    if not isinstance(named, str) or (delivery := await book.get(named)) is None:
        return
    if delivery.carrier_id != carrier_id:
        return
    error = answer.body.get("error")
    reason = error.get("code") if isinstance(error, dict) else None
    status = "opened" if answer.status == 200 else "refused"
    if await book.set_status(named, home_id=home_id, status=status, reason=reason):
        request.app[DELIVERY_WATCH_KEY].notify(named)
