"""Declarative tables; the schema itself is owned by the Alembic migrations next to this file."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
SHA256_BYTES = 32


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    PostgreSQL keeps the zone; SQLite hands back naive values. Comparing an expiry against
    ``datetime.now(UTC)`` must behave the same on both, so naive values are read back as UTC
    and naive values are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Metadata shared by the bridge's tables."""


class Home(Base):
    """A home that enrolled with a one-time code and proves itself with its Ed25519 key."""

    __tablename__ = "homes"
    __table_args__ = (UniqueConstraint("public_key", name="uq_homes_public_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(PUBLIC_KEY_BYTES))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class EnrolmentCode(Base):
    """A one-time code the admin hands to a homeowner.

    ``id`` is the code's public selector (found without a secret-dependent lookup); the secret
    part exists only as ``code_hash`` of the whole code, compared in constant time.
    """

    __tablename__ = "enrolment_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(SHA256_BYTES))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    home_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("homes.id", name="fk_enrolment_codes_home_id"), default=None
    )


class Carrier(Base):
    """A delivery company in the bridge's directory; homeowners approve it in Home Assistant."""

    __tablename__ = "carriers"
    __table_args__ = (UniqueConstraint("public_key", name="uq_carriers_public_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(PUBLIC_KEY_BYTES))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Delivery(Base):
    """A delivery a carrier announced to a home, and where it stands.

    ``status`` moves from ``announced`` to ``accepted`` or ``declined`` (the home's
    answer), then ``opened`` or ``refused`` (the door), then ``locked``, ``left_open``
    or ``relock_failed`` (the visit's end, as the home reports it); ``reason`` is the
    home's reason code for a refusal or decline.
    """

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    home_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("homes.id", name="fk_deliveries_home_id"), index=True
    )
    carrier_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("carriers.id", name="fk_deliveries_carrier_id")
    )
    reference: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CarrierNonce(Base):
    """A nonce a carrier used, kept until a request carrying it would be stale anyway.

    The primary key makes the insert the replay check (``bridge.db.nonces``); expired
    rows are purged in batches, found through the ``expires_at`` index.
    """

    __tablename__ = "carrier_nonces"

    carrier_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditCheckpoint(Base):
    """A home's signed audit checkpoint, kept append-only: rows are added, never changed.

    ``conflict`` rows are checkpoints the bridge refused because they went backwards
    (shorter than the latest, or as long with another hash); they are kept as evidence
    and never count as the latest. ``signed_at`` is the home's own time (Unix seconds).
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    home_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("homes.id", name="fk_audit_checkpoints_home_id"), index=True
    )
    length: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(SIGNATURE_BYTES))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    conflict: Mapped[bool] = mapped_column(Boolean)
