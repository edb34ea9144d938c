"""The home's websocket to its bridge: signed in on every connection, kept up for good.

The home connects out (no port opens at home), answers the bridge's challenge with
its Ed25519 key, then serves relayed requests until the socket drops; then it comes
back after a jittered, growing delay (``reconnect_delay``), so a bridge restart does
not meet every home at the same instant. aiohttp's heartbeat pings the bridge and
drops a link that stops answering, which starts the same reconnect.

The bridge decides nothing and this module decides nothing either: each request is
handed to ``handle`` (the home), and whatever it answers goes back.

The bridge is not trusted, so no frame it sends may end the link. Each frame is
checked (``wire.decode``); one the home cannot use is answered with an ``error``
message and audited (``RefusalAudit``: the code and a count, never the frame); a
request whose handler fails is answered 500. The task that runs the link supervises
itself: whatever ends a connection, expected or not, is logged, turns the *Bridge
link* sensor off and is followed by a reconnect, until ``stop``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
import logging
import random
import re
import traceback
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .refusals import Audit, RefusalAudit
from .wire import MAX_FRAME_BYTES, WireError, b64url, challenge_bytes, decode, encode, from_b64url

_LOGGER = logging.getLogger(__name__)
LINK_PATH = "/api/v1/homes/link"
HEARTBEAT_SECONDS = 20
HANDSHAKE_TIMEOUT = 10.0
FIRST_DELAY = 1.0
MAX_DELAY = 20.0
OUTBOX_SIZE = 100
# Frames up to this size reach the decoder and are answered ``too_large``; aiohttp ends
# a connection that sends a bigger one (1009), and the home reconnects.
MAX_RECEIVE_BYTES = 4 * MAX_FRAME_BYTES
MAX_IN_FLIGHT = 32  # requests being handled at once; more are answered 503 home_busy
STOP_WAIT_SECONDS = 5.0
WARN_AFTER_FAILURES = 3  # consecutive failed connections before the home warns
_CODE = re.compile(r"[a-z0-9_.]{1,64}")  # error codes and request kinds
# What ends a connection in the ordinary course: the bridge or the network went away.
_LINK_DOWN = (aiohttp.ClientError, TimeoutError, WireError, OSError)
_HOME_ERROR = {"error": {"code": "home_error", "message": "internal error"}}
_HOME_BUSY = {"error": {"code": "home_busy", "message": "too many requests at once"}}

type Handler = Callable[[str, dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]


def reconnect_delay(failures: int, rng: random.Random) -> float:
    """Seconds before the next attempt: doubling from 1 s to 20 s, then jittered in [d/2, d].

    Capped low enough that a home is back within half a minute of a bridge restart.
    """
    ceiling = min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures, 10))
    return rng.uniform(ceiling / 2, ceiling)


def _code(value: object) -> str:
    """A code or kind the bridge sent, fit for a log line or an attribute, or ``malformed``."""
    return value if isinstance(value, str) and _CODE.fullmatch(value) else "malformed"


def _where(err: BaseException) -> str:
    """Where an exception was raised: file, line and code of each frame, not its message.

    An exception's message may quote a value it choked on, which may be a token or a
    PIN; the frames say where the fault is without saying what was in hand.
    """
    return "".join(traceback.format_tb(err.__traceback__)).rstrip()


def _log_fault(what: str, err: BaseException) -> None:
    """Log a fault at ERROR: its type and where it happened, never its message."""
    _LOGGER.error("%s (%s)\n%s", what, type(err).__name__, _where(err))


def _socket_error_code(error: object) -> str | None:
    """The refusal code for a frame aiohttp itself would not read (it closes the socket);
    None for a broken connection, which is no frame to refuse."""
    if not isinstance(error, aiohttp.WebSocketError):
        return None
    if error.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
        return "too_large"
    if error.code == aiohttp.WSCloseCode.INVALID_TEXT:
        return "invalid_utf8"
    return "malformed"


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
        audit: Audit,
    ) -> None:
        self._hass = hass
        self._url = url.rstrip("/") + LINK_PATH
        self._home_id = home_id
        self._sign = sign
        self._handle = handle
        self._on_change = on_change
        self._refusals = RefusalAudit(audit, self._spawn)
        self._rng = random.Random()  # noqa: S311 - jitter, not a secret
        self._task: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        # Reports made while the link is down, sent once it is up again (oldest dropped).
        self._outbox: deque[str] = deque(maxlen=OUTBOX_SIZE)
        self._warned_down = False
        self._fault_logged = False
        self.connected = False
        self.refused: str | None = None  # the bridge's refusal code, while it refuses

    def start(self, create_task: Callable[[Awaitable[None], str], asyncio.Task[None]]) -> None:
        self._task = create_task(self._run(), f"keyholder bridge link {self._home_id}")

    async def stop(self) -> None:
        """End the link. Always succeeds, whatever became of the task, so a reload works."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as err:  # noqa: BLE001 - stopping must not fail on an old fault
                _log_fault("The bridge link had ended with a fault", err)
        requests = list(self._requests)
        for request in requests:
            request.cancel()
        if requests:  # let them unwind, but a stuck one does not hold up an unload
            await asyncio.wait(requests, timeout=STOP_WAIT_SECONDS)
        await self._refusals.flush()
        self._set_connected(False)

    async def _run(self) -> None:
        """Keep the link up until ``stop``: every way a connection ends leads to the next."""
        failures = 0
        try:
            while True:
                try:
                    await self._connect_and_serve()
                    failures = 0  # it was up: the drop is news, come back soon
                except LinkRefusedError as err:
                    self.refused = err.code
                    _LOGGER.warning("The bridge refused this home: %s", err.code)
                    failures = max(failures + 1, 10)  # do not hammer a bridge that says no
                except _LINK_DOWN as err:
                    failures += 1
                    self._link_failed(failures, err)
                except Exception as err:  # noqa: BLE001 - the supervisor: nothing ends the link
                    failures += 1
                    if not self._fault_logged:  # once until it is up again: no log flood
                        self._fault_logged = True
                        _log_fault("The bridge link failed unexpectedly; it reconnects", err)
                    await self._refusals.refused("link_failed")
                    self._link_failed(failures, err)
                self._set_connected(False)
                await asyncio.sleep(reconnect_delay(failures, self._rng))
        finally:
            self._set_connected(False)

    def _link_failed(self, failures: int, err: BaseException) -> None:
        """Log once when the link becomes unavailable (after a few tries), not every retry."""
        if failures >= WARN_AFTER_FAILURES and not self._warned_down:
            self._warned_down = True
            _LOGGER.warning(
                "The bridge link is down (%s); Keyholder keeps reconnecting", type(err).__name__
            )
        else:
            _LOGGER.debug("Bridge link failed: %s", type(err).__name__)

    async def _connect_and_serve(self) -> None:
        session = async_get_clientsession(self._hass)
        async with session.ws_connect(
            self._url, heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_RECEIVE_BYTES
        ) as socket:
            await self._sign_in(socket)
            self.refused = None
            self._fault_logged = False
            self._set_connected(True)
            if self._warned_down:
                self._warned_down = False
                _LOGGER.info("The bridge link is back")
            else:
                _LOGGER.info("Connected to the bridge")
            self._socket = socket
            try:
                while self._outbox:
                    await socket.send_str(self._outbox[0])
                    self._outbox.popleft()
                async for frame in socket:
                    await self._on_message(socket, frame)
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

        self._spawn(send(), "keyholder bridge report")

    def _spawn(
        self, job: Coroutine[Any, Any, None], name: str = "keyholder bridge link"
    ) -> asyncio.Task[None]:
        """A task of the link's own, which ``stop`` cancels."""
        task = self._hass.async_create_background_task(job, name)
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)
        return task

    async def _sign_in(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            kind, fields = await self._receive(socket)
            if kind != "challenge":
                raise await self._bad_sign_in("unexpected_type", "expected a challenge")
            try:
                nonce = from_b64url(fields["nonce"], 32)
            except WireError as err:
                raise await self._bad_sign_in(err.code, str(err)) from None
            signature = self._sign(challenge_bytes(self._home_id, nonce))
            await socket.send_str(
                encode("hello", home_id=self._home_id, signature=b64url(signature))
            )
            kind, fields = await self._receive(socket)
        if kind == "error":
            raise LinkRefusedError(_code(fields["code"]))
        if kind != "welcome":
            raise await self._bad_sign_in("unexpected_type", "expected a welcome")

    async def _receive(self, socket: aiohttp.ClientWebSocketResponse) -> tuple[str, dict[str, Any]]:
        """The next message of the sign-in; a frame that is none is refused and audited."""
        frame = await socket.receive()
        if frame.type is aiohttp.WSMsgType.TEXT:
            try:
                return decode(frame.data)
            except WireError as err:
                raise await self._bad_sign_in(err.code, str(err)) from None
        if frame.type is aiohttp.WSMsgType.BINARY:
            raise await self._bad_sign_in("malformed", "a message is one text frame")
        if frame.type is aiohttp.WSMsgType.ERROR and (code := _socket_error_code(frame.data)):
            raise await self._bad_sign_in(code, "unreadable frame")
        raise ConnectionError("the bridge closed the link during sign-in")

    async def _bad_sign_in(self, code: str, message: str) -> WireError:
        """A bridge that breaks the sign-in: audited; the home drops it and tries again."""
        await self._refusals.refused(code)
        return WireError(code, message)

    async def _on_message(
        self, socket: aiohttp.ClientWebSocketResponse, frame: aiohttp.WSMessage
    ) -> None:
        """One frame on a live link. Whatever it holds, the link stays up."""
        try:
            if frame.type is aiohttp.WSMsgType.TEXT:
                await self._on_frame(socket, frame.data)
            elif frame.type is aiohttp.WSMsgType.BINARY:
                await self._refuse(socket, "malformed", "a message is one text frame")
            elif frame.type is aiohttp.WSMsgType.ERROR and (code := _socket_error_code(frame.data)):
                # aiohttp would not read it and is closing the socket: audit, then reconnect.
                await self._refusals.refused(code)
        except (aiohttp.ClientError, ConnectionError):
            raise  # the socket is gone: the supervisor reconnects
        except Exception as err:  # noqa: BLE001 - a frame must never end the link
            _log_fault("A frame from the bridge could not be handled", err)
            await self._refuse(socket, "home_error", "the home could not handle this frame")

    async def _refuse(
        self, socket: aiohttp.ClientWebSocketResponse, code: str, message: str
    ) -> None:
        """Audit the refusal (the code only), then tell the bridge."""
        await self._refusals.refused(code)
        if not socket.closed:
            await socket.send_str(encode("error", code=code, message=message))

    async def _on_frame(self, socket: aiohttp.ClientWebSocketResponse, text: str) -> None:
        try:
            kind, fields = decode(text)
        except WireError as err:
            await self._refuse(socket, err.code, str(err))
            return
        if kind == "error":
            _LOGGER.debug("The bridge reported an error: %s", _code(fields["code"]))
            return
        if kind != "request":
            await self._refuse(socket, "unexpected_type", f"a bridge does not send {kind}")
            return
        request_id = fields["id"]
        if self._in_flight >= MAX_IN_FLIGHT:
            await self._refusals.refused("home_busy")
            await socket.send_str(encode("response", id=request_id, status=503, body=_HOME_BUSY))
            return
        self._in_flight += 1
        task = self._hass.async_create_background_task(
            self._answer(socket, request_id, fields["kind"], fields["body"]),
            f"keyholder bridge request {request_id}",
        )
        self._requests.add(task)
        task.add_done_callback(self._request_done)

    def _request_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight -= 1
        self._requests.discard(task)

    async def _answer(
        self,
        socket: aiohttp.ClientWebSocketResponse,
        request_id: str,
        kind: str,
        body: dict[str, Any],
    ) -> None:
        """Answer one request, whatever its handler does: a fault is a 500, audited."""
        try:
            status, answer = await self._handle(kind, body)
            frame = encode("response", id=request_id, status=status, body=answer)
        except Exception as err:  # noqa: BLE001 - every request gets an answer
            _log_fault(f"A {_code(kind)} request from the bridge failed", err)
            await self._refusals.refused("home_error")
            frame = encode("response", id=request_id, status=500, body=_HOME_ERROR)
        if socket.closed:
            return
        try:
            await socket.send_str(frame)
        except (aiohttp.ClientError, ConnectionError) as err:
            _LOGGER.debug("Could not answer the bridge: %s", type(err).__name__)

    def _set_connected(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        try:
            self._on_change()
        except Exception as err:  # noqa: BLE001 - a listener's fault is not the link's
            _log_fault("Updating the bridge link's state failed", err)
