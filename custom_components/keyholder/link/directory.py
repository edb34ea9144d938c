"""The bridge's carrier directory, as the homeowner picks a carrier from it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

DIRECTORY_PATH = "/api/v1/carriers"
TIMEOUT = aiohttp.ClientTimeout(total=15)


class DirectoryError(Exception):
    """The carrier could not be looked up; ``code`` is a translation key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def decode_public_key(text: str) -> bytes:
    """32 raw key bytes from unpadded base64url, or ``DirectoryError(invalid_public_key)``."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise DirectoryError("invalid_public_key") from err
    if len(raw) != 32:
        raise DirectoryError("invalid_public_key")
    return raw


async def async_lookup_carrier(
    hass: HomeAssistant, bridge_url: str, carrier_id: str
) -> tuple[str, bytes]:
    """The carrier's name and raw public key from the bridge's directory."""
    session = async_get_clientsession(hass)
    try:
        async with session.get(bridge_url + DIRECTORY_PATH, timeout=TIMEOUT) as resp:
            resp.raise_for_status()
            answer: Any = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise DirectoryError("bridge_unreachable") from err
    carriers = answer.get("carriers") if isinstance(answer, dict) else None
    for carrier in carriers if isinstance(carriers, list) else []:
        if isinstance(carrier, dict) and carrier.get("id") == carrier_id:
            name, key = carrier.get("name"), carrier.get("public_key")
            if isinstance(name, str) and isinstance(key, str):
                return name, decode_public_key(key)
    raise DirectoryError("unknown_carrier")
