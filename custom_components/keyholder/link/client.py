"""The home's websocket to its bridge: signed in on every connection, kept up for good.

The home connects out (no port opens at home), answers the bridge's challenge with
its Ed25519 key, then serves relayed requests until the socket drops; then it comes
back after a jittered, growing delay (``reconnect_delay``), so a bridge restart does
not meet every home at the same instant. aiohttp's heartbeat pings the bridge and
drops a link that stops answering, which starts the same reconnect.

The bridge decides nothing and this module decides nothing either: each request is
handed to ``handle`` (the home), and whatever it answers goes back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import contextlib
import logging
import random
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .wire import WireError, b64url, challenge_bytes, decode, encode, from_b64url

_LOGGER = logging.getLogger(__name__)
LINK_PATH = "/api/v1/homes/link"
HEARTBEAT_SECONDS = 20
HANDSHAKE_TIMEOUT = 10.0
FIRST_DELAY = 1.0
MAX_DELAY = 20.0
OUTBOX_SIZE = 100

type Handler = Callable[[str, dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]


def reconnect_delay(failures: int, rng: random.Random) -> float:
    """Seconds before the next attempt: doubling from 1 s to 20 s, then jittered in [d/2, d].

    Capped low enough that a home is back within half a minute of a bridge restart.
    """
    ceiling = min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures, 10))
    return rng.uniform(ceiling / 2, ceiling)


class LinkRefusedError(Exception):
    """The bridge refused the home (unknown, revoked, bad signature); ``code`` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class BridgeLink:
    """One home's link to one bridge."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        url: str,
        home_id: str,
        sign: Callable[[bytes], bytes],
        handle: Handler,
        on_change: Callable[[], None],
    ) -> None:
        self._hass = hass
        self._url = url.rstrip("/") + LINK_PATH
        self._home_id = home_id
        self._sign = sign
        self._handle = handle
        self._on_change = on_change
        self._rng = random.Random()  # noqa: S311 - jitter, not a secret
        self._task: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        # Reports made while the link is down, sent once it is up again (oldest dropped).
        self._outbox: deque[str] = deque(maxlen=OUTBOX_SIZE)
        self.connected = False
        self.refused: str | None = None  # the bridge's refusal code, while it refuses

    def start(self, create_task: Callable[[Awaitable[None], str], asyncio.Task[None]]) -> None:
        self._task = create_task(self._run(), f"keyholder bridge link {self._home_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for request in list(self._requests):
            request.cancel()
        self._set_connected(False)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._connect_and_serve()
                failures = 0  # it was up: the drop is news, come back soon
            except LinkRefusedError as err:
                self.refused = err.code
                _LOGGER.warning("The bridge refused this home: %s", err.code)
                failures = max(failures + 1, 10)  # do not hammer a bridge that says no
            except (aiohttp.ClientError, TimeoutError, WireError, OSError) as err:
                _LOGGER.debug("Bridge link failed: %s", err)
                failures += 1
            self._set_connected(False)
            await asyncio.sleep(reconnect_delay(failures, self._rng))

    async def _connect_and_serve(self) -> None:
        session = async_get_clientsession(self._hass)
        async with session.ws_connect(
            self._url, heartbeat=HEARTBEAT_SECONDS, max_msg_size=64 * 1024
        ) as socket:
            await self._sign_in(socket)
            self.refused = None
            self._set_connected(True)
            _LOGGER.info("Connected to the bridge")
            self._socket = socket
            try:
                while self._outbox:
                    await socket.send_str(self._outbox[0])
                    self._outbox.popleft()
                async for frame in socket:
                    if frame.type is aiohttp.WSMsgType.TEXT:
                        await self._on_frame(socket, frame.data)
            finally:
                self._socket = None
            _LOGGER.info("The bridge closed the link (%s)", socket.close_code)

    @callback
    def send_event(self, kind: str, body: dict[str, Any]) -> None:
        """Report something to the bridge now, or as soon as the link is up again."""
        frame = encode("event", kind=kind, body=body)
        socket = self._socket
        if socket is None or socket.closed:
            self._outbox.append(frame)
            return

        async def send() -> None:
            try:
                await socket.send_str(frame)
            except (aiohttp.ClientError, ConnectionError):
                self._outbox.append(frame)

        task = self._hass.async_create_background_task(send(), "keyholder bridge report")
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _sign_in(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            kind, fields = decode(await socket.receive_str())
            if kind != "challenge" or not isinstance(fields.get("nonce"), str):
                raise WireError("unexpected_type", "expected a challenge")
            nonce = from_b64url(fields["nonce"], 32)
            signature = self._sign(challenge_bytes(self._home_id, nonce))
            await socket.send_str(
                encode("hello", home_id=self._home_id, signature=b64url(signature))
            )
            kind, fields = decode(await socket.receive_str())
        if kind == "error":
            raise LinkRefusedError(str(fields.get("code")))
        if kind != "welcome":
            raise WireError("unexpected_type", "expected a welcome")

    async def _on_frame(self, socket: aiohttp.ClientWebSocketResponse, text: str) -> None:
        try:
            kind, fields = decode(text)
        except WireError as err:
            await socket.send_str(encode("error", code=err.code, message=str(err)))
            return
        if kind == "error":
            _LOGGER.debug("The bridge reported an error: %s", fields.get("code"))
            return
        request_id, body = fields.get("id"), fields.get("body")
        if kind != "request" or not isinstance(request_id, str) or not isinstance(body, dict):
            await socket.send_str(encode("error", code="malformed", message="not a request"))
            return
        task = self._hass.async_create_background_task(
            self._answer(socket, request_id, str(fields.get("kind")), body),
            f"keyholder bridge request {request_id}",
        )
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _answer(
        self,
        socket: aiohttp.ClientWebSocketResponse,
        request_id: str,
        kind: str,
        body: dict[str, Any],
    ) -> None:
        try:
            status, answer = await self._handle(kind, body)
        except Exception:
            _LOGGER.exception("A %s request from the bridge failed", kind)
            status, answer = 500, {"error": {"code": "home_error", "message": "internal error"}}
        if not socket.closed:
            await socket.send_str(encode("response", id=request_id, status=status, body=answer))

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self._on_change()
