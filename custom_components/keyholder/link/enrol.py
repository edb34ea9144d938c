"""Enrolling the home with a bridge: spend the admin's one-time code, register the home's key.

Only the home's *public* key leaves the house. The code is used once and kept
nowhere: not in the entry, not in a log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

ENROL_PATH = "/api/v1/homes/enrol"
TIMEOUT = aiohttp.ClientTimeout(total=15)
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class EnrolError(Exception):
    """Enrolment did not happen; ``code`` is the config flow's error key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check_bridge_url(url: str) -> str:
    """The bridge's base URL without a trailing slash; https, except on this machine."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EnrolError("invalid_url")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise EnrolError("insecure_url")
    if parts.query or parts.fragment:
        raise EnrolError("invalid_url")
    return url.strip().rstrip("/")


async def async_enrol(
    hass: HomeAssistant, *, url: str, code: str, name: str, public_key: str
) -> str:
    """The home id the bridge gave this home; ``EnrolError`` with a flow error key otherwise."""
    if not code.strip():
        raise EnrolError("code_required")
    body = {"code": code.strip(), "name": name, "public_key": public_key}
    session = async_get_clientsession(hass)
    try:
        async with session.post(url + ENROL_PATH, json=body, timeout=TIMEOUT) as resp:
            answer: Any = await resp.json(content_type=None)
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise EnrolError("cannot_connect") from err
    if status == 201 and isinstance(answer, dict) and isinstance(answer.get("home_id"), str):
        return str(answer["home_id"])
    error = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
    raise EnrolError(
        {
            "unknown_enrolment_code": "invalid_code",
            "enrolment_code_used": "code_used",
            "enrolment_code_expired": "code_expired",
            "duplicate_public_key": "already_enrolled",
            "rate_limited": "rate_limited",
        }.get(str(error), "bridge_error")
    )
