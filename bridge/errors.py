"""Error bodies of the bridge's HTTP API: one shape, a stable machine-readable code.

Every refusal is ``{"error": {"code": "...", "message": "..."}}``. The code is what a
client programs against (listed in ``openapi.json``); the message is for people and
may change.
"""

from __future__ import annotations

from aiohttp import web


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
