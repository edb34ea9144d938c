"""The bridge's aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from bridge import health, metrics
from bridge.config import BridgeConfig
from bridge.storage import database_context

CONFIG_KEY = web.AppKey("config", BridgeConfig)


def create_app(config: BridgeConfig) -> web.Application:
    """Build the application; one route table per API surface."""
    app = web.Application(middlewares=[metrics.count_requests])
    app[CONFIG_KEY] = config
    app[metrics.REQUEST_COUNTS_KEY] = metrics.RequestCounts()
    app.cleanup_ctx.append(database_context(config))
    app.add_routes(health.routes)
    app.add_routes(metrics.routes)
    return app
