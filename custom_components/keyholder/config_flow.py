"""Config flow: one Keyholder entry per home, and its doors as subentries (options: see
``options_flow``)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.core import callback
from homeassistant.helpers import selector

from .const import CONF_HOME_NAME, DOMAIN, SUBENTRY_TYPE_DOOR
from .doors import CONF_NAME, door_schema, taken_door_names, validate_door
from .options_flow import KeyholderOptionsFlow
from .validation import vol

MAX_HOME_NAME = 64


class KeyholderConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the home: a name, and (at setup) its signing key."""

    VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Doors are added, edited and removed in the UI, each as its own subentry."""
        return {SUBENTRY_TYPE_DOOR: DoorSubentryFlow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> KeyholderOptionsFlow:
        return KeyholderOptionsFlow()

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


class DoorSubentryFlow(ConfigSubentryFlow):
    """Add or edit one door; nothing is stored until the whole form is valid."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = validate_door(self.hass, user_input, taken_door_names(self._get_entry()))
            if not errors:
                return self.async_create_entry(title=data[CONF_NAME], data=data)
        return self._show_door_form("user", user_input or {}, errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = validate_door(
                self.hass, user_input, taken_door_names(entry, subentry.subentry_id)
            )
            if not errors:
                return self.async_update_and_abort(
                    entry, subentry, title=data[CONF_NAME], data=data
                )
        current = {**subentry.data, CONF_NAME: subentry.title}
        return self._show_door_form("reconfigure", user_input or current, errors)

    def _show_door_form(
        self, step_id: str, values: dict[str, Any], errors: dict[str, str]
    ) -> SubentryFlowResult:
        """Show the door form pre-filled, so a refused submission loses no typing."""
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(door_schema(), values),
            errors=errors,
        )
