"""The bridge's carrier directory, as the homeowner picks a carrier from it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..carriers import Carrier

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


async def async_list_carriers(hass: HomeAssistant, bridge_url: str) -> list[Carrier]:
    """The carriers in the bridge's directory, by name; malformed entries are left out."""
    session = async_get_clientsession(hass)
    try:
        async with session.get(bridge_url + DIRECTORY_PATH, timeout=TIMEOUT) as resp:
            resp.raise_for_status()
            answer: Any = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise DirectoryError("bridge_unreachable") from err
    listed = answer.get("carriers") if isinstance(answer, dict) else None
    carriers: dict[str, Carrier] = {}
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        carrier_id, name, key = item.get("id"), item.get("name"), item.get("public_key")
        if not (isinstance(carrier_id, str) and isinstance(name, str) and isinstance(key, str)):
            continue
        if not (carrier_id and name):
            continue
        try:
            carriers[carrier_id] = Carrier(carrier_id, name, decode_public_key(key))
        except DirectoryError:
            continue
    return sorted(carriers.values(), key=lambda c: (c.name.casefold(), c.id))


async def async_lookup_carrier(hass: HomeAssistant, bridge_url: str, carrier_id: str) -> Carrier:
    """One carrier from the bridge's directory, or ``DirectoryError(unknown_carrier)``."""
    for carrier in await async_list_carriers(hass, bridge_url):
        if carrier.id == carrier_id:
            return carrier
    raise DirectoryError("unknown_carrier")
