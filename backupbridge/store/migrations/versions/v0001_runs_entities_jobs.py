"""Runs, accounts and listings per run, companies/devices/plans with their names, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen here on purpose: a migration describes the schema as it was, not as schema.py is today.
_TS = sa.DateTime(timezone=True)


def _identity() -> list[sa.Column[str]]:
    return [
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
    ]


def _seen() -> list[sa.Column[object]]:
    return [sa.Column("first_seen", _TS, nullable=False), sa.Column("last_seen", _TS, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("accounts_ok", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accounts_failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("source", sa.Text(), server_default="collect", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_table(
        "run_accounts",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("observed_at", _TS, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error_class", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_accounts_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "vendor", "account", name=op.f("pk_run_accounts")),
    )
    op.create_index(op.f("ix_run_accounts_vendor_account_day"), "run_accounts", ["vendor", "account", "day"])
    op.create_table(
        "run_listings",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("error_class", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_listings_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "vendor", "account", "operation", name=op.f("pk_run_listings")),
    )
    op.create_index(
        op.f("ix_run_listings_vendor_account_operation_day"), "run_listings", ["vendor", "account", "operation", "day"]
    )
    op.create_table(
        "companies",
        *_identity(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        *_seen(),
        sa.PrimaryKeyConstraint("vendor", "account", "id", name=op.f("pk_companies")),
    )
    op.create_table(
        "devices",
        *_identity(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("company_id", sa.Text(), nullable=True),
        sa.Column("os", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        *_seen(),
        sa.PrimaryKeyConstraint("vendor", "account", "id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_vendor_account_company_id"), "devices", ["vendor", "account", "company_id"])
    op.create_table(
        "plans",
        *_identity(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("company_id", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        *_seen(),
        sa.PrimaryKeyConstraint("vendor", "account", "id", name=op.f("pk_plans")),
    )
    op.create_index(op.f("ix_plans_vendor_account_company_id"), "plans", ["vendor", "account", "company_id"])
    op.create_table(
        "entity_names",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        *_seen(),
        sa.PrimaryKeyConstraint("kind", "vendor", "account", "entity_id", "name", name=op.f("pk_entity_names")),
    )
    op.create_table(
        "jobs",
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("job_key", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("plan_id", sa.Text(), nullable=True),
        sa.Column("company_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("vendor_status", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("files", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("digest", sa.Text(), nullable=False),
        *_seen(),
        sa.PrimaryKeyConstraint("vendor", "account", "job_key", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_day"), "jobs", ["day"])
    op.create_index(op.f("ix_jobs_vendor_account_company_id_day"), "jobs", ["vendor", "account", "company_id", "day"])
    op.create_index(op.f("ix_jobs_vendor_account_device_id_day"), "jobs", ["vendor", "account", "device_id", "day"])
    op.create_index(op.f("ix_jobs_vendor_account_plan_id_day"), "jobs", ["vendor", "account", "plan_id", "day"])


def downgrade() -> None:
    for table in ("jobs", "entity_names", "plans", "devices", "companies", "run_listings", "run_accounts", "runs"):
        op.drop_table(table)
