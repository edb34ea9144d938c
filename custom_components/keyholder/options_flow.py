"""Options: link the home to a bridge, and approve carriers from the bridge's directory.

Approving a carrier is two steps. First the homeowner picks the carrier from the
directory the linked bridge publishes and may paste the key the carrier handed
them, which must then match the directory's: a bridge cannot slip in a key of its
own. Then the policy: which doors, on which days and hours, whether the camera
must be live, the longest visit, and whether only deliveries the carrier announced
(and the homeowner did not decline) may open (on by default). The approval trusts
the key; the policy becomes a carrier grant, shown on the calendar and revoked like
any other grant.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.core import Context
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import selector
from homeassistant.helpers.http import current_request
from homeassistant.util import dt as dt_util

from . import action_input as parse
from .carriers import Carrier
from .const import CONF_BRIDGE_HOME_ID, CONF_BRIDGE_URL, CONF_ENROLMENT_CODE
from .core.models import MAX_NAME_LENGTH, GrantKind, Schedule, WeeklyWindow
from .core.names import refused_character
from .data import KeyholderConfigEntry
from .doors import DEFAULT_MAX_VISIT, MAX_VISIT_RANGE
from .home import GrantDraft, Home
from .link.directory import DirectoryError, async_list_carriers, decode_public_key
from .link.enrol import EnrolError, async_enrol, check_bridge_url
from .validation import vol

CONF_CARRIER_ID = "carrier_id"
CONF_PUBLIC_KEY = "public_key"
CONF_DOORS = "doors"
CONF_DAYS = "days"
CONF_START = "start"
CONF_END = "end"
CONF_CAMERA_REQUIRED = "camera_required"
CONF_MAX_VISIT = "max_visit"
CONF_ANNOUNCED_ONLY = "announced_only"
DELIVERY_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat"]  # offered first: when parcels come


def shown_name(name: str) -> str:
    """A carrier's name as the form may show it: a refused character as U+FFFD.

    The directory comes from the bridge, so its names are not the homeowner's; one
    holding a direction override could dress itself up as another carrier.
    """
    return "".join("\ufffd" if refused_character(c) else c for c in name)


def caller_context() -> Context:
    """The context of the admin submitting the form (options flows are admin-only)."""
    request = current_request.get()
    user = request.get("hass_user") if request is not None else None
    return Context(user_id=getattr(user, "id", None))


class KeyholderOptionsFlow(OptionsFlow):
    """The bridge link, and (once linked) carrier approvals."""

    def __init__(self) -> None:
        self._directory: list[Carrier] = []
        self._carrier: Carrier | None = None

    @property
    def _entry(self) -> KeyholderConfigEntry:
        entry: KeyholderConfigEntry = self.config_entry
        return entry

    @property
    def _home(self) -> Home:
        return self._entry.runtime_data.home

    def _unless_running(self) -> ConfigFlowResult | None:
        """An abort while the home is not running, None while it is.

        Enrolment signs with the home's key and approvals change the home: both need it
        running, and it is not while it starts, reloads after a door edit, or failed.
        """
        if self._entry.state is ConfigEntryState.LOADED:
            return None
        return self.async_abort(reason="not_loaded")

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if stopped := self._unless_running():
            return stopped
        if not self._entry.options.get(CONF_BRIDGE_URL):
            return await self.async_step_bridge()
        return self.async_show_menu(step_id="init", menu_options=["bridge", "carrier"])

    async def async_step_bridge(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Link to a bridge (enrolling with the admin's one-time code), or unlink.

        An empty URL unlinks. The same URL without a code keeps the enrolment it has; a
        new URL, or a code, enrols afresh. The code is spent at once and stored nowhere.
        """
        if stopped := self._unless_running():
            return stopped
        current = dict(self._entry.options)
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
                    name=self._entry.title,
                    public_key=self._home.home_key.public_key_b64,
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
            step_id="bridge",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    async def async_step_carrier(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a carrier from the bridge's directory; optionally check its key."""
        if stopped := self._unless_running():
            return stopped
        if not self._home.doors:
            return self.async_abort(reason="no_doors")
        if not self._directory:
            try:
                self._directory = await async_list_carriers(
                    self.hass, self._entry.options[CONF_BRIDGE_URL]
                )
            except DirectoryError as err:
                return self.async_abort(reason=err.code)
            if not self._directory:
                return self.async_abort(reason="no_carriers")
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = {c.id: c for c in self._directory}.get(str(user_input.get(CONF_CARRIER_ID)))
            expected = str(user_input.get(CONF_PUBLIC_KEY) or "").strip()
            if chosen is None:
                errors[CONF_CARRIER_ID] = "unknown_carrier"
            elif refused_character(chosen.name) is not None:  # see core.names
                errors[CONF_CARRIER_ID] = "carrier_name_refused"
            elif expected:
                try:
                    if decode_public_key(expected) != chosen.public_key:
                        errors[CONF_PUBLIC_KEY] = "carrier_key_mismatch"
                except DirectoryError as err:
                    errors[CONF_PUBLIC_KEY] = err.code
            if not errors:
                self._carrier = chosen
                return await self.async_step_carrier_policy()
        options = [
            selector.SelectOptionDict(
                value=c.id, label=f"{shown_name(c.name)} (key {c.fingerprint})"
            )
            for c in self._directory
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_CARRIER_ID): selector.SelectSelector(
                    selector.SelectSelectorConfig(options=options)
                ),
                vol.Optional(CONF_PUBLIC_KEY): selector.TextSelector(),
            }
        )
        return self.async_show_form(
            step_id="carrier",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def async_step_carrier_policy(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where and when the carrier may open; saved as the carrier's grant."""
        if stopped := self._unless_running():
            return stopped
        carrier = self._carrier
        if carrier is None:  # only reachable through the carrier step
            return self.async_abort(reason="unknown_carrier")
        errors: dict[str, str] = {}
        if user_input is not None:
            draft = self._policy_draft(carrier, user_input, errors)
            if draft is not None:
                context = caller_context()
                home = self._home
                await home.async_approve_carrier(carrier, context=context)
                await home.async_create_grant(draft, context=context)
                return self.async_abort(
                    reason="carrier_approved",
                    description_placeholders={
                        "name": carrier.name,
                        "fingerprint": carrier.fingerprint,
                    },
                )
        doors = sorted(self._home.doors.values(), key=lambda d: d.name.casefold())
        schema = vol.Schema(
            {
                vol.Required(CONF_DOORS): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[
                            selector.SelectOptionDict(value=d.id, label=d.name) for d in doors
                        ],
                        multiple=True,
                    )
                ),
                vol.Required(CONF_DAYS, default=DELIVERY_DAYS): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(parse.WEEKDAYS), multiple=True, translation_key="weekday"
                    )
                ),
                vol.Required(CONF_START, default="08:00:00"): selector.TimeSelector(),
                vol.Required(CONF_END, default="20:00:00"): selector.TimeSelector(),
                vol.Required(CONF_CAMERA_REQUIRED, default=False): selector.BooleanSelector(),
                vol.Required(CONF_ANNOUNCED_ONLY, default=True): selector.BooleanSelector(),
                vol.Required(CONF_MAX_VISIT, default=DEFAULT_MAX_VISIT): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=MAX_VISIT_RANGE[0],
                        max=MAX_VISIT_RANGE[1],
                        step=1,
                        unit_of_measurement="min",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="carrier_policy",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders={"name": carrier.name},
        )

    def _policy_draft(
        self, carrier: Carrier, user_input: dict[str, Any], errors: dict[str, str]
    ) -> GrantDraft | None:
        """The carrier grant the form describes, or None with ``errors`` filled in."""
        known = self._home.doors
        doors = frozenset(str(d) for d in user_input.get(CONF_DOORS) or [])
        camera_required = bool(user_input.get(CONF_CAMERA_REQUIRED))
        if not doors or not doors <= set(known):
            errors[CONF_DOORS] = "doors_required"
        elif camera_required and any(known[d].camera is None for d in doors):
            errors[CONF_CAMERA_REQUIRED] = "camera_missing"
        days = list(user_input.get(CONF_DAYS) or [])
        end = user_input.get(CONF_END)
        if isinstance(end, str) and end.strip() in ("00:00", "00:00:00"):
            end = "24:00"  # until midnight: 00:00 to 00:00 is the whole day
        window = {"days": days, "start": user_input.get(CONF_START), "end": end}
        weekly: tuple[WeeklyWindow, ...] = ()
        if not days:
            errors[CONF_DAYS] = "days_required"
        else:
            try:
                weekly = parse.weekly_windows({"weekly": [window]}, "weekly")
            except ServiceValidationError as err:
                errors["base"] = (
                    "empty_window" if err.translation_key == "empty_window" else "invalid_window"
                )
        try:
            max_visit = parse.minutes(user_input, CONF_MAX_VISIT)
        except ServiceValidationError:
            errors[CONF_MAX_VISIT] = "max_visit_invalid"
        if errors:
            return None
        return GrantDraft(
            kind=GrantKind.CARRIER,
            name=carrier.name[:MAX_NAME_LENGTH],
            doors=doors,
            schedule=Schedule(valid_from=dt_util.utcnow(), weekly=weekly),
            camera_required=camera_required,
            carrier_id=carrier.id,
            max_visit=max_visit,
            announced_only=bool(user_input.get(CONF_ANNOUNCED_ONLY, True)),
        )
