"""The error-shape middleware: aiohttp's refusals reshaped, a handler's crash a logged 500.

No client input reaches the 500 path (the fuzz tests hold that against the real
process); a handler written here to fail shows what happens if a bug ever does.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from bridge.errors import error_shape


async def _failing(_request: web.Request) -> web.Response:
    raise RuntimeError("a bug, with a secret-looking detail: token=abc")


async def _gone(_request: web.Request) -> web.Response:
    raise web.HTTPGone(reason="gone for good")


async def _moved(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere")


async def _reads_json(request: web.Request) -> web.Response:
    return web.json_response(await request.json())  # aiohttp's own size limit applies


async def test_aiohttps_refusals_are_reshaped_and_a_crash_is_a_logged_500(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    app = web.Application(middlewares=[error_shape], client_max_size=1024)
    app.router.add_post("/json", _reads_json)
    app.router.add_get("/fail", _failing)
    app.router.add_get("/gone", _gone)
    app.router.add_get("/moved", _moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            with caplog.at_level(logging.ERROR, logger="bridge.errors"):
                async with http.get(server.make_url("/fail")) as resp:
                    assert resp.status == 500
                    body = await resp.json()
            assert body["error"]["code"] == "internal_error"
            assert "token" not in str(body), "the exception's text stays in the log"
            (record,) = [r for r in caplog.records if r.name == "bridge.errors"]
            assert record.exc_info is not None
            async with http.get(server.make_url("/gone")) as resp:
                assert resp.status == 410
                assert await resp.json() == {
                    "error": {"code": "bad_request", "message": "gone for good"}
                }
            async with http.get(server.make_url("/moved"), allow_redirects=False) as resp:
                assert resp.status == 302, "a redirect is an answer, left alone"
            async with http.post(server.make_url("/json"), data=b"[" * 4096) as resp:
                assert resp.status == 413
                assert (await resp.json())["error"]["code"] == "body_too_large"
            async with http.post(server.make_url("/gone")) as resp:
                assert resp.status == 405
                assert resp.headers["Allow"] == "GET,HEAD"
                assert (await resp.json())["error"]["code"] == "method_not_allowed"
    finally:
        await server.close()
