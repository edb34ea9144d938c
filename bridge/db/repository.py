"""The bridge's registry of homes, carriers and enrolment codes.

Every method is one transaction: it either does all of its work or, on a
:class:`RegistryError`, writes nothing. Each error carries a stable ``code`` that the admin
CLI prints and the HTTP API will return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import hashlib
import hmac
import re
import secrets
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.db.tables import Carrier, EnrolmentCode, Home
from bridge.keys import PublicKeyError, parse_public_key

DEFAULT_ENROLMENT_TTL = timedelta(hours=24)
MAX_NAME_LENGTH = 100
# Ids as the bridge makes them; anything else (a NUL from a decoded path, say) is no id,
# and is not handed to the database, which might choke on it.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Invisible characters that change how the text around them reads: bidirectional marks,
# embeddings, overrides and isolates (the "Trojan Source" set). ``isprintable`` refuses
# them too, and the C0/C1 controls; naming them keeps the rule if that ever changes.
BIDI_CONTROLS = frozenset(
    ["\u061c", "\u200e", "\u200f"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)

type Kind = Literal["home", "carrier"]


class RegistryError(Exception):
    """A refused request; ``code`` is stable and machine-readable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """An enrolment code as the admin sees it, once. Only its hash is stored."""

    code: str
    expires_at: datetime


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _hash_code(code: str) -> bytes:
    return hashlib.sha256(code.encode("utf-8")).digest()


def is_display_text(text: str) -> bool:
    """Text that shows as what it says: no control, bidirectional or other invisible format
    character, no lone surrogate. For anything a person will read on a page or a list."""
    return (
        text.isprintable()
        and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)
        and BIDI_CONTROLS.isdisjoint(text)
    )


def check_name(name: str) -> str:
    """The name without surrounding space, or ``invalid_name``; checked before any write."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or not is_display_text(cleaned):
        raise RegistryError(
            "invalid_name",
            f"name must be 1 to {MAX_NAME_LENGTH} printable characters, with no control"
            " or text-direction characters",
        )
    return cleaned


def check_public_key(public_key: str) -> bytes:
    """Raw key bytes, or ``invalid_public_key``; checked before any write."""
    try:
        return parse_public_key(public_key)
    except PublicKeyError as err:
        raise RegistryError("invalid_public_key", str(err)) from err


def _new_id(kind: Kind) -> str:
    return f"{kind}-{secrets.token_hex(6)}"


class Registry:
    """Typed operations over the bridge database; callers never see a session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def issue_enrolment_code(
        self, *, ttl: timedelta = DEFAULT_ENROLMENT_TTL, now: datetime | None = None
    ) -> IssuedCode:
        """A fresh single-use code: ``<selector>.<secret>``; the secret is never stored."""
        if ttl <= timedelta(0):
            raise RegistryError("invalid_ttl", "an enrolment code must live for some time")
        issued_at = _now(now)
        selector = secrets.token_urlsafe(9)
        code = f"{selector}.{secrets.token_urlsafe(32)}"
        row = EnrolmentCode(
            id=selector,
            code_hash=_hash_code(code),
            issued_at=issued_at,
            expires_at=issued_at + ttl,
        )
        async with self._sessions.begin() as session:
            session.add(row)
        return IssuedCode(code=code, expires_at=row.expires_at)

    async def enrol_home(
        self, *, code: str, name: str, public_key: str, now: datetime | None = None
    ) -> Home:
        """Spend ``code`` and register the home's key; a bad key or name leaves the code unspent."""
        clean_name = check_name(name)
        raw_key = check_public_key(public_key)
        at = _now(now)
        try:
            async with self._sessions.begin() as session:
                row = await self._usable_code(session, code, at)
                await _refuse_known_key(session, Home, raw_key)
                home = Home(id=_new_id("home"), name=clean_name, public_key=raw_key, enrolled_at=at)
                session.add(home)
                await session.flush()
                # Single use even under concurrency: only one transaction can flip used_at.
                spent = await session.scalar(
                    update(EnrolmentCode)
                    .where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None))
                    .values(used_at=at, home_id=home.id)
                    .returning(EnrolmentCode.id)
                )
                if spent is None:
                    raise RegistryError(
                        "enrolment_code_used", "this enrolment code was already used"
                    )
        except IntegrityError as err:  # a concurrent enrolment of the same key
            raise _duplicate_key() from err
        return home

    async def add_carrier(
        self, *, name: str, public_key: str, now: datetime | None = None
    ) -> Carrier:
        """Put a carrier in the directory homeowners pick from."""
        clean_name = check_name(name)
        raw_key = check_public_key(public_key)
        carrier = Carrier(
            id=_new_id("carrier"), name=clean_name, public_key=raw_key, registered_at=_now(now)
        )
        try:
            async with self._sessions.begin() as session:
                await _refuse_known_key(session, Carrier, raw_key)
                session.add(carrier)
        except IntegrityError as err:  # a concurrent registration of the same key
            raise _duplicate_key() from err
        return carrier

    async def get_home(self, home_id: str) -> Home | None:
        """The home with this id, revoked or not; None for an unknown id."""
        if not ID_PATTERN.fullmatch(home_id):
            return None
        async with self._sessions() as session:
            return await session.get(Home, home_id)

    async def get_carrier(self, carrier_id: str) -> Carrier | None:
        """The carrier with this id, revoked or not; None for an unknown id."""
        if not ID_PATTERN.fullmatch(carrier_id):
            return None
        async with self._sessions() as session:
            return await session.get(Carrier, carrier_id)

    async def list_homes(self, *, include_revoked: bool = True) -> list[Home]:
        """Homes, oldest first."""
        query = select(Home).order_by(Home.enrolled_at, Home.id)
        if not include_revoked:
            query = query.where(Home.revoked_at.is_(None))
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def list_carriers(self, *, include_revoked: bool = True) -> list[Carrier]:
        """Carriers, oldest first."""
        query = select(Carrier).order_by(Carrier.registered_at, Carrier.id)
        if not include_revoked:
            query = query.where(Carrier.revoked_at.is_(None))
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def revoke(self, kind: Kind, ident: str, *, now: datetime | None = None) -> datetime:
        """Revoke a home or carrier at once; revoking twice is an error, not a silent no-op."""
        at = _now(now)
        async with self._sessions.begin() as session:
            row: Home | Carrier | None = (
                await session.get(Home, ident)
                if kind == "home"
                else await session.get(Carrier, ident)
            )
            if row is None:
                raise RegistryError("not_found", f"no {kind} with id {ident!r}")
            if row.revoked_at is not None:
                raise RegistryError(
                    "already_revoked",
                    f"{kind} {ident} was revoked at {row.revoked_at:%Y-%m-%d %H:%M}Z",
                )
            row.revoked_at = at
        return at

    async def count_active(self) -> tuple[int, int]:
        """(homes, carriers) not revoked; what ``/metrics`` reports."""
        async with self._sessions() as session:
            homes = await session.scalar(
                select(func.count()).select_from(Home).where(Home.revoked_at.is_(None))
            )
            carriers = await session.scalar(
                select(func.count()).select_from(Carrier).where(Carrier.revoked_at.is_(None))
            )
        return homes or 0, carriers or 0

    @staticmethod
    async def _usable_code(session: AsyncSession, code: str, at: datetime) -> EnrolmentCode:
        selector, _, _secret = code.partition(".")
        row = await session.get(EnrolmentCode, selector) if selector else None
        # Hash even when the selector is unknown, so both refusals cost the same.
        presented = _hash_code(code)
        stored = row.code_hash if row is not None else _hash_code("")
        if row is None or not hmac.compare_digest(presented, stored):
            raise RegistryError("unknown_enrolment_code", "this enrolment code is not valid")
        if row.used_at is not None:
            raise RegistryError("enrolment_code_used", "this enrolment code was already used")
        if at >= row.expires_at:
            raise RegistryError("enrolment_code_expired", "this enrolment code has expired")
        return row


async def _refuse_known_key(
    session: AsyncSession, table: type[Home] | type[Carrier], raw_key: bytes
) -> None:
    if await session.scalar(select(table.id).where(table.public_key == raw_key)) is not None:
        raise _duplicate_key()


def _duplicate_key() -> RegistryError:
    return RegistryError("duplicate_public_key", "this public key is already registered")
