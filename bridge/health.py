"""Liveness: ``GET /healthz`` answers while the process can serve requests."""

from __future__ import annotations

from aiohttp import web

from bridge import __version__

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})
