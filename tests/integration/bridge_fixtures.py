"""A real bridge for Home Assistant tests: its process, its database, and linking a home to it.

The fixtures are made available to the tests here through ``conftest.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bridge.db.engine import create_engine, session_factory
from bridge.db.migrate import upgrade
from bridge.db.repository import Registry
from custom_components.keyholder.const import DOMAIN
from simulators.carrier import Carrier

from ..bridge.process import BridgeProcess


@pytest.fixture
async def bridge_registry(database_url: str) -> AsyncIterator[Registry]:
    await upgrade(database_url)
    engine = create_engine(database_url)
    yield Registry(session_factory(engine))
    await engine.dispose()


@pytest.fixture
async def bridge(
    database_url: str,
    bridge_registry: Registry,
    tmp_path: Path,
) -> AsyncIterator[BridgeProcess]:
    process = BridgeProcess(database_url, tmp_path)
    await process.start()
    yield process
    if process.url:
        await process.stop()


async def registered_carrier(registry: Registry, name: str) -> Carrier:
    """A carrier with a key of its own, registered at the bridge as its operator would."""
    carrier = Carrier()
    carrier.carrier_id = (await registry.add_carrier(name=name, public_key=carrier.public_key)).id
    return carrier


async def until(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not check():  # noqa: ASYNC110 - polls Home Assistant's state machine
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


async def bridge_step(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Open the options at the bridge form (a linked home first shows a menu); the flow id."""
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    if flow["type"] is FlowResultType.MENU:
        flow = await hass.config_entries.options.async_configure(
            flow["flow_id"], {"next_step_id": "bridge"}
        )
    assert (flow["type"], flow["step_id"]) == (FlowResultType.FORM, "bridge")
    return str(flow["flow_id"])


async def link_home(
    hass: HomeAssistant, entry: MockConfigEntry, url: str, code: str
) -> dict[str, Any]:
    result = await hass.config_entries.options.async_configure(
        await bridge_step(hass, entry), {"bridge_url": url, "enrolment_code": code}
    )
    await hass.async_block_till_done()
    return dict(result)


@pytest.fixture
async def linked_house(
    hass: HomeAssistant, house: MockConfigEntry, bridge: BridgeProcess, bridge_registry: Registry
) -> MockConfigEntry:
    """The house, linked to the real bridge through the options flow, its link up."""
    code = (await bridge_registry.issue_enrolment_code()).code
    await link_home(hass, house, bridge.url, code)
    await until(lambda: link_state(hass, house) == "on", "the link")
    return house


def link_state(hass: HomeAssistant, entry: MockConfigEntry) -> str | None:
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{entry.entry_id}_bridge_link"
    )
    state = hass.states.get(entity_id) if entity_id else None
    return state.state if state else None
