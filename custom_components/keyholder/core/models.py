"""Doors, grants and the windows they open in: plain, immutable values.

Times are aware ``datetime`` objects in UTC; weekly windows are wall-clock minutes
in the home's time zone, resolved by ``schedule``. Nothing here is secret: a
keypad grant's PIN is kept apart (see ``pin_vault``) so it cannot leak through a
``repr`` of these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MINUTES_PER_DAY = 24 * 60
MAX_NAME_LENGTH = 64


class DoorKind(StrEnum):
    """What a door is; decides which checks apply (a car must be home)."""

    DOOR = "door"
    GARAGE = "garage"
    CAR = "car"
    BUILDING = "building"


class GrantKind(StrEnum):
    """How a grant is used: a PIN typed on the lock, a guest link, or a carrier."""

    KEYPAD = "keypad"
    LINK = "link"
    CARRIER = "carrier"


class Channel(StrEnum):
    """Where an attempt to open comes from."""

    KEYPAD = "keypad"  # a PIN typed on the lock itself; the lock already let the guest in
    REMOTE = "remote"  # a signed request through open_door (bridge link, carrier)


@dataclass(frozen=True, slots=True)
class Door:
    """A door Keyholder manages: the entity that opens it and what watches it."""

    id: str
    name: str
    kind: DoorKind
    opener: str  # entity id of a ``lock`` or ``cover``
    contact_sensor: str | None = None  # ``binary_sensor``: on = open
    camera: str | None = None
    camera_required: bool = False
    relock_delay: timedelta = timedelta(seconds=30)
    max_visit: timedelta = timedelta(minutes=10)
    car_tracker: str | None = None  # ``device_tracker`` that must be ``home`` (car doors)
    keypad_slots: range | None = None  # the lock's slots Keyholder may use; None: remote only

    @property
    def opener_domain(self) -> str:
        return self.opener.partition(".")[0]


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Every week on ``weekday`` (0 = Monday) from ``start_minute`` to ``end_minute``.

    Minutes count from local midnight; ``end_minute`` may be 1440 (midnight at the
    end of the day). A window never crosses midnight: split it into two.
    """

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError("a window must start before it ends, within one day")


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a grant is valid.

    With no weekly windows the grant is open for the whole span ``valid_from`` to
    ``valid_until`` (a one-off visit). With weekly windows it is open only inside
    them, and only within that span. ``valid_until`` None means no end.
    """

    valid_from: datetime
    valid_until: datetime | None = None
    weekly: tuple[WeeklyWindow, ...] = ()

    def __post_init__(self) -> None:
        if self.valid_from.tzinfo is None or (
            self.valid_until is not None and self.valid_until.tzinfo is None
        ):
            raise ValueError("schedule times must be timezone-aware")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("a schedule must start before it ends")
        if not self.weekly and self.valid_until is None:
            raise ValueError("a one-off schedule needs an end")


@dataclass(frozen=True, slots=True)
class Grant:
    """Permission for someone to open some doors at some times, signed by the home."""

    id: str
    kind: GrantKind
    name: str
    doors: frozenset[str]
    schedule: Schedule
    created_at: datetime
    use_limit: int | None = None  # None: unlimited; 1: a one-time grant
    uses: int = 0
    camera_required: bool = False
    carrier_id: str | None = None  # for carrier grants: the carrier's registered id
    max_visit: timedelta | None = None  # shortens the door's longest visit; None: the door's
    revoked_at: datetime | None = None
    # Carrier grants only: open only for an announced delivery the home accepted (and the
    # homeowner has not declined) whose window covers now. Carrier grants are created with
    # it on; here it defaults off so that a value built without it never changes meaning.
    announced_only: bool = False

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def uses_left(self) -> int | None:
        return None if self.use_limit is None else max(self.use_limit - self.uses, 0)


@dataclass(frozen=True, slots=True)
class DoorState:
    """What Home Assistant currently knows about a door, as the decision needs it."""

    door: Door
    opener_available: bool = True
    car_home: bool | None = None  # None when the door is not a car or has no tracker


@dataclass(frozen=True, slots=True)
class CameraHealth:
    """Whether the door's camera can vouch for a visit right now.

    ``last_frame_at`` is when the camera last produced a fresh picture; a frozen
    picture (the 2017 Wi-Fi deauthentication attack) shows up as an old time.
    """

    available: bool
    last_frame_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AnnouncedDelivery:
    """A delivery the carrier announced to this home, as the decision needs to see it.

    ``declined`` is the home's answer or the homeowner's later decline; ``door_id`` the
    door the announcement names (None: any door of the carrier's grant). The window is
    the one the carrier announced: the delivery opens only inside it.
    """

    id: str
    window_start: datetime
    window_end: datetime
    declined: bool = False
    door_id: str | None = None

    def covers(self, door_id: str, now: datetime) -> bool:
        """Is this delivery for ``door_id`` (or any door) with its window open at ``now``?"""
        in_window = self.window_start <= now < self.window_end
        return in_window and self.door_id in (None, door_id)


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One attempt to open a door, after its token and nonce have been checked.

    ``token_valid`` is the outcome of verifying the grant token's signature (see
    ``tokens``); ``nonce_replayed`` whether this request's nonce was seen before.
    For a carrier grant, ``delivery_id`` is the delivery the signed request names (if
    any) and ``deliveries`` every delivery of that carrier the home knows, accepted or
    declined; the decision picks the one that covers this door now.
    """

    door_id: str
    channel: Channel
    token_valid: bool = True
    nonce_replayed: bool = False
    expires_at: datetime | None = None
    delivery_id: str | None = None
    deliveries: tuple[AnnouncedDelivery, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    """Limits that are the home's to set, not the grant's."""

    camera_max_age: timedelta = timedelta(seconds=30)
    max_request_lifetime: timedelta = timedelta(minutes=5)
