"""Connections from strangers: a deadline for the request head, and a cap per address.

aiohttp waits forever for the first request on a connection: a client that sends
half a request line and stops holds a socket and a task until it goes away, and a
few thousand of those from one address starve everyone else. ``ConnectionGuard``
wraps each connection's protocol (what ``serve`` hands to ``loop.create_server``):

- the request head must arrive within ``header_timeout`` seconds of connecting,
  or the connection is answered ``408 request_timeout`` and closed (between
  requests on a kept-alive connection, aiohttp's ``keepalive_timeout`` does the
  same, and ``serve`` sets it to the same value);
- at most ``max_per_address`` connections from one address are open at a time;
  the next is answered ``429 too_many_connections`` and closed at once.

A home's websocket stops counting once the home has signed in (``signed_in``):
it is no longer a stranger, and one address may serve many homes behind a NAT.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
import json
import logging
from typing import Final, cast

from aiohttp import web

LOGGER = logging.getLogger(__name__)
DEFAULT_HEADER_TIMEOUT: Final = 10.0
DEFAULT_MAX_PER_ADDRESS: Final = 32

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer in the bridge's error shape, for before aiohttp has a request."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


_TIMEOUT_ANSWER: Final = _answer(
    408, "Request Timeout", "request_timeout", "the request head did not arrive in time"
)
_TOO_MANY_ANSWER: Final = _answer(
    429, "Too Many Requests", "too_many_connections", "too many open connections from this address"
)


class ConnectionGuard:
    """Counts open connections per address; makes the guarded protocol for each."""

    def __init__(self, *, header_timeout: float, max_per_address: int) -> None:
        self.header_timeout = header_timeout
        self.max_per_address = max_per_address
        self._open: Counter[str] = Counter()

    def protocol_factory(
        self, make_handler: Callable[[], asyncio.Protocol]
    ) -> Callable[[], asyncio.Protocol]:
        """What ``loop.create_server`` calls per connection, wrapping aiohttp's handler."""
        return lambda: GuardedConnection(self, make_handler)

    def admit(self, address: str) -> bool:
        if self._open[address] >= self.max_per_address:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]


class GuardedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the deadline and the count."""

    def __init__(
        self, guard: ConnectionGuard, make_handler: Callable[[], asyncio.Protocol]
    ) -> None:
        self._guard = guard
        self._make_handler = make_handler
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._address: str | None = None  # set while the connection counts
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast("asyncio.Transport", transport)  # a stream server's are
        self._transport = transport
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if not self._guard.admit(address):
            LOGGER.warning(
                "connection refused: too_many_connections",
                extra={"reason": "too_many_connections", "client": address},
            )
            transport.write(_TOO_MANY_ANSWER)
            transport.close()
            return
        self._address = address
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.header_timeout, self._too_slow)
        self._inner = self._make_handler()
        self._inner.connection_made(transport)

    def request_started(self) -> None:
        """aiohttp has parsed a request head: the deadline is met."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def signed_in(self) -> None:
        """The peer proved who it is: it stops counting against its address."""
        if self._address is not None:
            self._guard.release(self._address)
            self._address = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self._transport is not None and not self._transport.is_closing():
            LOGGER.info(
                "connection closed: request_timeout",
                extra={"reason": "request_timeout", "client": self._address},
            )
            self._transport.write(_TIMEOUT_ANSWER)
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.request_started()  # nothing left to wait for
        self.signed_in()  # and nothing left to count
        if self._inner is not None:
            self._inner.connection_lost(exc)
            self._inner = None


def _guarded(request: web.Request) -> GuardedConnection | None:
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    return protocol if isinstance(protocol, GuardedConnection) else None


def signed_in(request: web.Request) -> None:
    """Stop counting ``request``'s connection (a no-op when served without a guard)."""
    if (connection := _guarded(request)) is not None:
        connection.signed_in()


@web.middleware
async def head_received(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: a request exists, so its head arrived in time."""
    if (connection := _guarded(request)) is not None:
        connection.request_started()
    return await handler(request)
