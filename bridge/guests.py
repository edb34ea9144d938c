"""Guest pages: ``/g/<home id>`` serves the page; its script talks to the home through us, sealed.

A guest link is ``/g/<home id>#<link>``. Browsers never send the part after ``#``,
so the bridge never sees the link's secret. The page (``static/guest.html`` and
``static/guest.js``) asks the home for a challenge (``POST /g/<home id>/challenge``),
seals its request to the home's key with WebCrypto, and sends it
(``POST /g/<home id>/request``); the bridge relays both and passes the home's answer
back, which the page alone can read. The bridge reads nothing, keeps nothing and
decides nothing (``docs/protocol.md``, "Guest links"; ``docs/threat-model.md``).

Guessing is limited per client address: an unknown home, or a request the home
refuses (not its challenge, not a valid link), counts as a failure, and five within
fifteen minutes lock the address out for fifteen minutes (``429``).
"""

from __future__ import annotations

from importlib import resources
import logging
import re
from typing import Any, Final

from aiohttp import web

from bridge.bodies import read_json_object
from bridge.errors import error_response
from bridge.homes import LINKS_KEY, client_key
from bridge.links import LinkError
from bridge.ratelimit import FailureLimiter
from bridge.storage import REGISTRY_KEY

LOGGER = logging.getLogger(__name__)
GUEST_LIMITER_KEY = web.AppKey("guest_limiter", FailureLimiter)
MAX_BODY_BYTES: Final = 8 * 1024  # a sealed request is well under 1 KiB
_HOME_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_STATIC = resources.files("bridge") / "static"
_PAGE = (_STATIC / "guest.html").read_text(encoding="utf-8")
_SCRIPT = (_STATIC / "guest.js").read_text(encoding="utf-8")
_STYLE = (_STATIC / "guest.css").read_text(encoding="utf-8")
# The page must not leak its address, be kept anywhere, be framed, or run any other script.
PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}
_SEALED_FIELDS: Final = ("challenge", "public_key", "iv", "ciphertext")

routes = web.RouteTableDef()


def _static(text: str, content_type: str) -> web.Response:
    return web.Response(text=text, content_type=content_type, charset="utf-8", headers=PAGE_HEADERS)


@routes.get("/g/{home_id}")
async def guest_page(request: web.Request) -> web.Response:
    """The same page for every link: what it shows comes from the home, sealed."""
    return _static(_PAGE, "text/html")


@routes.get("/static/guest.js")
async def guest_script(request: web.Request) -> web.Response:
    return _static(_SCRIPT, "text/javascript")


@routes.get("/static/guest.css")
async def guest_style(request: web.Request) -> web.Response:
    return _static(_STYLE, "text/css")


@routes.post("/g/{home_id}/challenge")
async def guest_challenge(request: web.Request) -> web.Response:
    """A fresh challenge from the home, for one sealed request."""
    return await _relay(request, "guest.challenge", {})


@routes.post("/g/{home_id}/request")
async def guest_request(request: web.Request) -> web.Response:
    """A sealed request, relayed as it came; the home's sealed answer, passed back."""
    if (locked_out := _locked_out(request)) is not None:
        return locked_out
    if request.content_type != "application/json":
        return error_response(415, "unsupported_media_type", "send application/json")
    body = await read_json_object(request, MAX_BODY_BYTES)
    if isinstance(body, web.Response):
        _failed(request, "invalid_json")
        return body
    if not (
        set(body) == set(_SEALED_FIELDS)
        and all(isinstance(body[name], str) for name in _SEALED_FIELDS)
    ):
        return _refuse(request, 400, "invalid_request", "not a sealed request")
    return await _relay(request, "guest.request", body)


def _failed(request: web.Request, code: str) -> None:
    """A guess, or a page the bridge did not serve: counted towards the lockout, logged."""
    request.app[GUEST_LIMITER_KEY].failed(client_key(request))
    LOGGER.info(
        "guest request refused: %s",
        code,
        extra={"reason": code, "client": client_key(request), "route": _route(request)},
    )


def _refuse(request: web.Request, status: int, code: str, message: str) -> web.Response:
    _failed(request, code)
    return error_response(status, code, message)


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def _locked_out(request: web.Request) -> web.Response | None:
    """``429`` while the client's address is locked out, checked before anything else."""
    if (wait := request.app[GUEST_LIMITER_KEY].retry_after(client_key(request))) is None:
        return None
    return error_response(
        429, "rate_limited", "too many attempts", headers={"Retry-After": str(wait)}
    )


async def _relay(request: web.Request, kind: str, body: dict[str, Any]) -> web.Response:
    if (locked_out := _locked_out(request)) is not None:
        return locked_out
    home_id = request.match_info["home_id"]
    home = None
    if _HOME_ID.fullmatch(home_id):
        home = await request.app[REGISTRY_KEY].get_home(home_id)
    if home is None or home.revoked_at is not None:
        return _refuse(request, 404, "unknown_link", "this link is not valid")
    try:
        answer = await request.app[LINKS_KEY].relay(home.id, kind, body)
    except LinkError as err:
        status = 503 if err.code == "home_offline" else 504
        return error_response(status, err.code, "the home cannot be reached right now")
    if answer.status == 200:
        return web.json_response(dict(answer.body), headers={"Cache-Control": "no-store"})
    if answer.status in (400, 404):
        error = answer.body.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        return _refuse(
            request, answer.status, str(code or "refused")[:64], "the home refused the request"
        )
    return error_response(502, "home_error", "the home could not answer")
