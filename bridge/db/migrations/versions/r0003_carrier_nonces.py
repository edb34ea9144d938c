"""Carrier nonces: kept until a request carrying one could no longer be fresh, across restarts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # The primary key is the replay check: a second insert of one (carrier, nonce) fails.
    # No foreign key: only requests from known carriers get this far, and the check stays
    # one indexed insert.
    op.create_table(
        "carrier_nonces",
        sa.Column("carrier_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("carrier_id", "nonce", name="pk_carrier_nonces"),
    )
    op.create_index("ix_carrier_nonces_expires_at", "carrier_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_carrier_nonces_expires_at", table_name="carrier_nonces")
    op.drop_table("carrier_nonces")
