"""The migration journal: every write of ``migrate apply``, recorded before it is sent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A development store may hold the table already (the journal created it itself before this revision).
    if sa.inspect(op.get_bind()).has_table("migration_journal"):
        return
    op.create_table(
        "migration_journal",
        sa.Column("migration_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(512), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("migration_id", "step", name=op.f("pk_migration_journal")),
    )


def downgrade() -> None:
    op.drop_table("migration_journal")
