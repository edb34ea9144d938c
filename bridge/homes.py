"""The home surface: enrolment with a one-time code, and the home's outbound websocket.

A home enrols once (``POST /api/v1/homes/enrol``): it spends the code the bridge admin
gave its owner and registers its Ed25519 public key. From then on it keeps a websocket
open to ``GET /api/v1/homes/link`` and proves itself on every connection by signing a
fresh challenge (``protocol.challenge_bytes``), so nobody who merely knows a home's id
can take its place. Requests for the home are relayed over that socket (``links``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
import secrets
from typing import Any

from aiohttp import WSMsgType, web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bridge.audit_checkpoints import (
    EVENT_KIND as CHECKPOINT_EVENT,
    CheckpointRefusedError,
    receive_checkpoint,
)
from bridge.bodies import read_json_object
from bridge.connections import signed_in
from bridge.db.repository import RegistryError
from bridge.delivery_watch import DELIVERY_WATCH_KEY
from bridge.errors import error_response
from bridge.links import Answer, HomeLinks, Link
from bridge.protocol import (
    MAX_FRAME_BYTES,
    NONCE_BYTES,
    SIGNATURE_BYTES,
    ProtocolError,
    b64url,
    challenge_bytes,
    decode,
    encode,
    from_b64url,
)
from bridge.ratelimit import FailureLimiter
from bridge.storage import DELIVERIES_KEY, REGISTRY_KEY

LOGGER = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 20
HELLO_TIMEOUT = 10.0
MAX_ENROL_BYTES = 4096  # a code, a name and a key: a few hundred bytes
# Websocket close codes (4000-4999 are the application's own).
CLOSE_MALFORMED = 4400
CLOSE_UNAUTHORISED = 4401
CLOSE_HELLO_TIMEOUT = 4408

LINKS_KEY = web.AppKey("home_links", HomeLinks)
ENROL_LIMITER_KEY = web.AppKey("enrol_limiter", FailureLimiter)
# Refusals that a guesser causes: they count towards the lockout.
_GUESSES = {"unknown_enrolment_code", "enrolment_code_used", "enrolment_code_expired"}

routes = web.RouteTableDef()


def client_key(request: web.Request) -> str:
    """Who is guessing: the peer address (a reverse proxy must pass the real one on)."""
    return request.remote or "unknown"


@routes.post("/api/v1/homes/enrol")
async def enrol(request: web.Request) -> web.Response:
    limiter = request.app[ENROL_LIMITER_KEY]
    key = client_key(request)
    if (wait := limiter.retry_after(key)) is not None:
        return _enrol_refused(
            request, 429, "rate_limited", "too many failed attempts; try later",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    body = await _json_object(request)
    if isinstance(body, web.Response):
        _log_enrol_refusal(request, "invalid_json")
        return body
    fields = {name: body.get(name) for name in ("code", "name", "public_key")}
    missing = [name for name, value in fields.items() if not isinstance(value, str)]
    if missing:
        return _enrol_refused(
            request, 400, "invalid_request", f"missing text fields: {', '.join(missing)}"
        )
    try:
        home = await request.app[REGISTRY_KEY].enrol_home(
            code=str(fields["code"]), name=str(fields["name"]), public_key=str(fields["public_key"])
        )
    except RegistryError as err:
        if err.code in _GUESSES:
            limiter.failed(key)  # which logs a lockout it starts
        status = 409 if err.code == "duplicate_public_key" else 400
        return _enrol_refused(request, status, err.code, str(err))
    LOGGER.info("home enrolled", extra={"home_id": home.id})
    return web.json_response({"home_id": home.id, "name": home.name}, status=201)


def _log_enrol_refusal(request: web.Request, reason: str) -> None:
    """The reason and the address only: never the code, the name or the key that was sent."""
    LOGGER.warning(
        "enrolment refused: %s", reason, extra={"reason": reason, "client": client_key(request)}
    )


def _enrol_refused(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> web.Response:
    _log_enrol_refusal(request, code)
    return error_response(status, code, message, headers=headers)


@routes.get("/api/v1/homes/link")
async def link(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES)
    await socket.prepare(request)
    home_id = await _handshake(request, socket)
    if home_id is None:
        return socket
    signed_in(request)  # from now on, no longer a stranger's connection
    links = request.app[LINKS_KEY]
    current = Link(home_id, socket)
    await links.attach(current)
    await socket.send_str(encode("welcome", heartbeat=HEARTBEAT_SECONDS))
    LOGGER.info("home connected", extra={"home_id": home_id})
    try:
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                continue
            await _on_frame(request.app, current, frame.data)
    finally:
        links.detach(current)
        LOGGER.info("home disconnected", extra={"home_id": home_id})
    return socket


async def _handshake(request: web.Request, socket: web.WebSocketResponse) -> str | None:
    """The home id once the home has signed our challenge; None (socket closed) otherwise."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    await socket.send_str(encode("challenge", nonce=b64url(nonce)))
    try:
        async with asyncio.timeout(HELLO_TIMEOUT):
            frame = await socket.receive()
    except TimeoutError:
        await socket.close(code=CLOSE_HELLO_TIMEOUT, message=b"no hello in time")
        return None
    if frame.type is not WSMsgType.TEXT:
        await socket.close(code=CLOSE_MALFORMED, message=b"expected hello")
        return None
    try:
        home_id, signature = _hello(frame.data)
    except ProtocolError as err:
        await _refuse(socket, CLOSE_MALFORMED, err.code, str(err))
        return None
    home = await request.app[REGISTRY_KEY].get_home(home_id)
    if home is None or home.revoked_at is not None:
        await _refuse(socket, CLOSE_UNAUTHORISED, "unknown_home", "no such home, or revoked")
        return None
    try:
        Ed25519PublicKey.from_public_bytes(home.public_key).verify(
            signature, challenge_bytes(home_id, nonce)
        )
    except InvalidSignature:
        LOGGER.warning("bad challenge signature", extra={"home_id": home_id})
        await _refuse(socket, CLOSE_UNAUTHORISED, "bad_signature", "the signature does not verify")
        return None
    return home_id


def _hello(text: str) -> tuple[str, bytes]:
    hello = decode(text)
    if hello.type != "hello":
        raise ProtocolError("unexpected_type", "the first message is hello")
    signature = from_b64url(str(hello.fields["signature"]), SIGNATURE_BYTES, "signature")
    return str(hello.fields["home_id"]), signature


async def _on_frame(app: web.Application, current: Link, text: str) -> None:
    links = app[LINKS_KEY]
    try:
        message = decode(text)
    except ProtocolError as err:
        await current.socket.send_str(encode("error", code=err.code, message=str(err)))
        return
    if message.type == "event":
        if (refusal := await _on_event(app, current.home_id, message.fields)) is not None:
            await current.socket.send_str(encode("error", code=refusal[0], message=refusal[1]))
    elif message.type == "response":
        answer = Answer(int(message.fields["status"]), dict(message.fields["body"]))
        if not links.answer(current, str(message.fields["id"]), answer):
            await current.socket.send_str(
                encode("error", code="unknown_request", message="no such request is waiting")
            )
    elif message.type != "error":
        await current.socket.send_str(
            encode("error", code="unexpected_type", message=f"a home does not send {message.type}")
        )


async def _on_event(
    app: web.Application, home_id: str, fields: Mapping[str, Any]
) -> tuple[str, str] | None:
    """A home's report: None once taken, else the error (code, message) the home is told.

    Two kinds are taken: ``delivery.status`` for one of the home's own deliveries, and
    ``audit.checkpoint`` (``audit_checkpoints``).
    """
    body = fields["body"]
    if fields["kind"] == CHECKPOINT_EVENT:
        try:
            await receive_checkpoint(app, home_id, body)
        except CheckpointRefusedError as err:
            return err.code, str(err)
        return None
    if fields["kind"] == "delivery.status" and await _delivery_status(app, home_id, body):
        return None
    return "unknown_event", "no such event for this home"


async def _delivery_status(app: web.Application, home_id: str, body: Mapping[str, Any]) -> bool:
    delivery_id, status, reason = body.get("delivery_id"), body.get("status"), body.get("reason")
    if not isinstance(delivery_id, str):
        return False
    if not isinstance(status, str) or not (reason is None or isinstance(reason, str)):
        return False
    recorded = await app[DELIVERIES_KEY].set_status(
        delivery_id, home_id=home_id, status=status, reason=reason[:64] if reason else None
    )
    if recorded:
        app[DELIVERY_WATCH_KEY].notify(delivery_id)
    return recorded


async def _refuse(socket: web.WebSocketResponse, close_code: int, code: str, message: str) -> None:
    await socket.send_str(encode("error", code=code, message=message))
    await socket.close(code=close_code, message=code.encode())


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    return await read_json_object(request, MAX_ENROL_BYTES)
