"""The access decision: deny by default, one reason per refusal, in a fixed order."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings, strategies as st
import pytest

from custom_components.keyholder.core.decision import Decision, Reason, decide
from custom_components.keyholder.core.models import (
    AccessRequest,
    AnnouncedDelivery,
    CameraHealth,
    Channel,
    Door,
    DoorKind,
    DoorState,
    Grant,
    GrantKind,
    Policy,
    Schedule,
    WeeklyWindow,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 5, 7, 10, 0, tzinfo=UTC)  # a Tuesday
POLICY = Policy()
FRONT = Door(id="front", name="Front door", kind=DoorKind.DOOR, opener="lock.front")
CAR = Door(
    id="car", name="Car", kind=DoorKind.CAR, opener="lock.car", car_tracker="device_tracker.car"
)
CAMERA_DOOR = replace(FRONT, id="garage", camera="camera.garage", camera_required=True)


def make_grant(**changes: object) -> Grant:
    grant = Grant(
        id="g1",
        kind=GrantKind.CARRIER,
        name="Acme Parcel",
        doors=frozenset({"front", "car", "garage"}),
        schedule=Schedule(valid_from=NOW - timedelta(days=1), valid_until=NOW + timedelta(days=1)),
        created_at=NOW - timedelta(days=2),
    )
    return replace(grant, **changes)  # type: ignore[arg-type]


def remote(door_id: str = "front", **changes: object) -> AccessRequest:
    request = AccessRequest(
        door_id=door_id, channel=Channel.REMOTE, expires_at=NOW + timedelta(minutes=1)
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def keypad(door_id: str = "front", **changes: object) -> AccessRequest:
    return replace(AccessRequest(door_id=door_id, channel=Channel.KEYPAD), **changes)  # type: ignore[arg-type]


def run(
    grant: Grant | None = None,
    request: AccessRequest | None = None,
    door: DoorState | None = None,
    camera: CameraHealth | None = None,
    *,
    accept_visits: bool = True,
    now: datetime = NOW,
    policy: Policy = POLICY,
    no_grant: bool = False,
    no_door: bool = False,
) -> Reason:
    decision = decide(
        None if no_grant else (grant or make_grant()),
        request or remote(),
        None if no_door else (door or DoorState(FRONT)),
        camera,
        accept_visits=accept_visits,
        now=now,
        tz=UTC_ZONE,
        policy=policy,
    )
    assert decision.allowed is (decision.reason is Reason.ALLOWED)
    return decision.reason


# --- one test per reason ------------------------------------------------------------


def test_valid_carrier_request_is_allowed() -> None:
    assert run() is Reason.ALLOWED
    assert Decision(Reason.ALLOWED).allowed
    assert not Decision(Reason.REVOKED).allowed


def test_request_with_a_bad_signature_is_refused() -> None:
    assert run(request=remote(token_valid=False)) is Reason.BAD_SIGNATURE


def test_request_without_an_expiry_is_refused_as_expired() -> None:
    assert run(request=remote(expires_at=None)) is Reason.REQUEST_EXPIRED


def test_request_expiring_now_is_refused() -> None:
    assert run(request=remote(expires_at=NOW)) is Reason.REQUEST_EXPIRED


def test_request_valid_for_too_long_is_refused() -> None:
    too_far = NOW + POLICY.max_request_lifetime + timedelta(seconds=1)
    assert run(request=remote(expires_at=too_far)) is Reason.REQUEST_EXPIRY_TOO_FAR
    at_limit = NOW + POLICY.max_request_lifetime
    assert run(request=remote(expires_at=at_limit)) is Reason.ALLOWED


def test_replayed_request_is_refused() -> None:
    assert run(request=remote(nonce_replayed=True)) is Reason.REPLAYED


def test_unknown_grant_is_refused() -> None:
    assert run(no_grant=True) is Reason.UNKNOWN_GRANT


def test_revoked_grant_is_refused() -> None:
    assert run(make_grant(revoked_at=NOW - timedelta(seconds=1))) is Reason.REVOKED


def test_keypad_grant_cannot_open_remotely() -> None:
    assert run(make_grant(kind=GrantKind.KEYPAD)) is Reason.WRONG_CHANNEL


def test_link_grant_cannot_be_used_at_the_keypad() -> None:
    assert run(make_grant(kind=GrantKind.LINK), keypad()) is Reason.WRONG_CHANNEL


def test_unknown_door_is_refused() -> None:
    assert run(no_door=True) is Reason.UNKNOWN_DOOR


def test_door_state_for_another_door_is_refused_as_unknown() -> None:
    assert run(request=remote("garage")) is Reason.UNKNOWN_DOOR


def test_door_outside_the_grant_is_refused() -> None:
    grant = make_grant(doors=frozenset({"garage"}))
    assert run(grant) is Reason.DOOR_NOT_IN_GRANT


def test_grant_not_yet_valid_is_refused() -> None:
    schedule = Schedule(valid_from=NOW + timedelta(seconds=1), valid_until=NOW + timedelta(days=1))
    assert run(make_grant(schedule=schedule)) is Reason.NOT_YET_VALID


def test_grant_is_valid_from_its_first_instant() -> None:
    schedule = Schedule(valid_from=NOW, valid_until=NOW + timedelta(days=1))
    assert run(make_grant(schedule=schedule)) is Reason.ALLOWED


def test_expired_grant_is_refused() -> None:
    schedule = Schedule(valid_from=NOW - timedelta(days=1), valid_until=NOW)
    assert run(make_grant(schedule=schedule)) is Reason.EXPIRED


def test_open_ended_weekly_grant_never_expires() -> None:
    schedule = Schedule(valid_from=NOW - timedelta(days=1), weekly=(WeeklyWindow(1, 0, 1440),))
    later = NOW + timedelta(weeks=520)
    request = remote(expires_at=later + timedelta(minutes=1))
    assert run(make_grant(schedule=schedule), request, now=later) is Reason.ALLOWED


def test_request_outside_the_weekly_window_is_refused() -> None:
    cleaner = Schedule(
        valid_from=NOW - timedelta(days=30), weekly=(WeeklyWindow(1, 11 * 60, 12 * 60),)
    )
    assert run(make_grant(schedule=cleaner)) is Reason.OUTSIDE_WINDOW
    later = NOW + timedelta(hours=1)
    request = remote(expires_at=later + timedelta(minutes=1))
    assert run(make_grant(schedule=cleaner), request, now=later) is Reason.ALLOWED


def test_used_up_grant_is_refused() -> None:
    assert run(make_grant(use_limit=1, uses=1)) is Reason.USES_EXHAUSTED
    assert run(make_grant(use_limit=2, uses=1)) is Reason.ALLOWED


def test_remote_visit_is_refused_while_visits_are_paused() -> None:
    assert run(accept_visits=False) is Reason.VISITS_PAUSED


def test_car_away_from_home_is_refused() -> None:
    assert run(request=remote("car"), door=DoorState(CAR, car_home=False)) is Reason.CAR_NOT_HOME


def test_car_of_unknown_whereabouts_is_refused() -> None:
    assert run(request=remote("car"), door=DoorState(CAR, car_home=None)) is Reason.CAR_NOT_HOME


def test_car_at_home_may_be_opened() -> None:
    assert run(request=remote("car"), door=DoorState(CAR, car_home=True)) is Reason.ALLOWED


def test_missing_camera_is_refused_when_the_door_requires_one() -> None:
    assert run(request=remote("garage"), door=DoorState(CAMERA_DOOR)) is Reason.CAMERA_UNAVAILABLE


def test_unavailable_camera_is_refused_when_the_grant_requires_one() -> None:
    camera = CameraHealth(available=False, last_frame_at=NOW)
    grant = make_grant(camera_required=True)
    assert run(grant, camera=camera) is Reason.CAMERA_UNAVAILABLE


def test_camera_is_not_consulted_when_nothing_requires_it() -> None:
    assert run(camera=None) is Reason.ALLOWED
    assert run(camera=CameraHealth(available=False)) is Reason.ALLOWED


@pytest.mark.parametrize(
    "last_frame_at",
    [None, NOW - POLICY.camera_max_age - timedelta(seconds=1), NOW + POLICY.camera_max_age * 2],
    ids=["never", "frozen", "from-the-future"],
)
def test_stale_camera_picture_is_refused(last_frame_at: datetime | None) -> None:
    camera = CameraHealth(available=True, last_frame_at=last_frame_at)
    door = DoorState(CAMERA_DOOR)
    assert run(request=remote("garage"), door=door, camera=camera) is Reason.CAMERA_STALE


@pytest.mark.parametrize("age", [timedelta(0), POLICY.camera_max_age, -POLICY.camera_max_age])
def test_fresh_camera_picture_lets_the_visit_go_ahead(age: timedelta) -> None:
    camera = CameraHealth(available=True, last_frame_at=NOW - age)
    door = DoorState(CAMERA_DOOR)
    assert run(request=remote("garage"), door=door, camera=camera) is Reason.ALLOWED


def test_unreachable_lock_is_refused() -> None:
    assert run(door=DoorState(FRONT, opener_available=False)) is Reason.DOOR_UNAVAILABLE


# --- keypad attribution -------------------------------------------------------------


def test_keypad_use_inside_the_grant_is_allowed() -> None:
    assert run(make_grant(kind=GrantKind.KEYPAD), keypad()) is Reason.ALLOWED


def test_keypad_use_skips_request_checks() -> None:
    """The lock checked the PIN itself; there is no token, nonce or expiry to check."""
    request = keypad(token_valid=False, nonce_replayed=True, expires_at=None)
    assert run(make_grant(kind=GrantKind.KEYPAD), request) is Reason.ALLOWED


def test_keypad_use_skips_checks_on_the_house() -> None:
    grant = make_grant(kind=GrantKind.KEYPAD, camera_required=True)
    door = DoorState(replace(CAR, id="front"), opener_available=False, car_home=False)
    assert run(grant, keypad(), door, None, accept_visits=False) is Reason.ALLOWED


def test_keypad_use_outside_the_window_is_attributed_as_such() -> None:
    grant = make_grant(kind=GrantKind.KEYPAD, use_limit=3, uses=3)
    assert run(grant, keypad()) is Reason.USES_EXHAUSTED


def test_keypad_use_of_a_revoked_grant_is_flagged() -> None:
    grant = make_grant(kind=GrantKind.KEYPAD, revoked_at=NOW)
    assert run(grant, keypad()) is Reason.REVOKED


# --- deliveries: declined means declined -----------------------------------------

WINDOW = AnnouncedDelivery("d1", NOW - timedelta(minutes=10), NOW + timedelta(minutes=20))
ANNOUNCED_ONLY = make_grant(announced_only=True)


def carrier_open(
    *deliveries: AnnouncedDelivery, named: str | None = None, now: datetime = NOW
) -> AccessRequest:
    return remote(delivery_id=named, deliveries=deliveries, expires_at=now + timedelta(minutes=1))


def decide_carrier(grant: Grant, request: AccessRequest, now: datetime = NOW) -> Decision:
    return decide(
        grant,
        request,
        DoorState(FRONT),
        None,
        accept_visits=True,
        now=now,
        tz=UTC_ZONE,
        policy=POLICY,
    )


def test_an_announced_accepted_delivery_opens_and_is_named_in_the_decision() -> None:
    decision = decide_carrier(ANNOUNCED_ONLY, carrier_open(WINDOW))
    assert (decision.reason, decision.delivery_id) == (Reason.ALLOWED, "d1")
    named = decide_carrier(ANNOUNCED_ONLY, carrier_open(WINDOW, named="d1"))
    assert (named.reason, named.delivery_id) == (Reason.ALLOWED, "d1")


def test_an_unannounced_carrier_open_is_refused_when_the_grant_asks_for_deliveries() -> None:
    assert run(ANNOUNCED_ONLY, carrier_open()) is Reason.NO_ACCEPTED_DELIVERY


def test_without_the_policy_an_unannounced_carrier_open_goes_ahead_as_before() -> None:
    decision = decide_carrier(make_grant(), carrier_open())
    assert (decision.reason, decision.delivery_id) == (Reason.ALLOWED, None)


def test_a_declined_delivery_opens_nothing_named_or_not_with_or_without_the_policy() -> None:
    declined = replace(WINDOW, declined=True)
    for grant in (ANNOUNCED_ONLY, make_grant()):
        assert run(grant, carrier_open(declined, named="d1")) is Reason.DELIVERY_DECLINED
        assert run(grant, carrier_open(declined)) is Reason.DELIVERY_DECLINED


def test_an_accepted_delivery_covering_now_outweighs_a_declined_one() -> None:
    declined = replace(WINDOW, id="d0", declined=True)
    decision = decide_carrier(ANNOUNCED_ONLY, carrier_open(declined, WINDOW))
    assert (decision.reason, decision.delivery_id) == (Reason.ALLOWED, "d1")


def test_a_declined_delivery_outside_its_window_does_not_hold_back_a_standing_grant() -> None:
    later = AnnouncedDelivery("d2", NOW + timedelta(hours=2), NOW + timedelta(hours=3), True)
    assert run(make_grant(), carrier_open(later)) is Reason.ALLOWED
    assert run(ANNOUNCED_ONLY, carrier_open(later)) is Reason.NO_ACCEPTED_DELIVERY


def test_a_named_delivery_the_home_does_not_know_is_refused() -> None:
    for grant in (ANNOUNCED_ONLY, make_grant()):
        assert run(grant, carrier_open(WINDOW, named="other")) is Reason.UNKNOWN_DELIVERY


def test_a_delivery_opens_only_inside_its_own_window() -> None:
    for now in (WINDOW.window_start - timedelta(microseconds=1), WINDOW.window_end):
        unnamed = carrier_open(WINDOW, now=now)
        assert run(ANNOUNCED_ONLY, unnamed, now=now) is Reason.NO_ACCEPTED_DELIVERY
        named = carrier_open(WINDOW, named="d1", now=now)
        assert run(ANNOUNCED_ONLY, named, now=now) is Reason.OUTSIDE_DELIVERY_WINDOW
    first = WINDOW.window_start
    assert run(ANNOUNCED_ONLY, carrier_open(WINDOW, now=first), now=first) is Reason.ALLOWED


def test_a_delivery_announced_for_one_door_opens_only_that_door() -> None:
    garage_only = replace(WINDOW, door_id="garage")
    assert run(ANNOUNCED_ONLY, carrier_open(garage_only, named="d1")) is (
        Reason.DOOR_NOT_IN_DELIVERY
    )
    assert run(ANNOUNCED_ONLY, carrier_open(garage_only)) is Reason.NO_ACCEPTED_DELIVERY
    front_only = replace(WINDOW, door_id="front")
    assert run(ANNOUNCED_ONLY, carrier_open(front_only)) is Reason.ALLOWED


def test_the_grant_still_decides_before_the_delivery() -> None:
    """A delivery adds a condition; it never lifts one of the grant's own terms."""
    expired = make_grant(
        announced_only=True,
        schedule=Schedule(valid_from=NOW - timedelta(days=2), valid_until=NOW),
    )
    assert run(expired, carrier_open(WINDOW)) is Reason.EXPIRED
    assert run(ANNOUNCED_ONLY, carrier_open(WINDOW), accept_visits=False) is Reason.VISITS_PAUSED


def test_deliveries_do_not_concern_link_grants() -> None:
    link = make_grant(kind=GrantKind.LINK, announced_only=True)
    assert run(link, carrier_open(replace(WINDOW, declined=True))) is Reason.ALLOWED


# --- order --------------------------------------------------------------------------

ORDER = [
    Reason.BAD_SIGNATURE,
    Reason.REQUEST_EXPIRED,
    Reason.REPLAYED,
    Reason.UNKNOWN_GRANT,
    Reason.REVOKED,
    Reason.WRONG_CHANNEL,
    Reason.UNKNOWN_DOOR,
    Reason.DOOR_NOT_IN_GRANT,
    Reason.EXPIRED,
    Reason.USES_EXHAUSTED,
    Reason.NO_ACCEPTED_DELIVERY,
    Reason.VISITS_PAUSED,
    Reason.CAR_NOT_HOME,
    Reason.CAMERA_UNAVAILABLE,
    Reason.DOOR_UNAVAILABLE,
    Reason.ALLOWED,
]


def test_first_failing_check_wins_in_the_documented_order() -> None:
    """Fix one fault at a time, starting from a request that fails everything."""
    faults = {
        "token_valid": False,
        "expires_at": None,
        "nonce_replayed": True,
        "grant": None,
        "revoked_at": NOW,
        "kind": GrantKind.KEYPAD,
        "door": None,
        "doors": frozenset({"elsewhere"}),
        "valid_until": NOW,
        "uses": 5,
        "announced_only": True,
        "accept_visits": False,
        "car_home": False,
        "camera": None,
        "opener_available": False,
    }
    seen = []
    for fault in [*faults, None]:
        request = remote(
            "car",
            token_valid=faults.get("token_valid", True),
            expires_at=faults.get("expires_at", NOW + timedelta(minutes=1)),
            nonce_replayed=faults.get("nonce_replayed", False),
        )
        schedule = Schedule(
            valid_from=NOW - timedelta(days=1),
            valid_until=faults.get("valid_until", NOW + timedelta(days=1)),  # type: ignore[arg-type]
        )
        grant = make_grant(
            revoked_at=faults.get("revoked_at"),
            kind=faults.get("kind", GrantKind.CARRIER),
            doors=faults.get("doors", frozenset({"car"})),
            schedule=schedule,
            use_limit=1,
            uses=faults.get("uses", 0),
            camera_required=True,
            announced_only=faults.get("announced_only", False),  # type: ignore[arg-type]
        )
        door = DoorState(
            replace(CAR, camera="camera.car"),
            opener_available=faults.get("opener_available", True),  # type: ignore[arg-type]
            car_home=faults.get("car_home", True),  # type: ignore[arg-type]
        )
        decision = decide(
            None if "grant" in faults else grant,
            request,
            None if "door" in faults else door,
            faults.get("camera", CameraHealth(available=True, last_frame_at=NOW)),  # type: ignore[arg-type]
            accept_visits=faults.get("accept_visits", True),  # type: ignore[arg-type]
            now=NOW,
            tz=UTC_ZONE,
            policy=POLICY,
        )
        seen.append(decision.reason)
        if fault is not None:
            del faults[fault]
    assert seen == ORDER


def test_reason_codes_are_stable() -> None:
    assert [reason.value for reason in Reason] == [
        "allowed", "bad_signature", "request_expired", "request_expiry_too_far", "replayed",
        "unknown_grant", "revoked", "wrong_channel", "unknown_door", "door_not_in_grant",
        "not_yet_valid", "expired", "outside_window", "uses_exhausted", "visits_paused",
        "car_not_home", "camera_unavailable", "camera_stale", "door_unavailable",
        "unknown_delivery", "delivery_declined", "door_not_in_delivery",
        "outside_delivery_window", "no_accepted_delivery",
    ]  # fmt: skip


# --- properties ---------------------------------------------------------------------

# Two years of instants, to the microsecond (cheaper to draw than st.datetimes).
instants = st.integers(0, 2 * 365 * 86400 * 10**6).map(
    lambda us: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
)


@st.composite
def weekly_windows(draw: st.DrawFn) -> tuple[WeeklyWindow, ...]:
    result = []
    for _ in range(draw(st.integers(1, 5))):
        start, end = sorted(
            draw(st.lists(st.integers(0, 1440), min_size=2, max_size=2, unique=True))
        )
        result.append(WeeklyWindow(draw(st.integers(0, 6)), start, end))
    return tuple(result)


def wall_clock_is_open(windows: tuple[WeeklyWindow, ...], local: datetime) -> bool:
    """Open if the local wall clock reads a time inside a window of that weekday."""
    second = (local.hour * 60 + local.minute) * 60 + local.second + local.microsecond / 1e6
    return any(
        w.weekday == local.weekday() and w.start_minute * 60 <= second < w.end_minute * 60
        for w in windows
    )


def changes_offset_nearby(tz: ZoneInfo, at: datetime) -> bool:
    day = timedelta(days=1)
    return (at - day).astimezone(tz).utcoffset() != (at + day).astimezone(tz).utcoffset()


@settings(max_examples=120, deadline=None)
@given(
    windows=weekly_windows(),
    now=instants,
    tz=st.sampled_from([BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]),
    kind=st.sampled_from(GrantKind),
)
def test_never_allowed_outside_a_window(
    windows: tuple[WeeklyWindow, ...], now: datetime, tz: ZoneInfo, kind: GrantKind
) -> None:
    """Away from daylight-saving days, the wall clock alone says whether it is open.

    (On those days the rule is fold=0, checked in test_schedule against an oracle.)
    """
    assume(not changes_offset_nearby(tz, now))
    schedule = Schedule(valid_from=datetime(2023, 1, 1, tzinfo=UTC), weekly=windows)
    grant = make_grant(kind=kind, schedule=schedule)
    channel = Channel.KEYPAD if kind is GrantKind.KEYPAD else Channel.REMOTE
    request = AccessRequest("front", channel, expires_at=now + timedelta(minutes=1))
    decision = decide(
        grant, request, DoorState(FRONT), None, accept_visits=True, now=now, tz=tz, policy=POLICY
    )
    expected = wall_clock_is_open(windows, now.astimezone(tz))
    assert decision.allowed is expected
    assert decision.reason is (Reason.ALLOWED if expected else Reason.OUTSIDE_WINDOW)


# Each fault breaks exactly one condition of an otherwise good attempt.
REQUEST_FAULTS = {"bad_token", "replayed", "no_expiry", "late", "far"}
GRANT_FAULTS = {
    "no_grant", "revoked", "wrong_kind", "no_door", "other_door", "door_not_granted",
    "early", "expired", "used_up",
}  # fmt: skip
HOUSE_FAULTS = {"paused", "car_away", "no_camera", "camera_off", "camera_stale", "lock_down"}
FAULTS = sorted(REQUEST_FAULTS | GRANT_FAULTS | HOUSE_FAULTS)


@dataclass(frozen=True)
class Attempt:
    grant: Grant | None
    request: AccessRequest
    door: DoorState | None
    camera: CameraHealth | None
    accept_visits: bool
    now: datetime
    faults: frozenset[str]

    def decide(self, tz: ZoneInfo = BERLIN) -> Decision:
        return decide(
            self.grant,
            self.request,
            self.door,
            self.camera,
            accept_visits=self.accept_visits,
            now=self.now,
            tz=tz,
            policy=POLICY,
        )

    def effective_faults(self) -> set[str]:
        """The faults that count: the house is moot at the keypad, and so on."""
        faults = set(self.faults)
        if self.request.channel is Channel.KEYPAD:
            faults -= REQUEST_FAULTS | HOUSE_FAULTS
        if self.door is None or self.door.door.kind is not DoorKind.CAR:
            faults.discard("car_away")
        if (
            self.grant is not None
            and self.door is not None
            and not (self.grant.camera_required or self.door.door.camera_required)
        ):
            faults -= {"no_camera", "camera_off", "camera_stale"}
        return faults


def seconds(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda s: timedelta(seconds=s))


@st.composite
def requests(
    draw: st.DrawFn, faults: set[str], now: datetime, door_id: str, channel: Channel
) -> AccessRequest:
    expires_at: datetime | None = now + draw(seconds(1, 300))
    if "no_expiry" in faults:
        expires_at = None
    elif "late" in faults:
        expires_at = now - draw(seconds(0, 60))
    elif "far" in faults:
        expires_at = now + POLICY.max_request_lifetime + draw(seconds(1, 3600))
    return AccessRequest(
        door_id="elsewhere" if "other_door" in faults else door_id,
        channel=channel,
        token_valid="bad_token" not in faults,
        nonce_replayed="replayed" in faults,
        expires_at=expires_at,
    )


@st.composite
def attempts(draw: st.DrawFn, *, grant_known: bool = False) -> Attempt:
    """A good attempt with up to three faults, on either channel, at any door."""
    now = draw(instants)
    faults = set(draw(st.sets(st.sampled_from(FAULTS), max_size=3)))
    if grant_known:
        faults.discard("no_grant")
    door = draw(st.sampled_from([FRONT, CAR, CAMERA_DOOR]))
    channel = draw(st.sampled_from(Channel))
    kind = GrantKind.KEYPAD if channel is Channel.KEYPAD else draw(st.sampled_from(GrantKind))
    if "wrong_kind" in faults:
        kind = GrantKind.LINK if channel is Channel.KEYPAD else GrantKind.KEYPAD
    elif kind is GrantKind.KEYPAD and channel is Channel.REMOTE:
        kind = GrantKind.CARRIER

    request = draw(requests(faults, now, door.id, channel))

    windows = draw(st.just(()) | weekly_windows())
    if "early" in faults:
        valid_from = now + draw(seconds(1, 30 * 86400))
        valid_until = valid_from + draw(seconds(60, 30 * 86400))
    elif "expired" in faults:
        valid_until = now - draw(seconds(0, 30 * 86400))
        valid_from = valid_until - draw(seconds(60, 30 * 86400))
    else:
        valid_from = now - draw(seconds(0, 30 * 86400))
        valid_until = now + draw(seconds(1, 30 * 86400))
    use_limit = draw(st.none() | st.integers(1, 3))
    uses = 0 if use_limit is None else draw(st.integers(0, use_limit - 1))
    if "used_up" in faults:
        use_limit, uses = uses, uses + draw(st.integers(0, 2))
    granted = set(draw(st.lists(st.sampled_from(["front", "car", "garage"]))))
    if "door_not_granted" in faults:
        granted.discard(door.id)
    else:
        granted.add(door.id)
    open_ended = bool(windows) and "expired" not in faults and draw(st.booleans())
    grant = make_grant(
        kind=kind,
        doors=frozenset(granted),
        schedule=Schedule(
            valid_from=valid_from,
            valid_until=None if open_ended else valid_until,
            weekly=windows,
        ),
        use_limit=use_limit,
        uses=uses,
        camera_required=draw(st.booleans()),
        revoked_at=now - draw(seconds(0, 86400)) if "revoked" in faults else None,
    )

    car_home = draw(st.sampled_from([None, False])) if "car_away" in faults else True
    state = DoorState(door, opener_available="lock_down" not in faults, car_home=car_home)
    frame_at: datetime | None = now - draw(seconds(-30, 30))
    if "camera_stale" in faults:
        beyond = POLICY.camera_max_age + draw(seconds(1, 3600))
        frame_at = draw(st.sampled_from([None, now - beyond, now + beyond]))
    camera = CameraHealth(available="camera_off" not in faults, last_frame_at=frame_at)
    return Attempt(
        grant=None if "no_grant" in faults else grant,
        request=request,
        door=None if "no_door" in faults else state,
        camera=None if "no_camera" in faults else camera,
        accept_visits="paused" not in faults,
        now=now,
        faults=frozenset(faults),
    )


@settings(max_examples=200, deadline=None)
@given(attempts(), st.sampled_from([BERLIN, ZoneInfo("America/New_York")]))
def test_allowed_exactly_when_nothing_is_wrong(attempt: Attempt, tz: ZoneInfo) -> None:
    """An independent statement of the whole rule: the faults put in, and the wall clock."""
    grant = attempt.grant
    assume(grant is None or not changes_offset_nearby(tz, attempt.now))
    in_window = (
        grant is None
        or not grant.schedule.weekly
        or wall_clock_is_open(grant.schedule.weekly, attempt.now.astimezone(tz))
    )
    expected = not attempt.effective_faults() and in_window
    assert attempt.decide(tz).allowed is expected


@settings(max_examples=60, deadline=None)
@given(attempts(grant_known=True))
def test_never_allowed_after_revoke(attempt: Attempt) -> None:
    assert attempt.grant is not None
    revoked = replace(attempt.grant, revoked_at=attempt.now + timedelta(days=1))
    assert not replace(attempt, grant=revoked).decide().allowed


@settings(max_examples=60, deadline=None)
@given(attempts(), st.sampled_from(sorted(REQUEST_FAULTS)))
def test_never_allowed_for_a_refused_token_or_replay(attempt: Attempt, fault: str) -> None:
    now = attempt.now
    broken = replace(
        attempt.request,
        channel=Channel.REMOTE,
        token_valid=fault != "bad_token",
        nonce_replayed=fault == "replayed",
        expires_at={
            "late": now,
            "no_expiry": None,
            "far": now + POLICY.max_request_lifetime + timedelta(microseconds=1),
        }.get(fault, now + timedelta(seconds=10)),
    )
    decision = replace(attempt, request=broken).decide()
    assert not decision.allowed
    assert decision.reason in {
        Reason.BAD_SIGNATURE,
        Reason.REPLAYED,
        Reason.REQUEST_EXPIRED,
        Reason.REQUEST_EXPIRY_TOO_FAR,
    }


@st.composite
def announced(draw: st.DrawFn) -> AnnouncedDelivery:
    start = NOW + draw(seconds(-7200, 7200))
    return AnnouncedDelivery(
        id=draw(st.sampled_from(["d1", "d2", "d3"])),
        window_start=start,
        window_end=start + draw(seconds(1, 7200)),
        declined=draw(st.booleans()),
        door_id=draw(st.sampled_from([None, "front", "garage"])),
    )


@settings(max_examples=300, deadline=None)
@given(
    deliveries=st.lists(announced(), max_size=4),
    named=st.sampled_from([None, "d1", "d2", "nope"]),
    offset=seconds(-7200, 7200),
)
def test_with_the_policy_on_no_carrier_open_goes_ahead_without_an_accepted_delivery_now(
    deliveries: list[AnnouncedDelivery], named: str | None, offset: timedelta
) -> None:
    now = NOW + offset
    request = carrier_open(*deliveries, named=named, now=now)
    decision = decide_carrier(ANNOUNCED_ONLY, request, now)
    covering = [d for d in deliveries if not d.declined and d.covers("front", now)]
    if named is not None:  # a named delivery: only that one counts
        first = next((d for d in deliveries if d.id == named), None)
        covering = [first] if first is not None and first in covering else []
    assert decision.allowed is bool(covering)
    if decision.allowed:
        assert decision.delivery_id in {d.id for d in covering}
    else:
        assert decision.reason in {
            Reason.UNKNOWN_DELIVERY,
            Reason.DELIVERY_DECLINED,
            Reason.DOOR_NOT_IN_DELIVERY,
            Reason.OUTSIDE_DELIVERY_WINDOW,
            Reason.NO_ACCEPTED_DELIVERY,
        }
