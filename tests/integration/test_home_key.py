"""The home's Ed25519 key: made once, kept, never shown."""

from __future__ import annotations

import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.keyholder.const import DOMAIN


def _stored_private_key(hass_storage: dict[str, Any], entry: MockConfigEntry) -> str:
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}.home_key"]
    return str(stored["data"]["private_key"])


async def test_key_is_generated_at_first_setup_and_signs(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    key = loaded_entry.runtime_data.home.home_key
    assert _stored_private_key(hass_storage, loaded_entry)
    public = Ed25519PublicKey.from_public_bytes(key.public_key_raw)
    public.verify(key.sign(b"receipt"), b"receipt")  # raises if the pair does not match


async def test_key_survives_reload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    before = loaded_entry.runtime_data.home.home_key.public_key_b64
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data.home.home_key.public_key_b64 == before


async def test_unload_then_remove_forgets_the_key(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert f"{DOMAIN}.{loaded_entry.entry_id}.home_key" in hass_storage
    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert f"{DOMAIN}.{loaded_entry.entry_id}.home_key" not in hass_storage


async def test_private_key_is_in_no_log_and_no_diagnostics(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    private = _stored_private_key(hass_storage, config_entry)
    key = config_entry.runtime_data.home.home_key

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)

    assert diagnostics["home_key"] == {"fingerprint": key.fingerprint}
    assert private not in repr(diagnostics)
    # The test harness's in-memory Store logs every write it fakes; Home Assistant's real
    # Store logs no data, so that one harness logger is left out and every other line counts.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name != "pytest_homeassistant_custom_component.common"
    )
    assert private not in logged
    assert private not in repr(key)
