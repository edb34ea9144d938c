"""The database as an application resource: migrated and opened at start-up, closed at exit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from datetime import UTC, datetime
import logging
from typing import Final

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bridge.config import BridgeConfig
from bridge.db.checkpoints import CheckpointBook
from bridge.db.deliveries import DeliveryBook
from bridge.db.engine import create_engine, display_url, session_factory
from bridge.db.migrate import upgrade
from bridge.db.nonces import PURGE_BATCH, NonceLedger
from bridge.db.repository import Registry

LOGGER = logging.getLogger(__name__)
REGISTRY_KEY = web.AppKey("registry", Registry)
DELIVERIES_KEY = web.AppKey("deliveries", DeliveryBook)
CHECKPOINTS_KEY = web.AppKey("audit_checkpoints", CheckpointBook)
NONCES_KEY = web.AppKey("carrier_nonces", NonceLedger)
NONCE_PURGE_SECONDS: Final = 60.0


def database_context(
    config: BridgeConfig,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` entry; migrations run before the first request is accepted."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        url = config.database.url
        await upgrade(url)
        engine = create_engine(url)
        LOGGER.info("database ready", extra={"database": display_url(url)})
        sessions = session_factory(engine)
        app[REGISTRY_KEY] = Registry(sessions)
        app[DELIVERIES_KEY] = DeliveryBook(sessions)
        app[CHECKPOINTS_KEY] = CheckpointBook(sessions)
        app[NONCES_KEY] = NonceLedger(sessions, engine.dialect.name)
        stop = asyncio.Event()
        purge = asyncio.get_running_loop().create_task(_purge_nonces(app[NONCES_KEY], stop))
        try:
            yield
        finally:
            stop.set()  # not cancelled: a batch under way finishes and returns its connection
            await purge
            await engine.dispose()

    return context


async def _purge_nonces(ledger: NonceLedger, stop: asyncio.Event) -> None:
    """Forget expired nonces now and then, a batch per transaction, until ``stop``."""
    while not stop.is_set():
        with suppress(TimeoutError):
            async with asyncio.timeout(NONCE_PURGE_SECONDS):
                await stop.wait()
        deleted = PURGE_BATCH
        try:
            # A backlog goes a batch per transaction; requests get their turn in between.
            while deleted == PURGE_BATCH and not stop.is_set():
                deleted = await ledger.purge_expired(now=datetime.now(UTC))
        except (SQLAlchemyError, OSError):
            LOGGER.exception("purging expired carrier nonces failed; trying again later")
