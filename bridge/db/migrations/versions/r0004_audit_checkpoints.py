"""Audit checkpoints: each home's signed chain heads, append-only, conflicts kept as evidence.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "home_id",
            sa.String(32),
            sa.ForeignKey("homes.id", name="fk_audit_checkpoints_home_id"),
            nullable=False,
        ),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.BigInteger, nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conflict", sa.Boolean, nullable=False),
    )
    op.create_index("ix_audit_checkpoints_home_id", "audit_checkpoints", ["home_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_home_id", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
