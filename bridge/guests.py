"""Guest pages: ``/g/<id>`` shows who may open which door and when, and an Open button.

``<id>`` is ``<home id>.<grant token>``, made by the home. The bridge keeps none of
it: it reads the home id to know where to relay, hands the token to the home, and
shows what the home answers. The home verifies the token's signature, its grant,
the window, and decides; the bridge decides nothing. Plain HTML forms, no script:
it works on any phone.

Guessing is limited per client address: a link the home does not know (or a home
the bridge does not know) counts as a failure, and after five within fifteen
minutes the address is locked out for fifteen minutes (``429``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
import secrets
from typing import Any

from aiohttp import web

from bridge.homes import LINKS_KEY, client_key
from bridge.links import LinkError
from bridge.ratelimit import FailureLimiter
from bridge.storage import REGISTRY_KEY

GUEST_LIMITER_KEY = web.AppKey("guest_limiter", FailureLimiter)
REQUEST_LIFETIME = timedelta(seconds=60)
MAX_LINK_LENGTH = 1200  # real links are about 300 characters
# The page must not leak its own address (it carries the token) nor be kept anywhere.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}
REASONS = {
    "allowed": "The door is open. Please close it behind you.",
    "outside_window": "This link does not open the door at this time.",
    "not_yet_valid": "This link is not valid yet.",
    "expired": "This link has expired.",
    "revoked": "This link has been withdrawn.",
    "uses_exhausted": "This link has been used up.",
    "unknown_door": "This link does not open that door.",
    "replayed": "This request was already used. Please open the link again.",
    "request_expired": "This request took too long. Please open the link again.",
    "visits_paused": "The household is not accepting visits right now.",
    "camera_unavailable": "The door's camera is not working, so it cannot be opened remotely.",
    "camera_stale": "The door's camera is not working, so it cannot be opened remotely.",
    "door_unavailable": "The door cannot be opened right now.",
    "car_not_home": "The car is not at home.",
    "door_not_in_grant": "This link does not open that door.",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}}
button{{font-size:1.25rem;padding:.75rem 1.5rem;margin:.25rem 0;width:100%}}
.result{{font-size:1.2rem;padding:1rem;border-radius:.5rem;background:#eee}}
</style></head>
<body><main>{body}</main></body></html>
"""

routes = web.RouteTableDef()


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = _PAGE.format(title=escape(title), body=body)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS
    )


def _message(title: str, text: str, status: int, code: str) -> web.Response:
    body = (
        f'<h1>{escape(title)}</h1><p class="result" data-code="{escape(code)}">{escape(text)}</p>'
    )
    return _page(title, body, status)


def _split(link: str) -> tuple[str, str] | None:
    home_id, dot, token = link.partition(".")
    if not dot or not home_id or not token or len(link) > MAX_LINK_LENGTH:
        return None
    return home_id, token


async def _relay(
    request: web.Request, kind: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]] | web.Response:
    """The home's answer, or the page to show instead (locked out, unknown, offline)."""
    limiter = request.app[GUEST_LIMITER_KEY]
    client = client_key(request)
    if (wait := limiter.retry_after(client)) is not None:
        response = _message("Too many attempts", "Please try again later.", 429, "rate_limited")
        response.headers["Retry-After"] = str(wait)
        return response
    located = _split(request.match_info["link"])
    home = await request.app[REGISTRY_KEY].get_home(located[0]) if located else None
    if located is None or home is None or home.revoked_at is not None:
        limiter.failed(client)
        return _message("Link not valid", "This link is not valid.", 404, "unknown_link")
    try:
        answer = await request.app[LINKS_KEY].relay(home.id, kind, {"token": located[1], **body})
    except LinkError as err:
        return _message(
            "Home not reachable",
            "The home cannot be reached right now. Please try again in a moment.",
            503 if err.code == "home_offline" else 504,
            err.code,
        )
    if answer.status == 404:
        limiter.failed(client)
        return _message("Link not valid", "This link is not valid.", 404, "unknown_link")
    if answer.status != 200:
        return _message("Something went wrong", "The home could not answer.", 502, "home_error")
    return answer.status, dict(answer.body)


@routes.get("/g/{link}")
async def guest_page(request: web.Request) -> web.Response:
    answer = await _relay(request, "guest_link.describe", {})
    if isinstance(answer, web.Response):
        return answer
    info = answer[1]
    doors = [d for d in info.get("doors", []) if isinstance(d, dict)]
    window = "".join(f"<li>{escape(str(line))}</li>" for line in info.get("window", []))
    buttons = "".join(
        f'<button type="submit" name="door_id" value="{escape(str(d.get("id")))}">'
        f"Open {escape(str(d.get('name')))}</button>"
        for d in doors
    )
    status = str(info.get("status", ""))
    note = "" if status == "active" else f'<p class="result">Status: {escape(status)}</p>'
    body = (
        f"<h1>{escape(str(info.get('home', 'Home')))}</h1>"
        f"<p>For <strong>{escape(str(info.get('guest', '')))}</strong></p>"
        f"<p>When:</p><ul>{window}</ul>{note}"
        f'<form method="post" action="{escape(request.path)}/open">{buttons}</form>'
    )
    return _page("Open the door", body)


@routes.post("/g/{link}/open")
async def guest_open(request: web.Request) -> web.Response:
    if request.content_type != "application/x-www-form-urlencoded":
        return _message("Choose a door", "Use the page's Open button.", 415, "unsupported_form")
    try:
        form = await request.post()
    except ValueError:
        return _message("Choose a door", "Use the page's Open button.", 400, "invalid_request")
    door_id = form.get("door_id")
    if not isinstance(door_id, str) or not door_id or len(door_id) > 64:
        return _message("Choose a door", "Choose the door to open.", 400, "invalid_request")
    expires_at = datetime.now(UTC) + REQUEST_LIFETIME
    answer = await _relay(
        request,
        "guest_link.open",
        {
            "door_id": door_id,
            "nonce": secrets.token_urlsafe(24),
            "expires_at": expires_at.isoformat(),
        },
    )
    if isinstance(answer, web.Response):
        return answer
    result = answer[1]
    reason = str(result.get("reason", ""))
    if result.get("allowed") is True:
        return _message("Door open", REASONS["allowed"], 200, "allowed")
    text = REASONS.get(reason, "The door cannot be opened with this link.")
    return _message("Not opened", text, 403, reason or "refused")
