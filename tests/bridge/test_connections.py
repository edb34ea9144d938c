"""Connections that never finish a request, against the real bridge process over raw sockets.

The bridge runs with a one-second deadline for request heads and at most three
connections per address before one signs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest

from .conftest import LiveBridge
from .fake_home import FakeHome
from .raw_http import exchange, open_from, read_answer, request_bytes

MAX_PER_ADDRESS = 3
# A request head that has arrived, and a body that never will: the connection stays open.
STALLED = b"POST /api/v1/homes/enrol HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"


@pytest.fixture
def bridge_args() -> tuple[str, ...]:
    return ("--header-timeout", "1", "--max-connections-per-address", str(MAX_PER_ADDRESS))


async def test_half_a_request_line_is_answered_408_and_closed_after_the_timeout(
    live_bridge: LiveBridge,
) -> None:
    started = time.monotonic()
    reader, writer = await open_from(live_bridge.process.port)
    writer.write(b"GET /heal")
    status, body = await read_answer(reader, seconds=5)
    elapsed = time.monotonic() - started
    writer.close()
    assert (status, body["error"]["code"]) == (408, "request_timeout")
    assert 0.8 <= elapsed < 4, elapsed


async def test_half_a_second_request_on_a_kept_alive_connection_is_closed_too(
    live_bridge: LiveBridge,
) -> None:
    reader, writer = await open_from(live_bridge.process.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /heal")
    started = time.monotonic()
    async with asyncio.timeout(5):
        answered = await reader.read()  # to the end: the bridge closes it
    writer.close()
    assert answered.startswith(b"HTTP/1.1 200 ")
    assert time.monotonic() - started < 4


async def test_an_address_holds_so_many_connections_and_signed_in_homes_do_not_count(
    live_bridge: LiveBridge,
) -> None:
    live = live_bridge
    port = live.process.port
    # Three homes signed in from 127.0.0.1 (the fixture's and two more): none of them counts.
    homes = [await live.connect_home() for _ in range(2)]
    stalled = []
    try:
        for _ in range(MAX_PER_ADDRESS):
            reader, writer = await open_from(port)
            writer.write(STALLED)
            stalled.append((reader, writer))
        for reader, _writer in stalled:  # admitted: waiting for the rest of the body
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await reader.read(1)
        one_too_many = await open_from(port)
        status, body = await read_answer(one_too_many[0], seconds=5)
        one_too_many[1].close()
        assert (status, body["error"]["code"]) == (429, "too_many_connections")
        # Another address is not held back by the first one's connections.
        healthz = request_bytes("GET", "/healthz", [], b"")
        assert (await exchange(port, healthz, source="127.0.0.2"))[0] == 200
        # A home can still sign in (its connection counts only until it has).
        homes.append(await _home_after_a_free_slot(live, stalled))
        # Once one stalled connection is gone, its address may connect again.
        assert (await _eventually_served(port))[0] == 200
    finally:
        for _reader, writer in stalled:
            writer.close()
        for home in homes:
            await home.close()
    assert all(home.socket is not None for home in homes)


async def _home_after_a_free_slot(
    live: LiveBridge, stalled: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
) -> FakeHome:
    _reader, writer = stalled.pop()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    async with asyncio.timeout(5):
        while True:
            try:
                return await live.connect_home()
            except aiohttp.ClientError:  # refused until the bridge has seen the close
                await asyncio.sleep(0.05)


async def _eventually_served(port: int) -> tuple[int, object]:
    healthz = request_bytes("GET", "/healthz", [], b"")
    async with asyncio.timeout(5):
        while True:
            answer = await exchange(port, healthz)
            if answer[0] != 429:
                return answer
            await asyncio.sleep(0.05)
