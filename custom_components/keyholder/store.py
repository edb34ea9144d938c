"""Persistence: the grant registry and the audit chain in Home Assistant storage.

Two files per home, so that appending an audit record does not rewrite the
registry and vice versa:

- ``keyholder.<entry>.registry``: grants (with use counts), seen request nonces,
  the "accept visits" switch. Versioned; ``_async_migrate_func`` upgrades old files.
- ``keyholder.<entry>.audit``: the hash-chained audit records, verbatim, so an
  edited file is detected by ``core.audit.verify_chain``.
- ``keyholder.<entry>.deliveries``: the deliveries the home accepted or declined.

PINs are not here: see ``pin_vault``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .core.models import Grant, GrantKind, Schedule, WeeklyWindow
from .deliveries import StoredDelivery

REGISTRY_VERSION = 1
REGISTRY_MINOR_VERSION = 3
AUDIT_VERSION = 1
DELIVERIES_VERSION = 1


class StoredWindow(TypedDict):
    weekday: int
    start_minute: int
    end_minute: int


class StoredGrant(TypedDict):
    id: str
    kind: str
    name: str
    doors: list[str]
    valid_from: str
    valid_until: str | None
    weekly: list[StoredWindow]
    created_at: str
    use_limit: int | None
    uses: int
    camera_required: bool
    carrier_id: str | None
    max_visit_minutes: int | None
    revoked_at: str | None
    announced_only: bool


class StoredRegistry(TypedDict):
    grants: list[StoredGrant]
    nonces: dict[str, str]
    accept_visits: bool


class StoredAudit(TypedDict):
    records: list[dict[str, Any]]


class AuditHead(TypedDict):
    """The chain's length and last hash, kept apart so cutting records off the end shows."""

    length: int
    hash: str


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def grant_to_stored(grant: Grant) -> StoredGrant:
    schedule = grant.schedule
    return {
        "id": grant.id,
        "kind": grant.kind.value,
        "name": grant.name,
        "doors": sorted(grant.doors),
        "valid_from": schedule.valid_from.isoformat(),
        "valid_until": _iso(schedule.valid_until),
        "weekly": [
            {"weekday": w.weekday, "start_minute": w.start_minute, "end_minute": w.end_minute}
            for w in schedule.weekly
        ],
        "created_at": grant.created_at.isoformat(),
        "use_limit": grant.use_limit,
        "uses": grant.uses,
        "camera_required": grant.camera_required,
        "carrier_id": grant.carrier_id,
        "max_visit_minutes": (
            None if grant.max_visit is None else int(grant.max_visit.total_seconds() // 60)
        ),
        "revoked_at": _iso(grant.revoked_at),
        "announced_only": grant.announced_only,
    }


def grant_from_stored(stored: StoredGrant) -> Grant:
    return Grant(
        id=stored["id"],
        kind=GrantKind(stored["kind"]),
        name=stored["name"],
        doors=frozenset(stored["doors"]),
        schedule=Schedule(
            valid_from=datetime.fromisoformat(stored["valid_from"]),
            valid_until=_parse(stored["valid_until"]),
            weekly=tuple(
                WeeklyWindow(w["weekday"], w["start_minute"], w["end_minute"])
                for w in stored["weekly"]
            ),
        ),
        created_at=datetime.fromisoformat(stored["created_at"]),
        use_limit=stored["use_limit"],
        uses=stored["uses"],
        camera_required=stored["camera_required"],
        carrier_id=stored["carrier_id"],
        max_visit=(
            None
            if stored["max_visit_minutes"] is None
            else timedelta(minutes=stored["max_visit_minutes"])
        ),
        revoked_at=_parse(stored["revoked_at"]),
        announced_only=stored["announced_only"],
    )


class _RegistryStore(Store[StoredRegistry]):
    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> StoredRegistry:
        """Bring an older registry file up to the current layout.

        Version 1.1 is the first layout; later versions add their steps here, each
        one taking the previous layout to the next, so any old file walks forward.
        1.2 gives each grant ``max_visit_minutes`` (None: the door's longest visit).
        1.3 gives each grant ``announced_only``: on for carrier grants (a carrier opens
        only for an accepted delivery, as new carrier grants do), off for the others.
        """
        if old_major_version > REGISTRY_VERSION:
            raise NotImplementedError("registry written by a newer Keyholder")
        grants = [dict(g) for g in old_data.get("grants", [])]
        if old_major_version == 1 and old_minor_version < 2:
            for grant in grants:
                grant.setdefault("max_visit_minutes", None)
        if old_major_version == 1 and old_minor_version < 3:
            for grant in grants:
                grant.setdefault("announced_only", grant.get("kind") == GrantKind.CARRIER.value)
        return StoredRegistry(
            grants=grants,  # type: ignore[typeddict-item]
            nonces=dict(old_data.get("nonces", {})),
            accept_visits=bool(old_data.get("accept_visits", True)),
        )


@dataclass(slots=True)
class Registry:
    """The registry as the home works with it: grants by id, nonces, the switch."""

    grants: dict[str, Grant] = field(default_factory=dict)
    nonces: dict[str, datetime] = field(default_factory=dict)
    accept_visits: bool = True


class KeyholderStorage:
    """Loads and saves one home's registry and audit chain."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._registry = _RegistryStore(
            hass,
            REGISTRY_VERSION,
            f"{DOMAIN}.{entry_id}.registry",
            minor_version=REGISTRY_MINOR_VERSION,
            atomic_writes=True,
        )
        self._audit: Store[StoredAudit] = Store(
            hass, AUDIT_VERSION, f"{DOMAIN}.{entry_id}.audit", atomic_writes=True
        )
        self._audit_head: Store[AuditHead] = Store(
            hass, AUDIT_VERSION, f"{DOMAIN}.{entry_id}.audit_head", atomic_writes=True
        )
        self._deliveries: Store[list[StoredDelivery]] = Store(
            hass, DELIVERIES_VERSION, f"{DOMAIN}.{entry_id}.deliveries", atomic_writes=True
        )

    async def async_load_registry(self) -> Registry:
        stored = await self._registry.async_load()
        if stored is None:
            return Registry()
        return Registry(
            grants={g["id"]: grant_from_stored(g) for g in stored["grants"]},
            nonces={k: datetime.fromisoformat(v) for k, v in stored["nonces"].items()},
            accept_visits=stored["accept_visits"],
        )

    async def async_save_registry(self, registry: Registry) -> None:
        await self._registry.async_save(
            {
                "grants": [grant_to_stored(g) for g in registry.grants.values()],
                "nonces": {k: v.isoformat() for k, v in registry.nonces.items()},
                "accept_visits": registry.accept_visits,
            }
        )

    async def async_load_audit(self) -> list[dict[str, Any]]:
        stored = await self._audit.async_load()
        return [] if stored is None else list(stored["records"])

    async def async_save_audit(self, records: list[dict[str, Any]], head: AuditHead) -> None:
        await self._audit.async_save({"records": records})
        await self._audit_head.async_save(head)

    async def async_load_audit_head(self) -> AuditHead | None:
        return await self._audit_head.async_load()

    async def async_load_deliveries(self) -> list[StoredDelivery]:
        return list(await self._deliveries.async_load() or [])

    async def async_save_deliveries(self, deliveries: list[StoredDelivery]) -> None:
        await self._deliveries.async_save(deliveries)

    async def async_remove(self) -> None:
        await self._deliveries.async_remove()
        await self._registry.async_remove()
        await self._audit.async_remove()
        await self._audit_head.async_remove()
