"""The bridge's aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from bridge import (
    api_document,
    audit_checkpoints,
    carriers,
    connections,
    deliveries,
    guests,
    health,
    homes,
    metrics,
)
from bridge.config import BridgeConfig
from bridge.delivery_watch import DELIVERY_WATCH_KEY, DeliveryWatch
from bridge.errors import error_shape
from bridge.links import HomeLinks
from bridge.ratelimit import FailureLimiter
from bridge.storage import database_context

CONFIG_KEY = web.AppKey("config", BridgeConfig)


def create_app(config: BridgeConfig) -> web.Application:
    """Build the application; one route table per API surface."""
    # Outermost first: the head's deadline is met, the answer counted, its body shaped.
    app = web.Application(
        middlewares=[connections.head_received, metrics.count_requests, error_shape]
    )
    app[CONFIG_KEY] = config
    app[metrics.REQUEST_COUNTS_KEY] = metrics.RequestCounts()
    app[homes.LINKS_KEY] = HomeLinks()
    app[homes.ENROL_LIMITER_KEY] = FailureLimiter(
        max_failures=5, window=900, lockout=900, name="enrolment"
    )
    app[guests.GUEST_LIMITER_KEY] = FailureLimiter(
        max_failures=5, window=900, lockout=900, name="guest links"
    )
    # A carrier's fleet may share an address: more room, the same lockout on failures.
    app[carriers.CARRIER_LIMITER_KEY] = FailureLimiter(
        max_failures=20, window=900, lockout=900, name="carrier requests"
    )
    app[DELIVERY_WATCH_KEY] = DeliveryWatch()
    app.cleanup_ctx.append(database_context(config))
    # Some aiohttp releases type their signals against an older aiosignal; the callback is right.
    app.on_shutdown.append(_close_links)  # type: ignore[arg-type, unused-ignore]
    app.add_routes(api_document.routes)
    app.add_routes(health.routes)
    app.add_routes(metrics.routes)
    app.add_routes(homes.routes)
    app.add_routes(audit_checkpoints.routes)
    app.add_routes(guests.routes)
    app.add_routes(carriers.routes)
    app.add_routes(deliveries.routes)
    return app


async def _close_links(app: web.Application) -> None:
    """Homes are told the bridge is going away, so they reconnect to its successor."""
    await app[homes.LINKS_KEY].close_all()
