"""The guest routes answer as ``bridge/openapi.json`` says: each status, body and error code.

The real bridge process (on SQLite and on PostgreSQL); a home signed in over a real
websocket that answers with the home's own guest-session code (``core.guest_session``:
it mints and checks challenges, opens sealed requests, seals its answers); the guest
seals as the page's script does (``simulators.guest``). Every answer the bridge gives is
checked against the document's schema for that operation and status, and every error
code against the codes the document names for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
import json
from pathlib import Path
import secrets
import time
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import jsonschema  # type: ignore[import-untyped]  # no stubs; installed with zigpy, both flavours
import pytest

from bridge.db.repository import Registry
from bridge.keys import encode_public_key
from bridge.protocol import b64url, challenge_bytes, decode, encode, from_b64url
from custom_components.keyholder.core.guest_session import (
    CHALLENGE_LIFETIME,
    GuestSessionError,
    SealedRequest,
    check_challenge,
    mint_challenge,
    open_request,
    public_key_bytes,
    seal_answer,
)
from simulators.guest import Sealed, seal, unb64url

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "bridge" / "openapi.json").read_text())
GRANT_ID = "0123456789abcdef"
LINK_SECRET = secrets.token_bytes(32)
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}
DESCRIBED = {"home": "Contract", "guest": "Walker", "doors": [], "window": [], "status": "active"}


def _resolved(node: Any) -> Any:
    """The schema with every ``$ref`` into the document replaced by what it names."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = DOCUMENT
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _resolved(target)
        return {key: _resolved(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value) for value in node]
    return node


def _as_documented(path: str, status: int, body: Any, headers: Mapping[str, str]) -> None:
    """``body`` is what the document says ``POST path`` answers with ``status``."""
    documented = _resolved(DOCUMENT["paths"][path]["post"]["responses"])
    assert str(status) in documented, f"{path} answered {status}, which it does not document"
    response = documented[str(status)]
    jsonschema.validate(body, response["content"]["application/json"]["schema"])
    if status >= 400:
        assert body["error"]["code"] in response["description"], (path, status, body)
    for name in response.get("headers", {}):
        assert name in headers, f"{path} {status} without its documented {name} header"


class SessionHome:
    """A home at its protocol boundary: signs in, answers guest requests with the real core."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.session_key = ec.generate_private_key(ec.SECP256R1())
        self.challenge_key = secrets.token_bytes(32)
        self.spent: set[bytes] = set()
        self.broken = False  # answers 500 to everything, as a home with a bug would

    @property
    def public(self) -> str:
        return encode_public_key(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def answer(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = int(time.time())
        if self.broken:
            return 500, {}
        if kind == "guest.challenge":
            minted = mint_challenge(self.challenge_key, now, secrets.token_bytes(16))
            return 200, {"challenge": b64url(minted), "lifetime": CHALLENGE_LIFETIME}
        try:
            sealed = SealedRequest.from_relay(body)
            check_challenge(self.challenge_key, sealed.challenge, now)
            opened = open_request(sealed, self.session_key)
        except GuestSessionError as err:
            return 400, {"error": {"code": err.code, "message": str(err)}}
        if sealed.challenge in self.spent:
            return 400, {"error": {"code": "replayed", "message": "already answered"}}
        self.spent.add(sealed.challenge)
        if opened.grant_id != GRANT_ID or opened.secret != LINK_SECRET:
            return 404, {"error": {"code": "unknown_link", "message": "this link is not valid"}}
        return 200, seal_answer(opened.keys, DESCRIBED, secrets.token_bytes(12))

    async def serve(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in socket:
            message = decode(frame.data)
            if message.type == "request":
                status, body = self.answer(str(message.fields["kind"]), message.fields["body"])
                await socket.send_str(
                    encode("response", id=message.fields["id"], status=status, body=body)
                )


@dataclass
class Online:
    home_id: str
    home: SessionHome
    socket: aiohttp.ClientWebSocketResponse


@pytest.fixture
async def online(bridge_url: str, registry: Registry) -> AsyncIterator[Online]:
    """An enrolled home signed in at the bridge, answering until its socket closes."""
    home = SessionHome()
    code = (await registry.issue_enrolment_code()).code
    async with aiohttp.ClientSession() as http:
        enrol = {"code": code, "name": "Contract", "public_key": home.public}
        async with http.post(f"{bridge_url}/api/v1/homes/enrol", json=enrol) as resp:
            home_id = (await resp.json())["home_id"]
        socket = await http.ws_connect(f"{bridge_url}/api/v1/homes/link")
        nonce = from_b64url(decode(await socket.receive_str()).fields["nonce"], 32, "nonce")
        signature = b64url(home.key.sign(challenge_bytes(home_id, nonce)))
        await socket.send_str(encode("hello", home_id=home_id, signature=signature))
        assert decode(await socket.receive_str()).type == "welcome"
        serving = asyncio.get_running_loop().create_task(home.serve(socket))
        try:
            yield Online(home_id, home, socket)
        finally:
            await socket.close()
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)


async def _post(
    http: aiohttp.ClientSession, url: str, **kwargs: Any
) -> tuple[int, Any, Mapping[str, str]]:
    async with http.post(url, **kwargs) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


async def _connected_homes(http: aiohttp.ClientSession, bridge_url: str) -> int:
    async with http.get(f"{bridge_url}/metrics") as resp:
        text = await resp.text()
    (line,) = [line for line in text.splitlines() if line.startswith("keyholder_bridge_homes_c")]
    return int(line.split()[1])


CHALLENGE_PATH, REQUEST_PATH = "/g/{home_id}/challenge", "/g/{home_id}/request"


class GuestCalls:
    """The page's two calls to one home, each answer checked against the document."""

    def __init__(self, http: aiohttp.ClientSession, page: str) -> None:
        self.http = http
        self.page = page

    async def challenge(self) -> tuple[int, Any, Mapping[str, str]]:
        answer = await _post(self.http, f"{self.page}/challenge", json={})
        _as_documented(CHALLENGE_PATH, *answer)
        return answer

    async def request(self, body: Any, **kwargs: Any) -> tuple[int, Any, Mapping[str, str]]:
        answer = await _post(self.http, f"{self.page}/request", json=body, **kwargs)
        _as_documented(REQUEST_PATH, *answer)
        return answer


def _sealed(home: SessionHome, challenge: bytes, secret: bytes = LINK_SECRET) -> Sealed:
    plain = {"grant": GRANT_ID, "secret": b64url(secret), "op": "describe"}
    return seal(public_key_bytes(home.session_key), challenge, json.dumps(plain).encode())


async def test_the_guest_routes_relay_answers_and_home_refusals_as_documented(
    bridge_url: str, online: Online
) -> None:
    home = online.home
    async with aiohttp.ClientSession() as http:
        guest = GuestCalls(http, f"{bridge_url}/g/{online.home_id}")
        status, issued, _ = await guest.challenge()
        assert status == 200
        sealed = _sealed(home, unb64url(issued["challenge"]))
        status, answer, _ = await guest.request(sealed.body)
        assert status == 200
        assert sealed.open(answer) == DESCRIBED, "the home's answer, passed back whole"

        # The home's refusals, passed on with its codes (four: a fifth would lock us out).
        status, refused, _ = await guest.request(sealed.body)
        assert (status, refused["error"]["code"]) == (400, "replayed")
        status, issued, _ = await guest.challenge()
        wrong_secret = _sealed(home, unb64url(issued["challenge"]), secrets.token_bytes(32))
        status, refused, _ = await guest.request(wrong_secret.body)
        assert (status, refused["error"]["code"]) == (404, "unknown_link")
        not_its_challenge = _sealed(home, secrets.token_bytes(40))
        status, refused, _ = await guest.request(not_its_challenge.body)
        assert (status, refused["error"]["code"]) == (400, "bad_challenge")
        unsealed = dict.fromkeys(("challenge", "public_key", "iv", "ciphertext"), "AA")
        status, refused, _ = await guest.request(unsealed)
        assert (status, refused["error"]["code"]) == (400, "bad_envelope")

        home.broken = True
        status, refused, _ = await guest.challenge()
        assert (status, refused["error"]["code"]) == (502, "home_error")
        await online.socket.close()
        async with asyncio.timeout(10):
            while await _connected_homes(http, bridge_url):  # noqa: ASYNC110 - polls the bridge
                await asyncio.sleep(0.05)
        status, refused, _ = await guest.challenge()
        assert (status, refused["error"]["code"]) == (503, "home_offline")


async def test_the_guest_routes_refuse_what_is_not_a_sealed_request_as_documented(
    bridge_url: str,
) -> None:
    async with aiohttp.ClientSession() as http:
        guest = GuestCalls(http, f"{bridge_url}/g/no-such-home")
        status, refused, _ = await guest.challenge()
        assert (status, refused["error"]["code"]) == (404, "unknown_link")
        status, refused, _ = await guest.request(None, data=b"{}", headers=TEXT)
        assert (status, refused["error"]["code"]) == (415, "unsupported_media_type")
        status, refused, _ = await guest.request({"x": 1})
        assert (status, refused["error"]["code"]) == (400, "invalid_request")
        status, refused, _ = await guest.request(None, data=b'{"a": 1, "a": 2}', headers=JSON)
        assert (status, refused["error"]["code"]) == (400, "invalid_json")
        status, refused, _ = await guest.request(None, data=b"[" * 100, headers=JSON)
        assert (status, refused["error"]["code"]) == (400, "invalid_json")
        unknown_home = {"challenge": "c", "public_key": "k", "iv": "i", "ciphertext": "x"}
        status, refused, _ = await guest.request(unknown_home)
        assert (status, refused["error"]["code"]) == (404, "unknown_link")

        status, refused, headers = await guest.challenge()  # the sixth, after five failures
        assert (status, refused["error"]["code"]) == (429, "rate_limited")
        assert int(headers["Retry-After"]) > 0
        # Locked out means locked out, whatever the request: even one too large to read.
        status, refused, _ = await guest.request(None, data=b"[" * 10_000, headers=JSON)
        assert (status, refused["error"]["code"]) == (429, "rate_limited")
