"""Audit checkpoints at the bridge: signed by the home's own key, append-only, never backwards.

A real bridge on loopback (in this process), on SQLite and on PostgreSQL with its real
migrations; homes are real Ed25519 keys sending ``audit.checkpoint`` events over a real
websocket. Events have no answer, so each test sends an unknown event after the ones it
checks: frames are handled in order, so once that refusal arrives the others are done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import pytest

from bridge.app import create_app
from bridge.audit_checkpoints import (
    CheckpointRefusedError,
    SignedCheckpoint,
    parse_checkpoint,
    receive_checkpoint,
)
from bridge.config import BridgeConfig, DatabaseConfig
from bridge.db.checkpoints import MAX_CONFLICTS, CheckpointBook, Outcome
from bridge.db.engine import create_engine, session_factory
from bridge.db.repository import Registry
from bridge.protocol import decode, encode

from .test_home_link import (  # noqa: F401 - fixtures
    Bridge,
    HomeKey,
    _connect,
    _enrol,
    _new_home_key,
    expected_lingering_timers,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/protocol/audit_checkpoint.json").read_text()
)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _signed(
    key: Ed25519PrivateKey, home_id: str, length: int, last_hash: str, at: int = 1800000000
) -> dict[str, Any]:
    unsigned = SignedCheckpoint(home_id, length, last_hash, at, b"")
    return SignedCheckpoint(
        home_id, length, last_hash, at, key.sign(unsigned.signed_bytes())
    ).to_wire()


class Home:
    """An enrolled home on its link, sending checkpoints and reading what the bridge says."""

    def __init__(self, bridge: Bridge, http: aiohttp.ClientSession, key: HomeKey) -> None:
        self.bridge, self.http, self.key = bridge, http, key
        self.home_id = ""
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def link(self) -> Home:
        _, body = await _enrol(self.http, self.bridge, self.key)
        self.home_id = body["home_id"]
        self.socket = await _connect(self.http, self.bridge, self.home_id, self.key)
        return self

    async def send(self, *bodies: dict[str, Any]) -> list[str]:
        """Send checkpoint events; the error codes the bridge answered, in order."""
        assert self.socket is not None
        for body in bodies:
            await self.socket.send_str(encode("event", kind="audit.checkpoint", body=body))
        await self.socket.send_str(encode("event", kind="barrier", body={}))
        codes: list[str] = []
        while (code := str(decode(await self.socket.receive_str()).fields["code"])) != (
            "unknown_event"
        ):
            codes.append(code)
        return codes

    def checkpoint(self, length: int, last_hash: str) -> dict[str, Any]:
        return _signed(self.key.key, self.home_id, length, last_hash)

    async def latest(self, home_id: str | None = None) -> tuple[int, dict[str, Any]]:
        url = f"{self.bridge.url}/api/v1/homes/{home_id or self.home_id}/audit/checkpoint"
        async with self.http.get(url) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def served(database_url: str, registry: Registry) -> AsyncIterator[Bridge]:
    """The bridge application on a loopback port, over the migrated test database."""
    config = BridgeConfig(host="127.0.0.1", port=0, database=DatabaseConfig(url=database_url))
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield Bridge(str(server.make_url("")).rstrip("/"), server, registry)
    finally:
        await server.close()


@pytest.fixture
async def home(served: Bridge) -> AsyncIterator[Home]:
    async with aiohttp.ClientSession() as http:
        linked = await Home(served, http, _new_home_key()).link()
        yield linked
        assert linked.socket is not None
        await linked.socket.close()


@pytest.fixture
async def book(database_url: str, registry: Registry) -> AsyncIterator[CheckpointBook]:
    engine = create_engine(database_url)
    try:
        yield CheckpointBook(session_factory(engine))
    finally:
        await engine.dispose()


# --- the wire form --------------------------------------------------------------------


def test_the_bridge_reads_the_shared_checkpoint_vector_byte_for_byte() -> None:
    (vector,) = VECTORS["valid"]
    checkpoint = parse_checkpoint(vector["checkpoint"])
    assert checkpoint.signed_bytes() == vector["signed_bytes_utf8"].encode()
    assert checkpoint.to_wire() == vector["checkpoint"]


@pytest.mark.parametrize("vector", VECTORS["malformed"], ids=lambda v: v["why"])
def test_the_bridge_refuses_every_malformed_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(CheckpointRefusedError) as refused:
        parse_checkpoint(vector["checkpoint"])
    assert refused.value.code == "malformed"


# --- over the home link ------------------------------------------------------------------


async def test_a_checkpoint_the_home_signed_is_kept_and_served_to_anyone(home: Home) -> None:
    assert (await home.latest())[0] == 404
    sent = home.checkpoint(3, _hash("record 2"))
    assert await home.send(sent) == []
    assert await home.latest() == (200, {"checkpoint": sent})
    longer = home.checkpoint(9, _hash("record 8"))
    assert await home.send(longer, sent) == []  # the older one again: already held
    assert await home.latest() == (200, {"checkpoint": longer})


async def test_a_checkpoint_with_a_bad_signature_is_refused_and_not_kept(home: Home) -> None:
    forged = _signed(Ed25519PrivateKey.generate(), home.home_id, 5, _hash("forged"))
    tampered = home.checkpoint(5, _hash("honest")) | {"length": 6}
    assert await home.send(forged, tampered) == ["bad_signature", "bad_signature"]
    assert (await home.latest())[0] == 404


async def test_a_checkpoint_for_another_home_or_from_a_revoked_one_is_refused(
    served: Bridge, home: Home
) -> None:
    async with aiohttp.ClientSession() as http:
        other = await Home(served, http, _new_home_key()).link()
        # Signed by the other home itself, but sent over this home's link.
        theirs = other.checkpoint(2, _hash("theirs"))
        assert await home.send(theirs) == ["wrong_home"]
        assert (await home.latest(other.home_id))[0] == 404
        await served.registry.revoke("home", other.home_id)
        assert await other.send(other.checkpoint(2, _hash("theirs"))) == ["unknown_home"]
        assert (await other.latest())[0] == 404
        assert other.socket is not None
        await other.socket.close()


async def test_a_checkpoint_from_an_unknown_home_is_refused(served: Bridge) -> None:
    body = _signed(Ed25519PrivateKey.generate(), "home-nobody", 1, _hash("x"))
    with pytest.raises(CheckpointRefusedError) as refused:
        await receive_checkpoint(served.server.app, "home-nobody", body)
    assert refused.value.code == "unknown_home"


async def test_a_checkpoint_going_backwards_is_refused_and_the_first_is_kept(
    home: Home, book: CheckpointBook
) -> None:
    first = home.checkpoint(5, _hash("original 4"))
    assert await home.send(first) == []
    rewritten = home.checkpoint(5, _hash("rewritten 4"))
    shorter = home.checkpoint(4, _hash("original 3"))
    assert await home.send(rewritten, shorter) == ["checkpoint_conflict"] * 2
    assert await home.latest() == (200, {"checkpoint": first})
    history = await book.history(home.home_id)
    assert [(row.length, row.conflict) for row in history] == [(5, False), (5, True), (4, True)]
    assert history[1].last_hash == _hash("rewritten 4")  # kept as evidence, never the latest
    longer = home.checkpoint(6, _hash("original 5"))
    assert await home.send(longer) == []
    assert await home.latest() == (200, {"checkpoint": longer})


async def test_malformed_checkpoints_are_refused_and_change_nothing(home: Home) -> None:
    good = home.checkpoint(2, _hash("r1"))
    bad = [good | {"length": 0}, good | {"extra": 1}, {"nested": [[[]]]}, good | {"at": "now"}]
    assert await home.send(*bad) == ["malformed"] * len(bad)
    assert (await home.latest())[0] == 404


async def test_the_latest_checkpoint_of_no_such_home_is_a_clean_404(home: Home) -> None:
    for home_id in ("home-nobody", "home.%2e", "x" * 65):
        status, body = await home.latest(home_id)
        assert (status, body["error"]["code"]) == (404, "no_checkpoint")


async def test_refused_checkpoints_kept_as_evidence_are_capped_per_home(
    home: Home, book: CheckpointBook
) -> None:
    kwargs: dict[str, Any] = {"home_id": home.home_id, "signed_at": 0, "signature": bytes(64)}
    assert await book.record(length=10, last_hash=_hash("10"), **kwargs) is Outcome.ACCEPTED
    for index in range(MAX_CONFLICTS + 5):
        outcome = await book.record(length=10, last_hash=_hash(f"other {index}"), **kwargs)
        assert outcome is Outcome.CONFLICT
    history = await book.history(home.home_id)
    assert sum(row.conflict for row in history) == MAX_CONFLICTS
    latest = await book.latest(home.home_id)
    assert latest is not None
    assert latest.id == history[0].id


async def test_every_accepted_checkpoint_is_served_a_page_at_a_time(home: Home) -> None:
    sent = [home.checkpoint(length, _hash(f"record {length - 1}")) for length in range(1, 131)]
    assert await home.send(*sent) == []
    assert await home.send(home.checkpoint(50, _hash("rewritten"))) == ["checkpoint_conflict"]

    async def page(after: str) -> tuple[int, dict[str, Any]]:
        url = f"{home.bridge.url}/api/v1/homes/{home.home_id}/audit/checkpoints"
        async with home.http.get(url, params={"after": after}) as resp:
            return resp.status, await resp.json()

    status, first = await page("0")
    assert (status, first["checkpoints"]) == (200, sent[:100])  # the conflict is never listed
    status, second = await page("100")
    assert (status, second["checkpoints"]) == (200, sent[100:])
    assert (await page("130"))[1] == {"checkpoints": []}
    async with home.http.get(
        f"{home.bridge.url}/api/v1/homes/{home.home_id}/audit/checkpoints"
    ) as resp:
        assert (await resp.json())["checkpoints"] == sent[:100]  # after defaults to 0
    for bad in ("-1", "01", "abc", "1.5", str(2**53 + 1), "٣"):
        status, body = await page(bad)
        assert (status, body["error"]["code"]) == (400, "invalid_request"), bad
    async with home.http.get(
        f"{home.bridge.url}/api/v1/homes/home-nobody/audit/checkpoints"
    ) as resp:
        assert (resp.status, await resp.json()) == (200, {"checkpoints": []})
