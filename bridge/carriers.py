"""The carrier API: the directory homeowners approve carriers from, and signed requests to open.

A carrier's request is signed with the carrier's own key (``carrier_signature``).
The bridge checks the signature, the time and that the nonce is new, so a forged
or replayed request never reaches a home, then forwards it untouched; the home
checks it all again with the key its owner approved and decides. The bridge's
checks protect homes from noise; the home's checks are the ones that count.
"""

from __future__ import annotations

import json
import time

from aiohttp import web

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
from bridge.storage import DELIVERIES_KEY, REGISTRY_KEY

MAX_BODY_BYTES = 16 * 1024
MAX_REMEMBERED_NONCES = 1_000_000
OPEN_PATH = "/api/v1/carrier/homes/{home_id}/doors/{door_id}/open"


class NonceCache:
    """Nonces seen per carrier until their request could no longer be fresh."""

    def __init__(self) -> None:
        self._until: dict[tuple[str, str], float] = {}

    def first_use(self, carrier_id: str, nonce: str, *, now: float) -> bool:
        """Remember the nonce; False if it was already used."""
        if len(self._until) >= MAX_REMEMBERED_NONCES:
            self._until = {key: until for key, until in self._until.items() if until > now}
        key = (carrier_id, nonce)
        if self._until.get(key, 0.0) > now:
            return False
        self._until[key] = now + 2 * MAX_SKEW_SECONDS
        return True


CARRIER_NONCES_KEY = web.AppKey("carrier_nonces", NonceCache)
CARRIER_LIMITER_KEY = web.AppKey("carrier_limiter", FailureLimiter)

routes = web.RouteTableDef()


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
        return error_response(
            429, "rate_limited", "too many refused requests; try later",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return error_response(413, "body_too_large", f"at most {MAX_BODY_BYTES} bytes")
    try:
        return await checked_request(request, body), body
    except SignatureError as err:
        limiter.failed(client)
        return error_response(401, err.code, str(err))


@routes.post(OPEN_PATH)
async def carrier_open(request: web.Request) -> web.Response:
    checked = await signed_carrier_request(request)
    if isinstance(checked, web.Response):
        return checked
    signed, body = checked
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return error_response(400, "invalid_body", "the body must be UTF-8 text")
    return await _forward(request, signed, text)


async def checked_request(request: web.Request, body: bytes) -> SignedRequest:
    """The request if its carrier is known, its signature verifies, and it is new and fresh."""
    now = time.time()
    signed = parse(request.method, request.rel_url.raw_path, body, dict(request.headers))
    carrier = await request.app[REGISTRY_KEY].get_carrier(signed.carrier_id)
    if carrier is None or carrier.revoked_at is not None:
        raise SignatureError("unknown_carrier", "no such carrier, or revoked")
    verify(signed, carrier.public_key, now=now)
    if not request.app[CARRIER_NONCES_KEY].first_use(carrier.id, signed.nonce, now=now):
        raise SignatureError("replayed_request", "this nonce was already used")
    return signed


async def _forward(request: web.Request, signed: SignedRequest, text: str) -> web.Response:
    """Relay the request as signed; the home's answer, or why there is none."""
    home = await request.app[REGISTRY_KEY].get_home(request.match_info["home_id"])
    if home is None or home.revoked_at is not None:
        return error_response(404, "unknown_home", "no such home")
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
    await _record_opening(request, home.id, signed.carrier_id, text, answer)
    return web.json_response(dict(answer.body), status=answer.status)


async def _record_opening(
    request: web.Request, home_id: str, carrier_id: str, text: str, answer: Answer
) -> None:
    """For a delivery named in the body: store what the home answered (opened or refused)."""
    try:
        named = json.loads(text).get("delivery_id") if text else None
    except (ValueError, AttributeError):
        return
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
