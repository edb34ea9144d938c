"""Deliveries: what a carrier announced, what the home answered, where the visit stands.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "home_id",
            sa.String(32),
            sa.ForeignKey("homes.id", name="fk_deliveries_home_id"),
            nullable=False,
        ),
        sa.Column(
            "carrier_id",
            sa.String(32),
            sa.ForeignKey("carriers.id", name="fk_deliveries_carrier_id"),
            nullable=False,
        ),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_deliveries_home_id", "deliveries", ["home_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_home_id", table_name="deliveries")
    op.drop_table("deliveries")
