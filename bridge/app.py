"""The bridge's aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from bridge import health
from bridge.config import BridgeConfig

CONFIG_KEY = web.AppKey("config", BridgeConfig)


def create_app(config: BridgeConfig) -> web.Application:
    """Build the application; one route table per API surface."""
    app = web.Application()
    app[CONFIG_KEY] = config
    app.add_routes(health.routes)
    return app
