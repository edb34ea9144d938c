"""``GET /openapi.json``: the bridge's HTTP API as kept in the repository (``openapi.json``).

The document is the contract carriers and guests' browsers program against; a test
checks that it names every route the application serves and no other.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

DOCUMENT = resources.files("bridge").joinpath("openapi.json").read_bytes()

routes = web.RouteTableDef()


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=DOCUMENT, content_type="application/json")
