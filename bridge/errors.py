"""Error bodies of the bridge's HTTP API: one shape, a stable machine-readable code.

Every refusal is ``{"error": {"code": "...", "message": "..."}}``. The code is what a
client programs against (listed in ``openapi.json``); the message is for people and
may change. ``error_shape`` holds the bridge to that also where aiohttp answers by
itself (no such route, wrong method, a body over the size limit) and where a handler
failed: nothing a client sends gets a plain-text page or a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import logging
from typing import Final

from aiohttp import web

LOGGER = logging.getLogger(__name__)

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# aiohttp's own refusals, by status; any other 4xx it raises is ``bad_request``.
HTTP_CODES: Final = {
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}
# Headers of an aiohttp refusal that still mean something in ours.
_KEPT_HEADERS: Final = ("Allow", "Retry-After")


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


@web.middleware
async def error_shape(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's refusals in the bridge's error shape; a handler's crash as a logged 500."""
    try:
        return await handler(request)
    except web.HTTPException as err:
        if err.status < 400:  # redirects and the like are answers, not errors
            raise
        code = HTTP_CODES.get(err.status, "bad_request" if err.status < 500 else "internal_error")
        kept = {name: err.headers[name] for name in _KEPT_HEADERS if name in err.headers}
        return error_response(err.status, code, err.reason, headers=kept or None)
    except ConnectionResetError:  # the client left; there is no one to answer
        raise
    except Exception:
        # A bug, never a client's doing: the fuzz tests hold every input away from here.
        LOGGER.exception(
            "request failed", extra={"method": request.method, "route": _route(request)}
        )
        return error_response(500, "internal_error", "the bridge failed; this is logged")


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
