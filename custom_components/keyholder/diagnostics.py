"""Diagnostics: what support needs, nothing that opens a door.

The home key appears only as its fingerprint; grants without PIN or token (they are
not part of a ``Grant``); the audit log with its integrity and latest records.
Keys that could ever hold a secret are redacted on top, as a second line of defence.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .data import KeyholderConfigEntry
from .services import grant_summary

TO_REDACT = {"private_key", "pin", "pin_code", "token", "secret", "nonce"}
AUDIT_TAIL = 50


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: KeyholderConfigEntry
) -> dict[str, Any]:
    home = entry.runtime_data.home
    now = dt_util.utcnow()
    check = home.audit.check
    return async_redact_data(
        {
            "entry": {"title": entry.title, "version": entry.version, "data": dict(entry.data)},
            "home_key": {"fingerprint": home.home_key.fingerprint},
            "accept_visits": home.accept_visits,
            "doors": [
                {
                    **asdict(door),
                    "relock_delay": door.relock_delay.total_seconds(),
                    "max_visit": door.max_visit.total_seconds(),
                }
                for door in home.doors.values()
            ],
            "grants": [grant_summary(home, grant, now) for grant in home.grants.values()],
            "audit": {
                "intact": check.intact,
                "records": check.length,
                "first_broken_record": check.first_broken_seq,
                "latest": home.audit.records[-AUDIT_TAIL:],
            },
        },
        TO_REDACT,
    )
