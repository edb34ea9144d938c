"""Where a grant stands in its life, for listings, sensors and the calendar."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from .models import Grant


class GrantStatus(StrEnum):
    SCHEDULED = "scheduled"  # not yet valid
    ACTIVE = "active"  # valid now or later; may be between windows
    USED_UP = "used_up"
    EXPIRED = "expired"
    REVOKED = "revoked"


def grant_status(grant: Grant, now: datetime) -> GrantStatus:
    """Revocation outranks everything, then expiry, then the use limit."""
    if grant.revoked:
        return GrantStatus.REVOKED
    until = grant.schedule.valid_until
    if until is not None and now >= until:
        return GrantStatus.EXPIRED
    if grant.uses_left == 0:
        return GrantStatus.USED_UP
    if now < grant.schedule.valid_from:
        return GrantStatus.SCHEDULED
    return GrantStatus.ACTIVE


def is_live(grant: Grant, now: datetime) -> bool:
    """Could this grant still open a door, now or later?"""
    return grant_status(grant, now) in (GrantStatus.SCHEDULED, GrantStatus.ACTIVE)
