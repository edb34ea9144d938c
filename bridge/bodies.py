"""Request bodies from strangers: read up to a cap, JSON only through ``strict_json``.

Every JSON body the bridge reads goes through here, so a deep document, a lone
surrogate, a duplicated key or a number the parser chokes on is a ``400
invalid_json`` like any other malformed body, never an exception in a handler.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.errors import error_response
from bridge.strict_json import StrictJSONError, loads


def too_large(max_bytes: int) -> web.Response:
    return error_response(413, "body_too_large", f"at most {max_bytes} bytes")


async def read_body(request: web.Request, max_bytes: int) -> bytes | web.Response:
    """The whole body, or ``413 body_too_large`` once it passes ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes:
        return too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    # ``read(n)`` returns what has arrived (up to n), not n: read until the end.
    while chunk := await request.content.read(max_bytes + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return too_large(max_bytes)
    return b"".join(chunks)


def json_object(body: bytes, max_bytes: int) -> dict[str, Any] | web.Response:
    """The JSON object ``body`` holds, or the refusal to send."""
    try:
        value = loads(body, max_bytes=max_bytes)
    except StrictJSONError as err:
        if err.code == "too_large":
            return too_large(max_bytes)
        return error_response(400, "invalid_json", f"the body must be a JSON object: {err}")
    if not isinstance(value, dict):
        return error_response(400, "invalid_json", "the body must be a JSON object")
    return value


async def read_json_object(request: web.Request, max_bytes: int) -> dict[str, Any] | web.Response:
    """Read and parse in one step, for handlers that need nothing else of the raw body."""
    body = await read_body(request, max_bytes)
    return body if isinstance(body, web.Response) else json_object(body, max_bytes)
