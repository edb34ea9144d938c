"""Fixtures shared by the bridge tests: one database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
import json
from pathlib import Path
import secrets
from typing import Any

import aiohttp
import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import pytest

from bridge.db.engine import create_engine, session_factory
from bridge.db.migrate import upgrade
from bridge.db.repository import Registry
from bridge.keys import encode_public_key
from simulators.carrier import Carrier

from .fake_home import FakeHome
from .process import BridgeProcess

# The PostgreSQL server the end-to-end tests use: loopback, trust authentication.
POSTGRES = "postgres@127.0.0.1:5432"
POSTGRES_ADMIN_DSN = f"postgresql://{POSTGRES}/test"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, socket_enabled: None
) -> AsyncIterator[str]:
    """An empty database of its own for each test, dropped afterwards so runs never collide."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bridge.sqlite3'}"
        return
    name = f"keyholder_bridge_{secrets.token_hex(6)}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    except OSError as err:
        pytest.fail(f"PostgreSQL at {POSTGRES} is needed for the bridge tests: {err}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://{POSTGRES}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def registry(database_url: str) -> AsyncIterator[Registry]:
    """A registry over a freshly migrated database (the real migrations, never create_all)."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        yield Registry(session_factory(engine))
    finally:
        await engine.dispose()


def new_public_key() -> str:
    """A real Ed25519 public key in the bridge's spelling (the private half is thrown away)."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return encode_public_key(raw)


@pytest.fixture
def public_key() -> str:
    return new_public_key()


@pytest.fixture
async def bridge_url(tmp_path: Path, database_url: str) -> AsyncIterator[str]:
    """Start ``keyholder-bridge serve`` on a free loopback port (sockets stay loopback-only)."""
    bridge = BridgeProcess(database_url, tmp_path)
    try:
        yield await bridge.start()
    finally:
        assert await bridge.stop() == 0, "the bridge shuts down cleanly on SIGTERM"


@dataclass
class LiveBridge:
    """The bridge process, with a carrier registered and a home signed in over its link."""

    process: BridgeProcess
    registry: Registry
    carrier: Carrier
    home: FakeHome
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.process.url

    def open_path(self, door: str = "front") -> str:
        return f"/api/v1/carrier/homes/{self.home.home_id}/doors/{door}/open"

    async def connect_home(self) -> FakeHome:
        """Another enrolled home, signed in on its own websocket."""
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        code = (await self.registry.issue_enrolment_code()).code
        enrolled = await self.registry.enrol_home(
            code=code, name="Home", public_key=encode_public_key(raw)
        )
        home = FakeHome(enrolled.id, key)
        await home.connect(self.http, self.url)
        return home

    def refusals(self, reason: str) -> list[dict[str, Any]]:
        """The JSON log lines in which the bridge refused something for ``reason``."""
        entries = []
        for line in self.process.log_lines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("reason") == reason:
                    entries.append(entry)
        return entries


@pytest.fixture
def bridge_args() -> tuple[str, ...]:
    """Extra ``serve`` flags; a test module overrides this fixture to change them."""
    return ()


@pytest.fixture
async def live_bridge(
    tmp_path: Path, database_url: str, registry: Registry, bridge_args: tuple[str, ...]
) -> AsyncIterator[LiveBridge]:
    """The real ``keyholder-bridge serve`` on loopback, with a carrier and a connected home."""
    carrier = Carrier()
    carrier.carrier_id = (
        await registry.add_carrier(name="Acme Parcel", public_key=carrier.public_key)
    ).id
    process = BridgeProcess(database_url, tmp_path, extra_args=bridge_args)
    await process.start()
    async with aiohttp.ClientSession() as http:
        live = LiveBridge(process, registry, carrier, FakeHome("", carrier.key), http)
        try:
            live.home = await live.connect_home()
            yield live
            await live.home.close()
        finally:
            # A test may have restarted it: stop the one running now.
            assert await live.process.stop() == 0, "the bridge shuts down cleanly on SIGTERM"
