"""Config flow: one Keyholder entry per home, and its doors as subentries."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import callback
from homeassistant.helpers import selector

from .const import (
    CONF_BRIDGE_HOME_ID,
    CONF_BRIDGE_URL,
    CONF_ENROLMENT_CODE,
    CONF_HOME_NAME,
    DOMAIN,
    SUBENTRY_TYPE_DOOR,
)
from .data import KeyholderConfigEntry
from .doors import CONF_NAME, door_schema, taken_door_names, validate_door
from .link.enrol import EnrolError, async_enrol, check_bridge_url
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
    def async_get_options_flow(config_entry: ConfigEntry) -> BridgeOptionsFlow:
        return BridgeOptionsFlow()

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


class BridgeOptionsFlow(OptionsFlow):
    """Link the home to a bridge (enrolling it with the admin's one-time code), or unlink it.

    An empty URL unlinks. The same URL without a code keeps the enrolment it has; a
    new URL, or a code, enrols afresh. The code is spent at once and stored nowhere.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        entry: KeyholderConfigEntry = self.config_entry
        current = dict(entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            url = str(user_input.get(CONF_BRIDGE_URL) or "").strip()
            code = str(user_input.get(CONF_ENROLMENT_CODE) or "").strip()
            if not url:
                return self.async_create_entry(data={})
            try:
                base = check_bridge_url(url)
                if base == current.get(CONF_BRIDGE_URL) and not code:
                    return self.async_create_entry(data=current)
                home_id = await async_enrol(
                    self.hass,
                    url=base,
                    code=code,
                    name=entry.title,
                    public_key=entry.runtime_data.home.home_key.public_key_b64,
                )
            except EnrolError as err:
                errors["base"] = err.code
            else:
                return self.async_create_entry(
                    data={CONF_BRIDGE_URL: base, CONF_BRIDGE_HOME_ID: home_id}
                )
        schema = vol.Schema(
            {
                vol.Optional(CONF_BRIDGE_URL): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
                ),
                vol.Optional(CONF_ENROLMENT_CODE): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                ),
            }
        )
        suggested = {CONF_BRIDGE_URL: (user_input or current).get(CONF_BRIDGE_URL, "")}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )
