"""The alert state in the store: the open problems and the outbox of deliveries, for collectors at once.

``StoreAlertState`` is the store's backend of ``alerts.AlertBackend`` (the JSON file's is ``AlertState``);
``alerts.open_alert_state(state_file, store=store)`` opens it. One pass goes:

1. ``StoreAlertState.locked(store, import_file=...)`` begins one write transaction holding the alert lock
   (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``pg_advisory_xact_lock``): the JSON state file is imported if it
   exists and this store never imported it (recorded in ``alert_imports``; a second import is a no-op, a
   corrupt file one ``AlertStateError`` with nothing written), and the open problems are loaded.
2. ``reconcile_events`` updates ``open``; ``enqueue`` queues the events; the first ``save`` writes both and
   commits, releasing the lock. Two collectors therefore reconcile one after the other, and the second sees
   the first's problems as open: it queues nothing twice (``(recipient, event_key)`` is unique, too). Before
   reconciling, ``reconciled_after`` tells which accounts a run begun later has reconciled already (left as
   they were); ``mark_reconciled`` marks the accounts this pass reconciled, written by that ``save``.
3. ``owed(name)`` claims the events owed to one recipient in a short transaction: each pending row gets this
   run's ``claimed_by`` and a lease (``claimed_until``); the events of an alert that another run holds a live
   claim on are left to it (whole: a recovery never overtakes its problem). Each delivery is acknowledged on
   its own (``mark_delivered``: ``state = 'delivered'``, kept), a failure recorded (``mark_failed``).
4. ``save`` after delivery, or leaving the block, gives back the claims this run still holds.

A run killed between a claim and its acknowledgement leaves the rows pending with a claim that runs out after
``lease``: the next run after that delivers them (at least once, with the same idempotency key), and nothing
acknowledged is ever sent again. A run that fails with an exception gives its claims back at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import socket
import stat
import uuid
import zlib
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from ..alerts import (
    Alert,
    AlertState,
    AlertStateError,
    Delivery,
    DeliveryFailure,
    DeliveryOutcome,
    Receiver,
    SinkRetry,
)
from ..errors import ValidationError
from . import schema
from .engine import Store
from .errors import StoreError

__all__ = ["DEFAULT_LEASE", "MAX_IMPORT_BYTES", "ImportResult", "StoreAlertState", "import_state_file"]

log = logging.getLogger("backupbridge.store.alerts")

DEFAULT_LEASE = dt.timedelta(minutes=15)
"""How long a claim on a delivery holds when its run neither acknowledges nor gives it back (killed)."""
MAX_IMPORT_BYTES = 64 * 1024 * 1024
"""A JSON state file larger than this is refused, not read (a state file of real alerts is far smaller)."""

_ALERT_LOCK = zlib.crc32(b"backupbridge.store.alerts")
_PENDING, _DELIVERED = "pending", "delivered"
_CHUNK = 500  # ids per IN (...): SQLite's bound-parameter limit is far above, statements stay small


# Built once: an acknowledgement per delivery should cost its round trip, not a statement's construction.
_ACKNOWLEDGE = (
    sa.update(schema.alert_outbox)
    .where(schema.alert_outbox.c.id == sa.bindparam("row_id"), schema.alert_outbox.c.state == _PENDING)
    .values(state=_DELIVERED, delivered_at=sa.bindparam("at"), claimed_by=None, claimed_until=None)
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _claim_lock(name: str) -> int:
    return zlib.crc32(f"backupbridge.store.alerts.claims|{name}".encode())


@attrs.frozen(kw_only=True)
class ImportResult:
    """A JSON state file imported into the store: its resolved path, how many open alerts and deliveries (one
    per event and recipient) were taken over."""

    source: str
    open_alerts: int
    deliveries: int


class StoreAlertState:
    """The open problems and the outbox, in the store (see the module docstring). Open it with ``locked``.

    Args:
        store: an open store at the current schema.
        lease: how long a claim holds without being acknowledged or given back.
        clock: the time claims, queues and acknowledgements are stamped with (tests move it).
    """

    def __init__(
        self,
        store: Store,
        *,
        lease: dt.timedelta = DEFAULT_LEASE,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.lease = lease
        self.clock = clock
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"
        self.open: dict[str, Alert] = {}
        self.imported: ImportResult | None = None
        self._saved: dict[str, Alert] = {}
        self._queued: list[Delivery] = []
        self._held: contextlib.ExitStack | None = None
        self._conn: sa.Connection | None = None
        self._rows: dict[int, tuple[Delivery, int]] = {}
        self._claims_until: dt.datetime | None = None
        self._deliveries: sa.Connection | None = None
        self._reconciled: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"StoreAlertState({self.store.url!r}, {len(self.open)} open)"

    # -- the pass's reconciliation: one transaction under the alert lock --------------------------------------

    @classmethod
    @contextlib.contextmanager
    def locked(
        cls,
        store: Store,
        *,
        import_file: Path | None = None,
        timeout: float = 120.0,
        lease: dt.timedelta = DEFAULT_LEASE,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> Iterator[StoreAlertState]:
        """The store's alert state, its lock held until the first ``save`` (or the end of the block).

        ``import_file``: a JSON state file (``AlertState``) to take over once: imported in the same transaction
        when it exists and this store has not imported it before; from then on it is never read again.
        Leaving the block without ``save`` keeps the import and nothing else; an exception keeps nothing, and
        gives back every claim this run holds.

        Raises:
            AlertStateError: the file to import cannot be read or is not an alert state (nothing imported).
            StoreError: the store is locked (longer than its busy timeout, or ``timeout`` on PostgreSQL),
                unreachable, or failed.
        """
        state = cls(store, lease=lease, clock=clock)
        state._begin(import_file, timeout)
        try:
            yield state
        except BaseException:
            state._abandon()
            raise
        else:
            state._end()

    def reconciled_after(self, runs: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
        """The accounts of ``runs`` (account -> the run its pass judges from) whose alerts a run begun after
        that one has reconciled, each with that later run's id (``schema.alert_reconciled``). Read under the
        alert lock: call it before the first ``save``.

        Raises:
            RuntimeError: the reconciliation was saved already (the lock is no longer held).
            ValidationError: a run id is not a run of this store (``store.begin_run`` gives one); nothing
                was written.
            StoreError: the store could not be read.
        """
        conn = self._conn
        if conn is None:
            raise RuntimeError("reconciled_after() reads under the alert lock: call it before save()")
        table = schema.alert_reconciled
        later: dict[tuple[str, str], int] = {}
        with self.store.errors("alert state"):
            ids = sorted(set(runs.values()))
            known = {
                found
                for chunk in _chunks(ids)
                for found in conn.execute(sa.select(schema.runs.c.id).where(schema.runs.c.id.in_(chunk))).scalars()
            }
            if missing := [run_id for run_id in ids if run_id not in known]:
                raise ValidationError(
                    f"run {missing[0]} is not a run of the store {self.store.url} (store.begin_run gives one)",
                    field="run_id",
                )
            for vendor in sorted({vendor for vendor, _ in runs}):
                oldest = min(run_id for (v, _), run_id in runs.items() if v == vendor)
                query = sa.select(table.c.account, table.c.run_id).where(
                    table.c.vendor == vendor, table.c.run_id > oldest
                )
                for account, newer in conn.execute(query):
                    ours = runs.get((vendor, account))
                    if ours is not None and newer > ours:
                        later[(vendor, account)] = newer
        return later

    def mark_reconciled(self, runs: Mapping[tuple[str, str], int]) -> None:
        """Record with the next ``save`` (the reconciliation's, under the alert lock) that each account's alerts
        were reconciled from the run it maps to; an account's mark only moves to a later run, never back."""
        for key, run_id in runs.items():
            self._reconciled[key] = max(run_id, self._reconciled.get(key, run_id))

    def _begin(self, import_file: Path | None, timeout: float) -> None:
        held = contextlib.ExitStack()
        with held:
            conn = held.enter_context(self.store.write("alert state"))
            held = held.pop_all()  # from here on, _commit or _rollback ends the transaction
        self._held, self._conn = held, conn
        try:
            with self.store.errors("alert state"):
                _lock(conn, _ALERT_LOCK, timeout)
                if import_file is not None:
                    self.imported = _import(conn, Path(import_file), self.clock(), timeout)
                self.open = _load_open(conn, self.store)
        except BaseException:
            self._rollback()  # nothing of the import is kept
            raise
        self._saved = dict(self.open)

    def _commit(self) -> None:
        held, self._held, self._conn = self._held, None, None
        if held is not None:
            held.close()

    def _rollback(self) -> None:
        held, conn, self._held, self._conn = self._held, self._conn, None, None
        if held is None or conn is None:
            return
        with contextlib.suppress(Exception):
            conn.rollback()
        with contextlib.suppress(Exception):
            held.close()

    def _abandon(self) -> None:
        self._rollback()
        try:
            self._release()
        except StoreError as exc:  # the claims run out after the lease; the error that ended the run matters
            log.warning("alert claims not given back (they run out after %s): %s", self.lease, exc)
        finally:
            self._close_deliveries()

    def _end(self) -> None:
        try:
            self._commit()  # without a save: the import, if any, and nothing else was written
            self._release()
        finally:
            self._close_deliveries()

    @contextlib.contextmanager
    def _delivery(self, what: str) -> Iterator[sa.Connection]:
        """One short write transaction of the delivery phase (a claim, an acknowledgement), on a connection
        kept for the run: each is committed on its own, without a checkout per delivery."""
        with self.store.errors(what):
            if self._deliveries is None:
                self._deliveries = self.store.engine.connect()
            try:
                with self._deliveries.begin():
                    yield self._deliveries
            except BaseException:
                self._close_deliveries()  # a failed connection is not used again
                raise

    def _close_deliveries(self) -> None:
        conn, self._deliveries = self._deliveries, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    # -- AlertBackend -----------------------------------------------------------------------------------------

    @property
    def outbox(self) -> list[Delivery]:
        """The events still owed (one entry per event, with every recipient it is still owed to), oldest first;
        with this pass's queued events while they are not saved."""
        query = (
            sa.select(
                schema.alert_outbox.c.event_key,
                schema.alert_outbox.c.event,
                schema.alert_outbox.c.alert,
                schema.alert_outbox.c.recipient,
            )
            .where(schema.alert_outbox.c.state == _PENDING)
            .order_by(schema.alert_outbox.c.id)
        )
        if self._conn is not None:
            rows = self._conn.execute(query).all()
        else:
            with self.store.read() as conn:
                rows = conn.execute(query).all()
        grouped: dict[str, Delivery] = {}
        for event_key, event, alert, recipient in rows:
            entry = grouped.get(event_key)
            if entry is None:
                grouped[event_key] = Delivery(event=event, alert=_alert(alert, self.store), pending=[recipient])
            else:
                entry.pending.append(recipient)
        return [*grouped.values(), *self._queued]

    def enqueue(
        self,
        opened: Iterable[Alert],
        recovered: Iterable[Alert],
        receivers: Iterable[Receiver],
        *,
        sinks: Iterable[str] = (),
        updated: Iterable[Alert] = (),
    ) -> int:
        """Queue ``problem``/``recovered``/``updated`` events for every receiver with that hook and every sink
        named (as ``AlertState.enqueue``); written by the next ``save``."""
        chosen = list(receivers)
        sink_names = list(sinks)
        queued = 0
        for event, alerts in (("problem", opened), ("recovered", recovered), ("updated", updated)):
            names = [r.name for r in chosen if r.hook(event) is not None] + sink_names
            for alert in alerts:
                if names:
                    self._queued.append(Delivery(event=event, alert=alert, pending=list(names)))
                    queued += 1
        return queued

    def save(self) -> None:
        """Write the open problems and the queued events; the first ``save`` of a block commits the
        reconciliation and releases the alert lock. Claims this run still holds are given back.

        Raises:
            StoreError: the store could not be written; nothing of this save was.
        """
        if self._conn is not None:
            try:
                with self.store.errors("alert state"):
                    self._write(self._conn)
            except BaseException:
                self._rollback()
                raise
            self._commit()
        elif self._queued or self._saved != self.open or self._reconciled:
            with self.store.write("alert state") as conn:
                _lock(conn, _ALERT_LOCK, None)
                self._write(conn)
        self._saved = dict(self.open)
        self._queued = []
        self._reconciled = {}
        self._release()

    def _write(self, conn: sa.Connection) -> None:
        table = schema.alert_open
        gone = sorted(set(self._saved) - set(self.open))
        for chunk in _chunks(gone):
            conn.execute(sa.delete(table).where(table.c.key.in_(chunk)))
        changed = [_open_row(alert) for key, alert in sorted(self.open.items()) if self._saved.get(key) != alert]
        if changed:
            insert = _insert(conn, table)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["key"],
                    set_={c: insert.excluded[c] for c in ("problem", "first_seen", "last_seen", "alert")},
                ),
                changed,
            )
        now = self.clock()
        rows: list[dict[str, Any]] = []
        for entry in self._queued:
            text = _dumps(entry.alert)  # once per event, however many recipients
            rows.extend(_outbox_row(entry, name, now, attempts=0, retry=None, text=text) for name in entry.pending)
        _insert_deliveries(conn, rows)
        if self._reconciled:
            marks = schema.alert_reconciled
            insert = _insert(conn, marks)
            upsert = insert.on_conflict_do_update(
                index_elements=["vendor", "account"],
                set_={"run_id": insert.excluded.run_id, "reconciled_at": insert.excluded.reconciled_at},
                where=marks.c.run_id < insert.excluded.run_id,
            )
            found = sorted(self._reconciled.items())
            for chunk in _chunks(found):
                conn.execute(
                    upsert,
                    [{"vendor": v, "account": a, "run_id": run_id, "reconciled_at": now} for (v, a), run_id in chunk],
                )

    def deliver(self, receivers: Iterable[Receiver], *, sinks: Container[str] = ()) -> DeliveryOutcome:
        """Call each plugin receiver for each event it is owed and this run could claim, in order, each call on
        its own (as ``AlertState.deliver``: a failure keeps the event, and the alert's later events wait)."""
        from ..redaction import redact

        self._no_reconciliation("deliver")
        by_name = {r.name: r for r in receivers}
        delivered, failures = 0, []
        for name, receiver in by_name.items():
            if name in sinks:
                continue
            blocked: set[str] = set()
            for entry in self.owed(name):
                hook = receiver.hook(entry.event)
                if hook is None or entry.alert.key in blocked:
                    continue
                try:
                    hook(entry.alert)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # one plugin's failure is its own, never the run's (GeneratorExit too)
                    message = redact(f"{type(exc).__name__}: {exc}")
                    blocked.add(entry.alert.key)
                    previous = entry.retries.get(name)
                    retry = SinkRetry(attempts=(previous.attempts if previous else 0) + 1, last_error=message[:500])
                    self.mark_failed(entry, name, retry)
                    failures.append(DeliveryFailure(plugin=name, event=entry.event, key=entry.alert.key, error=message))
                    log.warning("alert %s %s not delivered to %s: %s", entry.event, entry.alert.key, name, message)
                else:
                    self.mark_delivered(entry, name)
                    delivered += 1
        outbox = schema.alert_outbox
        with self.store.read() as conn:
            pending = {
                recipient: int(number)
                for recipient, number in conn.execute(
                    sa.select(outbox.c.recipient, sa.func.count())
                    .where(outbox.c.state == _PENDING)
                    .group_by(outbox.c.recipient)
                ).all()
            }
        absent = sorted(name for name in pending if name not in by_name and name not in sinks)
        return DeliveryOutcome(
            delivered=delivered, failures=tuple(failures), pending=sum(pending.values()), absent=tuple(absent)
        )

    # -- the sinks' Outbox: claims and acknowledgements --------------------------------------------------------

    def owed(self, name: str) -> list[Delivery]:
        """Claim and return the events owed to ``name``, oldest first: every pending one but those of an alert
        another run holds a live claim on (left to that run, all of the alert's events)."""
        self._no_reconciliation("owed")
        outbox = schema.alert_outbox
        now = self.clock()
        with self._delivery("alert delivery claim") as conn:
            _lock(conn, _claim_lock(name), None)
            rows = conn.execute(
                sa.select(outbox).where(outbox.c.recipient == name, outbox.c.state == _PENDING).order_by(outbox.c.id)
            ).all()
            busy = {
                row.alert_key
                for row in rows
                if row.claimed_by is not None
                and row.claimed_by != self.owner
                and row.claimed_until is not None
                and row.claimed_until > now
            }
            mine = [row for row in rows if row.alert_key not in busy]
            until = now + self.lease
            for chunk in _chunks([row.id for row in mine]):
                conn.execute(
                    sa.update(outbox).where(outbox.c.id.in_(chunk)).values(claimed_by=self.owner, claimed_until=until)
                )
        if mine:
            self._claims_until = until
        entries = []
        for row in mine:
            retry = SinkRetry(
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                last_error=row.last_error,
                permanent=bool(row.permanent),
            )
            entry = Delivery(
                event=row.event,
                alert=_alert(row.alert, self.store),
                pending=[name],
                attempts=row.attempts,
                last_error=row.last_error,
                retries={name: retry} if row.attempts else {},
            )
            self._rows[id(entry)] = (entry, row.id)
            entries.append(entry)
        return entries

    def mark_delivered(self, entry: Delivery, name: str) -> None:
        """``name`` acknowledged ``entry``: the row is delivered (kept; never sent again), in its own transaction."""
        row_id = self._row(entry)
        now = self.clock()
        with self._delivery("alert delivery") as conn:
            conn.execute(_ACKNOWLEDGE, {"row_id": row_id, "at": now})
            self._renew(conn, now)
        if name in entry.pending:
            entry.pending.remove(name)
        entry.retries.pop(name, None)
        del self._rows[id(entry)]

    def mark_failed(self, entry: Delivery, name: str, retry: SinkRetry) -> None:
        """``name`` failed ``entry``: the row stays pending with ``retry`` recorded (the claim is given back with
        the others when the run ends)."""
        row_id = self._row(entry)
        outbox = schema.alert_outbox
        with self._delivery("alert delivery") as conn:
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == row_id, outbox.c.state == _PENDING)
                .values(
                    attempts=retry.attempts,
                    last_error=retry.last_error,
                    next_attempt_at=retry.next_attempt_at,
                    permanent=retry.permanent,
                )
            )
            self._renew(conn, self.clock())
        entry.attempts += 1
        entry.last_error = retry.last_error
        entry.retries[name] = retry

    def _row(self, entry: Delivery) -> int:
        found = self._rows.get(id(entry))
        if found is None or found[0] is not entry:
            raise ValueError("this delivery was not claimed by this run (owed() gives the entries to acknowledge)")
        return found[1]

    def _renew(self, conn: sa.Connection, now: dt.datetime) -> None:
        """Push this run's claims out by a lease once half of it is gone (a long delivery keeps its events)."""
        if self._claims_until is None or now < self._claims_until - self.lease / 2:
            return
        outbox = schema.alert_outbox
        self._claims_until = now + self.lease
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.claimed_by == self.owner, outbox.c.state == _PENDING)
            .values(claimed_until=self._claims_until)
        )

    def _release(self) -> None:
        """Give back every claim this run holds on events it did not deliver."""
        if self._claims_until is None:
            return
        outbox = schema.alert_outbox
        with self._delivery("alert delivery release") as conn:
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.claimed_by == self.owner, outbox.c.state == _PENDING)
                .values(claimed_by=None, claimed_until=None)
            )
        self._claims_until = None
        self._rows.clear()

    def _no_reconciliation(self, what: str) -> None:
        if self._conn is not None:  # on SQLite the claim would wait for this run's own lock
            raise RuntimeError(f"save() the reconciliation before {what}(): it holds the store's alert lock")


def import_state_file(store: Store, path: Path, *, timeout: float = 120.0) -> ImportResult | None:
    """Import a JSON alert state file into the store once; ``None`` when it does not exist or this store has
    imported it before (the file is left alone either way).

    Raises:
        AlertStateError: the file cannot be read or is not an alert state; nothing was imported.
    """
    with StoreAlertState.locked(store, import_file=path, timeout=timeout) as state:
        return state.imported


# -- helpers ---------------------------------------------------------------------------------------------------


def _lock(conn: sa.Connection, key: int, timeout: float | None) -> None:
    """The transaction-scoped lock on PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` already holds the file's)."""
    if conn.dialect.name != "postgresql":
        return
    if timeout is not None:
        conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'"))
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    # The dialect's own module, imported when used: the PostgreSQL dialect costs a collect on SQLite ~40 ms.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _dumps(alert: Alert) -> str:
    return json.dumps(alert.to_json(), sort_keys=True, ensure_ascii=False)


def _alert(text: str, store: Store) -> Alert:
    try:
        return Alert.from_json(json.loads(text))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        raise AlertStateError(
            f"the store {store.url} holds an alert it cannot read: {type(exc).__name__}: {exc}"
        ) from exc


def _open_row(alert: Alert) -> dict[str, Any]:
    return {
        "key": alert.key,
        "vendor": alert.vendor,
        "account": alert.account,
        "problem": alert.problem.value,
        "first_seen": alert.first_seen,
        "last_seen": alert.last_seen,
        "alert": _dumps(alert),
    }


def _outbox_row(
    entry: Delivery,
    name: str,
    now: dt.datetime,
    *,
    attempts: int,
    retry: SinkRetry | None,
    text: str | None = None,
) -> dict[str, Any]:
    return {
        "recipient": name,
        "event_key": entry.idempotency_key,
        "event": entry.event,
        "alert_key": entry.alert.key,
        "alert": text if text is not None else _dumps(entry.alert),
        "queued_at": now,
        "state": _PENDING,
        "attempts": retry.attempts if retry is not None else attempts,
        "last_error": retry.last_error if retry is not None and retry.last_error else entry.last_error,
        "next_attempt_at": retry.next_attempt_at if retry is not None else None,
        "permanent": retry.permanent if retry is not None else False,
        "claimed_by": None,
        "claimed_until": None,
        "delivered_at": None,
    }


def _insert_deliveries(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Insert the rows in order; an event already queued for a recipient (the same idempotency key) is not
    queued again. Returns how many were new."""
    if not rows:
        return 0
    table = schema.alert_outbox
    before = _count(conn, table)
    # Executed in order (the ids keep the queue's order); the transaction holds the alert lock, so no other
    # run inserts meanwhile and the difference is what this call added.
    conn.execute(_insert(conn, table).on_conflict_do_nothing(index_elements=["recipient", "event_key"]), rows)
    return _count(conn, table) - before


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _load_open(conn: sa.Connection, store: Store) -> dict[str, Alert]:
    table = schema.alert_open
    return {key: _alert(text, store) for key, text in conn.execute(sa.select(table.c.key, table.c.alert)).all()}


def _import(conn: sa.Connection, path: Path, now: dt.datetime, timeout: float) -> ImportResult | None:
    """Take over ``path`` (a JSON alert state) inside ``conn``'s transaction, once per store."""
    source = os.path.realpath(path)
    imports = schema.alert_imports
    if conn.execute(sa.select(imports.c.source).where(imports.c.source == source)).first() is not None:
        return None  # imported before: left alone, whatever it holds now
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AlertStateError(f"cannot read the alert state file {path}: {exc.strerror or exc}") from exc
    if stat.S_ISREG(found.st_mode) and found.st_size > MAX_IMPORT_BYTES:
        raise AlertStateError(
            f"alert state file {path} is {found.st_size} bytes, more than an alert state holds "
            f"({MAX_IMPORT_BYTES} at most); nothing was imported"
        )
    try:
        with AlertState.locked(path, timeout=timeout) as legacy:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except AlertStateError as exc:
        raise AlertStateError(f"{exc}; nothing was imported into the store") from exc
    except OSError as exc:
        raise AlertStateError(f"cannot read the alert state file {path}: {exc.strerror or exc}") from exc
    table = schema.alert_open
    opened = [_open_row(alert) for alert in legacy.open.values()]
    open_added = 0
    if opened:  # an alert the store already has open stays as the store has it
        before = _count(conn, table)
        conn.execute(_insert(conn, table).on_conflict_do_nothing(index_elements=["key"]), opened)
        open_added = _count(conn, table) - before
    rows = [
        _outbox_row(entry, name, now, attempts=entry.attempts, retry=entry.retries.get(name))
        for entry in legacy.outbox
        for name in entry.pending
    ]
    added = _insert_deliveries(conn, rows)
    conn.execute(
        sa.insert(imports).values(
            source=source, imported_at=now, digest=digest, open_alerts=open_added, deliveries=added
        )
    )
    log.info("imported the alert state file %s: %d open alerts, %d deliveries", source, open_added, added)
    return ImportResult(source=source, open_alerts=open_added, deliveries=added)
