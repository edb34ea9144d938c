"""The home link: enrolment, the signed challenge, relaying, and what a bad peer gets.

The bridge runs as a real aiohttp server on loopback (in this process, so tests can
relay through it directly; ``test_serve.py`` covers the separate process), on SQLite and
on PostgreSQL, with its real migrations. Homes are real Ed25519 keys speaking the
protocol over a real websocket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import pytest

from bridge.app import create_app
from bridge.config import BridgeConfig, DatabaseConfig
from bridge.db.repository import Registry
from bridge.homes import LINKS_KEY
from bridge.keys import encode_public_key
from bridge.links import LinkError
from bridge.protocol import (
    CHALLENGE_CONTEXT,
    ProtocolError,
    b64url,
    challenge_bytes,
    decode,
    encode,
    from_b64url,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/protocol/vectors.json").read_text()
)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """Tolerate aiohttp's own heartbeat timer on a server socket the peer just closed.

    aiohttp 3.14 coalesces heartbeat resets with ``call_soon``; when data and the close
    arrive in the same tick, the reset re-arms the timer after the close cancelled it
    (``WebSocketResponse._flush_heartbeat_reset``). It fires once on a closed socket and
    does nothing. The test harness would otherwise fail on it.
    """
    return True


@dataclass
class Bridge:
    url: str
    server: TestServer
    registry: Registry


@pytest.fixture
async def bridge(database_url: str, registry: Registry) -> AsyncIterator[Bridge]:
    config = BridgeConfig(host="127.0.0.1", port=0, database=DatabaseConfig(url=database_url))
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield Bridge(str(server.make_url("")).rstrip("/"), server, registry)
    finally:
        await server.close()


@dataclass
class HomeKey:
    key: Ed25519PrivateKey

    @property
    def public(self) -> str:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return encode_public_key(raw)


def _new_home_key() -> HomeKey:
    return HomeKey(Ed25519PrivateKey.generate())


async def _enrol(
    http: aiohttp.ClientSession, bridge: Bridge, key: HomeKey, *, code: str | None = None
) -> tuple[int, dict[str, Any]]:
    if code is None:
        code = (await bridge.registry.issue_enrolment_code()).code
    body = {"code": code, "name": "Home", "public_key": key.public}
    async with http.post(f"{bridge.url}/api/v1/homes/enrol", json=body) as resp:
        return resp.status, await resp.json()


async def _connect(
    http: aiohttp.ClientSession, bridge: Bridge, home_id: str, key: HomeKey
) -> aiohttp.ClientWebSocketResponse:
    """A signed-in link: challenge answered, welcome received."""
    socket = await http.ws_connect(f"{bridge.url}/api/v1/homes/link")
    challenge = decode(await socket.receive_str())
    nonce = from_b64url(challenge.fields["nonce"], 32, "nonce")
    signature = key.key.sign(challenge_bytes(home_id, nonce))
    await socket.send_str(encode("hello", home_id=home_id, signature=b64url(signature)))
    welcome = decode(await socket.receive_str())
    assert welcome.type == "welcome", welcome
    assert welcome.fields["heartbeat"] == 20
    return socket


async def _refused(socket: aiohttp.ClientWebSocketResponse) -> tuple[str, int | None]:
    """The error code the bridge sent, and the close code it closed with."""
    error = decode(await socket.receive_str())
    assert error.type == "error"
    closed = await socket.receive()
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    return str(error.fields["code"]), socket.close_code


async def test_a_home_enrols_once_and_signs_in_by_answering_the_challenge(bridge: Bridge) -> None:
    key = _new_home_key()
    code = (await bridge.registry.issue_enrolment_code()).code
    async with aiohttp.ClientSession() as http:
        status, body = await _enrol(http, bridge, key, code=code)
        assert status == 201
        home_id = body["home_id"]
        status, again = await _enrol(http, bridge, _new_home_key(), code=code)
        assert (status, again["error"]["code"]) == (400, "enrolment_code_used")

        socket = await _connect(http, bridge, home_id, key)
        assert bridge.server.app[LINKS_KEY].is_connected(home_id)
        await socket.close()
    await _until(lambda: not bridge.server.app[LINKS_KEY].is_connected(home_id))


async def test_the_bridge_relays_a_request_and_passes_the_homes_answer_back(
    bridge: Bridge,
) -> None:
    key = _new_home_key()
    links = bridge.server.app[LINKS_KEY]
    async with aiohttp.ClientSession() as http:
        _, body = await _enrol(http, bridge, key)
        socket = await _connect(http, bridge, body["home_id"], key)

        async def home_answers() -> dict[str, Any]:
            request = decode(await socket.receive_str())
            assert request.type == "request"
            await socket.send_str(
                encode("response", id=request.fields["id"], status=200, body={"opened": True})
            )
            return dict(request.fields)

        answering = asyncio.create_task(home_answers())
        answer = await links.relay(body["home_id"], "ping", {"door": "front"})
        assert (answer.status, dict(answer.body)) == (200, {"opened": True})
        request = await answering
        assert (request["kind"], request["body"]) == ("ping", {"door": "front"})

        # A home that does not answer in time: the caller hears so, nothing hangs.
        with pytest.raises(LinkError) as timed_out:
            await links.relay(body["home_id"], "ping", {}, wait=0.2)
        assert timed_out.value.code == "home_timeout"
        late = decode(await socket.receive_str())
        await socket.send_str(encode("response", id=late.fields["id"], status=200, body={}))
        error = decode(await socket.receive_str())
        assert error.fields["code"] == "unknown_request"
        await socket.close()

    with pytest.raises(LinkError) as offline:
        await links.relay("home-not-here", "ping", {})
    assert offline.value.code == "home_offline"


async def test_a_wrong_key_an_unknown_home_and_a_replayed_hello_are_refused(
    bridge: Bridge,
) -> None:
    key = _new_home_key()
    async with aiohttp.ClientSession() as http:
        _, body = await _enrol(http, bridge, key)
        home_id = body["home_id"]

        # Signed with another key.
        socket = await http.ws_connect(f"{bridge.url}/api/v1/homes/link")
        nonce = from_b64url(decode(await socket.receive_str()).fields["nonce"], 32, "nonce")
        forged = _new_home_key().key.sign(challenge_bytes(home_id, nonce))
        await socket.send_str(encode("hello", home_id=home_id, signature=b64url(forged)))
        assert await _refused(socket) == ("bad_signature", 4401)

        # A hello recorded from one connection, replayed on the next (a new nonce).
        socket = await http.ws_connect(f"{bridge.url}/api/v1/homes/link")
        nonce = from_b64url(decode(await socket.receive_str()).fields["nonce"], 32, "nonce")
        recorded = encode(
            "hello",
            home_id=home_id,
            signature=b64url(key.key.sign(challenge_bytes(home_id, nonce))),
        )
        await socket.send_str(recorded)
        assert decode(await socket.receive_str()).type == "welcome"
        await socket.close()
        socket = await http.ws_connect(f"{bridge.url}/api/v1/homes/link")
        await socket.receive_str()
        await socket.send_str(recorded)
        assert await _refused(socket) == ("bad_signature", 4401)

        # An id the bridge never enrolled, and a home the admin revoked.
        socket = await http.ws_connect(f"{bridge.url}/api/v1/homes/link")
        await socket.receive_str()
        await socket.send_str(encode("hello", home_id="home-nobody", signature=b64url(bytes(64))))
        assert await _refused(socket) == ("unknown_home", 4401)
        await bridge.registry.revoke("home", home_id)
        socket = await http.ws_connect(f"{bridge.url}/api/v1/homes/link")
        nonce = from_b64url(decode(await socket.receive_str()).fields["nonce"], 32, "nonce")
        signed = key.key.sign(challenge_bytes(home_id, nonce))
        await socket.send_str(encode("hello", home_id=home_id, signature=b64url(signed)))
        assert await _refused(socket) == ("unknown_home", 4401)
    assert not bridge.server.app[LINKS_KEY].is_connected(home_id)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"v": 2, "type": "hello"}', "unsupported_version"),
        ('{"v": 1, "type": "bogus"}', "unknown_type"),
        ('{"v": 1, "type": "welcome", "heartbeat": 5}', "unexpected_type"),
        ('{"v": 1, "type": "hello", "home_id": "h", "signature": "short"}', "malformed"),
        ('{"v": 1, "type": "hello", "home_id": "bad id!", "signature": "x"}', "malformed"),
    ],
)
async def test_a_bad_hello_is_refused_with_a_reason(bridge: Bridge, frame: str, code: str) -> None:
    async with aiohttp.ClientSession() as http:
        socket = await http.ws_connect(f"{bridge.url}/api/v1/homes/link")
        await socket.receive_str()
        await socket.send_str(frame)
        assert await _refused(socket) == (code, 4400)


async def test_bad_frames_on_a_live_link_are_answered_and_change_nothing(bridge: Bridge) -> None:
    key = _new_home_key()
    async with aiohttp.ClientSession() as http:
        _, body = await _enrol(http, bridge, key)
        socket = await _connect(http, bridge, body["home_id"], key)
        for frame, code in [
            ("{", "malformed"),
            (encode("hello", home_id="x", signature="y"), "unexpected_type"),
            (encode("response", id="nobody-asked", status=200, body={}), "unknown_request"),
            ("x" * (64 * 1024 + 1), None),  # over the frame limit: the bridge hangs up
        ]:
            await socket.send_str(frame)
            if code is None:
                closed = await socket.receive()
                assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                break
            error = decode(await socket.receive_str())
            assert error.fields["code"] == code
            assert bridge.server.app[LINKS_KEY].is_connected(body["home_id"])


async def test_a_reconnecting_home_replaces_its_old_link(bridge: Bridge) -> None:
    key = _new_home_key()
    async with aiohttp.ClientSession() as http:
        _, body = await _enrol(http, bridge, key)
        first = await _connect(http, bridge, body["home_id"], key)
        second = await _connect(http, bridge, body["home_id"], key)
        closed = await first.receive()
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert first.close_code == 4409
        assert bridge.server.app[LINKS_KEY].is_connected(body["home_id"])
        await second.close()


async def test_guessing_enrolment_codes_is_locked_out(bridge: Bridge) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            status, body = await _enrol(http, bridge, _new_home_key(), code="guess.guess")
            assert (status, body["error"]["code"]) == (400, "unknown_enrolment_code")
        good = (await bridge.registry.issue_enrolment_code()).code
        body = {"code": good, "name": "Home", "public_key": _new_home_key().public}
        async with http.post(f"{bridge.url}/api/v1/homes/enrol", json=body) as resp:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) > 0
            assert (await resp.json())["error"]["code"] == "rate_limited"
    assert await bridge.registry.list_homes() == []  # even the right code waits


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("[]", 400, "invalid_json"),
        ("{", 400, "invalid_json"),
        ('{"code": "a.b", "name": "Home"}', 400, "invalid_request"),
        ('{"code": "a.b", "name": "Home", "public_key": 5}', 400, "invalid_request"),
    ],
)
async def test_malformed_enrolment_requests_get_a_code_and_change_nothing(
    bridge: Bridge, body: str, status: int, code: str
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{bridge.url}/api/v1/homes/enrol", data=body) as resp,
    ):
        assert resp.status == status
        assert (await resp.json())["error"]["code"] == code
    assert await bridge.registry.list_homes() == []


def test_the_shared_vectors_match_the_protocol() -> None:
    (vector,) = VECTORS["challenge"]
    seed = from_b64url(vector["private_key_seed"], 32, "seed")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert encode_public_key(raw) == vector["public_key"]
    nonce = from_b64url(vector["nonce"], 32, "nonce")
    signed = challenge_bytes(vector["home_id"], nonce)
    assert signed.decode() == vector["signed_bytes_utf8"]
    assert signed.startswith(CHALLENGE_CONTEXT + b"\n")
    assert json.loads(encode("challenge", nonce=vector["nonce"])) == vector["challenge_message"]
    hello = vector["hello_message"]
    assert b64url(key.sign(signed)) == hello["signature"]  # Ed25519 is deterministic
    assert decode(json.dumps(hello)).fields["home_id"] == vector["home_id"]


def test_binary_fields_have_one_spelling() -> None:
    raw = bytes(range(32))
    assert from_b64url(b64url(raw), 32, "nonce") == raw
    for bad in (b64url(raw) + "=", b64url(raw)[:-1], "!" * 43):
        with pytest.raises(ProtocolError):
            from_b64url(bad, 32, "nonce")


async def _until(check: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 - polls the server task's state
            await asyncio.sleep(0.01)
