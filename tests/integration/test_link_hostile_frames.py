"""No frame from the bridge ends the home's link, leaves the sensor wrong, or goes unaudited.

A hostile bridge on loopback speaks the home protocol over a real websocket to a real
Home Assistant with Keyholder loaded: it signs the home in (or breaks the sign-in on
purpose), then sends what each test says. After every bad frame the home has
answered an ``error``, audited the refusal (its code and a count, never its content),
the *Bridge link* sensor is right and a ``ping`` is still answered. Frames aiohttp
itself will not read (invalid UTF-8, over 256 KiB) and a bridge that drops mid-frame
end that connection; the home reconnects by itself and the sensor goes off and on.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
import json
import logging
import secrets
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge import protocol as bridge_protocol
from custom_components.keyholder.const import CONF_HOME_NAME, DOMAIN
from custom_components.keyholder.home import Home
from custom_components.keyholder.link.client import MAX_IN_FLIGHT, BridgeLink
from custom_components.keyholder.link.refusals import RefusalAudit

from ..protocol.hostile_frames import HOSTILE_JSON, vector_code
from .bridge_fixtures import until

HOME_ID = "home-hostile"
LONE = "\ud800"  # json.dumps writes it as the escape \ud800: valid UTF-8 on the wire
MESSAGES: dict[str, dict[str, Any]] = {  # one valid message of each type a bridge could send
    "challenge": {"nonce": "A" * 43},
    "hello": {"home_id": HOME_ID, "signature": "A" * 86},
    "welcome": {"heartbeat": 20},
    "request": {"id": "req-1", "kind": "ping", "body": {"door_id": "front", "reference": "P-7"}},
    "response": {"id": "req-1", "status": 200, "body": {"ok": "yes"}},
    "event": {"kind": "delivery.status", "body": {"status": "locked"}},
    "error": {"code": "malformed", "message": "no"},
}
WRONG_VALUES: list[Any] = [None, True, 7, 1.5, "text", [], {}]

type SignIn = Callable[[web.WebSocketResponse, web.Request], Awaitable[None]]


def _message(message_type: str, **fields: Any) -> str:
    return json.dumps({"v": 1, "type": message_type, **fields})


class HostileBridge:
    """Speaks the home protocol on loopback; signs the home in, then does as it is told.

    ``sign_ins`` holds, per coming connection, a way to break the sign-in instead of
    completing it. ``frames`` gets every message the home sends after its sign-in.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.signed_in = 0
        self.sign_ins: list[SignIn] = []
        self.socket: web.WebSocketResponse | None = None
        self.request: web.Request | None = None
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        app = web.Application()
        app.router.add_get("/api/v1/homes/link", self._link)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=1024 * 1024)
        await socket.prepare(request)
        self.connections += 1
        if self.sign_ins:
            await self.sign_ins.pop(0)(socket, request)
            await socket.close()
            return socket
        await socket.send_str(_message("challenge", nonce=secrets.token_urlsafe(32)))
        if (await socket.receive()).type is not WSMsgType.TEXT:
            return socket  # the home gave up on its sign-in
        # Any hello will do: this bridge does not care who signs in.
        await socket.send_str(_message("welcome", heartbeat=20))
        self.socket, self.request = socket, request
        self.signed_in += 1
        async for frame in socket:
            if frame.type is WSMsgType.TEXT:
                await self.frames.put(json.loads(frame.data))
        return socket

    async def send(self, frame: str | bytes) -> None:
        assert self.socket is not None
        if isinstance(frame, bytes):
            await self.socket.send_bytes(frame)
        else:
            await self.socket.send_str(frame)

    async def next_frame(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), 10)

    async def ping(self, *, also: str | None = None) -> list[dict[str, Any]]:
        """Ask ``ping`` and wait for its 200 (and for the answer to request ``also``);
        every other frame the home sent meanwhile."""
        ident = secrets.token_hex(8)
        await self.send(_message("request", id=ident, kind="ping", body={}))
        waiting, seen = {ident} | ({also} if also else set()), []
        while waiting:
            frame = await self.next_frame()
            if frame.get("type") == "response" and frame.get("id") in waiting:
                waiting.discard(frame["id"])
                if frame["id"] == ident:
                    assert frame["status"] == 200, frame
                    assert frame["body"]["pong"] is True
                    continue
            seen.append(frame)  # the answer to ``also`` among them
        return seen


@pytest.fixture
def expected_lingering_timers() -> bool:
    return True  # aiohttp's websocket heartbeat, as in the bridge's own tests


@pytest.fixture
async def hostile(socket_enabled: None) -> AsyncIterator[HostileBridge]:
    bridge = HostileBridge()
    await bridge.server.start_server()
    yield bridge
    await bridge.server.close()


@pytest.fixture
async def linked(hass: HomeAssistant, hostile: HostileBridge) -> AsyncIterator[MockConfigEntry]:
    """A home whose bridge is the hostile one; unloaded at the end (which flushes counts)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_HOME_NAME: "Home"},
        options={"bridge_url": hostile.url, "bridge_home_id": HOME_ID},
        unique_id=DOMAIN,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


class SensorHistory:
    """The *Bridge link* sensor, found by its unique id, and every state it took."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        entity_id = er.async_get(hass).async_get_entity_id(
            "binary_sensor", DOMAIN, f"{entry.entry_id}_bridge_link"
        )
        assert entity_id is not None
        self.hass, self.entity_id = hass, entity_id
        self.states: list[str] = []

        def changed(event: Event[EventStateChangedData]) -> None:
            if (new := event.data["new_state"]) is not None:
                self.states.append(new.state)

        entry.async_on_unload(async_track_state_change_event(hass, [entity_id], changed))

    @property
    def state(self) -> str | None:
        state = self.hass.states.get(self.entity_id)
        return None if state is None else state.state


def _refusals(home: Home) -> list[Mapping[str, Any]]:
    return [r["data"] for r in home.audit.records if r["kind"] == "link_frame_refused"]


def _refused_codes(entry: MockConfigEntry) -> set[str]:
    return {r["code"] for r in _refusals(entry.runtime_data.home)}


def _hostile_frames() -> list[tuple[str, str | bytes, str | None]]:
    """(what, frame, the error code the home answers; None: no answer)."""
    frames: list[tuple[str, str | bytes, str | None]] = []
    for case in HOSTILE_JSON:
        if "text" not in case:
            continue  # bytes that are not UTF-8 cannot be a text frame: see the drop test
        frames.append((f"hostile-json: {case['name']}", case["text"], vector_code(case)))
    frames += [
        ("nested 100,000 deep (over 64 KiB)", "[" * 100_000 + "]" * 100_000, "too_large"),
        ("nested 30,000 deep, in 60 KB", "[" * 30_000 + "]" * 30_000, "too_deep"),
        ("objects nested 6,000 deep", '{"a":' * 6_000 + "1" + "}" * 6_000, "too_deep"),
        (
            "deep inside a request body",
            _message("request", id="r", kind="ping", body={"a": json.loads("[" * 40 + "]" * 40)}),
            "too_deep",
        ),
        (
            "just over 64 KiB",
            _message("request", id="r", kind="ping", body={"pad": "x" * 65_536}),
            "too_large",
        ),
        ("200 KiB", "x" * 200 * 1024, "too_large"),
        ("a binary frame", b'{"v":1,"type":"request"}', "malformed"),
        ("an empty text frame", "", "malformed"),
        ("an unknown type", _message("bogus"), "unknown_type"),
        ("a type that is not a string", json.dumps({"v": 1, "type": 3}), "unknown_type"),
        ("no version", json.dumps({"type": "request"}), "unsupported_version"),
        ("version 2", json.dumps({"v": 2, "type": "request"}), "unsupported_version"),
        ("version true", json.dumps({"v": True, "type": "request"}), "unsupported_version"),
        ("version 1.0", json.dumps({"v": 1.0, "type": "request"}), "unsupported_version"),
        (
            "a request id with a space",
            _message("request", id="a b", kind="ping", body={}),
            "malformed",
        ),
        ("a response status of 99", _message("response", id="r", status=99, body={}), "malformed"),
        (
            "a key twice",
            '{"v":1,"v":1,"type":"request","id":"r","kind":"ping","body":{}}',
            "malformed",
        ),
        ("a valid error", _message("error", code="malformed", message="x"), None),
        ("an error with a strange code", _message("error", code="x\n" * 50), None),
    ]
    for message_type, fields in MESSAGES.items():
        if message_type not in ("request", "error"):  # valid, but not what a bridge sends now
            frames.append(
                (
                    f"a {message_type} on a live link",
                    _message(message_type, **fields),
                    "unexpected_type",
                )
            )
        for name, good in fields.items():
            for wrong in WRONG_VALUES:
                if type(wrong) is type(good) or name == "message":
                    continue
                frame = _message(message_type, **{**fields, name: wrong})
                frames.append((f"{message_type}.{name} = {wrong!r}", frame, "malformed"))
            frames.append(
                (
                    f"{message_type} without {name}",
                    _message(message_type, **{k: v for k, v in fields.items() if k != name}),
                    None if name == "message" else "malformed",
                )
            )
        for spot, frame in _surrogate_spots(message_type, fields):
            frames.append((f"a lone surrogate in {message_type}.{spot}", frame, "invalid_utf8"))
    return frames


def _surrogate_spots(message_type: str, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The message with a lone surrogate in each of its strings, keys included."""
    spots = [
        ("type", json.dumps({"v": 1, "type": message_type + LONE, **fields})),
        ("a key", json.dumps({"v": 1, "type": message_type, LONE: 1, **fields})),
    ]
    for name, value in fields.items():
        if isinstance(value, str):
            spots.append((name, _message(message_type, **{**fields, name: value + LONE})))
        if isinstance(value, dict):
            for key, item in value.items():
                spots.append(
                    (
                        f"{name}.{key}",
                        _message(message_type, **{**fields, name: {**value, key: f"{item}{LONE}"}}),
                    )
                )
                spots.append(
                    (
                        f"{name} key",
                        _message(message_type, **{**fields, name: {**value, f"{key}{LONE}": item}}),
                    )
                )
    return spots


async def test_every_hostile_frame_is_answered_audited_and_the_link_stays_up(
    hass: HomeAssistant, linked: MockConfigEntry, hostile: HostileBridge
) -> None:
    await until(lambda: hostile.signed_in == 1, "the home to sign in")
    sensor = SensorHistory(hass, linked)
    assert sensor.state == "on"
    sent: Counter[str] = Counter()
    for what, frame, code in _hostile_frames():
        await hostile.send(frame)
        answers = await hostile.ping()
        if code is None:
            assert answers == [], what
        else:
            assert [(a["type"], a["code"]) for a in answers] == [("error", code)], what
            assert code in _refused_codes(linked), what
            sent[code] += 1
        assert (hostile.connections, sensor.state) == (1, "on"), what
    assert sensor.states == []  # it never flickered

    # Each code was written once at once; the rest are counted, not written one by one
    # (a flood cannot flood the audit log), and the counts land when the link stops.
    home = linked.runtime_data.home
    assert Counter(r["code"] for r in _refusals(home)) == dict.fromkeys(sent, 1)
    assert await hass.config_entries.async_unload(linked.entry_id)
    counted: Counter[str] = Counter()
    for record in _refusals(home):
        assert set(record) == {"code", "count"}  # the code and a count: nothing of the frame
        counted[record["code"]] += record["count"]
    assert counted == sent


_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_BODY_KEYS = (
    "token", "door_id", "nonce", "expires_at", "carrier_id", "method", "path", "body",
    "timestamp", "signature", "delivery_id", "reference", "challenge", "public_key", "iv",
    "ciphertext",
)  # fmt: skip
_FIELDS = ("id", "kind", "body", "status", "nonce", "code", "heartbeat", "home_id", "signature")
_FRAMES = st.one_of(
    st.fixed_dictionaries(
        {
            "v": st.sampled_from([1, 1, 1, 0, 2, True, "1", None]),
            "type": st.sampled_from([*MESSAGES, "bogus", ""]),
        },
        optional={
            "id": st.sampled_from(["r-1", "r 1", "", "x" * 65]) | _ANY_JSON,
            "kind": st.sampled_from(["ping", "guest_link.open", "carrier.open", "unknown"])
            | _ANY_JSON,
            "body": st.dictionaries(st.text(max_size=8), _ANY_JSON, max_size=4) | _ANY_JSON,
            "status": st.integers(min_value=0, max_value=700) | _ANY_JSON,
            **dict.fromkeys(_FIELDS[4:], _ANY_JSON),
        },
    ).map(json.dumps),
    _ANY_JSON.map(json.dumps),
    st.text(max_size=40),
    # Well-formed requests of every kind, with bodies of any shape: never a 5xx.
    st.builds(
        lambda ident, kind, body: _message("request", id=ident, kind=kind, body=body),
        st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        st.sampled_from(
            [
                "ping",
                "guest.challenge",
                "guest.request",
                "carrier.open",
                "delivery.announce",
                "guest_link.open",
                "unknown",
            ]
        ),
        st.dictionaries(st.sampled_from(_BODY_KEYS), _ANY_JSON | st.text(max_size=30), max_size=8),
    ),
)


async def test_a_generated_stream_of_frames_never_ends_the_link_and_both_sides_agree(
    hass: HomeAssistant, linked: MockConfigEntry, hostile: HostileBridge
) -> None:
    """Whatever the frame, the home answers as the bridge's own decoder says it should."""
    await until(lambda: hostile.signed_in == 1, "the home to sign in")
    sensor = SensorHistory(hass, linked)

    checked = [0]

    async def check(frame: str) -> None:
        checked[0] += 1
        try:
            message = bridge_protocol.decode(frame)
        except bridge_protocol.ProtocolError as err:
            expected: str | None = err.code
        else:
            expected = {"request": None, "error": None}.get(message.type, "unexpected_type")
        request_id = None
        if expected is None and message.type == "request":
            request_id = str(message.fields["id"])
        await hostile.send(frame)
        answers = await hostile.ping(also=request_id)
        if request_id is not None:
            ((answer,),) = (answers,)
            assert (answer["type"], answer["id"]) == ("response", request_id), frame
            assert answer["status"] < 500, (frame, answer)  # bad input is never a fault
        elif expected is None:
            assert answers == [], frame
        else:
            assert [(a["type"], a["code"]) for a in answers] == [("error", expected)], frame
            assert expected in _refused_codes(linked)
        assert (hostile.connections, sensor.state) == (1, "on")

    @settings(
        max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(frame=_FRAMES)
    def run(frame: str) -> None:
        asyncio.run_coroutine_threadsafe(check(frame), hass.loop).result(20)

    await hass.async_add_executor_job(run)
    assert checked[0] >= 100
    assert sensor.states == []


async def _binary_challenge(socket: web.WebSocketResponse, request: web.Request) -> None:
    await socket.send_bytes(b"\x00challenge")  # the old client raised TypeError here


async def _bad_nonce(socket: web.WebSocketResponse, request: web.Request) -> None:
    await socket.send_str(_message("challenge", nonce="not base64url!"))


async def _deep_welcome(socket: web.WebSocketResponse, request: web.Request) -> None:
    await socket.send_str(_message("challenge", nonce=secrets.token_urlsafe(32)))
    await socket.receive()
    await socket.send_str("[" * 20_000 + "]" * 20_000)  # the old client: RecursionError


async def _welcome_first(socket: web.WebSocketResponse, request: web.Request) -> None:
    await socket.send_str(_message("welcome", heartbeat=20))


async def _request_for_welcome(socket: web.WebSocketResponse, request: web.Request) -> None:
    await socket.send_str(_message("challenge", nonce=secrets.token_urlsafe(32)))
    await socket.receive()
    await socket.send_str(_message("request", id="r", kind="ping", body={}))


async def _close_at_once(socket: web.WebSocketResponse, request: web.Request) -> None:
    return None  # closed before the challenge


async def test_a_bridge_that_breaks_the_sign_in_or_drops_mid_frame_is_retried(
    hass: HomeAssistant,
    linked: MockConfigEntry,
    hostile: HostileBridge,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each fault ends one connection, never the link: the sensor goes off, then on."""
    caplog.set_level(logging.INFO, logger="custom_components.keyholder.link")
    await until(lambda: hostile.signed_in == 1, "the home to sign in")
    sensor = SensorHistory(hass, linked)

    # Three broken sign-ins in a row: refused and audited, the link warns once, then back.
    hostile.sign_ins = [_binary_challenge, _bad_nonce, _deep_welcome]
    assert hostile.request is not None
    assert hostile.request.transport is not None
    hostile.request.transport.close()  # the bridge drops without a close frame
    await until(lambda: hostile.signed_in == 2, "the home to sign in again", seconds=30)
    await until(lambda: sensor.state == "on", "the sensor to be on again")
    assert sensor.states == ["off", "on"]
    assert {"malformed", "too_deep"} <= _refused_codes(linked)
    ours = [r for r in caplog.records if r.name.startswith("custom_components.keyholder")]
    warnings = [r for r in ours if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "The bridge link is down (WireError); Keyholder keeps reconnecting"
    ]
    assert any(r.getMessage() == "The bridge link is back" for r in caplog.records)
    await hostile.ping()

    # More broken sign-ins, one at a time, each after a good connection.
    for script, code in [
        (_welcome_first, "unexpected_type"),
        (_request_for_welcome, "unexpected_type"),
        (_close_at_once, None),
    ]:
        before = hostile.signed_in
        hostile.sign_ins = [script]
        assert hostile.request is not None
        assert hostile.request.transport is not None
        hostile.request.transport.close()
        await until(lambda b=before: hostile.signed_in == b + 1, "the home to come back")
        await until(lambda: sensor.state == "on", "the sensor to be on again")
        assert code is None or code in _refused_codes(linked)
        await hostile.ping()

    # Frames aiohttp itself will not read end the connection; the home comes back.
    for first, frame, code in [
        (0x81, b"\xff\xfe not UTF-8", "invalid_utf8"),
        (0x81, b"x" * 300_000, "too_large"),
        (0x83, b"x", "malformed"),  # a reserved opcode
    ]:
        before = hostile.signed_in
        assert hostile.request is not None
        assert hostile.request.transport is not None
        # A text frame with these bytes, as a broken or hostile bridge would write it.
        hostile.request.transport.write(_frame_header(len(frame), first) + frame)
        await until(lambda b=before: hostile.signed_in == b + 1, "the home to come back")
        await until(lambda: sensor.state == "on", "the sensor to be on again")
        assert code in _refused_codes(linked)
        await hostile.ping()

    # Half a frame, then the connection is gone.
    before = hostile.signed_in
    assert hostile.request is not None
    assert hostile.request.transport is not None
    hostile.request.transport.write(_frame_header(1000) + b'{"v":1,')
    hostile.request.transport.close()
    await until(lambda: hostile.signed_in == before + 1, "the home to come back")
    await until(lambda: sensor.state == "on", "the sensor to be on again")
    await hostile.ping()
    assert sensor.states == ["off", "on"] * 8
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("custom_components.keyholder")
    ]

    # And the entry reloads after all of it, and links up again.
    assert await hass.config_entries.async_reload(linked.entry_id)
    await hass.async_block_till_done()
    assert linked.state is ConfigEntryState.LOADED
    await until(lambda: hostile.signed_in == before + 2, "the reloaded home to sign in")
    await hostile.ping()


def _frame_header(length: int, first: int = 0x81) -> bytes:
    """An unmasked frame's header (a server's frames are not masked): final, text."""
    if length < 126:
        return bytes([first, length])
    if length < 65_536:
        return bytes([first, 126]) + length.to_bytes(2, "big")
    return bytes([first, 127]) + length.to_bytes(8, "big")


async def test_an_unexpected_fault_is_logged_without_its_message_audited_and_survived(
    hass: HomeAssistant, hostile: HostileBridge, caplog: pytest.LogCaptureFixture
) -> None:
    """Faults of kinds the link does not expect, from its own collaborators: the signing
    key (during sign-in) and the request handler. Neither ends the link, and no log line
    repeats what the exception said (it might have quoted a secret)."""
    audited: list[tuple[str, Mapping[str, str | int]]] = []
    signs, changes = [0], [0]
    # What each fault says; a traceback shows the raising line, so not written there.
    said = {"sign": "secret-signing-key-0123", "pin": "PIN 987654", "listener": "k-4711"}

    def sign(data: bytes) -> bytes:
        signs[0] += 1
        if signs[0] == 1:
            raise RuntimeError(said["sign"])
        return bytes(64)

    release = asyncio.Event()

    async def handle(kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if kind == "slow":
            await release.wait()
        if kind == "explode":
            raise KeyError(said["pin"])
        if kind == "unencodable":
            return 200, {"when": object()}
        return 200, {"pong": True}

    async def audit(kind: str, data: Mapping[str, str | int]) -> None:
        audited.append((kind, data))

    def on_change() -> None:
        changes[0] += 1
        raise ValueError(said["listener"])

    link = BridgeLink(
        hass,
        url=hostile.url,
        home_id=HOME_ID,
        sign=sign,
        handle=handle,
        on_change=on_change,
        audit=audit,
    )
    link.start(hass.async_create_background_task)
    try:
        await until(lambda: link.connected, "the link to come up after the fault")
        assert ("link_frame_refused", {"code": "link_failed", "count": 1}) in audited
        for kind in ("explode", "unencodable"):
            await hostile.send(_message("request", id=f"r-{kind}", kind=kind, body={}))
            answer = await hostile.next_frame()
            assert (answer["id"], answer["status"]) == (f"r-{kind}", 500)
            assert answer["body"]["error"]["code"] == "home_error"
        await hostile.ping()
        assert ("link_frame_refused", {"code": "home_error", "count": 1}) in audited

        # A bridge that asks more than the home handles at once hears "busy", not silence.
        for n in range(MAX_IN_FLIGHT + 1):
            await hostile.send(_message("request", id=f"slow-{n}", kind="slow", body={}))
        busy = await hostile.next_frame()
        assert (busy["id"], busy["status"]) == (f"slow-{MAX_IN_FLIGHT}", 503)
        assert busy["body"]["error"]["code"] == "home_busy"
        release.set()
        answered = {(await hostile.next_frame())["id"] for _ in range(MAX_IN_FLIGHT)}
        assert answered == {f"slow-{n}" for n in range(MAX_IN_FLIGHT)}
        await hostile.ping()
        assert link.connected
        assert hostile.connections == 2
    finally:
        await link.stop()
    assert not link.connected
    assert ("link_frame_refused", {"code": "home_error", "count": 1}) in audited[-1:]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged
    assert "KeyError" in logged
    for secret in said.values():
        assert secret not in logged
        assert secret not in caplog.text
    assert changes[0] >= 2  # the failing listener was called, and did not stop the link


async def test_a_flood_of_refusals_writes_one_record_per_code_per_window_and_loses_none() -> None:
    written: list[tuple[str, Mapping[str, str | int]]] = []
    tasks: set[asyncio.Task[None]] = set()

    async def audit(kind: str, data: Mapping[str, str | int]) -> None:
        written.append((kind, data))
        if data["code"] == "fails":
            raise OSError("the disk is full")

    def spawn(job: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(job)
        tasks.add(task)
        return task

    refusals = RefusalAudit(audit, spawn, window=0.2)
    for _ in range(50):
        await refusals.refused("malformed")
    await refusals.refused("too_deep")
    assert [d for _, d in written] == [
        {"code": "malformed", "count": 1},
        {"code": "too_deep", "count": 1},
    ]
    await asyncio.sleep(0.3)  # the window ends: what it counted is written, once
    assert written[2:] == [("link_frame_refused", {"code": "malformed", "count": 49})]
    await refusals.refused("malformed")  # within the new window: counted, not written
    await refusals.refused("fails")  # an audit that fails does not raise here
    assert len(written) == 4
    await refusals.flush()  # the link stops: nothing counted is lost
    assert written[4:] == [("link_frame_refused", {"code": "malformed", "count": 1})]
    await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(int(d["count"]) for _, d in written if d["code"] == "malformed") == 51


async def test_stop_works_whatever_became_of_the_link_task(
    hass: HomeAssistant, hostile: HostileBridge
) -> None:
    """A task that ended with a fault (as the old link's did) must not make unload fail."""

    async def handle(kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {}

    async def audit(kind: str, data: Mapping[str, str | int]) -> None:
        return None

    async def died(job: Any) -> None:
        job.close()
        raise RecursionError

    link = BridgeLink(
        hass,
        url=hostile.url,
        home_id=HOME_ID,
        sign=lambda _: bytes(64),
        handle=handle,
        on_change=lambda: None,
        audit=audit,
    )
    link.start(lambda job, name: hass.async_create_background_task(died(job), name))
    await asyncio.sleep(0)
    await link.stop()
    assert not link.connected
