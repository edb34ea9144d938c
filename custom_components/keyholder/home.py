"""The home: the one stateful object that ties doors, grants, decisions and visits together.

Everything that changes a grant or opens a door goes through here, so that each
change is saved, audited and announced in one place. The decision itself is
``core.decision.decide``; this object only gathers its inputs and acts on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import hashlib
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_HOME, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .action_input import invalid
from .audit_log import AuditLog, AuditValue
from .camera_health import CameraWatch
from .carriers import ApprovedCarriers, Carrier
from .const import DOMAIN, EVENT_KEYHOLDER, LOGGER
from .core.decision import Decision, Reason, decide, request_refusal
from .core.models import (
    AccessRequest,
    AnnouncedDelivery,
    CameraHealth,
    Channel,
    Door,
    DoorState,
    Grant,
    GrantKind,
    Policy,
    Schedule,
)
from .core.pins import generate_pin
from .core.schedule import is_open
from .core.status import is_live
from .core.tokens import TokenError, sign_grant_token, verify_grant_token
from .deliveries import (
    Delivery,
    DeliveryDesk,
    announcement_refusal,
    delivery_from_stored,
    delivery_to_stored,
)
from .doors import entry_doors
from .guest_keys import GuestKeys, async_load_guest_keys
from .home_key import HomeKey
from .keypad import DoorCodes
from .keypad_doors import KeypadDoors
from .link.guest_requests import SpentChallenges
from .pin_vault import PinVault
from .store import KeyholderStorage, Registry
from .visit import DoorEvent, Visit, VisitWatcher

PIN_LENGTH = 6
MAX_NONCE_LENGTH = 128
MIN_NONCE_LENGTH = 16


def signal_updated(entry_id: str) -> str:
    """Grants, the switch or a visit changed: entities re-read the home."""
    return f"{DOMAIN}_{entry_id}_updated"


def signal_door_event(entry_id: str, door_id: str) -> str:
    """Something happened at one door: its event entity fires."""
    return f"{DOMAIN}_{entry_id}_{door_id}_event"


@dataclass(frozen=True, slots=True)
class GrantDraft:
    """A grant as the homeowner asks for it, before it has an id or a signature."""

    kind: GrantKind
    name: str
    doors: frozenset[str]
    schedule: Schedule
    use_limit: int | None = None
    camera_required: bool = False
    carrier_id: str | None = None
    max_visit: timedelta | None = None
    announced_only: bool = False  # carrier grants: open only for an accepted delivery


@dataclass(frozen=True, slots=True)
class IssuedGrant:
    """A created grant with what its holder needs: the signed token, and a keypad PIN."""

    grant: Grant
    token: str
    pin: str | None


class Home:
    """One home's doors, grants, audit log and visits."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        home_key: HomeKey,
        storage: KeyholderStorage,
        pins: PinVault,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.home_key = home_key
        self.policy = Policy()
        self.audit = AuditLog(hass, entry.entry_id, storage)
        self._storage = storage
        self._pins = pins
        self._registry = Registry()
        self._cameras = CameraWatch(hass)
        self._visits: dict[str, VisitWatcher] = {}
        self.keypads = KeypadDoors(
            hass,
            entry,
            pins,
            doors=lambda: self.doors,
            grants=lambda: self._registry.grants,
            tz=lambda: self.tz,
            on_keypad=self._on_keypad,
            on_change=self._announce,
        )
        self.carriers = ApprovedCarriers(hass, entry.entry_id)
        self.deliveries = DeliveryDesk(report=self._report_to_bridge)
        # Every decision and every change to grants or the switch hold this lock, so once
        # a revoke (or pause) returns, no opening decided on the old state can follow.
        self._lock = asyncio.Lock()
        self.last_visit: Visit | None = None
        self._guest_keys: GuestKeys | None = None
        self.spent_challenges = SpentChallenges()

    # ---- loading -------------------------------------------------------------------

    async def async_load(self) -> None:
        self._registry = await self._storage.async_load_registry()
        self._guest_keys = await async_load_guest_keys(self.hass, self.entry.entry_id)
        await self._pins.async_load()
        await self.keypads.async_load(dt_util.utcnow())
        await self.carriers.async_load()
        stored = await self._storage.async_load_deliveries()
        self.deliveries.restore(map(delivery_from_stored, stored), dt_util.utcnow())
        await self.audit.async_load(dt_util.utcnow())

    @callback
    def async_start_codes(self) -> None:
        """Start keeping the locks' keypad codes in step with the grants (in the background)."""
        self.keypads.start()

    async def async_stop_codes(self) -> None:
        await self.keypads.async_stop()

    @callback
    def async_unload(self) -> None:
        for watcher in self._visits.values():
            watcher.stop()
        self._visits.clear()

    # ---- what the home knows ------------------------------------------------------

    @property
    def home_id(self) -> str:
        return self.home_key.fingerprint

    @property
    def guest_keys(self) -> GuestKeys:
        """The keys of guest links (loaded with the home)."""
        if self._guest_keys is None:
            raise RuntimeError("the home is not loaded")
        return self._guest_keys

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.hass.config.time_zone)

    @property
    def doors(self) -> dict[str, Door]:
        return entry_doors(self.entry)

    @property
    def grants(self) -> Mapping[str, Grant]:
        return self._registry.grants

    @property
    def accept_visits(self) -> bool:
        return self._registry.accept_visits

    def keypad_codes(self, door_id: str) -> DoorCodes | None:
        """The keypad codes of a door's lock; None for a remote-only door."""
        return self.keypads.codes(door_id)

    def keypad_slots_in_use(self, door_id: str) -> frozenset[int]:
        """Slots of the door's lock held by a live grant or maybe still holding a code."""
        return self.keypads.slots_in_use(door_id, dt_util.utcnow())

    def visit_in_progress(self, door_id: str) -> bool:
        watcher = self._visits.get(door_id)
        return watcher is not None and watcher.active

    def live_grants(self, now: datetime) -> list[Grant]:
        return [g for g in self._registry.grants.values() if is_live(g, now)]

    def resolve_doors(self, refs: list[str]) -> frozenset[str]:
        """Door ids for doors named by id or, more kindly, by name (any case)."""
        doors = self.doors
        by_name = {door.name.casefold(): door.id for door in doors.values()}
        ids = set()
        for ref in refs:
            door_id = ref if ref in doors else by_name.get(ref.casefold())
            if door_id is None:
                raise invalid("unknown_door", door=ref)
            ids.add(door_id)
        return frozenset(ids)

    def get_grant(self, grant_id: str) -> Grant:
        grant = self._registry.grants.get(grant_id)
        if grant is None:
            raise invalid("unknown_grant")
        return grant

    # ---- grants ----------------------------------------------------------------------

    async def async_create_grant(self, draft: GrantDraft, *, context: Context) -> IssuedGrant:
        """Create, sign and save a grant; a keypad grant takes a slot on each keypad door."""
        async with self._lock:  # two grants created at once never take the same slot
            issued = await self._create_grant(draft, context)
        self.keypads.sync(issued.grant.doors)  # radio work after the lock is released
        return issued

    async def _create_grant(self, draft: GrantDraft, context: Context) -> IssuedGrant:
        now = dt_util.utcnow()
        self._check_doors(draft.doors)
        pin = self._new_pin(now) if draft.kind is GrantKind.KEYPAD else None
        grant_id = secrets.token_hex(8)
        allocations = self.keypads.allocate(grant_id, draft.kind, draft.doors, now)
        grant = Grant(
            id=grant_id,
            kind=draft.kind,
            name=draft.name,
            doors=draft.doors,
            schedule=draft.schedule,
            created_at=now,
            use_limit=draft.use_limit,
            camera_required=draft.camera_required,
            carrier_id=draft.carrier_id,
            max_visit=draft.max_visit,
            announced_only=draft.announced_only and draft.kind is GrantKind.CARRIER,
        )
        token = sign_grant_token(
            self.home_key.sign, grant_id=grant.id, home_id=self.home_id, issued_at=now
        )
        if pin is not None:
            await self._pins.async_put(grant.id, pin)
        self._registry.grants[grant.id] = grant
        await self.keypads.async_save_allocations(allocations)
        await self._storage.async_save_registry(self._registry)
        await self._audit("grant_created", now, context, grant=grant)
        self._announce()
        return IssuedGrant(grant=grant, token=token, pin=pin)

    async def async_update_grant(
        self, grant_id: str, changes: Mapping[str, Any], *, context: Context
    ) -> Grant:
        """Apply field changes (name, doors, schedule, use_limit, camera_required, max_visit,
        and for a carrier grant announced_only)."""
        async with self._lock:
            before = self.get_grant(grant_id).doors
            updated = await self._update_grant(grant_id, changes, context)
        self.keypads.sync(before | updated.doors)  # radio work after the lock is released
        return updated

    async def _update_grant(
        self, grant_id: str, changes: Mapping[str, Any], context: Context
    ) -> Grant:
        now = dt_util.utcnow()
        grant = self.get_grant(grant_id)
        if grant.revoked:
            raise invalid("grant_revoked")
        allocations: dict[str, int] = {}
        if "doors" in changes:
            self._check_doors(changes["doors"])
            allocations = self.keypads.allocate(grant.id, grant.kind, changes["doors"], now)
        updated = replace(grant, **changes)
        self._registry.grants[grant_id] = updated
        await self.keypads.async_save_allocations(allocations)
        await self._storage.async_save_registry(self._registry)
        await self._audit(
            "grant_updated", now, context, grant=updated, fields=",".join(sorted(changes))
        )
        self._announce()
        return updated

    async def async_revoke_grant(self, grant_id: str, *, context: Context) -> Grant:
        """Revoke at once: once this returns, no opening under the grant can follow.

        It waits for an opening already being decided (the lock), so an unlock never
        lands after the revocation has been confirmed to the homeowner.
        """
        async with self._lock:
            revoked = await self._revoke_grant(grant_id, context)
        self.keypads.sync(revoked.doors)  # the code leaves the lock; no radio under the lock
        return revoked

    async def _revoke_grant(self, grant_id: str, context: Context) -> Grant:
        now = dt_util.utcnow()
        grant = self.get_grant(grant_id)
        if grant.revoked:
            return grant
        revoked = replace(grant, revoked_at=now)
        self._registry.grants[grant_id] = revoked
        await self._storage.async_save_registry(self._registry)
        await self._pins.async_forget(grant_id)
        await self._audit("grant_revoked", now, context, grant=revoked)
        self._announce()
        return revoked

    async def async_set_accept_visits(self, accept: bool, *, context: Context) -> None:
        async with self._lock:
            if self._registry.accept_visits == accept:
                return
            self._registry.accept_visits = accept
            await self._storage.async_save_registry(self._registry)
            await self._audit("accept_visits_changed", dt_util.utcnow(), context, accept=accept)
            self._announce()

    # ---- opening -------------------------------------------------------------------

    async def async_open_door(
        self,
        *,
        token: str,
        door_id: str,
        nonce: str,
        expires_at: datetime | None,
        context: Context,
    ) -> Decision:
        """Decide a remote request and, if allowed, open the door and watch the visit.

        Serialised per home, so two requests cannot both spend a one-time grant.
        """
        async with self._lock:
            return await self._open_door(token, door_id, nonce, expires_at, context)

    async def async_open_door_for_carrier(
        self,
        *,
        carrier_id: str,
        door_id: str,
        nonce: str,
        expires_at: datetime,
        signature_valid: bool,
        delivery_id: str | None,
        context: Context,
    ) -> Decision:
        """Decide a carrier's signed request (checked by the caller against the approved key).

        The grant is the carrier's live carrier grant for this door (its policy: doors,
        windows, camera, announced deliveries only), one open now if there is one;
        without any the request is refused as ``unknown_grant``. The nonce and expiry
        are checked exactly as for a guest's request. The carrier's deliveries go into
        the decision, which picks the one the opening is for (``delivery_id`` when the
        signed body names one); an allowed opening marks it opened, so the end of its
        visit is reported to the bridge.
        """
        async with self._lock:
            now = dt_util.utcnow()
            candidates = [g for g in self._carrier_grants(carrier_id, now) if door_id in g.doors]
            grant = next(
                (g for g in candidates if is_open(g.schedule, self.tz, now)),
                candidates[0] if candidates else None,
            )
            request = replace(
                self._remote_request(door_id, nonce, expires_at, signature_valid, now),
                delivery_id=delivery_id,
                deliveries=self._announced_deliveries(carrier_id),
            )
            decision = await self._decide_and_act(grant, request, now, context)
            if decision.allowed and decision.delivery_id is not None:
                self.deliveries.opened(decision.delivery_id, door_id)
                await self._save_deliveries()
            return decision

    async def async_open_door_as_admin(
        self, *, grant_id: str, door_id: str, context: Context
    ) -> Decision:
        """Open for a grant on behalf of a Home Assistant admin or automation.

        Home Assistant has already authenticated the caller, so there is no token to
        verify and no nonce to replay; every other check of the decision applies. The
        grant token is not taken here on purpose: action data is broadcast in
        ``call_service`` events and stored by the recorder, and a token is a secret.
        """
        async with self._lock:
            now = dt_util.utcnow()
            grant = self._registry.grants.get(grant_id)
            carrier_id = grant.carrier_id if grant is not None else None
            request = AccessRequest(
                door_id=door_id,
                channel=Channel.REMOTE,
                expires_at=now + self.policy.max_request_lifetime,
                deliveries=self._announced_deliveries(carrier_id) if carrier_id else (),
            )
            return await self._decide_and_act(grant, request, now, context)

    async def async_open_door_for_link(
        self, *, grant_id: str, door_id: str, nonce: str, expires_at: datetime, context: Context
    ) -> Decision:
        """Decide a guest's opening whose link secret and challenge the caller has checked.

        The challenge is the nonce: spent here too, and remembered across restarts.
        """
        async with self._lock:
            now = dt_util.utcnow()
            request = self._remote_request(door_id, nonce, expires_at, True, now)
            return await self._decide_and_act(
                self._registry.grants.get(grant_id), request, now, context
            )

    async def async_audit_request_refusal(
        self,
        request_kind: str,
        code: str,
        *,
        carrier_id: str | None = None,
        delivery_id: str | None = None,
    ) -> None:
        """A request relayed by the bridge refused before any decision: malformed, unknown."""
        await self._audit(
            "request_refused",
            dt_util.utcnow(),
            None,
            request=request_kind,
            refusal=code,
            carrier_id=carrier_id,
            delivery_id=delivery_id,
        )

    async def async_audit_guest_refusal(self, code: str, *, grant_id: str | None) -> None:
        """A guest's page asked something the home would not answer; ``code`` says why."""
        grant = self._registry.grants.get(grant_id) if grant_id else None
        await self._audit(
            "guest_request_refused", dt_util.utcnow(), None, grant=grant, refusal=code
        )

    async def _open_door(
        self,
        token: str,
        door_id: str,
        nonce: str,
        expires_at: datetime | None,
        context: Context,
    ) -> Decision:
        now = dt_util.utcnow()
        grant: Grant | None = None
        try:
            claims = verify_grant_token(token, self.home_key.public_key, home_id=self.home_id)
        except TokenError:
            token_valid = False
        else:
            token_valid = True
            grant = self._registry.grants.get(claims.grant_id)
        request = self._remote_request(door_id, nonce, expires_at, token_valid, now)
        return await self._decide_and_act(grant, request, now, context)

    def _remote_request(
        self,
        door_id: str,
        nonce: str,
        expires_at: datetime | None,
        signed: bool,
        now: datetime,
    ) -> AccessRequest:
        """A remote request with its nonce checked against, and added to, those seen."""
        nonce_key = hashlib.sha256(nonce.encode()).hexdigest()
        self._forget_old_nonces(now)
        nonce_ok = MIN_NONCE_LENGTH <= len(nonce) <= MAX_NONCE_LENGTH
        request = AccessRequest(
            door_id=door_id,
            channel=Channel.REMOTE,
            token_valid=signed and nonce_ok,
            nonce_replayed=nonce_key in self._registry.nonces,
            expires_at=expires_at,
        )
        if request.token_valid and expires_at is not None and not request.nonce_replayed:
            lifetime_end = now + self.policy.max_request_lifetime
            self._registry.nonces[nonce_key] = min(expires_at, lifetime_end)
        return request

    async def _decide_and_act(
        self, grant: Grant | None, request: AccessRequest, now: datetime, context: Context
    ) -> Decision:
        door = self.doors.get(request.door_id)
        door_state = self._door_state(door) if door is not None else None

        def _decide(camera: CameraHealth | None) -> Decision:
            return decide(
                grant,
                request,
                door_state,
                camera,
                accept_visits=self._registry.accept_visits,
                now=now,
                tz=self.tz,
                policy=self.policy,
            )

        # Decide first as if the camera were live; look at it only when nothing else
        # refuses, so a request bound to fail never costs a frame fetch.
        camera = door.camera if door is not None else None
        decision = _decide(CameraHealth(available=True, last_frame_at=now) if camera else None)
        needs_camera = door is not None and door.camera_required
        needs_camera |= grant is not None and grant.camera_required
        if decision.allowed and camera and needs_camera:
            decision = _decide(await self._cameras.async_health(camera, now))
        if decision.allowed and grant is not None and door is not None:
            admitted = await self._admit(grant, door, now, context, decision.delivery_id)
            return replace(admitted, delivery_id=decision.delivery_id)
        await self._storage.async_save_registry(self._registry)  # remembers the nonce
        await self._refused(
            decision.reason, door, grant, now, context, delivery_id=request.delivery_id
        )
        return decision

    async def _admit(
        self, grant: Grant, door: Door, now: datetime, context: Context, delivery_id: str | None
    ) -> Decision:
        used = replace(grant, uses=grant.uses + 1)
        self._registry.grants[grant.id] = used
        await self._storage.async_save_registry(self._registry)
        await self._audit(
            "door_granted", now, context, grant=used, door=door, delivery_id=delivery_id
        )
        try:
            await self._actuate_open(door, context)
        except HomeAssistantError as err:
            LOGGER.warning("Door %s did not open: %s", door.name, err)
            self._registry.grants[grant.id] = grant  # the use was not spent
            await self._storage.async_save_registry(self._registry)
            await self._refused(
                Reason.DOOR_UNAVAILABLE, door, grant, now, context, delivery_id=delivery_id
            )
            return Decision(Reason.DOOR_UNAVAILABLE)
        self._door_event(door, DoorEvent.GRANTED, grant=used, reason=Reason.ALLOWED)
        self._start_visit(door, used, now)
        self._announce()
        return Decision(Reason.ALLOWED)

    async def _refused(
        self,
        reason: Reason,
        door: Door | None,
        grant: Grant | None,
        now: datetime,
        context: Context,
        *,
        delivery_id: str | None = None,
    ) -> None:
        await self._audit(
            "door_refused",
            now,
            context,
            grant=grant,
            door=door,
            reason=reason,
            delivery_id=delivery_id,
        )
        if door is not None:
            self._door_event(door, DoorEvent.REFUSED, grant=grant, reason=reason)
            if reason in (Reason.CAMERA_UNAVAILABLE, Reason.CAMERA_STALE):
                self._door_event(door, DoorEvent.CAMERA_PROBLEM, grant=grant, reason=reason)

    async def _actuate_open(self, door: Door, context: Context) -> None:
        domain = door.opener_domain
        service = "unlock" if domain == "lock" else "open_cover"
        await self.hass.services.async_call(
            domain, service, {"entity_id": door.opener}, blocking=True, context=context
        )

    def _start_visit(self, door: Door, grant: Grant, now: datetime) -> None:
        if (previous := self._visits.pop(door.id, None)) is not None:
            previous.stop()
        visit = Visit(
            door_id=door.id,
            grant_id=grant.id,
            grant_name=grant.name,
            started_at=now,
            max_visit=min(door.max_visit, grant.max_visit or door.max_visit),
        )
        watcher = VisitWatcher(self.hass, door, visit, self._on_visit_event)
        self._visits[door.id] = watcher
        self.last_visit = visit
        watcher.start()

    @callback
    def _on_visit_event(self, visit: Visit, event: DoorEvent) -> None:
        door = self.doors.get(visit.door_id)
        if door is None:
            return
        grant = self._registry.grants.get(visit.grant_id)
        self._door_event(door, event, grant=grant, reason=None)
        if self.deliveries.visit_event(door.id, event):
            self.entry.async_create_background_task(
                self.hass, self._save_deliveries(), f"{DOMAIN} save deliveries"
            )
        self.hass.async_create_task(
            self._audit(f"door_{event.value}", dt_util.utcnow(), None, grant=grant, door=door),
            eager_start=True,
        )
        self._announce()

    # ---- carriers and deliveries -------------------------------------------------------

    def _carrier_grants(self, carrier_id: str, now: datetime) -> list[Grant]:
        """The carrier's live carrier grants, oldest first."""
        return [
            g
            for g in sorted(self._registry.grants.values(), key=lambda g: g.created_at)
            if g.kind is GrantKind.CARRIER and g.carrier_id == carrier_id and is_live(g, now)
        ]

    async def async_announce_delivery(
        self,
        delivery: Delivery,
        *,
        nonce: str,
        expires_at: datetime,
        signature_valid: bool,
        context: Context,
    ) -> Reason | None:
        """Accept (None) or decline (the reason) a carrier's signed announcement; audited.

        The homeowner is told either way (``delivery_announced``) and may decline an
        accepted delivery until the carrier has opened the door.
        """
        async with self._lock:
            now = dt_util.utcnow()
            request = self._remote_request("", nonce, expires_at, signature_valid, now)
            refusal = request_refusal(request, now, self.policy) or announcement_refusal(
                self._carrier_grants(delivery.carrier_id, now),
                delivery.window_start,
                delivery.window_end,
                accept_visits=self._registry.accept_visits,
                tz=self.tz,
            )
            await self._storage.async_save_registry(self._registry)  # remembers the nonce
            if refusal is None:
                self.deliveries.announced(delivery)
                await self._save_deliveries()
            details = {
                "delivery_id": delivery.id,
                "carrier_id": delivery.carrier_id,
                "reference": delivery.reference,
            }
            await self._audit(
                "delivery_announced",
                now,
                context,
                reason=refusal,
                delivery_id=delivery.id,
                carrier_id=delivery.carrier_id,
                reference=delivery.reference,
            )
            self.hass.bus.async_fire(
                EVENT_KEYHOLDER,
                {
                    "entry_id": self.entry.entry_id,
                    "type": "delivery_announced",
                    "accepted": refusal is None,
                    "reason": refusal.value if refusal is not None else None,
                    "window_start": delivery.window_start.isoformat(),
                    "window_end": delivery.window_end.isoformat(),
                    **details,
                },
            )
            return refusal

    async def async_decline_delivery(self, delivery_id: str, *, context: Context) -> bool:
        """The homeowner declines a delivery not yet opened; the carrier is told."""
        async with self._lock:
            if not self.deliveries.decline(delivery_id):
                return False
            await self._save_deliveries()
            await self._audit(
                "delivery_declined", dt_util.utcnow(), context, delivery_id=delivery_id
            )
            return True

    async def _save_deliveries(self) -> None:
        await self._storage.async_save_deliveries(
            [delivery_to_stored(d) for d in self.deliveries.all()]
        )

    def _announced_deliveries(self, carrier_id: str) -> tuple[AnnouncedDelivery, ...]:
        """The carrier's deliveries as the decision sees them (announcements name no door)."""
        return tuple(
            AnnouncedDelivery(d.id, d.window_start, d.window_end, declined=d.declined)
            for d in self.deliveries.all()
            if d.carrier_id == carrier_id
        )

    @callback
    def _report_to_bridge(self, kind: str, body: dict[str, Any]) -> None:
        data = getattr(self.entry, "runtime_data", None)
        if data is not None and data.link is not None:
            data.link.send_event(kind, body)

    # ---- carriers --------------------------------------------------------------------

    async def async_approve_carrier(self, carrier: Carrier, *, context: Context) -> None:
        """Trust a carrier's key for its signed requests; its grants say where and when."""
        async with self._lock:
            await self.carriers.async_approve(carrier)
            await self._audit(
                "carrier_approved",
                dt_util.utcnow(),
                context,
                carrier_id=carrier.id,
                carrier=carrier.name,
                key_fingerprint=carrier.fingerprint,
            )

    # ---- keypad codes ----------------------------------------------------------------

    async def async_record_keypad_use(self, grant_id: str, door_id: str) -> None:
        """A guest typed the grant's code at the door: announce, audit, count the use.

        The lock decided on its own; this only records it. A used-up one-time code
        is cleared by the sync that follows.
        """
        door = self.doors.get(door_id)
        if door is None:
            return
        async with self._lock:
            now = dt_util.utcnow()
            grant = self._registry.grants.get(grant_id)
            if grant is not None:
                grant = replace(grant, uses=grant.uses + 1)
                self._registry.grants[grant.id] = grant
                await self._storage.async_save_registry(self._registry)
            await self._audit("keypad_used", now, None, grant=grant, door=door)
            self._door_event(door, DoorEvent.KEYPAD_USED, grant=grant, reason=None)
            self._announce()
        self.keypads.sync(frozenset({door_id}))

    @callback
    def _on_keypad(self, door: Door, slot: int) -> None:
        grant_id = self.keypads.grant_in_slot(door.id, slot)
        if grant_id is None:
            LOGGER.info("A keypad code Keyholder does not manage opened %s", door.name)
            self.hass.async_create_task(
                self._audit("keypad_used_unmanaged", dt_util.utcnow(), None, door=door, slot=slot),
                eager_start=True,
            )
            return
        self.hass.async_create_task(
            self.async_record_keypad_use(grant_id, door.id), eager_start=True
        )

    # ---- inputs to the decision ---------------------------------------------------------

    def _door_state(self, door: Door) -> DoorState:
        opener = self.hass.states.get(door.opener)
        available = opener is not None and opener.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
        car_home: bool | None = None
        if door.car_tracker:
            tracker = self.hass.states.get(door.car_tracker)
            car_home = tracker is not None and tracker.state == STATE_HOME
        return DoorState(door=door, opener_available=available, car_home=car_home)

    def _forget_old_nonces(self, now: datetime) -> None:
        expired = [k for k, until in self._registry.nonces.items() if until <= now]
        for key in expired:
            del self._registry.nonces[key]

    # ---- helpers ---------------------------------------------------------------------

    def _check_doors(self, door_ids: frozenset[str]) -> None:
        if not door_ids:
            raise invalid("no_doors")
        doors = self.doors
        for door_id in sorted(door_ids):
            if door_id not in doors:
                raise invalid("unknown_door", door=door_id)

    def _new_pin(self, now: datetime) -> str:
        """A strong PIN no other grant uses (two grants on one lock must differ)."""
        year = dt_util.as_local(now).year
        pin = generate_pin(PIN_LENGTH, year=year)
        while self._pins.in_use(pin):
            pin = generate_pin(PIN_LENGTH, year=year)
        return pin

    def _door_event(
        self, door: Door, event: DoorEvent, *, grant: Grant | None, reason: Reason | None
    ) -> None:
        data: dict[str, str | None] = {
            "door_id": door.id,
            "door": door.name,
            "grant_id": grant.id if grant else None,
            "grant": grant.name if grant else None,
            "reason": reason.value if reason else None,
        }
        async_dispatcher_send(
            self.hass, signal_door_event(self.entry.entry_id, door.id), event, data
        )
        self.hass.bus.async_fire(
            EVENT_KEYHOLDER, {"entry_id": self.entry.entry_id, "type": event.value, **data}
        )

    @callback
    def _announce(self) -> None:
        async_dispatcher_send(self.hass, signal_updated(self.entry.entry_id))

    async def _audit(
        self,
        kind: str,
        now: datetime,
        context: Context | None,
        *,
        grant: Grant | None = None,
        door: Door | None = None,
        reason: Reason | None = None,
        **extra: AuditValue,
    ) -> None:
        data: dict[str, AuditValue] = {
            "user_id": context.user_id if context else None,
            "grant_id": grant.id if grant else None,
            "grant": grant.name if grant else None,
            "door_id": door.id if door else None,
            "reason": reason.value if reason else None,
            **extra,
        }
        await self.audit.async_append(
            kind, {k: v for k, v in data.items() if v is not None}, at=now
        )
