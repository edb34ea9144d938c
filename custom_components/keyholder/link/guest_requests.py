"""The home's side of guest-link sessions: challenges, and sealed requests from guests' pages.

``guest.challenge`` hands out a fresh challenge; ``guest.request`` opens a sealed
request (``core.guest_session``), checks its challenge (minted by this home during
this run, fresh, not spent) and the link's secret, then describes the link or
decides an opening through ``Home.async_open_door_for_link``, and seals the answer
for the page alone. The bridge sees only ciphertext, and the status: 200, or the
refusal's code for an unusable request (which carries nothing secret).

Every refusal is audited (``guest_request_refused`` with its code) except those the
decision audits itself (an opening refused is a ``door_refused``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import Context
from homeassistant.util import dt as dt_util

from ..core.guest_session import (
    CHALLENGE_LIFETIME,
    GuestSessionError,
    SealedRequest,
    b64url,
    check_challenge,
    mint_challenge,
    open_request,
    seal_answer,
)
from ..core.models import Grant, GrantKind, Schedule
from ..core.status import grant_status

if TYPE_CHECKING:
    from ..home import Home

type Answer = tuple[int, dict[str, Any]]

MAX_SPENT: Final = 10_000  # challenges spent within one lifetime; more is a flood


class SpentChallenges:
    """Challenges already used, until they would have expired anyway. Bounded."""

    def __init__(self) -> None:
        self._until: dict[bytes, int] = {}

    def spend(self, challenge: bytes, issued: int, now: int) -> bool:
        """Mark ``challenge`` used; False if it was already, or if too many are in play."""
        if len(self._until) >= MAX_SPENT:
            self._until = {k: until for k, until in self._until.items() if until > now}
        key = hashlib.sha256(challenge).digest()
        if key in self._until or len(self._until) >= MAX_SPENT:
            return False
        self._until[key] = issued + CHALLENGE_LIFETIME
        return True


def _refused(status: int, code: str, message: str) -> Answer:
    return status, {"error": {"code": code, "message": message}}


def challenge(home: Home) -> Answer:
    now = int(dt_util.utcnow().timestamp())
    minted = mint_challenge(home.guest_keys.challenge_key, now, secrets.token_bytes(16))
    return 200, {"challenge": b64url(minted), "lifetime": CHALLENGE_LIFETIME}


async def request(home: Home, body: dict[str, Any]) -> Answer:
    """Open, check and answer one sealed guest request."""
    now = dt_util.utcnow()
    try:
        sealed = SealedRequest.from_relay(body)
        issued = check_challenge(
            home.guest_keys.challenge_key, sealed.challenge, int(now.timestamp())
        )
        opened = open_request(sealed, home.guest_keys.session_private_key)
    except GuestSessionError as err:
        await home.async_audit_guest_refusal(err.code, grant_id=None)
        return _refused(400, err.code, str(err))
    if not home.spent_challenges.spend(sealed.challenge, issued, int(now.timestamp())):
        await home.async_audit_guest_refusal("replayed", grant_id=opened.grant_id)
        return _refused(400, "replayed", "this request was already answered")
    grant = home.grants.get(opened.grant_id)
    genuine = hmac.compare_digest(opened.secret, home.guest_keys.link_secret(opened.grant_id))
    if grant is None or grant.kind is not GrantKind.LINK or not genuine:
        await home.async_audit_guest_refusal("unknown_link", grant_id=opened.grant_id)
        return _refused(404, "unknown_link", "this link is not valid")
    if opened.door_id is None:  # describe; an opening always names its door
        answer = _describe(home, grant, now)
    else:
        decision = await home.async_open_door_for_link(
            grant_id=opened.grant_id,
            door_id=opened.door_id,
            nonce=b64url(sealed.challenge),
            expires_at=_expiry(issued),
            context=Context(),
        )
        answer = {"allowed": decision.allowed, "reason": decision.reason.value}
    return 200, seal_answer(opened.keys, answer, secrets.token_bytes(12))


def _expiry(issued: int) -> datetime:
    return dt_util.utc_from_timestamp(issued) + timedelta(seconds=CHALLENGE_LIFETIME)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _describe(home: Home, grant: Grant, now: datetime) -> dict[str, Any]:
    """What the guest's page shows: who, which doors, when, and whether it opens now."""
    doors = home.doors
    return {
        "home": home.entry.title,
        "guest": grant.name,
        "doors": [
            {"id": door_id, "name": doors[door_id].name}
            for door_id in sorted(grant.doors, key=lambda d: doors[d].name if d in doors else d)
            if door_id in doors
        ],
        "window": _window_text(grant.schedule, home),
        "status": grant_status(grant, now).value,
    }


def _window_text(schedule: Schedule, home: Home) -> list[str]:
    """The grant's window in the home's wall-clock time, as short lines for a page."""
    tz = home.tz

    def when(at: datetime) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    lines = [
        f"{_DAYS[w.weekday]} {w.start_minute // 60:02d}:{w.start_minute % 60:02d}"
        f"-{w.end_minute // 60:02d}:{w.end_minute % 60:02d}"
        for w in schedule.weekly
    ]
    until = f" until {when(schedule.valid_until)}" if schedule.valid_until else ""
    span = f"from {when(schedule.valid_from)}{until} ({tz.key})"
    return [*lines, span]
