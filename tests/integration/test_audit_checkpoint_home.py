"""The home's side of audit checkpoints, against a bridge that answers whatever it likes.

The bridge here is a small aiohttp server on loopback that answers the checkpoint GET
as a hostile or broken bridge would (the peer simulated at its protocol boundary); the
home is Keyholder loaded in a real Home Assistant, with its real key and audit log.
A bridge cannot forge a checkpoint: what it answers is refused unless the home's own
key signed it, and nothing it answers stops the home or breaks its chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.keyholder.audit_checkpoints import (
    EVERY_RECORDS,
    INTERVAL,
    AuditCheckpoints,
)
from custom_components.keyholder.core.checkpoint import Checkpoint, SignedCheckpoint

from .bridge_fixtures import until

HOME_ID = "home-0123456789ab"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class FakeBridge:
    """Answers the checkpoints GET with ``status`` and ``body`` (bytes as they are), or
    with pages of ``held`` (as the real bridge pages them) when ``held`` is set."""

    url: str = ""
    status: int = 200
    body: bytes = b'{"checkpoints": []}'
    held: list[SignedCheckpoint] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)


@pytest.fixture
async def fake_bridge(socket_enabled: None) -> AsyncIterator[FakeBridge]:
    fake = FakeBridge()

    async def answer(request: web.Request) -> web.Response:
        fake.asked.append(request.path_qs)
        if fake.held:
            after = int(request.query["after"])
            page = [c for c in fake.held if c.checkpoint.length > after][:100]
            return web.json_response({"checkpoints": [c.to_wire() for c in page]})
        return web.Response(status=fake.status, body=fake.body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v1/homes/{home_id}/audit/checkpoints", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


def _publisher(
    hass: HomeAssistant, entry: MockConfigEntry, url: str
) -> tuple[AuditCheckpoints, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    home = entry.runtime_data.home
    publisher = AuditCheckpoints(
        hass,
        audit=home.audit,
        home_key=home.home_key,
        bridge_url=url,
        home_id=HOME_ID,
        send=lambda kind, body: sent.append({"kind": kind, **body}),
    )
    return publisher, sent


def _answer(*signed: SignedCheckpoint) -> bytes:
    return json.dumps({"checkpoints": [s.to_wire() for s in signed]}).encode()


def _signed(key: Ed25519PrivateKey, home_id: str, length: int, last_hash: str) -> SignedCheckpoint:
    checkpoint = Checkpoint(home_id=home_id, length=length, last_hash=last_hash, at=1800000000)
    return SignedCheckpoint(checkpoint, key.sign(checkpoint.signed_bytes()))


async def _some_records(entry: MockConfigEntry, count: int) -> None:
    for index in range(count):
        await entry.runtime_data.home.audit.async_append("note", {"n": index}, at=NOW)


async def test_a_bridge_without_checkpoints_answering_404_is_one_holding_none(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fake_bridge: FakeBridge
) -> None:
    await _some_records(loaded_entry, 1)
    fake_bridge.status, fake_bridge.body = 404, b""
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)
    assert await publisher.async_fetch() is True
    assert [event["length"] for event in sent] == [1]


async def test_with_no_checkpoint_held_the_home_sends_its_first_one_signed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fake_bridge: FakeBridge
) -> None:
    await _some_records(loaded_entry, 3)
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)
    assert await publisher.async_fetch() is True
    assert fake_bridge.asked == [f"/api/v1/homes/{HOME_ID}/audit/checkpoints?after=0"]
    (event,) = sent
    assert event["kind"] == "audit.checkpoint"
    signed = SignedCheckpoint.from_wire({k: v for k, v in event.items() if k != "kind"})
    audit = loaded_entry.runtime_data.home.audit
    assert (signed.checkpoint.length, signed.checkpoint.last_hash) == (3, audit.tail.hash)  # type: ignore[union-attr]
    home_key = loaded_entry.runtime_data.home.home_key
    home_key.public_key.verify(signed.signature, signed.checkpoint.signed_bytes())


@pytest.mark.parametrize("whose", ["another key", "another home"])
async def test_a_checkpoint_the_home_did_not_sign_is_refused_audited_and_breaks_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fake_bridge: FakeBridge, whose: str
) -> None:
    await _some_records(loaded_entry, 2)
    audit = loaded_entry.runtime_data.home.audit
    if whose == "another key":  # a bridge forging a checkpoint that would break the chain
        forged = _signed(Ed25519PrivateKey.generate(), HOME_ID, 2, "0" * 64)
    else:  # the home's own signature, but over another home's checkpoint
        checkpoint = Checkpoint(home_id="home-other", length=2, last_hash="0" * 64, at=0)
        forged = SignedCheckpoint(
            checkpoint,
            loaded_entry.runtime_data.home.home_key.sign(checkpoint.signed_bytes()),
        )
    fake_bridge.status, fake_bridge.body = 200, _answer(forged)
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)

    assert await publisher.async_fetch() is False
    assert audit.check.intact
    assert audit.checkpoint is None
    refused = audit.records[-1]
    expected = "bad_signature" if whose == "another key" else "malformed"
    assert (refused["kind"], refused["data"]) == ("audit_checkpoint_refused", {"reason": expected})
    assert sent == [], "a home that was answered a forgery sends no checkpoint to that bridge"


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (500, b'{"error": {"code": "x", "message": "y"}}', None),
        (200, b"not json", None),
        (200, b"[" * 40000 + b"]" * 40000, None),  # too large, and too deep
        (200, b"[" * 2048 + b"]" * 2048, None),  # deeper than strict JSON reads
        (200, b'"\\ud800"', None),  # a lone surrogate: not strict UTF-8
        (200, b'{"checkpoints": [{"length": 1}]}', False),
        (200, b'{"checkpoints": 7}', False),
        (200, b'{"checkpoint": {}}', False),
        (302, b"", None),
    ],
    ids=[
        "a server error",
        "not json",
        "too large",
        "deeply nested",
        "a lone surrogate",
        "half a checkpoint",
        "a number",
        "no list",
        "a redirect",
    ],
)
async def test_whatever_the_bridge_answers_the_home_stays_up_and_its_chain_intact(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fake_bridge: FakeBridge,
    status: int,
    body: bytes,
    outcome: bool | None,
) -> None:
    await _some_records(loaded_entry, 2)
    fake_bridge.status, fake_bridge.body = status, body
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)
    assert await publisher.async_fetch() is outcome
    assert loaded_entry.runtime_data.home.audit.check.intact
    assert sent == []


async def test_a_bridge_that_is_down_is_asked_again_later(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, socket_enabled: None
) -> None:
    publisher, sent = _publisher(hass, loaded_entry, "http://127.0.0.1:9")
    assert await publisher.async_fetch() is None
    assert sent == []


async def test_the_homes_own_checkpoint_that_matches_lets_it_send_only_what_is_new(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fake_bridge: FakeBridge
) -> None:
    await _some_records(loaded_entry, 4)
    audit = loaded_entry.runtime_data.home.audit
    key = loaded_entry.runtime_data.home.home_key
    checkpoint = Checkpoint(HOME_ID, 4, audit.records[3]["hash"], 1800000000)
    fake_bridge.status = 200
    fake_bridge.body = _answer(SignedCheckpoint(checkpoint, key.sign(checkpoint.signed_bytes())))
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)
    assert await publisher.async_fetch() is True
    assert audit.checkpoint == checkpoint
    assert sent == [], "the bridge already holds this chain's head"


async def test_checkpoints_follow_every_hundred_records_each_visits_end_and_the_interval(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fake_bridge: FakeBridge
) -> None:
    audit = loaded_entry.runtime_data.home.audit
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)
    stop = publisher.start(hass.async_create_background_task)
    await _some_records(loaded_entry, 1)
    await until(lambda: len(sent) == 1, "the first checkpoint once the bridge answered 404")
    assert sent[-1]["length"] == 1

    await _some_records(loaded_entry, EVERY_RECORDS - 1)
    assert len(sent) == 1, "nothing yet: 99 records since the last checkpoint"
    await _some_records(loaded_entry, 1)
    assert [s["length"] for s in sent] == [1, 1 + EVERY_RECORDS]

    await _some_records(loaded_entry, 2)
    await audit.async_append("door_relocked", {"door_id": "front"}, at=NOW)
    assert sent[-1]["length"] == audit.check.length, "a visit's end is pinned at once"

    await _some_records(loaded_entry, 1)
    count = len(sent)
    async_fire_time_changed(hass, dt_util.utcnow() + INTERVAL + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert len(sent) == count + 1
    assert sent[-1]["length"] == audit.check.length
    async_fire_time_changed(hass, dt_util.utcnow() + 2 * INTERVAL + timedelta(seconds=2))
    await hass.async_block_till_done()
    assert len(sent) == count + 1, "nothing appended since: nothing sent"
    stop()


async def test_every_checkpoint_is_compared_so_a_longer_one_cannot_hide_an_earlier_one(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fake_bridge: FakeBridge
) -> None:
    """Whoever took the home's key can sign a longer checkpoint for a rewritten log;
    the earlier one the home signed still shows the rewrite."""
    await _some_records(loaded_entry, 6)
    audit = loaded_entry.runtime_data.home.audit
    key = loaded_entry.runtime_data.home.home_key
    genuine = Checkpoint(HOME_ID, 3, "ab" * 32, 1800000000)  # record 2 once had another hash
    extension = Checkpoint(HOME_ID, 6, audit.records[5]["hash"], 1800000100)
    fake_bridge.held = [
        SignedCheckpoint(c, key.sign(c.signed_bytes())) for c in (genuine, extension)
    ]
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)

    assert await publisher.async_fetch() is False
    assert (audit.check.intact, audit.check.first_broken_seq) == (False, 2)
    assert audit.records[-1]["kind"] == "audit_chain_broken"
    assert sent == []


async def test_checkpoints_are_read_a_page_at_a_time_and_each_must_be_longer(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fake_bridge: FakeBridge
) -> None:
    await _some_records(loaded_entry, 150)
    audit = loaded_entry.runtime_data.home.audit
    key = loaded_entry.runtime_data.home.home_key
    every = [Checkpoint(HOME_ID, n, audit.records[n - 1]["hash"], n) for n in range(1, 151)]
    fake_bridge.held = [SignedCheckpoint(c, key.sign(c.signed_bytes())) for c in every]
    publisher, sent = _publisher(hass, loaded_entry, fake_bridge.url)
    assert await publisher.async_fetch() is True
    assert fake_bridge.asked == [  # a short page is the last
        f"/api/v1/homes/{HOME_ID}/audit/checkpoints?after={after}" for after in (0, 100)
    ]
    assert audit.checkpoint == every[-1]
    assert audit.check.intact
    assert sent == []

    # The same checkpoint twice, or one shorter after a longer one: not what a bridge keeps.
    again = SignedCheckpoint(every[1], key.sign(every[1].signed_bytes()))
    first = SignedCheckpoint(every[0], key.sign(every[0].signed_bytes()))
    fake_bridge.held = []
    fake_bridge.body = _answer(again, first)
    assert await _publisher(hass, loaded_entry, fake_bridge.url)[0].async_fetch() is False
    refused = audit.records[-1]
    assert (refused["kind"], refused["data"]) == (
        "audit_checkpoint_refused",
        {"reason": "malformed"},
    )
    assert audit.check.intact
