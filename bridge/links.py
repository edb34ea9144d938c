"""Homes connected right now, and relaying a request to one of them and its answer back.

The bridge decides nothing: ``relay`` hands a request to the home and returns whatever
the home answers, or says the home could not be reached. One connection per home: a
new one (the home reconnected) replaces the old, whose waiting requests fail as
``home_offline`` so a caller can ask again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
import secrets
from typing import Any, Protocol

from bridge.protocol import encode

DEFAULT_RELAY_TIMEOUT = 15.0


class LinkError(Exception):
    """The home could not answer; ``code`` is the stable API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Socket(Protocol):
    """What a link needs of a websocket (aiohttp's ``WebSocketResponse`` has it)."""

    async def send_str(self, data: str) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """What the home answered: an HTTP-like status and a JSON body, passed on unchanged."""

    status: int
    body: Mapping[str, Any]


@dataclass(eq=False)
class Link:
    """One home's live connection and the requests waiting for its answers."""

    home_id: str
    socket: Socket
    waiting: dict[str, asyncio.Future[Answer]] = field(default_factory=dict)

    def fail_waiting(self, code: str, message: str) -> None:
        for answer in self.waiting.values():
            if not answer.done():
                answer.set_exception(LinkError(code, message))
        self.waiting.clear()


class HomeLinks:
    """Every connected home, by id."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}

    def __len__(self) -> int:
        return len(self._links)

    def is_connected(self, home_id: str) -> bool:
        return home_id in self._links

    async def attach(self, link: Link) -> None:
        """Make ``link`` the home's connection; an older one is closed (4409: replaced)."""
        old = self._links.get(link.home_id)
        self._links[link.home_id] = link
        if old is not None:
            old.fail_waiting("home_offline", "the home reconnected; ask again")
            await old.socket.close(code=4409, message=b"replaced by a newer connection")

    def detach(self, link: Link) -> None:
        """Forget ``link`` if it is still the home's connection; its waiting requests fail."""
        if self._links.get(link.home_id) is link:
            del self._links[link.home_id]
        link.fail_waiting("home_offline", "the home disconnected")

    def answer(self, link: Link, request_id: str, answer: Answer) -> bool:
        """Hand the home's answer to whoever waits for it; False for an unknown request."""
        waiting = link.waiting.pop(request_id, None)
        if waiting is None or waiting.done():
            return False
        waiting.set_result(answer)
        return True

    async def relay(
        self,
        home_id: str,
        kind: str,
        body: Mapping[str, Any],
        *,
        wait: float = DEFAULT_RELAY_TIMEOUT,
    ) -> Answer:
        """Send a request to the home and wait up to ``wait`` seconds for its answer."""
        link = self._links.get(home_id)
        if link is None:
            raise LinkError("home_offline", "the home is not connected to the bridge")
        request_id = secrets.token_urlsafe(12)
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        link.waiting[request_id] = answer
        try:
            await link.socket.send_str(encode("request", id=request_id, kind=kind, body=body))
            async with asyncio.timeout(wait):
                return await answer
        except TimeoutError:
            raise LinkError("home_timeout", "the home did not answer in time") from None
        except ConnectionError as err:
            raise LinkError("home_offline", "the home's connection broke") from err
        finally:
            link.waiting.pop(request_id, None)

    async def close_all(self) -> None:
        """At shutdown: tell every home to come back later (1001: going away)."""
        for link in list(self._links.values()):
            link.fail_waiting("home_offline", "the bridge is shutting down")
            await link.socket.close(code=1001, message=b"bridge shutting down")
        self._links.clear()
