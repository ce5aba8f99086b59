"""Keeping a store: ``prune`` what is older than a retention, ``info`` on what it holds."""

from __future__ import annotations

import datetime as dt

import attrs
import sqlalchemy as sa

from ..errors import ValidationError
from . import schema
from .engine import Store, head_revision

__all__ = ["PruneResult", "StoreInfo", "prune", "store_info"]


@attrs.frozen(kw_only=True)
class PruneResult:
    """Rows deleted per table, and the first day kept."""

    kept_from: dt.date
    deleted: dict[str, int]


def prune(store: Store, older_than: dt.timedelta, *, now: dt.datetime | None = None) -> PruneResult:
    """Delete runs, jobs and verdicts of the days before the day of ``now - older_than``, and devices,
    plans, companies and names not seen since, and alert deliveries acknowledged before it. One transaction:
    a prune that fails deletes nothing.

    Raises:
        ValidationError: ``older_than`` is shorter than a day.
        StoreError: the store could not be written.
    """
    if older_than < dt.timedelta(days=1):
        raise ValidationError("keep at least one day (older_than >= 1 day)", field="older_than")
    # Whole days: what is kept starts at midnight (UTC) of the first day kept, so no day is kept half.
    first_day = ((now or dt.datetime.now(dt.UTC)) - older_than).astimezone(dt.UTC).date()
    cutoff = dt.datetime.combine(first_day, dt.time(0), tzinfo=dt.UTC)
    deleted: dict[str, int] = {}
    with store.write("prune") as conn:
        for table, condition in (
            (schema.jobs, schema.jobs.c.day < first_day),
            (schema.verdicts, schema.verdicts.c.day < first_day),
            # run_accounts and run_listings go with their run (ON DELETE CASCADE), deleted explicitly too so
            # a database without enforced foreign keys is pruned the same.
            (
                schema.run_listings,
                schema.run_listings.c.run_id.in_(sa.select(schema.runs.c.id).where(schema.runs.c.started_at < cutoff)),
            ),
            (
                schema.run_accounts,
                schema.run_accounts.c.run_id.in_(sa.select(schema.runs.c.id).where(schema.runs.c.started_at < cutoff)),
            ),
            (schema.runs, schema.runs.c.started_at < cutoff),
            # A mark of a run no longer stored: on SQLite a pruned run's id is given out again (the next id is
            # the highest left plus one), and a newer run would be taken for one begun before the mark.
            (
                schema.alert_reconciled,
                schema.alert_reconciled.c.run_id.not_in(sa.select(schema.runs.c.id)),
            ),
            (schema.entity_names, schema.entity_names.c.last_seen < cutoff),
            (schema.devices, schema.devices.c.last_seen < cutoff),
            (schema.plans, schema.plans.c.last_seen < cutoff),
            (schema.companies, schema.companies.c.last_seen < cutoff),
            # Acknowledged alert deliveries (pending ones and open problems are kept, however old).
            (
                schema.alert_outbox,
                (schema.alert_outbox.c.state == "delivered") & (schema.alert_outbox.c.delivered_at < cutoff),
            ),
        ):
            deleted[table.name] = conn.execute(sa.delete(table).where(condition)).rowcount
    return PruneResult(kept_from=first_day, deleted=deleted)


@attrs.frozen(kw_only=True)
class StoreInfo:
    url: str
    dialect: str
    revision: str | None
    expected_revision: str
    rows: dict[str, int]
    first_run: dt.datetime | None
    last_run: dt.datetime | None
    size_bytes: int | None

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.expected_revision


def store_info(store: Store) -> StoreInfo:
    """The store's URL, schema revision (and the one this code needs), row counts and size.

    Opens no table when the schema is not the current one (only the revision is read then).
    """
    revision = store.revision()
    expected = head_revision()
    rows: dict[str, int] = {}
    first = last = None
    size = None
    if revision == expected:
        with store.read() as conn:
            for table in schema.metadata.sorted_tables:
                rows[table.name] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            first, last = conn.execute(
                sa.select(sa.func.min(schema.runs.c.started_at), sa.func.max(schema.runs.c.started_at))
            ).one()
            if store.dialect == "sqlite":
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
                page_size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
                size = int(pages) * int(page_size)
            else:
                size = conn.execute(
                    sa.text(
                        "SELECT sum(pg_total_relation_size(quote_ident(table_name)::regclass)) "
                        "FROM information_schema.tables WHERE table_schema = current_schema()"
                    )
                ).scalar()
                size = int(size) if size is not None else None
    return StoreInfo(
        url=store.url,
        dialect=store.dialect,
        revision=revision,
        expected_revision=expected,
        rows=rows,
        first_run=first,
        last_run=last,
        size_bytes=size,
    )
