"""The config flow a new user clicks through."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import CONF_HOME_NAME, DOMAIN


async def test_user_flow_creates_one_entry_and_loads_it(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOME_NAME: "  Elm Street 4  "}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Elm Street 4"
    assert result["data"] == {CONF_HOME_NAME: "Elm Street 4"}
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED


async def test_blank_name_is_refused_and_creates_nothing(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOME_NAME: "   "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOME_NAME: "name_required"}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_overlong_name_is_refused(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOME_NAME: "x" * 65}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOME_NAME: "name_too_long"}
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize("name", ["Home\u202eemoH", "Home\x00", "Ho\x1b[2Jme", "Home\u2066x"])
async def test_a_name_with_control_or_direction_characters_is_refused(
    hass: HomeAssistant, name: str
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOME_NAME: name}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOME_NAME: "name_character"}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_second_home_is_refused(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"
