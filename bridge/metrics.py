"""``GET /metrics`` in the Prometheus text exposition format (0.0.4).

Hand-written to keep the bridge's dependencies few: one counter and two gauges do not need a
client library. Counts are labelled by route *pattern*, never by raw path, so guessed URLs
(``/g/<home id>/challenge`` for any home id) cannot blow up the number of series or put a
home's id into a dashboard.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.homes import LINKS_KEY
from bridge.storage import REGISTRY_KEY

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED_ROUTE = "unmatched"

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestCounts:
    """Requests answered, by (route pattern, status)."""

    def __init__(self) -> None:
        self.by_route_status: Counter[tuple[str, int]] = Counter()

    def record(self, route: str, status: int) -> None:
        self.by_route_status[route, status] += 1


REQUEST_COUNTS_KEY = web.AppKey("request_counts", RequestCounts)
routes = web.RouteTableDef()


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every answer, including errors raised as ``HTTPException``."""
    counts = request.app[REQUEST_COUNTS_KEY]
    try:
        response = await handler(request)
    except web.HTTPException as err:
        counts.record(_route_of(request), err.status)
        raise
    except Exception:
        counts.record(_route_of(request), 500)
        raise
    counts.record(_route_of(request), response.status)
    return response


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(counts: RequestCounts, homes: int, carriers: int, connected: int) -> str:
    """The exposition text; families in a fixed order so scrapes diff cleanly."""
    lines = [
        "# HELP keyholder_bridge_requests_total HTTP requests answered, by route and status.",
        "# TYPE keyholder_bridge_requests_total counter",
    ]
    lines.extend(
        f'keyholder_bridge_requests_total{{route="{_escape(route)}",status="{status}"}} {n}'
        for (route, status), n in sorted(counts.by_route_status.items())
    )
    lines += [
        "# HELP keyholder_bridge_homes_enrolled Homes enrolled and not revoked.",
        "# TYPE keyholder_bridge_homes_enrolled gauge",
        f"keyholder_bridge_homes_enrolled {homes}",
        "# HELP keyholder_bridge_carriers_registered Carriers registered and not revoked.",
        "# TYPE keyholder_bridge_carriers_registered gauge",
        f"keyholder_bridge_carriers_registered {carriers}",
        "# HELP keyholder_bridge_homes_connected Homes signed in on a link right now.",
        "# TYPE keyholder_bridge_homes_connected gauge",
        f"keyholder_bridge_homes_connected {connected}",
    ]
    return "\n".join(lines) + "\n"


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    homes, carriers = await request.app[REGISTRY_KEY].count_active()
    connected = len(request.app[LINKS_KEY])
    body = render(request.app[REQUEST_COUNTS_KEY], homes, carriers, connected)
    return web.Response(body=body.encode("utf-8"), headers={"Content-Type": CONTENT_TYPE})
