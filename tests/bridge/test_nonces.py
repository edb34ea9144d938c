"""Carrier nonces in the database: the insert is the check, expiry frees a nonce, purges are bounded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bridge.db.engine import create_engine, session_factory
from bridge.db.migrate import upgrade
from bridge.db.nonces import NonceLedger
from bridge.db.tables import CarrierNonce

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIFETIME = timedelta(seconds=120)


@pytest.fixture
async def ledger(database_url: str) -> AsyncIterator[NonceLedger]:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        yield NonceLedger(session_factory(engine), engine.dialect.name)
    finally:
        await engine.dispose()


async def _count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(CarrierNonce)) or 0)
    finally:
        await engine.dispose()


async def test_a_nonce_is_taken_once_per_carrier_until_it_expires(ledger: NonceLedger) -> None:
    until = NOW + LIFETIME
    assert await ledger.first_use("carrier-a", "n" * 24, now=NOW, expires_at=until)
    assert not await ledger.first_use("carrier-a", "n" * 24, now=NOW, expires_at=until)
    assert not await ledger.first_use("carrier-a", "n" * 24, now=until - timedelta(seconds=1),
                                      expires_at=until + LIFETIME)  # fmt: skip
    # Another carrier's nonce space is its own.
    assert await ledger.first_use("carrier-b", "n" * 24, now=NOW, expires_at=until)
    # Once its time is up the row no longer refuses, purged or not, and is taken over.
    later = until + timedelta(seconds=1)
    assert await ledger.first_use("carrier-a", "n" * 24, now=later, expires_at=later + LIFETIME)
    assert not await ledger.first_use("carrier-a", "n" * 24, now=later, expires_at=later + LIFETIME)


async def test_expired_nonces_are_purged_in_bounded_batches(
    ledger: NonceLedger, database_url: str
) -> None:
    for i in range(7):
        await ledger.first_use("carrier-a", f"old-nonce-{i:08}", now=NOW, expires_at=NOW)
    await ledger.first_use("carrier-a", "fresh-nonce-0000", now=NOW, expires_at=NOW + LIFETIME)
    assert await ledger.purge_expired(now=NOW, batch=3) == 3
    assert await ledger.purge_expired(now=NOW, batch=3) == 3
    assert await ledger.purge_expired(now=NOW, batch=3) == 1
    assert await ledger.purge_expired(now=NOW, batch=3) == 0
    assert await _count(database_url) == 1, "the fresh nonce stays"
    assert not await ledger.first_use(
        "carrier-a", "fresh-nonce-0000", now=NOW, expires_at=NOW + LIFETIME
    )
