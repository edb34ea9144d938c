"""HTTP/1.1 by hand over a loopback socket: header names exactly as written, from any address."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


async def open_from(
    port: int, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the bridge on 127.0.0.1 from ``source`` (all of 127/8 is loopback)."""
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


def request_bytes(method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_answer(reader: asyncio.StreamReader, seconds: float = 10.0) -> tuple[int, Any]:
    """Status and JSON body of the one answer on a ``Connection: close`` connection."""
    async with asyncio.timeout(seconds):
        raw = await reader.read()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None


async def exchange(port: int, data: bytes, source: str = "127.0.0.1") -> tuple[int, Any]:
    reader, writer = await open_from(port, source)
    try:
        writer.write(data)
        await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
