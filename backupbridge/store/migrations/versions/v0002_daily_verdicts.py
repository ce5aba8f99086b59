"""The health engine's verdict per device and plan per day (what compliance is computed from).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "verdicts",
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("company_id", sa.Text(), nullable=True),
        sa.Column("health", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vendor", "account", "kind", "entity_id", "device_id", "day", name=op.f("pk_verdicts")),
    )
    op.create_index(op.f("ix_verdicts_vendor_account_day"), "verdicts", ["vendor", "account", "day"])
    op.create_index(
        op.f("ix_verdicts_vendor_account_company_id_day"), "verdicts", ["vendor", "account", "company_id", "day"]
    )


def downgrade() -> None:
    op.drop_table("verdicts")
