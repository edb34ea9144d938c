"""Carrier nonces in the bridge's database, so a replay is refused also after a restart.

``first_use`` is one statement: an insert whose primary key (carrier, nonce) is the
check. A row whose time is up may be taken over by a new request with the same nonce
(its own signature and time are checked before), so expired rows never refuse
anything, whether or not the purge has reached them yet. ``purge_expired`` deletes
in bounded batches, so a backlog never becomes one long transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.db.tables import CarrierNonce

PURGE_BATCH: Final = 1000


class NonceLedger:
    """Nonces seen per carrier, until they expire; callers never see a session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._sessions = sessions
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def first_use(
        self, carrier_id: str, nonce: str, *, now: datetime, expires_at: datetime
    ) -> bool:
        """Remember the nonce until ``expires_at``; False if it is remembered already."""
        insert = self._insert(CarrierNonce).values(
            carrier_id=carrier_id, nonce=nonce, expires_at=expires_at
        )
        statement = insert.on_conflict_do_update(
            index_elements=[CarrierNonce.carrier_id, CarrierNonce.nonce],
            set_={"expires_at": insert.excluded.expires_at},
            where=CarrierNonce.expires_at <= now,
        ).returning(CarrierNonce.nonce)
        async with self._sessions.begin() as session:
            taken = await session.scalar(statement)
        return taken is not None

    async def purge_expired(self, *, now: datetime, batch: int = PURGE_BATCH) -> int:
        """Delete up to ``batch`` expired nonces; how many went."""
        expired = (
            select(CarrierNonce.carrier_id, CarrierNonce.nonce)
            .where(CarrierNonce.expires_at <= now)
            .limit(batch)
        )
        statement = delete(CarrierNonce).where(
            tuple_(CarrierNonce.carrier_id, CarrierNonce.nonce).in_(expired)
        )
        async with self._sessions.begin() as session:
            result = await session.execute(statement)
        # A DELETE's result is a cursor result, with a row count; SQLAlchemy 2.0.4x types
        # ``execute`` as returning a plain Result (2.0.39, in HA 2025.4, does not).
        return int(result.rowcount)  # type: ignore[attr-defined, unused-ignore]
