"""Whether one attempt to open a door may go ahead, and if not, why.

The decision is deny-by-default and names exactly one reason: the first check that
fails, in a fixed order from the most fundamental (is this request even genuine?)
to the most circumstantial (is the lock reachable right now?). The order is part
of the contract: a forged request for a revoked grant is reported as forged, so a
caller probing with bad tokens learns nothing about which grants exist.

A keypad attempt has already happened (the lock checked the PIN itself); deciding
it attributes the visit to a grant and tells whether it was inside the grant's
terms, so only the checks about the grant apply to it.

The order: the request itself (signature, expiry, nonce); the grant (known, not
revoked, right channel); the door (known, in the grant); the grant's terms (valid
from, until, weekly window, uses); for a carrier grant, the delivery (the named one
known, not declined, for this door, inside its window; or, naming none, an accepted
one covering now when the grant asks for announced deliveries, and never while a
declined one covers now); last the house (visits accepted, car home, camera, lock
reachable). A carrier therefore learns about deliveries only with a genuine request
inside its own grant's terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

from .models import (
    AccessRequest,
    AnnouncedDelivery,
    CameraHealth,
    Channel,
    DoorKind,
    DoorState,
    Grant,
    GrantKind,
    Policy,
)
from .schedule import is_open


class Reason(StrEnum):
    """Why a door opens or stays shut; stable codes for logs, the audit and the bridge."""

    ALLOWED = "allowed"
    BAD_SIGNATURE = "bad_signature"
    REQUEST_EXPIRED = "request_expired"
    REQUEST_EXPIRY_TOO_FAR = "request_expiry_too_far"
    REPLAYED = "replayed"
    UNKNOWN_GRANT = "unknown_grant"
    REVOKED = "revoked"
    WRONG_CHANNEL = "wrong_channel"
    UNKNOWN_DOOR = "unknown_door"
    DOOR_NOT_IN_GRANT = "door_not_in_grant"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    OUTSIDE_WINDOW = "outside_window"
    USES_EXHAUSTED = "uses_exhausted"
    VISITS_PAUSED = "visits_paused"
    CAR_NOT_HOME = "car_not_home"
    CAMERA_UNAVAILABLE = "camera_unavailable"
    CAMERA_STALE = "camera_stale"
    DOOR_UNAVAILABLE = "door_unavailable"
    UNKNOWN_DELIVERY = "unknown_delivery"
    DELIVERY_DECLINED = "delivery_declined"
    DOOR_NOT_IN_DELIVERY = "door_not_in_delivery"
    OUTSIDE_DELIVERY_WINDOW = "outside_delivery_window"
    NO_ACCEPTED_DELIVERY = "no_accepted_delivery"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of ``decide``: a reason, of which only one means yes.

    ``delivery_id`` is the delivery a carrier's allowed opening is for, if any: the one
    the request named, or the accepted one whose window covers now.
    """

    reason: Reason
    delivery_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is Reason.ALLOWED


def decide(
    grant: Grant | None,
    request: AccessRequest,
    door: DoorState | None,
    camera: CameraHealth | None,
    *,
    accept_visits: bool,
    now: datetime,
    tz: tzinfo,
    policy: Policy,
) -> Decision:
    """Decide one attempt to open ``request.door_id`` under ``grant`` at ``now``.

    ``grant`` and ``door`` are what the home's registry holds for the ids in the
    request (None when it holds nothing); ``camera`` is the door's camera, if any.
    """
    refusal = _refusal(
        grant, request, door, camera, accept_visits=accept_visits, now=now, tz=tz, policy=policy
    )
    if refusal is not None:
        return Decision(refusal)
    delivery = _delivery(request, now)
    return Decision(Reason.ALLOWED, delivery_id=delivery.id if delivery else None)


def _refusal(
    grant: Grant | None,
    request: AccessRequest,
    door: DoorState | None,
    camera: CameraHealth | None,
    *,
    accept_visits: bool,
    now: datetime,
    tz: tzinfo,
    policy: Policy,
) -> Reason | None:
    """The first check that fails, or None; each stage may rely on those before it."""
    remote = request.channel is Channel.REMOTE
    if remote and (refusal := request_refusal(request, now, policy)):
        return refusal
    if grant is None:
        return Reason.UNKNOWN_GRANT
    if refusal := _grant_refusal(grant, request.channel):
        return refusal
    if door is None or door.door.id != request.door_id:
        return Reason.UNKNOWN_DOOR
    refusal = _terms_refusal(grant, request.door_id, now, tz)
    if refusal or not remote:  # a keypad visit has happened: the house's state is moot
        return refusal
    carrier = grant.kind is GrantKind.CARRIER
    refusal = delivery_refusal(grant, request, now) if carrier else None
    return refusal or _visit_refusal(
        grant, door, camera, accept_visits=accept_visits, now=now, policy=policy
    )


def request_refusal(request: AccessRequest, now: datetime, policy: Policy) -> Reason | None:
    """Is the remote request itself genuine and fresh?"""
    if not request.token_valid:
        return Reason.BAD_SIGNATURE
    if request.expires_at is None or request.expires_at <= now:
        return Reason.REQUEST_EXPIRED
    # A request valid for hours could be captured and replayed later, once the
    # nonce it carries has been forgotten: the home caps how far ahead it may be.
    if request.expires_at - now > policy.max_request_lifetime:
        return Reason.REQUEST_EXPIRY_TOO_FAR
    if request.nonce_replayed:
        return Reason.REPLAYED
    return None


def _grant_refusal(grant: Grant, channel: Channel) -> Reason | None:
    if grant.revoked:
        return Reason.REVOKED
    # A keypad grant's PIN must not double as a remote key, nor a link as a PIN.
    if (grant.kind is GrantKind.KEYPAD) != (channel is Channel.KEYPAD):
        return Reason.WRONG_CHANNEL
    return None


def _terms_refusal(grant: Grant, door_id: str, now: datetime, tz: tzinfo) -> Reason | None:
    """Does the grant cover this door, now, with a use left?"""
    if door_id not in grant.doors:
        return Reason.DOOR_NOT_IN_GRANT
    if now < grant.schedule.valid_from:
        return Reason.NOT_YET_VALID
    if grant.schedule.valid_until is not None and now >= grant.schedule.valid_until:
        return Reason.EXPIRED
    if not is_open(grant.schedule, tz, now):
        return Reason.OUTSIDE_WINDOW
    if grant.use_limit is not None and grant.uses >= grant.use_limit:
        return Reason.USES_EXHAUSTED
    return None


def delivery_refusal(grant: Grant, request: AccessRequest, now: datetime) -> Reason | None:
    """Does a delivery of this carrier let it in at this door, now?

    A request naming a delivery uses that one: it must be the carrier's, not declined,
    for this door and inside its window. A request naming none may go ahead on any
    accepted delivery covering the door now; failing that it is refused while a
    declined delivery covers now (the homeowner said no to this visit), and when the
    grant admits announced deliveries only.
    """
    delivery = _delivery(request, now)
    if request.delivery_id is not None:
        return _named_delivery_refusal(delivery, request.door_id, now)
    if delivery is not None:
        return None
    if any(d.declined and d.covers(request.door_id, now) for d in request.deliveries):
        return Reason.DELIVERY_DECLINED
    if grant.announced_only:
        return Reason.NO_ACCEPTED_DELIVERY
    return None


def _named_delivery_refusal(
    delivery: AnnouncedDelivery | None, door_id: str, now: datetime
) -> Reason | None:
    if delivery is None:
        return Reason.UNKNOWN_DELIVERY
    if delivery.declined:
        return Reason.DELIVERY_DECLINED
    if delivery.door_id not in (None, door_id):
        return Reason.DOOR_NOT_IN_DELIVERY
    if not delivery.covers(door_id, now):
        return Reason.OUTSIDE_DELIVERY_WINDOW
    return None


def _delivery(request: AccessRequest, now: datetime) -> AnnouncedDelivery | None:
    """The delivery a request is for: the one it names, else an accepted one covering now."""
    if request.delivery_id is not None:
        return next((d for d in request.deliveries if d.id == request.delivery_id), None)
    covering = (d for d in request.deliveries if not d.declined and d.covers(request.door_id, now))
    return next(covering, None)


def _visit_refusal(
    grant: Grant,
    door: DoorState,
    camera: CameraHealth | None,
    *,
    accept_visits: bool,
    now: datetime,
    policy: Policy,
) -> Reason | None:
    """Does the house, right now, allow a remote opening to go ahead?"""
    if not accept_visits:
        return Reason.VISITS_PAUSED
    if door.door.kind is DoorKind.CAR and door.car_home is not True:
        return Reason.CAR_NOT_HOME
    camera_required = door.door.camera_required or grant.camera_required
    if camera_required and (refusal := _camera_refusal(camera, now, policy)):
        return refusal
    if not door.opener_available:
        return Reason.DOOR_UNAVAILABLE
    return None


def _camera_refusal(camera: CameraHealth | None, now: datetime, policy: Policy) -> Reason | None:
    """Can the camera vouch for the visit?

    A picture that stopped updating is as bad as no camera (the 2017 Cloud Cam
    attack froze it while the door stood open); a frame from the future means the
    camera's clock cannot be trusted to say how old the picture is.
    """
    if camera is None or not camera.available:
        return Reason.CAMERA_UNAVAILABLE
    if camera.last_frame_at is None or abs(now - camera.last_frame_at) > policy.camera_max_age:
        return Reason.CAMERA_STALE
    return None
