"""Audit checkpoints in the bridge's database: append-only, and never going backwards.

The bridge cannot read a home's audit log; what it can do is keep the home's signed
word on it. A checkpoint longer than the latest is kept as the new latest. One that
is shorter, or as long with another hash, would let a rewritten log pass as the
original: it is refused, and kept (up to ``MAX_CONFLICTS`` per home) as evidence that
something presented it. Re-sending a checkpoint already held changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.db.tables import AuditCheckpoint, Home

MAX_CONFLICTS: Final = 100


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class CheckpointBook:
    """Typed operations on audit checkpoints; callers never see a session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(
        self,
        *,
        home_id: str,
        length: int,
        last_hash: str,
        signed_at: int,
        signature: bytes,
        now: datetime | None = None,
    ) -> Outcome:
        """Keep a checkpoint whose signature the caller verified, unless it goes backwards."""
        async with self._sessions.begin() as session:
            # One checkpoint per home at a time (PostgreSQL; SQLite serialises writers).
            await session.scalar(select(Home.id).where(Home.id == home_id).with_for_update())
            latest = await _latest(session, home_id)
            if latest is None or length > latest.length:
                conflict = False
            elif await _held(session, home_id, length, last_hash):
                return Outcome.DUPLICATE
            else:
                conflict = True
                if await _conflicts(session, home_id) >= MAX_CONFLICTS:
                    return Outcome.CONFLICT
            session.add(
                AuditCheckpoint(
                    home_id=home_id,
                    length=length,
                    last_hash=last_hash,
                    signed_at=signed_at,
                    signature=signature,
                    received_at=now or datetime.now(UTC),
                    conflict=conflict,
                )
            )
        return Outcome.CONFLICT if conflict else Outcome.ACCEPTED

    async def latest(self, home_id: str) -> AuditCheckpoint | None:
        """The longest checkpoint the bridge accepted from this home; None if none."""
        async with self._sessions() as session:
            return await _latest(session, home_id)

    async def accepted(self, home_id: str, *, after: int, limit: int) -> list[AuditCheckpoint]:
        """Up to ``limit`` accepted checkpoints longer than ``after``, shortest first."""
        async with self._sessions() as session:
            query = (
                select(AuditCheckpoint)
                .where(
                    AuditCheckpoint.home_id == home_id,
                    AuditCheckpoint.conflict.is_(False),
                    AuditCheckpoint.length > after,
                )
                .order_by(AuditCheckpoint.length)
                .limit(limit)
            )
            return list((await session.scalars(query)).all())

    async def history(self, home_id: str) -> list[AuditCheckpoint]:
        """Every row for this home, accepted and refused, in the order received."""
        async with self._sessions() as session:
            query = (
                select(AuditCheckpoint)
                .where(AuditCheckpoint.home_id == home_id)
                .order_by(AuditCheckpoint.id)
            )
            return list((await session.scalars(query)).all())


async def _latest(session: AsyncSession, home_id: str) -> AuditCheckpoint | None:
    query = (
        select(AuditCheckpoint)
        .where(AuditCheckpoint.home_id == home_id, AuditCheckpoint.conflict.is_(False))
        .order_by(AuditCheckpoint.length.desc())
        .limit(1)
    )
    latest: AuditCheckpoint | None = await session.scalar(query)
    return latest


async def _held(session: AsyncSession, home_id: str, length: int, last_hash: str) -> bool:
    query = select(AuditCheckpoint.id).where(
        AuditCheckpoint.home_id == home_id,
        AuditCheckpoint.conflict.is_(False),
        AuditCheckpoint.length == length,
        AuditCheckpoint.last_hash == last_hash,
    )
    return await session.scalar(query.limit(1)) is not None


async def _conflicts(session: AsyncSession, home_id: str) -> int:
    query = select(func.count()).where(
        AuditCheckpoint.home_id == home_id, AuditCheckpoint.conflict.is_(True)
    )
    return await session.scalar(query) or 0
