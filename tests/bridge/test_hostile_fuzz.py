"""Property: nothing a client sends makes the real bridge process answer 5xx or leave the error shape.

Each example sends one request to every endpoint: arbitrary bytes, arbitrary JSON,
JSON nested far too deep, lone surrogate escapes, huge numbers, the right keys with
the wrong types, and arbitrary headers (the signature headers among them, in any
case). Half the carrier requests are signed for real over the hostile body, so the
body checks behind the signature are reached too; the rest come from another
loopback address, whose lockout then answers 429, as it should.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
import hashlib
import json
import secrets
import time
from urllib.parse import quote

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings, strategies as st

from .conftest import LiveBridge

EXAMPLES = 50
SIGNATURE_HEADERS = (
    "Keyholder-Carrier",
    "Keyholder-Timestamp",
    "Keyholder-Nonce",
    "Keyholder-Signature",
)

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["code", "name", "public_key", "reference", "window_start", "window_end", "delivery_id"]
)
_wrong_types = st.dictionaries(_keys, _json, max_size=6)
_deep = st.integers(min_value=30, max_value=5000).map(lambda n: "[" * n + "]" * n)
_surrogates = st.sampled_from(
    ['{"name": "\\ud800"}', '{"\\udfff": 1}', '["\\udbff\\u0041"]', '{"reference": "\\ud83d"}']
)
_huge = st.sampled_from(["1" * 5000, "1e999999", "-1e-999999", '{"reference": ' + "9" * 4400 + "}"])

_times = st.one_of(
    st.text(max_size=30),
    st.datetimes(timezones=st.timezones() | st.none()).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]),
)
# Shapes that get past the type checks, into the registry and the delivery book.
_sealed = st.fixed_dictionaries(
    {name: st.text(max_size=60) for name in ("challenge", "public_key", "iv", "ciphertext")}
)
_enrolment = st.fixed_dictionaries(
    {
        "code": st.text(max_size=60),
        "name": st.text(max_size=120),
        "public_key": st.text(max_size=50),
    }
)
_reference = st.text(max_size=120) | st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=100
)
_announcement = st.fixed_dictionaries(
    {"reference": _reference, "window_start": _times, "window_end": _times},
    optional={"delivery_id": st.text(max_size=40)},
)

_announcement_bytes = _announcement.map(lambda v: json.dumps(v).encode())
BODIES = st.one_of(
    _sealed.map(lambda v: json.dumps(v).encode()),
    _enrolment.map(lambda v: json.dumps(v).encode()),
    _announcement_bytes,
    st.binary(max_size=300),
    _json.map(lambda v: json.dumps(v).encode()),
    _wrong_types.map(lambda v: json.dumps(v).encode()),
    _deep.map(str.encode),
    _surrogates.map(str.encode),
    _huge.map(str.encode),
    st.just(b""),
)
# Announcements that pass every type check, with times anywhere in the calendar.
_edges = st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
_aware = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
_plausible = st.fixed_dictionaries(
    {
        "reference": st.text(
            alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=100
        ),
        "window_start": _edges | _aware,
        "window_end": _edges | _aware,
    }
).map(lambda v: json.dumps(v).encode())
SIGNED_BODIES = st.one_of(_plausible, _announcement_bytes, BODIES)
_header_name = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
    min_size=1,
    max_size=20,
)
_header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
_content_type = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
HEADERS = st.builds(
    lambda chosen, typed: {**chosen, **typed},
    st.dictionaries(
        st.one_of(
            _header_name,
            st.sampled_from(SIGNATURE_HEADERS).map(str.lower),
            st.sampled_from(SIGNATURE_HEADERS),
        ),
        _header_value,
        max_size=6,
    ),
    st.fixed_dictionaries({}, optional={"Content-Type": _content_type}),
)
SEGMENTS = st.text(max_size=40).filter(bool).map(lambda t: quote(t, safe=""))


def _sign(target: Target, method: str, path: str, body: bytes) -> dict[str, str]:
    stamp, nonce = int(time.time()), secrets.token_urlsafe(18)
    lines = (
        "keyholder-carrier-request-v1", method, path, hashlib.sha256(body).hexdigest(),
        str(stamp), nonce, target.carrier_id,
    )  # fmt: skip
    signature = base64.urlsafe_b64encode(target.key.sign("\n".join(lines).encode())).rstrip(b"=")
    return {
        "keyholder-carrier": target.carrier_id,  # any case will do
        "Keyholder-Timestamp": str(stamp),
        "KEYHOLDER-NONCE": nonce,
        "Keyholder-Signature": signature.decode(),
    }


def _endpoints(home: str, segment: str) -> list[tuple[str, str, bool]]:
    """(method, path, signed-capable) for every route in openapi.json."""
    return [
        ("GET", "/healthz", False),
        ("GET", "/metrics", False),
        ("GET", "/openapi.json", False),
        ("GET", "/api/v1/carriers", False),
        ("POST", "/api/v1/homes/enrol", False),
        ("GET", "/api/v1/homes/link", False),
        ("GET", f"/g/{home}", False),
        ("GET", "/static/guest.js", False),
        ("GET", "/static/guest.css", False),
        ("POST", f"/g/{home}/challenge", False),
        ("POST", f"/g/{home}/request", False),
        ("POST", f"/api/v1/carrier/homes/{home}/deliveries", True),
        ("POST", f"/api/v1/carrier/homes/{home}/doors/{segment}/open", True),
        ("GET", f"/api/v1/carrier/deliveries/{segment}", True),
        ("GET", f"/api/v1/carrier/deliveries/{segment}/events", True),
    ]


async def _check(
    http: aiohttp.ClientSession, method: str, url: str, body: bytes, headers: dict[str, str]
) -> None:
    async with http.request(method, url, data=body, headers=headers, allow_redirects=False) as resp:
        raw = await resp.read()
        where = (method, url, resp.status, raw[:300])
        assert resp.status < 500, where
        if resp.status < 400:
            return
        assert resp.content_type == "application/json", where
        answer = json.loads(raw)
        assert set(answer) == {"error"}, where
        assert set(answer["error"]) == {"code", "message"}, where
        assert all(isinstance(v, str) and v for v in answer["error"].values()), where


async def test_no_request_makes_the_bridge_answer_5xx_or_leave_the_error_shape(
    live_bridge: LiveBridge,
) -> None:
    live = live_bridge
    target = Target(live.url, live.home.home_id, live.carrier.carrier_id, live.carrier.key)
    # Hypothesis drives a synchronous test: run it on a thread of its own, one event loop
    # per example, against the bridge process (which never shares a loop with the test).
    await asyncio.to_thread(_fuzz, target)
    assert "Traceback" not in "\n".join(live.process.log_lines()), "no handler failed"


@dataclass(frozen=True)
class Target:
    url: str
    home_id: str
    carrier_id: str
    key: Ed25519PrivateKey


def _fuzz(target: Target) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def one_round(data: st.DataObject) -> None:
        asyncio.run(_round(target, data))

    one_round()


async def _round(target: Target, data: st.DataObject) -> None:
    """One request to every endpoint."""
    real_home = data.draw(st.booleans(), label="real home")
    home = target.home_id if real_home else data.draw(SEGMENTS, label="home")
    segment = data.draw(SEGMENTS, label="segment")
    # From many loopback addresses, so that lockouts do not hide the rest of the endpoints.
    source = f"127.0.0.{data.draw(st.integers(min_value=3, max_value=254), label='source')}"
    strangers = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession() as carrier,
        aiohttp.ClientSession(connector=strangers) as stranger,
    ):
        for method, path, signable in _endpoints(home, segment):
            signed = signable and data.draw(st.booleans(), label="signed")
            # Signed bodies lean towards shapes that pass the type checks, to reach further.
            body = data.draw(SIGNED_BODIES if signed else BODIES, label=f"{method} {path} body")
            headers = data.draw(HEADERS, label=f"{method} {path} headers")
            if signed:
                headers = {**headers, **_sign(target, method, path, body)}
            await _check(carrier if signed else stranger, method, target.url + path, body, headers)
