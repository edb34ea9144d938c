"""The OpenAPI document in the repository is the API the bridge serves, route for route."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from aiohttp import web

from bridge.app import create_app
from bridge.config import BridgeConfig, DatabaseConfig

DOCUMENT = Path(__file__).resolve().parents[2] / "bridge" / "openapi.json"


def _served(app: web.Application) -> set[tuple[str, str]]:
    """(path, method) of every route, written as OpenAPI writes paths."""
    return {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "OPTIONS")
    }


def test_the_document_lists_exactly_the_routes_the_bridge_serves(tmp_path: Path) -> None:
    config = BridgeConfig(database=DatabaseConfig(url=f"sqlite+aiosqlite:///{tmp_path}/b.db"))
    document = json.loads(DOCUMENT.read_text())
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert documented == _served(create_app(config))


def test_every_json_error_response_is_the_error_shape() -> None:
    document = json.loads(DOCUMENT.read_text())
    assert document["openapi"].startswith("3.0")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if int(status) >= 400 and schema is not None:
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)


async def test_the_bridge_serves_the_document_it_keeps(bridge_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{bridge_url}/openapi.json") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.read() == DOCUMENT.read_bytes()
