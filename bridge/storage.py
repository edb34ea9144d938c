"""The database as an application resource: migrated and opened at start-up, closed at exit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import logging

from aiohttp import web

from bridge.config import BridgeConfig
from bridge.db.checkpoints import CheckpointBook
from bridge.db.deliveries import DeliveryBook
from bridge.db.engine import create_engine, display_url, session_factory
from bridge.db.migrate import upgrade
from bridge.db.repository import Registry

LOGGER = logging.getLogger(__name__)
REGISTRY_KEY = web.AppKey("registry", Registry)
DELIVERIES_KEY = web.AppKey("deliveries", DeliveryBook)
CHECKPOINTS_KEY = web.AppKey("audit_checkpoints", CheckpointBook)


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
        try:
            yield
        finally:
            await engine.dispose()

    return context
