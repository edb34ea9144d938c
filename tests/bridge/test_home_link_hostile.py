"""No frame a home sends breaks the bridge: each bad one gets an ``error``, the link stays up.

The bridge runs as a real aiohttp server on loopback, on SQLite and on PostgreSQL; the
home is a real Ed25519 key signed in over a real websocket (``test_home_link.py``),
which then sends the shared hostile JSON, nesting far past the limit, lone surrogates
in every field and wrong types for every field of every message type. After each, a
request relayed through the bridge is still answered.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from bridge.homes import LINKS_KEY
from bridge.protocol import decode, encode

from ..protocol.hostile_frames import HOSTILE_JSON, vector_code
from .test_home_link import (  # noqa: F401 - bridge is a fixture
    Bridge,
    _connect,
    _enrol,
    _new_home_key,
    bridge,
)

LONE = "\ud800"  # json.dumps writes the escape \ud800: valid UTF-8 on the wire
MESSAGES: dict[str, dict[str, Any]] = {  # one valid message of each type a home could send
    "hello": {"home_id": "home-x", "signature": "A" * 86},
    "response": {"id": "nobody-asked", "status": 200, "body": {"ok": "yes"}},
    "event": {"kind": "delivery.status", "body": {"delivery_id": "d", "status": "locked"}},
    "error": {"code": "malformed", "message": "no"},
}
WRONG_VALUES: list[Any] = [None, True, 7, 1.5, "text", [], {}]


@pytest.fixture
def expected_lingering_timers() -> bool:
    return True  # aiohttp's heartbeat timer, as in test_home_link.py


def _message(message_type: str, **fields: Any) -> str:
    return json.dumps({"v": 1, "type": message_type, **fields})


def _hostile_frames() -> list[tuple[str, str]]:
    """(what, frame) pairs; each one the bridge must refuse with the code it names."""
    frames = [
        (vector_code(case), case["text"])
        for case in HOSTILE_JSON
        if "text" in case and len(case["text"].encode()) <= 64 * 1024
    ]
    frames += [
        ("too_deep", "[" * 30_000 + "]" * 30_000),
        ("too_deep", '{"a":' * 6_000 + "1" + "}" * 6_000),
        (
            "too_deep",
            _message(
                "response", id="r", status=200, body={"deep": json.loads("[" * 40 + "]" * 40)}
            ),
        ),
        ("unsupported_version", json.dumps({"v": True, "type": "event"})),
        ("unsupported_version", json.dumps({"v": 1.0, "type": "event"})),
        ("unknown_type", _message("bogus")),
        ("malformed", '{"v":1,"type":"error","code":"a","code":"b"}'),
        ("malformed", ""),
    ]
    for message_type, fields in MESSAGES.items():
        for name, good in fields.items():
            if name == "message":
                continue
            for wrong in WRONG_VALUES:
                if type(wrong) is not type(good):
                    frames.append(("malformed", _message(message_type, **{**fields, name: wrong})))
            frames.append(
                (
                    "malformed",
                    _message(message_type, **{k: v for k, v in fields.items() if k != name}),
                )
            )
            if isinstance(good, str):
                frames.append(
                    ("invalid_utf8", _message(message_type, **{**fields, name: good + LONE}))
                )
            if isinstance(good, dict):
                for key, item in good.items():
                    frames.append(
                        (
                            "invalid_utf8",
                            _message(
                                message_type, **{**fields, name: {**good, key: f"{item}{LONE}"}}
                            ),
                        )
                    )
                    frames.append(
                        (
                            "invalid_utf8",
                            _message(
                                message_type, **{**fields, name: {**good, f"{key}{LONE}": item}}
                            ),
                        )
                    )
        frames.append(("invalid_utf8", json.dumps({"v": 1, "type": message_type, LONE: 1})))
    return frames


async def test_hostile_frames_from_a_home_are_answered_and_the_link_stays_up(
    bridge: Bridge,  # noqa: F811 - the fixture imported above
) -> None:
    key = _new_home_key()
    links = bridge.server.app[LINKS_KEY]
    async with aiohttp.ClientSession() as http:
        _, body = await _enrol(http, bridge, key)
        home_id = body["home_id"]
        socket = await _connect(http, bridge, home_id, key)
        for code, frame in _hostile_frames():
            await socket.send_str(frame)
            error = decode(await asyncio.wait_for(socket.receive_str(), 10))
            assert (error.type, error.fields["code"]) == ("error", code), frame[:200]
            assert links.is_connected(home_id)
            await _relay_still_works(links, home_id, socket)
        await socket.close()


async def _relay_still_works(links: Any, home_id: str, socket: Any) -> None:
    """A request relayed through the bridge reaches the home, and its answer comes back."""

    async def home_answers() -> None:
        request = decode(await socket.receive_str())
        assert request.type == "request"
        await socket.send_str(encode("response", id=request.fields["id"], status=200, body={}))

    answering = asyncio.create_task(home_answers())
    answer = await links.relay(home_id, "ping", {})
    await answering
    assert answer.status == 200
