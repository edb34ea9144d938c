"""Keyholder's actions, registered once in ``async_setup``.

Every action is for admins (as Home Assistant's own admin services are); the
calls automations make carry no user and are allowed. A keypad grant's PIN and a
grant's token appear only in the response to an admin user, and nowhere else.

The caller's mistakes raise ``action_input.InvalidInputError`` (a translated
``ServiceValidationError`` that is also a ``vol.Invalid``, so the REST API answers
400 rather than 500); failures that are not the caller's (a bridge that cannot be
reached, a lock that did not open) raise ``HomeAssistantError``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.util import dt as dt_util

from . import action_input as parse
from .const import CONF_BRIDGE_URL, DOMAIN
from .core.decision import Reason
from .core.models import Grant, GrantKind
from .core.names import code_point, refused_character
from .core.schedule import occurrences
from .core.status import grant_status
from .data import KeyholderConfigEntry
from .home import GrantDraft, Home
from .link.directory import DirectoryError, async_lookup_carrier, decode_public_key
from .link.guest_url import guest_link_url
from .validation import vol

ATTR_ENTRY = "config_entry_id"
UPCOMING = timedelta(days=8)  # a week of windows, whatever the day
_ANY = vol.Schema({vol.Optional(ATTR_ENTRY): str}, extra=vol.ALLOW_EXTRA)

CREATE_FIELDS = {
    ATTR_ENTRY, "kind", "name", "doors", "starts", "ends", "weekly", "uses",
    "camera_required", "carrier", "max_visit", "announced_only",
}  # fmt: skip
UPDATE_FIELDS = {
    ATTR_ENTRY, "grant_id", "name", "doors", "starts", "ends", "weekly", "uses",
    "camera_required", "max_visit", "announced_only",
}  # fmt: skip


async def _admin_only(hass: HomeAssistant, call: ServiceCall) -> bool:
    """Refuse non-admin users; say whether the caller is an admin user (for secrets)."""
    if call.context.user_id is None:
        return False
    user = await hass.auth.async_get_user(call.context.user_id)
    if user is None:
        raise Unauthorized(context=call.context)
    if not user.is_admin:
        raise Unauthorized(context=call.context, permission="admin")
    return True


def _home(hass: HomeAssistant, call: ServiceCall) -> Home:
    entry_id = call.data.get(ATTR_ENTRY)
    entries: list[KeyholderConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if entry_id is not None:
        entries = [e for e in entries if e.entry_id == entry_id]
    if len(entries) != 1 or entries[0].state is not ConfigEntryState.LOADED:
        raise parse.invalid("not_loaded")
    return entries[0].runtime_data.home


def _unknown_fields(call: ServiceCall, allowed: set[str]) -> None:
    if extra := set(call.data) - allowed:
        raise parse.invalid("unknown_field", field=sorted(extra)[0])


def _whole_minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def grant_summary(home: Home, grant: Grant, now: datetime) -> dict[str, Any]:
    """What a listing may show of a grant: never its PIN or token."""
    doors = home.doors
    upcoming = occurrences(grant.schedule, home.tz, now, now + UPCOMING)
    return {
        "grant_id": grant.id,
        "kind": grant.kind.value,
        "name": grant.name,
        "doors": sorted(doors[d].name if d in doors else d for d in grant.doors),
        "status": grant_status(grant, now).value,
        "starts": grant.schedule.valid_from.isoformat(),
        "ends": grant.schedule.valid_until.isoformat() if grant.schedule.valid_until else None,
        "weekly": [
            {
                "days": [parse.WEEKDAYS[w.weekday]],
                "start": f"{w.start_minute // 60:02d}:{w.start_minute % 60:02d}",
                "end": f"{w.end_minute // 60:02d}:{w.end_minute % 60:02d}",
            }
            for w in grant.schedule.weekly
        ],
        "uses": grant.uses,
        "use_limit": grant.use_limit,
        "camera_required": grant.camera_required,
        "max_visit": _whole_minutes(grant.max_visit),
        "next_window": upcoming[0][0].isoformat() if upcoming else None,
    } | ({"announced_only": grant.announced_only} if grant.kind is GrantKind.CARRIER else {})


async def _create_grant(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    is_admin = await _admin_only(hass, call)
    _unknown_fields(call, CREATE_FIELDS)
    home = _home(hass, call)
    now = dt_util.utcnow()
    data = call.data
    kind_raw = data.get("kind")
    if kind_raw not in {k.value for k in GrantKind}:
        raise parse.invalid("invalid_kind", field="kind")
    kind = GrantKind(kind_raw)
    carrier = parse.optional_text(data, "carrier", max_length=64)
    if (kind is GrantKind.CARRIER) != (carrier is not None):
        raise parse.invalid("carrier_mismatch")
    if "announced_only" in data and kind is not GrantKind.CARRIER:
        raise parse.invalid("announced_only_not_carrier")
    draft = GrantDraft(
        kind=kind,
        name=parse.text(data, "name"),
        doors=home.resolve_doors(parse.string_list(data, "doors")),
        schedule=parse.schedule(
            parse.moment(data, "starts", home.tz),
            parse.moment(data, "ends", home.tz),
            parse.weekly_windows(data, "weekly"),
            now,
        ),
        use_limit=parse.positive_int(data, "uses"),
        camera_required=parse.boolean(data, "camera_required"),
        carrier_id=carrier,
        max_visit=parse.minutes(data, "max_visit"),
        # Deny by default: a carrier opens only for an announced, accepted delivery unless
        # the homeowner says otherwise.
        announced_only=parse.boolean(data, "announced_only", default=True),
    )
    issued = await home.async_create_grant(draft, context=call.context)
    response: dict[str, Any] = {"grant_id": issued.grant.id}
    if is_admin:
        response["token"] = issued.token
        if issued.pin is not None:
            response["pin"] = issued.pin
        if kind is GrantKind.LINK and (
            url := guest_link_url(home.entry, home.guest_keys, issued.grant.id)
        ):
            response["link_url"] = url
    return response


async def _update_grant(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await _admin_only(hass, call)
    _unknown_fields(call, UPDATE_FIELDS)
    home = _home(hass, call)
    data = call.data
    grant = home.get_grant(parse.text(data, "grant_id", max_length=64))
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = parse.text(data, "name")
    if "doors" in data:
        changes["doors"] = home.resolve_doors(parse.string_list(data, "doors"))
    if {"starts", "ends", "weekly"} & set(data):
        old = grant.schedule
        starts = parse.moment(data, "starts", home.tz) if "starts" in data else old.valid_from
        ends = parse.moment(data, "ends", home.tz) if "ends" in data else old.valid_until
        weekly = parse.weekly_windows(data, "weekly") if "weekly" in data else old.weekly
        changes["schedule"] = parse.schedule(starts, ends, weekly, starts or dt_util.utcnow())
    if "uses" in data:
        changes["use_limit"] = parse.positive_int(data, "uses")
    if "camera_required" in data:
        changes["camera_required"] = parse.boolean(data, "camera_required")
    if "max_visit" in data:  # null: back to the door's longest visit
        changes["max_visit"] = parse.minutes(data, "max_visit")
    if "announced_only" in data:
        if grant.kind is not GrantKind.CARRIER:
            raise parse.invalid("announced_only_not_carrier")
        changes["announced_only"] = parse.boolean(data, "announced_only")
    if not changes:
        raise parse.invalid("nothing_to_update")
    updated = await home.async_update_grant(grant.id, changes, context=call.context)
    return grant_summary(home, updated, dt_util.utcnow())


async def _revoke_grant(hass: HomeAssistant, call: ServiceCall) -> None:
    await _admin_only(hass, call)
    _unknown_fields(call, {ATTR_ENTRY, "grant_id"})
    home = _home(hass, call)
    await home.async_revoke_grant(
        parse.text(call.data, "grant_id", max_length=64), context=call.context
    )


async def _list_grants(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await _admin_only(hass, call)
    _unknown_fields(call, {ATTR_ENTRY, "include_ended"})
    home = _home(hass, call)
    include_ended = parse.boolean(call.data, "include_ended")
    now = dt_util.utcnow()
    grants = home.grants.values() if include_ended else home.live_grants(now)
    return {
        "grants": [grant_summary(home, g, now) for g in sorted(grants, key=lambda g: g.created_at)]
    }


async def _open_door(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Open a door for a grant, as the admin (or automation) calling this.

    It takes the grant's id, not its token: action data is broadcast on the event bus
    and stored by the recorder, and a token is a secret. Signed requests from guests
    and carriers reach ``Home.async_open_door`` through the bridge link instead.
    """
    await _admin_only(hass, call)
    _unknown_fields(call, {ATTR_ENTRY, "grant_id", "door"})
    home = _home(hass, call)
    grant_id = parse.text(call.data, "grant_id", max_length=64)
    (door_id,) = home.resolve_doors([parse.text(call.data, "door", max_length=parse.MAX_TEXT)])
    decision = await home.async_open_door_as_admin(
        grant_id=grant_id, door_id=door_id, context=call.context
    )
    if decision.reason is Reason.DOOR_UNAVAILABLE:  # the lock failed: not the caller's doing
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="access_refused",
            translation_placeholders={"reason": decision.reason.value},
        )
    if not decision.allowed:
        raise parse.invalid("access_refused", reason=decision.reason.value)
    return {"allowed": True, "reason": decision.reason.value}


async def _approve_carrier(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Approve a carrier from the linked bridge's directory; its requests are checked with this key.

    ``public_key``, when given (the key the carrier handed the homeowner), must match
    the directory's: a bridge cannot then slip in a key of its own.
    """
    await _admin_only(hass, call)
    _unknown_fields(call, {ATTR_ENTRY, "carrier_id", "public_key"})
    home = _home(hass, call)
    carrier_id = parse.text(call.data, "carrier_id", max_length=32)
    expected = parse.optional_text(call.data, "public_key", max_length=64)
    bridge_url = home.entry.options.get(CONF_BRIDGE_URL)
    if not bridge_url:
        raise parse.invalid("not_linked")
    try:
        wanted = decode_public_key(expected) if expected is not None else None
        carrier = await async_lookup_carrier(hass, bridge_url, carrier_id)
    except DirectoryError as err:
        if err.code == "bridge_unreachable":  # not the caller's mistake
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key=err.code) from err
        raise parse.invalid(err.code) from err
    if wanted is not None and wanted != carrier.public_key:
        raise parse.invalid("carrier_key_mismatch")
    if (char := refused_character(carrier.name)) is not None:  # the bridge's, not ours
        raise parse.invalid("carrier_name_refused", character=code_point(char))
    await home.async_approve_carrier(carrier, context=call.context)
    return {"carrier_id": carrier_id, "name": carrier.name, "key_fingerprint": carrier.fingerprint}


async def _decline_delivery(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    """Decline an announced delivery before the carrier opens the door; the carrier is told."""
    await _admin_only(hass, call)
    _unknown_fields(call, {ATTR_ENTRY, "delivery_id"})
    home = _home(hass, call)
    delivery_id = parse.text(call.data, "delivery_id", max_length=64)
    if not await home.async_decline_delivery(delivery_id, context=call.context):
        raise parse.invalid("unknown_delivery")
    return None


async def _verify_audit(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    await _admin_only(hass, call)
    _unknown_fields(call, {ATTR_ENTRY})
    check = _home(hass, call).audit.check
    return {
        "intact": check.intact,
        "records": check.length,
        "first_broken_record": check.first_broken_seq,
    }


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once, for all entries."""

    def _register(name: str, handler: Any, response: SupportsResponse) -> None:
        async def _handle(call: ServiceCall) -> ServiceResponse:
            result: ServiceResponse = await handler(hass, call)
            return result

        hass.services.async_register(DOMAIN, name, _handle, schema=_ANY, supports_response=response)

    _register("create_grant", _create_grant, SupportsResponse.OPTIONAL)
    _register("update_grant", _update_grant, SupportsResponse.OPTIONAL)
    _register("revoke_grant", _revoke_grant, SupportsResponse.NONE)
    _register("list_grants", _list_grants, SupportsResponse.ONLY)
    _register("open_door", _open_door, SupportsResponse.OPTIONAL)
    _register("verify_audit", _verify_audit, SupportsResponse.ONLY)
    _register("approve_carrier", _approve_carrier, SupportsResponse.OPTIONAL)
    _register("decline_delivery", _decline_delivery, SupportsResponse.NONE)
