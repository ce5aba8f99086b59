"""The migration journal: every write of ``migrate apply`` recorded in the store *before* it is sent.

One row per (migration, step). A step is ``started`` before its write goes out and ``done`` (with the id it
created or found) once the vendor answered; a failure leaves it ``failed`` with the error's one line. So a
run that dies resumes where it stopped: ``done`` steps are skipped, and a ``started`` or ``failed`` one is
looked up on the target (did the write land?) before it is sent again, never retried blindly.

The table lives in the history store (SQLite by default), beside the store's own tables; the store's
schema migrations create it (revision 0003), so an older store says to run ``backupbridge store upgrade``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import attrs
import sqlalchemy as sa

from ..store import Store
from ..store.schema import metadata, migration_journal

__all__ = ["Journal", "JournalEntry", "journal_table", "metadata"]

journal_table = migration_journal

STATES = ("started", "done", "failed")


@attrs.frozen(kw_only=True)
class JournalEntry:
    step: str
    seq: int
    state: str
    target_id: str | None
    detail: Mapping[str, Any]
    error: str | None
    attempts: int


class Journal:
    """One migration's steps in the store.

    Args:
        store: an open store.
        migration_id: the plan file's ``migration_id``.
    """

    def __init__(self, store: Store, migration_id: str) -> None:
        self.store = store
        self.migration_id = migration_id
        store.check_schema()  # the journal's table comes with the store's schema (revision 0003)

    def entries(self) -> dict[str, JournalEntry]:
        """Every step of this migration, by step key."""
        t = journal_table
        with self.store.read() as conn:
            rows = conn.execute(sa.select(t).where(t.c.migration_id == self.migration_id).order_by(t.c.seq)).all()
        return {
            r.step: JournalEntry(
                step=r.step,
                seq=r.seq,
                state=r.state,
                target_id=r.target_id,
                detail=json.loads(r.detail or "{}"),
                error=r.error,
                attempts=r.attempts,
            )
            for r in rows
        }

    def get(self, step: str) -> JournalEntry | None:
        return self.entries().get(step)

    def _now(self) -> str:
        return dt.datetime.now(dt.UTC).isoformat()

    def record(
        self,
        step: str,
        state: str,
        *,
        target_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Write one step's state (one transaction; ``started`` counts an attempt)."""
        assert state in STATES
        t = journal_table
        key = (t.c.migration_id == self.migration_id) & (t.c.step == step)
        with self.store.write(f"journal step {step}") as conn:
            row = conn.execute(sa.select(t.c.seq, t.c.attempts, t.c.detail).where(key)).first()
            values: dict[str, Any] = {"state": state, "error": error, "updated_at": self._now()}
            if target_id is not None:
                values["target_id"] = target_id
            if detail is not None:
                values["detail"] = json.dumps(dict(detail), sort_keys=True)
            if row is None:
                seq = conn.execute(
                    sa.select(sa.func.count()).select_from(t).where(t.c.migration_id == self.migration_id)
                ).scalar_one()
                values.setdefault("detail", "{}")
                conn.execute(
                    t.insert().values(
                        migration_id=self.migration_id,
                        step=step,
                        seq=int(seq) + 1,
                        attempts=1 if state == "started" else 0,
                        **values,
                    )
                )
            else:
                if state == "started":
                    values["attempts"] = row.attempts + 1
                conn.execute(t.update().where(key).values(**values))
