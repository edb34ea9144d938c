"""The home's link to a real bridge: enrolment in the options, the signed websocket, restarts.

The bridge is the installed ``keyholder-bridge`` running as its own process on
loopback, with its real database (SQLite and PostgreSQL); Home Assistant runs
Keyholder with its real options flow and its real aiohttp client.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge.db.repository import Registry
from custom_components.keyholder.home_key import HomeKey
from custom_components.keyholder.link import wire
from custom_components.keyholder.link.carrier_request import CarrierRequest

from ..bridge.process import BridgeProcess
from .bridge_fixtures import bridge_step, link_home, link_state, until


async def test_the_home_enrols_signs_in_and_is_back_soon_after_a_bridge_restart(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    bridge: BridgeProcess,
    bridge_registry: Registry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    code = (await bridge_registry.issue_enrolment_code()).code
    result = await link_home(hass, loaded_entry, bridge.url, code)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert code.split(".")[1] not in caplog.text  # the code's secret half is logged nowhere
    assert "enrolment_code" not in loaded_entry.options  # spent, and kept nowhere
    (home,) = await bridge_registry.list_homes()
    assert loaded_entry.options["bridge_home_id"] == home.id
    assert home.public_key == loaded_entry.runtime_data.home.home_key.public_key_raw
    await until(lambda: link_state(hass, loaded_entry) == "on", "the link")

    assert await bridge.stop() == 0
    await until(lambda: link_state(hass, loaded_entry) == "off", "the link to drop")
    await bridge.start()  # same port, same database
    started = time.monotonic()
    await until(lambda: link_state(hass, loaded_entry) == "on", "the link to come back")
    assert time.monotonic() - started < 30


async def test_enrolment_refusals_are_shown_in_the_form_and_change_nothing(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    bridge: BridgeProcess,
    bridge_registry: Registry,
) -> None:
    code = (await bridge_registry.issue_enrolment_code()).code
    cases = [
        ({"bridge_url": "http://bridge.example.com", "enrolment_code": code}, "insecure_url"),
        ({"bridge_url": "ftp://127.0.0.1", "enrolment_code": code}, "invalid_url"),
        ({"bridge_url": bridge.url}, "code_required"),
        ({"bridge_url": bridge.url, "enrolment_code": "nope.nope"}, "invalid_code"),
        ({"bridge_url": "http://127.0.0.1:9", "enrolment_code": code}, "cannot_connect"),
    ]
    for data, error in cases:
        result = await hass.config_entries.options.async_configure(
            await bridge_step(hass, loaded_entry), data
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}, data
    assert loaded_entry.options == {}
    assert await bridge_registry.list_homes() == []

    # The code works once; a second home with the same code is told so.
    assert (await link_home(hass, loaded_entry, bridge.url, code))[
        "type"
    ] is FlowResultType.CREATE_ENTRY
    result = await hass.config_entries.options.async_configure(
        await bridge_step(hass, loaded_entry), {"bridge_url": bridge.url, "enrolment_code": code}
    )
    assert result["errors"] == {"base": "code_used"}

    # An empty URL unlinks: the link sensor goes away with the link.
    await until(lambda: link_state(hass, loaded_entry) == "on", "the link")
    result = await hass.config_entries.options.async_configure(
        await bridge_step(hass, loaded_entry), {}
    )
    await hass.async_block_till_done()
    assert loaded_entry.options == {}
    assert loaded_entry.runtime_data.link is None
    assert link_state(hass, loaded_entry) in (None, "unavailable")


def test_the_home_speaks_the_protocol_of_the_shared_vectors() -> None:
    """The integration's own copy of the wire format against the vectors the bridge checks."""
    vectors = json.loads(
        (Path(__file__).resolve().parents[2] / "docs/protocol/vectors.json").read_text()
    )
    for vector in vectors["challenge"]:
        key = HomeKey(
            Ed25519PrivateKey.from_private_bytes(wire.from_b64url(vector["private_key_seed"], 32))
        )
        assert key.public_key_b64 == vector["public_key"]
        nonce = wire.from_b64url(vector["nonce"], 32)
        signed = wire.challenge_bytes(vector["home_id"], nonce)
        assert signed.decode() == vector["signed_bytes_utf8"]
        hello = json.loads(
            wire.encode("hello", home_id=vector["home_id"], signature=wire.b64url(key.sign(signed)))
        )
        assert hello == vector["hello_message"]
        assert wire.decode(json.dumps(vector["challenge_message"])) == (
            "challenge",
            {"nonce": vector["nonce"]},
        )


def test_the_home_checks_carrier_signatures_as_the_shared_vectors_say() -> None:
    vectors = json.loads(
        (Path(__file__).resolve().parents[2] / "docs/protocol/vectors.json").read_text()
    )
    for vector in vectors["carrier_request"]:
        request = CarrierRequest.from_relay(
            {
                "carrier_id": vector["carrier_id"],
                "method": vector["method"],
                "path": vector["path"],
                "body": vector["body_utf8"],
                "timestamp": vector["timestamp"],
                "nonce": vector["nonce"],
                "signature": vector["signature"],
            }
        )
        assert request.signed_bytes().decode() == vector["signed_bytes_utf8"]
        assert request.signed_by(wire.from_b64url(vector["public_key"], 32))
        assert request.door("home-0123456789ab") == "01JDOOR"
        assert request.door("home-someone-else") is None
        assert not request.signed_by(bytes(32))
