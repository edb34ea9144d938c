"""Hostile input against the real bridge process: a clear 4xx in the error shape, nothing changed.

Every case here was, before, a 500, a plain-text page, a request refused for the
spelling of its headers, a silent refusal, or a replay the bridge forgot on restart.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path
import secrets
import time
from typing import Any

import pytest
from sqlalchemy import text

from bridge.db.engine import create_engine
from simulators.carrier import Carrier

from .conftest import LiveBridge, new_public_key
from .process import BridgeProcess
from .raw_http import exchange, open_from, request_bytes

HOSTILE = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/protocol/hostile-json.json").read_text()
)["cases"]


def _hostile_bodies() -> list[tuple[str, bytes]]:
    """Each refused case of the shared vectors as a request body, plus a few of our own."""
    cases = []
    for case in HOSTILE:
        if "error" not in case or case["error"] == "too_large":  # sized for their own max_bytes
            continue
        raw = (
            case["text"].encode()
            if "text" in case
            else base64.urlsafe_b64decode(case["bytes_b64"] + "=" * (-len(case["bytes_b64"]) % 4))
        )
        cases.append((case["name"], raw))
    cases += [
        ("a number of ten thousand digits", b'{"reference": ' + b"9" * 10_000 + b"}"),
        ("a NUL escape in a key", b'{"\\u0000": 1, "\\ud800\\u0041": 2}'),
        ("an array, not an object", b"[1, 2]"),
    ]
    return cases


HOSTILE_BODIES = _hostile_bodies()


def _is_error(body: Any, code: str | None = None) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and set(body["error"]) == {"code", "message"}
        and all(isinstance(v, str) for v in body["error"].values())
        and (code is None or body["error"]["code"] == code)
    )


async def _send(
    live: LiveBridge,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with live.http.request(method, live.url + path, data=body, headers=headers) as resp:
        assert resp.content_type == "application/json", await resp.text()
        return resp.status, await resp.json()


async def _rows(live: LiveBridge, table: str) -> int:
    engine = create_engine(live.process.database_url)
    try:
        async with engine.connect() as conn:
            query = text(f"SELECT count(*) FROM {table}")  # noqa: S608 - the tests' own names
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def test_hostile_json_gets_400_invalid_json_at_enrol_announce_and_open(
    live_bridge: LiveBridge,
) -> None:
    live = live_bridge
    code = (await live.registry.issue_enrolment_code()).code
    announce = f"/api/v1/carrier/homes/{live.home.home_id}/deliveries"
    for name, raw in HOSTILE_BODIES:
        status, body = await _send(live, "POST", "/api/v1/homes/enrol", raw)
        assert (status, _is_error(body)) == _refusal(raw, 4096), (name, body)
        for path in (announce, live.open_path()):
            # Sign the hostile bytes themselves: the signature holds, the body does not.
            headers = _sign_raw(live.carrier, path, raw)
            status, body = await _send(live, "POST", path, raw, headers)
            assert (status, _is_error(body)) == _refusal(raw, 16384), (name, path, body)
            assert body["error"]["code"] == "invalid_json" if status == 400 else "body_too_large"
    assert live.home.requests == [], "nothing hostile reached the home"
    assert await _rows(live, "homes") == 1  # the fixture's home only
    assert await _rows(live, "deliveries") == 0
    # The enrolment code was never spent on any of it.
    good = {"code": code, "name": "Second home", "public_key": new_public_key()}
    status, body = await _send(live, "POST", "/api/v1/homes/enrol", json.dumps(good).encode())
    assert status == 201, body


def _refusal(raw: bytes, limit: int) -> tuple[int, bool]:
    return (413 if len(raw) > limit else 400), True


def _sign_raw(carrier: Carrier, path: str, raw: bytes, method: str = "POST") -> dict[str, str]:
    """Signature headers over exact bytes (the simulator signs JSON it encodes itself)."""
    stamp, nonce = int(time.time()), secrets.token_urlsafe(18)
    lines = (
        "keyholder-carrier-request-v1", method, path, hashlib.sha256(raw).hexdigest(),
        str(stamp), nonce, carrier.carrier_id,
    )  # fmt: skip
    signature = carrier.key.sign("\n".join(lines).encode())
    return {
        "Keyholder-Carrier": carrier.carrier_id,
        "Keyholder-Timestamp": str(stamp),
        "Keyholder-Nonce": nonce,
        "Keyholder-Signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        "Content-Type": "application/json",
    }


async def test_aiohttps_own_refusals_come_in_the_error_shape(live_bridge: LiveBridge) -> None:
    live = live_bridge
    assert await _send(live, "GET", "/no/such/page") == (
        404, {"error": {"code": "not_found", "message": "Not Found"}},
    )  # fmt: skip
    async with live.http.get(f"{live.url}/api/v1/homes/enrol") as resp:
        assert resp.status == 405
        assert "POST" in resp.headers["Allow"], "the Allow header survives the reshaping"
        assert _is_error(await resp.json(), "method_not_allowed")
    status, body = await _send(live, "POST", "/api/v1/homes/enrol", b"{" * (2 << 20))
    assert (status, _is_error(body, "body_too_large")) == (413, True)
    status, body = await _send(live, "GET", "/api/v1/homes/link")  # not a websocket upgrade
    assert (status, _is_error(body, "bad_request")) == (400, True)
    # Ids from decoded paths that are no ids: unknown, not a database error.
    for bad in ("%00", "%F0%9F%94%91", "a" * 200):
        path = f"/api/v1/carrier/homes/{bad}/doors/front/open"
        signed = live.carrier.sign(path)
        status, body = await _send(live, "POST", path, *signed)
        assert (status, _is_error(body, "unknown_home")) == (404, True), bad
        path = f"/api/v1/carrier/deliveries/{bad}"
        headers = _sign_raw(live.carrier, path, b"", "GET")
        status, body = await _send(live, "GET", path, b"", headers)
        assert (status, _is_error(body, "unknown_delivery")) == (404, True), bad


async def test_signature_headers_are_matched_whatever_their_case(live_bridge: LiveBridge) -> None:
    live = live_bridge
    for spell in (str.lower, str.upper):
        raw, headers = live.carrier.sign(live.open_path())
        # aiohttp's client sends header names exactly as given: these arrive in that case.
        spelled = {spell(name): value for name, value in headers.items()}
        status, body = await _send(live, "POST", live.open_path(), raw, spelled)
        assert (status, body) == (200, {"allowed": True, "reason": "allowed"})
    # And over a raw socket, where nothing between the test and the bridge touches the names.
    raw, headers = live.carrier.sign(live.open_path())
    lowered = [(name.lower(), value) for name, value in headers.items()]
    status, body = await exchange(
        live.process.port, request_bytes("POST", live.open_path(), lowered, raw)
    )
    assert (status, body) == (200, {"allowed": True, "reason": "allowed"})
    assert len(live.home.requests) == 3
    # The same header twice (in two spellings) is ambiguous, so unsigned.
    raw, headers = live.carrier.sign(live.open_path())
    for doubled in (
        [("keyholder-nonce", "b" * 24)],
        [("KEYHOLDER-NONCE", headers["Keyholder-Nonce"])],
    ):
        request = request_bytes("POST", live.open_path(), [*headers.items(), *doubled], raw)
        status, body = await exchange(live.process.port, request)
        assert (status, _is_error(body, "unsigned_request")) == (401, True)
    assert len(live.home.requests) == 3


async def test_a_replay_and_a_bad_signature_each_log_one_line_without_secrets(
    live_bridge: LiveBridge,
) -> None:
    live = live_bridge
    raw, headers = live.carrier.sign(live.open_path(), {"reference": "PKG-SECRET-BODY"})
    assert (await _send(live, "POST", live.open_path(), raw, headers))[0] == 200
    assert (await _send(live, "POST", live.open_path(), raw, headers))[0] == 401
    forged_raw, forged = Carrier(carrier_id=live.carrier.carrier_id).sign(live.open_path())
    assert (await _send(live, "POST", live.open_path(), forged_raw, forged))[0] == 401
    for reason in ("replayed_request", "bad_signature"):
        lines = await _wait_for_lines(live, reason)
        (line,) = lines
        assert line["carrier_id"] == live.carrier.carrier_id
        assert line["client"] == "127.0.0.1"
        assert line["level"] == "warning"
        logged = json.dumps(line)
        for secret in (
            headers["Keyholder-Nonce"], headers["Keyholder-Signature"],
            forged["Keyholder-Nonce"], forged["Keyholder-Signature"], "PKG-SECRET-BODY",
        ):  # fmt: skip
            assert secret not in logged


async def test_a_failed_enrolment_is_logged_without_the_code(live_bridge: LiveBridge) -> None:
    live = live_bridge
    guess = "guessed-selector.guessed-secret"
    body = json.dumps({"code": guess, "name": "Home", "public_key": new_public_key()}).encode()
    for _ in range(5):
        await _send(live, "POST", "/api/v1/homes/enrol", body)
    status, answer = await _send(live, "POST", "/api/v1/homes/enrol", body)
    assert (status, answer["error"]["code"]) == (429, "rate_limited")
    assert len(await _wait_for_lines(live, "unknown_enrolment_code", count=5)) == 5
    locked = [line for line in live.refusals("rate_limited") if "locked out" in line["message"]]
    assert len(locked) == 1
    assert guess not in "\n".join(live.process.log_lines())
    assert "guessed" not in "\n".join(live.process.log_lines())


async def _wait_for_lines(
    live: LiveBridge, reason: str, count: int = 1, seconds: float = 5.0
) -> list[dict[str, Any]]:
    """The process logs through a pipe: give its lines a moment to arrive."""
    deadline = time.monotonic() + seconds
    while len(lines := live.refusals(reason)) < count and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return lines


async def test_a_nonce_is_still_refused_after_the_bridge_restarts(
    live_bridge: LiveBridge, tmp_path: Path
) -> None:
    live = live_bridge
    raw, headers = live.carrier.sign(live.open_path())
    assert (await _send(live, "POST", live.open_path(), raw, headers))[0] == 200
    await live.home.close()
    assert await live.process.stop() == 0
    again = BridgeProcess(live.process.database_url, tmp_path, port=live.process.port)
    await again.start()
    live.process = again  # the fixture stops this one
    status, body = await _send(live, "POST", live.open_path(), raw, headers)
    assert (status, _is_error(body, "replayed_request")) == (401, True)
    assert len(live.home.requests) == 1


BAD_NAMES = [
    ("NUL", "Home\x00"),
    ("a C0 control", "Ho\x1bme"),
    ("a C1 control", "Ho\x85me"),
    ("DEL", "Home\x7f"),
    ("a right-to-left override", "Home\u202egnp.exe"),
    ("a left-to-right mark", "\u200eHome"),
    ("a right-to-left mark", "Home\u200f"),
    ("an isolate", "\u2066Home\u2069"),
    ("a line break", "Home\nfake second line"),
]


@pytest.mark.parametrize(("what", "name"), BAD_NAMES, ids=[what for what, _ in BAD_NAMES])
async def test_a_home_name_with_control_or_direction_characters_is_refused(
    live_bridge: LiveBridge, what: str, name: str
) -> None:
    live = live_bridge
    code = (await live.registry.issue_enrolment_code()).code
    body = json.dumps({"code": code, "name": name, "public_key": new_public_key()}).encode()
    status, answer = await _send(live, "POST", "/api/v1/homes/enrol", body)
    assert (status, _is_error(answer, "invalid_name")) == (400, True), what
    assert await _rows(live, "homes") == 1
    assert await _rows(live, "enrolment_codes WHERE used_at IS NOT NULL") == 1  # fixture's


async def test_a_delivery_reference_with_direction_characters_is_refused(
    live_bridge: LiveBridge,
) -> None:
    live = live_bridge
    path = f"/api/v1/carrier/homes/{live.home.home_id}/deliveries"
    window = {"window_start": "2026-12-01T10:00:00+00:00", "window_end": "2026-12-01T12:00:00Z"}
    for reference in ("PKG\u202e1", "PKG\x001", "PKG\x851"):
        raw, headers = live.carrier.sign(path, {"reference": reference, **window})
        status, answer = await _send(live, "POST", path, raw, headers)
        assert (status, _is_error(answer, "invalid_request")) == (400, True), reference
    # The ends of the calendar, in zones that would overflow once converted.
    edges = {"window_start": "0001-01-01T00:00:00+01:00", "window_end": "9999-12-31T23:59:59-01:00"}
    raw, headers = live.carrier.sign(path, {"reference": "PKG-1", **edges})
    status, answer = await _send(live, "POST", path, raw, headers)
    assert (status, _is_error(answer, "invalid_request")) == (400, True)
    assert await _rows(live, "deliveries") == 0
    assert live.home.requests == []


async def test_unparseable_http_is_refused_with_one_log_line_and_no_traceback(
    live_bridge: LiveBridge,
) -> None:
    live = live_bridge
    for raw in (
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        b"POST /api/v1/homes/enrol HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /api/v1/homes/enrol HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ):
        reader, writer = await open_from(live.process.port)
        writer.write(raw)
        async with asyncio.timeout(10):
            answer = await reader.read()
        writer.close()
        assert answer.split(b" ", 2)[1] == b"400", answer
    lines = await _wait_for_lines(live, "malformed_http", count=3)
    assert len(lines) == 3
    assert all(line["client"] == "127.0.0.1" and line["level"] == "info" for line in lines)
    assert "Traceback" not in "\n".join(live.process.log_lines())
