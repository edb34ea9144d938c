"""The carrier API at the bridge: signed requests are checked, forwarded untouched, answered.

A fake home (a real Ed25519 key speaking the home protocol over the real websocket)
records what reaches it, so each test can say what the bridge let through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from pathlib import Path
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import pytest

from bridge.app import create_app
from bridge.carrier_signature import SignedRequest
from bridge.config import BridgeConfig, DatabaseConfig
from bridge.db.repository import Registry
from bridge.keys import encode_public_key
from bridge.protocol import b64url, from_b64url
from simulators.carrier import Carrier

from .fake_home import FakeHome

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/protocol/vectors.json").read_text()
)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """aiohttp's server websocket heartbeat may re-arm after a close (see test_home_link)."""
    return True


@pytest.fixture
async def setup(
    database_url: str, registry: Registry
) -> AsyncIterator[tuple[str, Carrier, FakeHome, aiohttp.ClientSession]]:
    config = BridgeConfig(host="127.0.0.1", port=0, database=DatabaseConfig(url=database_url))
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    carrier = Carrier()
    carrier.carrier_id = (
        await registry.add_carrier(name="Acme Parcel", public_key=carrier.public_key)
    ).id
    home_key = Ed25519PrivateKey.generate()
    raw = home_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    code = (await registry.issue_enrolment_code()).code
    enrolled = await registry.enrol_home(code=code, name="Home", public_key=encode_public_key(raw))
    home = FakeHome(enrolled.id, home_key)
    async with aiohttp.ClientSession() as http:
        await home.connect(http, url)
        yield url, carrier, home, http
        await home.close()
    await server.close()


def _path(home: FakeHome, door: str = "front") -> str:
    return f"/api/v1/carrier/homes/{home.home_id}/doors/{door}/open"


async def _post(
    http: aiohttp.ClientSession, url: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(url + path, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_a_signed_request_is_forwarded_untouched_and_the_homes_answer_returned(setup) -> None:
    url, carrier, home, http = setup
    body, headers = carrier.sign(_path(home), {"reference": "PKG-1"})
    assert await _post(http, url, _path(home), body, headers) == (
        200, {"allowed": True, "reason": "allowed"},
    )  # fmt: skip
    (relayed,) = home.requests
    assert relayed["kind"] == "carrier.open"
    assert relayed["path"] == _path(home)
    assert relayed["body"].encode() == body
    # What reaches the home is exactly what the carrier signed: it can check it again.
    again = SignedRequest(
        relayed["method"], relayed["path"], relayed["body"].encode(), relayed["carrier_id"],
        relayed["timestamp"], relayed["nonce"], from_b64url(relayed["signature"], 64, "sig"),
    )  # fmt: skip
    Ed25519PublicKey.from_public_bytes(from_b64url(carrier.public_key, 32, "key")).verify(
        again.signature, again.signed_bytes()
    )

    home.reply = (403, {"error": {"code": "outside_window", "message": "refused"}})
    body, headers = carrier.sign(_path(home))
    status, answer = await _post(http, url, _path(home), body, headers)
    assert (status, answer["error"]["code"]) == (403, "outside_window")


async def test_unsigned_forged_replayed_and_stale_requests_never_reach_the_home(setup) -> None:
    url, carrier, home, http = setup
    body, headers = carrier.sign(_path(home))
    assert (await _post(http, url, _path(home), body, headers))[0] == 200
    other = Carrier(carrier_id=carrier.carrier_id)  # someone else's key, the right id
    forged_body, forged = other.sign(_path(home))
    stale_body, stale = carrier.sign(_path(home), timestamp=int(time.time()) - 300)
    future_body, future = carrier.sign(_path(home), timestamp=int(time.time()) + 300)
    altered = dict(headers, **{"Keyholder-Nonce": "a" * 24})
    unknown_body, unknown = Carrier(carrier_id="carrier-nobody").sign(_path(home))
    cases = [
        (body, {"Content-Type": "application/json"}, "unsigned_request"),
        (forged_body, forged, "bad_signature"),
        (body, headers, "replayed_request"),
        (body, altered, "bad_signature"),
        (b'{"reference": "other"}', headers, "bad_signature"),  # body swapped
        (stale_body, stale, "stale_request"),
        (future_body, future, "stale_request"),
        (unknown_body, unknown, "unknown_carrier"),
    ]
    for raw, hdrs, code in cases:
        status, answer = await _post(http, url, _path(home), raw, hdrs)
        assert (status, answer["error"]["code"]) == (401, code)
    # A signature for one door does not open another.
    status, answer = await _post(http, url, _path(home, "garage"), *carrier.sign(_path(home)))
    assert (status, answer["error"]["code"]) == (401, "bad_signature")
    assert len(home.requests) == 1


async def test_the_directory_and_an_unknown_home(setup) -> None:
    url, carrier, _home, http = setup
    async with http.get(f"{url}/api/v1/carriers") as resp:
        assert (await resp.json())["carriers"] == [
            {"id": carrier.carrier_id, "name": "Acme Parcel", "public_key": carrier.public_key}
        ]
    missing = "/api/v1/carrier/homes/home-nobody/doors/front/open"
    status, answer = await _post(http, url, missing, *carrier.sign(missing))
    assert (status, answer["error"]["code"]) == (404, "unknown_home")


def test_the_shared_carrier_vector_matches() -> None:
    (vector,) = VECTORS["carrier_request"]
    request = SignedRequest(
        vector["method"], vector["path"], vector["body_utf8"].encode(), vector["carrier_id"],
        vector["timestamp"], vector["nonce"], from_b64url(vector["signature"], 64, "sig"),
    )  # fmt: skip
    assert request.signed_bytes().decode() == vector["signed_bytes_utf8"]
    key = Ed25519PrivateKey.from_private_bytes(from_b64url(vector["private_key_seed"], 32, "s"))
    assert b64url(key.sign(request.signed_bytes())) == vector["signature"]
