"""The store's tables, as SQLAlchemy Core: one schema for SQLite and PostgreSQL.

Identity is ``(vendor, account, id)`` everywhere, as in the neutral model; a rename changes a name, never
an identity. The migrations under ``migrations/versions`` create exactly these tables (a test compares them).

    runs              one ``collect``: when it started and ended, how many accounts were ok / failed
    run_accounts      one account in one run: its clock, its local day, ok or its typed error
    run_listings      one listing of one account in one run: ok with a count, or its typed error
    companies, devices, plans
                      the latest of each entity, first and last seen; ``digest`` tells a changed one from
                      an unchanged one, which only has its ``last_seen`` moved
    entity_names      every name an entity has had, when it first appeared and (for a former name) when it
                      was last seen; the current name is seen as long as its entity is
    jobs              one row per run of a backup, unique on (vendor, account, job_key); ``last_seen`` is
                      the last observation that changed it (a run listed again unchanged is not rewritten)
    verdicts          the health engine's verdict per device and plan (on each of its devices) per day
    migration_journal ``migrate apply``'s journal of writes
    alert_open        the open problems (alerts), one per dedupe key, as the last pass left them
    alert_outbox      every alert event owed to one plugin or sink: pending until acknowledged, then kept as
                      delivered (unique on recipient and idempotency key: an event is never queued twice)
    alert_imports     each JSON alert state file imported into the store (imported once, then left alone)
    alert_reconciled  the newest run whose alert pass reconciled each account (an older pass leaves it alone)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "SCHEMA_REVISION",
    "UTCDateTime",
    "alert_imports",
    "alert_open",
    "alert_outbox",
    "alert_reconciled",
    "companies",
    "devices",
    "entity_names",
    "jobs",
    "metadata",
    "migration_journal",
    "plans",
    "run_accounts",
    "run_listings",
    "runs",
    "verdicts",
]

SCHEMA_REVISION = "0005"
"""The Alembic revision this code reads and writes (the head of ``migrations/versions``)."""


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """An aware datetime, stored as UTC (SQLite keeps no zone: naive UTC text there; ``timestamptz`` on PostgreSQL)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps aware datetimes only")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # The text SQLAlchemy's SQLite DATETIME writes, made in C (isoformat) rather than field by field:
        # a daily run binds tens of thousands of these.
        def to_text(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("the store keeps aware datetimes only")
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

        return to_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: str | None) -> dt.datetime | None:
            if value is None:
                return None
            if len(value) in (19, 26):  # to_text's text: read as UTC in one C call (replace costs 8x as much)
                try:
                    parsed = dt.datetime.fromisoformat(value + "+00:00")
                except ValueError:
                    pass
                else:
                    if parsed.tzinfo is dt.UTC:
                        return parsed
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)

        return from_text


# Names are fixed so a migration, a constraint error and a test all speak of the same object on both dialects.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Vendor text (ids, names, messages) is TEXT: no vendor value is ever cut to fit a column.


def _identity() -> list[sa.Column[Any]]:
    return [
        sa.Column("vendor", sa.Text, primary_key=True),
        sa.Column("account", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
    ]


def _seen() -> list[sa.Column[Any]]:
    return [
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
    ]


runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("accounts_ok", sa.Integer, nullable=False, server_default="0"),
    sa.Column("accounts_failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("source", sa.Text, nullable=False, server_default="collect"),
)

run_accounts = sa.Table(
    "run_accounts",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("vendor", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("observed_at", UTCDateTime(), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error_class", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Index(None, "vendor", "account", "day"),
)

run_listings = sa.Table(
    "run_listings",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("vendor", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("operation", sa.Text, primary_key=True),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("records", sa.Integer),
    sa.Column("error_class", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Index(None, "vendor", "account", "operation", "day"),
)

companies = sa.Table(
    "companies",
    metadata,
    *_identity(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("parent_id", sa.Text),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    *_seen(),
)

devices = sa.Table(
    "devices",
    metadata,
    *_identity(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("company_id", sa.Text),
    sa.Column("os", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    *_seen(),
    sa.Index(None, "vendor", "account", "company_id"),
)

plans = sa.Table(
    "plans",
    metadata,
    *_identity(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("company_id", sa.Text),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    *_seen(),
    sa.Index(None, "vendor", "account", "company_id"),
)

entity_names = sa.Table(
    "entity_names",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("vendor", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("entity_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    *_seen(),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("vendor", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("job_key", sa.Text, primary_key=True),
    sa.Column("job_id", sa.Text, nullable=False),
    sa.Column("device_id", sa.Text),
    sa.Column("plan_id", sa.Text),
    sa.Column("company_id", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("vendor_status", sa.Text),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("size_bytes", sa.BigInteger),
    sa.Column("files", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("digest", sa.Text, nullable=False),
    *_seen(),
    sa.Index(None, "vendor", "account", "device_id", "day"),
    sa.Index(None, "vendor", "account", "plan_id", "day"),
    sa.Index(None, "vendor", "account", "company_id", "day"),
    sa.Index(None, "day"),
)

verdicts = sa.Table(
    "verdicts",
    metadata,
    sa.Column("vendor", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("entity_id", sa.Text, primary_key=True),
    # A plan is judged on each of its devices; '' for a device's own verdict or a plan without devices.
    sa.Column("device_id", sa.Text, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("company_id", sa.Text),
    sa.Column("health", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("observed_at", UTCDateTime(), nullable=False),
    sa.Index(None, "vendor", "account", "company_id", "day"),
    sa.Index(None, "vendor", "account", "day"),
)

migration_journal = sa.Table(
    "migration_journal",
    metadata,
    sa.Column("migration_id", sa.String(64), primary_key=True),
    sa.Column("step", sa.String(512), primary_key=True),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("target_id", sa.Text(), nullable=True),
    sa.Column("detail", sa.Text(), nullable=False, server_default="{}"),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("updated_at", sa.Text(), nullable=False),
)
"""``migrate apply``'s journal: one row per (migration, step), written before the step's write is sent."""

alert_open = sa.Table(
    "alert_open",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("vendor", sa.Text, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("problem", sa.String(16), nullable=False),
    sa.Column("first_seen", UTCDateTime(), nullable=False),
    sa.Column("last_seen", UTCDateTime(), nullable=False),
    sa.Column("alert", sa.Text, nullable=False),
    sa.Index(None, "vendor", "account"),
)
"""The open problems: ``alert`` is the alert's JSON (``Alert.to_json``), the other columns are for queries."""

alert_outbox = sa.Table(
    "alert_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("event_key", sa.String(64), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("alert_key", sa.Text, nullable=False),
    sa.Column("alert", sa.Text, nullable=False),
    sa.Column("queued_at", UTCDateTime(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("permanent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_until", UTCDateTime()),
    sa.Column("delivered_at", UTCDateTime()),
    sa.UniqueConstraint("recipient", "event_key"),
    sa.Index(None, "recipient", "state", "id"),
)
"""One alert event owed to one recipient (a plugin name or ``backupbridge.sink.<label>``), in queue order (``id``).

``state`` is ``pending`` until the recipient acknowledged it, then ``delivered`` (kept, so the unique
``(recipient, event_key)`` refuses the same event a second time). A collector delivering it holds a claim
(``claimed_by``, ``claimed_until``): no other collector takes it before the claim is released or runs out."""

alert_imports = sa.Table(
    "alert_imports",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("imported_at", UTCDateTime(), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("open_alerts", sa.Integer, nullable=False),
    sa.Column("deliveries", sa.Integer, nullable=False),
)
"""A JSON alert state file imported into the store (its resolved path): imported once, then left alone."""

alert_reconciled = sa.Table(
    "alert_reconciled",
    metadata,
    sa.Column("vendor", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("reconciled_at", UTCDateTime(), nullable=False),
)
"""The newest run (``runs.id``: runs are numbered as they begin) whose alert pass reconciled the account's
alerts, written under the alert lock with the open problems. A pass of a run begun before it leaves the
account's alerts as they were: an older view neither re-opens what a newer one recovered nor recovers what it
opened. A run that records without reconciling (``--no-alerts``, a dashboard's recording) writes nothing here,
so it never holds another run's alerts back."""
