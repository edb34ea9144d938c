"""Config flow: one Keyholder entry per home, and its doors as subentries (options: see
``options_flow``)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.core import callback
from homeassistant.helpers import selector

from .const import CONF_HOME_NAME, DOMAIN, SUBENTRY_TYPE_DOOR
from .core.names import refused_character
from .data import KeyholderConfigEntry
from .doors import (
    CONF_FIRST_SLOT,
    CONF_LAST_SLOT,
    CONF_NAME,
    CONF_OPENER,
    door_schema,
    taken_door_names,
    validate_door,
)
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
            elif refused_character(name) is not None:
                errors[CONF_HOME_NAME] = "name_character"
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
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data, errors = validate_door(
                self.hass, user_input, taken_door_names(entry, subentry.subentry_id)
            )
            left_behind = [] if errors else _slots_left_behind(entry, subentry, data)
            if left_behind:
                errors[CONF_FIRST_SLOT] = "keypad_slots_in_use"
                placeholders = {"slots": ", ".join(str(slot) for slot in left_behind)}
            if not errors:
                return self.async_update_and_abort(
                    entry, subentry, title=data[CONF_NAME], data=data
                )
        current = {**subentry.data, CONF_NAME: subentry.title}
        return self._show_door_form("reconfigure", user_input or current, errors, placeholders)

    def _show_door_form(
        self,
        step_id: str,
        values: dict[str, Any],
        errors: dict[str, str],
        placeholders: dict[str, str] | None = None,
    ) -> SubentryFlowResult:
        """Show the door form pre-filled, so a refused submission loses no typing."""
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(door_schema(), values),
            errors=errors,
            description_placeholders=placeholders,
        )


def _slots_left_behind(
    entry: KeyholderConfigEntry, subentry: ConfigSubentry, data: dict[str, Any]
) -> list[int]:
    """Slots in use on the door's lock that the edited door would no longer cover.

    Keyholder only ever syncs the slots in a door's range on the door's lock, so a
    code in a slot taken out of the range, or on a lock swapped for another, would
    stay on that lock for good. Such an edit is refused until the codes are off.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return []  # nothing has been written while the home is not running
    in_use = entry.runtime_data.home.keypad_slots_in_use(subentry.subentry_id)
    keep = range(0)
    if data.get(CONF_OPENER) == subentry.data.get(CONF_OPENER) and CONF_FIRST_SLOT in data:
        keep = range(data[CONF_FIRST_SLOT], data[CONF_LAST_SLOT] + 1)
    return sorted(slot for slot in in_use if slot not in keep)
