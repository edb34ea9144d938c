"""Deliveries in the bridge's database: created on announcement, updated as the home reports.

Stored so a carrier can ask again after a restart of either side. The bridge records
what the home answered; it never sets a status the home did not report, except the
announcement itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
import re
import secrets
from typing import Final

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.db.repository import ID_PATTERN
from bridge.db.tables import Delivery

ANNOUNCED: Final = "announced"
# Statuses the home may report, and after which nothing changes any more.
HOME_STATUSES: Final = frozenset(
    {"accepted", "declined", "opened", "refused", "locked", "left_open", "relock_failed"}
)
# ``left_open`` is not final: the door may still be closed and relocked afterwards.
FINAL_STATUSES: Final = frozenset({"declined", "locked", "relock_failed"})
REASON: Final = re.compile(r"[a-z0-9_]{1,64}")


class DeliveryBook:
    """Typed operations on deliveries; callers never see a session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(
        self,
        *,
        home_id: str,
        carrier_id: str,
        reference: str,
        window_start: datetime,
        window_end: datetime,
    ) -> Delivery:
        now = datetime.now(UTC)
        delivery = Delivery(
            id=f"delivery-{secrets.token_hex(8)}",
            home_id=home_id,
            carrier_id=carrier_id,
            reference=reference,
            window_start=window_start,
            window_end=window_end,
            status=ANNOUNCED,
            reason=None,
            created_at=now,
            updated_at=now,
        )
        async with self._sessions.begin() as session:
            session.add(delivery)
        return delivery

    async def get(self, delivery_id: str) -> Delivery | None:
        if not ID_PATTERN.fullmatch(delivery_id):  # a client's text, not one of our ids
            return None
        async with self._sessions() as session:
            return await session.get(Delivery, delivery_id)

    async def set_status(
        self, delivery_id: str, *, home_id: str, status: str, reason: str | None = None
    ) -> bool:
        """Record a status the home reported; False if unknown, another home's, or final."""
        if status not in HOME_STATUSES or not ID_PATTERN.fullmatch(delivery_id):
            return False
        if reason is not None and not (isinstance(reason, str) and REASON.fullmatch(reason)):
            reason = None  # not a reason code: not kept, rather than stored as it came

        async with self._sessions.begin() as session:
            changed = await session.scalar(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.home_id == home_id,
                    Delivery.status.not_in(FINAL_STATUSES),
                )
                .values(status=status, reason=reason, updated_at=datetime.now(UTC))
                .returning(Delivery.id)
            )
        return changed is not None
