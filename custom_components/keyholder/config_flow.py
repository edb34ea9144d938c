"""Config flow: one Keyholder entry per home."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.helpers import selector

from .const import CONF_HOME_NAME, DOMAIN
from .validation import vol

MAX_HOME_NAME = 64


class KeyholderConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the home: a name, and (at setup) its signing key."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input.get(CONF_HOME_NAME, "")).strip()
            if not name:
                errors[CONF_HOME_NAME] = "name_required"
            elif len(name) > MAX_HOME_NAME:
                errors[CONF_HOME_NAME] = "name_too_long"
            else:
                await self.async_set_unique_id(DOMAIN)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=name, data={CONF_HOME_NAME: name})

        default = (user_input or {}).get(CONF_HOME_NAME) or self.hass.config.location_name
        schema = vol.Schema(
            {
                vol.Required(CONF_HOME_NAME, default=default): selector.TextSelector(),
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)
