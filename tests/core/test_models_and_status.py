"""The model refuses impossible values; a grant's status follows its life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.keyholder.core.models import (
    Door,
    DoorKind,
    Grant,
    GrantKind,
    Schedule,
    WeeklyWindow,
)
from custom_components.keyholder.core.status import GrantStatus, grant_status, is_live

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _grant(**changes: object) -> Grant:
    fields: dict[str, object] = {
        "id": "g1",
        "kind": GrantKind.LINK,
        "name": "Guest",
        "doors": frozenset({"front"}),
        "schedule": Schedule(valid_from=T0, valid_until=T0 + timedelta(hours=2)),
        "created_at": T0 - timedelta(days=1),
    }
    fields.update(changes)
    return Grant(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("weekday", "start", "end"),
    [(-1, 0, 60), (7, 0, 60), (0, 60, 60), (0, 120, 60), (0, -1, 60), (0, 0, 1441)],
)
def test_impossible_weekly_windows_are_refused(weekday: int, start: int, end: int) -> None:
    with pytest.raises(ValueError, match=r"weekday|window"):
        WeeklyWindow(weekday, start, end)


def test_a_window_may_end_at_midnight() -> None:
    assert WeeklyWindow(6, 22 * 60, 24 * 60).end_minute == 1440


def test_naive_schedule_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Schedule(valid_from=datetime(2026, 12, 1, 9, 0), valid_until=T0)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        Schedule(valid_from=T0, valid_until=datetime(2026, 12, 2, 9, 0))  # noqa: DTZ001


def test_schedule_must_start_before_it_ends_and_one_offs_must_end() -> None:
    with pytest.raises(ValueError, match="start before"):
        Schedule(valid_from=T0, valid_until=T0)
    with pytest.raises(ValueError, match="needs an end"):
        Schedule(valid_from=T0)
    assert Schedule(valid_from=T0, weekly=(WeeklyWindow(0, 0, 60),)).valid_until is None


def test_door_knows_its_opener_domain() -> None:
    door = Door(id="d", name="Garage", kind=DoorKind.GARAGE, opener="cover.garage")
    assert door.opener_domain == "cover"


def test_status_follows_a_grants_life() -> None:
    grant = _grant(use_limit=1)
    assert grant_status(grant, T0 - timedelta(minutes=1)) is GrantStatus.SCHEDULED
    assert grant_status(grant, T0) is GrantStatus.ACTIVE
    assert grant.uses_left == 1
    used = _grant(use_limit=1, uses=1)
    assert used.uses_left == 0
    assert grant_status(used, T0) is GrantStatus.USED_UP
    assert grant_status(grant, T0 + timedelta(hours=2)) is GrantStatus.EXPIRED
    assert _grant().uses_left is None


def test_revocation_outranks_everything() -> None:
    revoked = _grant(revoked_at=T0, use_limit=1, uses=1)
    assert revoked.revoked
    assert grant_status(revoked, T0 + timedelta(days=9)) is GrantStatus.REVOKED
    assert not is_live(revoked, T0)
    assert is_live(_grant(), T0 - timedelta(hours=1))
    assert not is_live(_grant(), T0 + timedelta(hours=3))
