"""Opening a store: the URL, the engine (WAL and ``BEGIN IMMEDIATE`` on SQLite), the schema check, upgrades.

Every database error leaves here as one of our exceptions with one clear line (``StoreError``,
``StoreURLError``, ``StoreSchemaError``); a transaction that fails is rolled back whole.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .errors import StoreError, StoreSchemaError, StoreURLError
from .schema import SCHEMA_REVISION

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and Mako behind it) is imported only to create, upgrade or judge a schema that is not the current
# one: opening a current store reads alembic_version itself, so a report with a store does not pay for it.

__all__ = ["DEFAULT_BUSY_TIMEOUT", "MIGRATIONS", "Store", "head_revision", "open_store", "parse_url"]

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_BUSY_TIMEOUT = 30.0
"""Seconds a writer waits for another writer's lock on an SQLite store before giving up."""

_SUPPORTED = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises creating and upgrading the schema.
_SCHEMA_LOCK = zlib.crc32(b"backupbridge.store.schema")


def parse_url(url: str | sa.URL) -> sa.URL:
    """A store URL, checked: SQLite or PostgreSQL (``postgresql://`` means psycopg 3).

    Raises:
        StoreURLError: the URL does not parse, or names another database.
    """
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number ([::1:1)
        raise StoreURLError(f"the store URL {_shown(str(url))!r} does not parse; use {_SUPPORTED}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    raise StoreURLError(
        f"the store URL names {parsed.drivername!r}, which the store does not support; use {_SUPPORTED}"
    )


def _shown(url: str) -> str:
    """A URL as it may be printed: the password, if any, replaced."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return url.split("@", 1)[-1] if "@" in url else url


def head_revision() -> str:
    """The schema revision this code reads and writes (the head of the migrations; ``schema.SCHEMA_REVISION``)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Store:
    """An open store. Use ``write()`` for one atomic unit of work and ``read()`` for queries.

    Args:
        engine: a SQLAlchemy engine made by ``open_store`` (SQLite set up for concurrent writers).
    """

    def __init__(self, engine: sa.Engine, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.engine = engine
        self.busy_timeout = busy_timeout

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The store's URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @contextlib.contextmanager
    def write(self, what: str = "write") -> Iterator[sa.Connection]:
        """One transaction that takes the write lock at once (``BEGIN IMMEDIATE`` on SQLite): all or nothing."""
        with self._errors(what), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """One read transaction (a consistent view; it does not block writers)."""
        with self._errors("read"), self.engine.connect() as conn:
            conn.execution_options(backupbridge_read=True)
            if self.dialect == "postgresql":
                # Every query of one answer sees the same data (READ COMMITTED would give each its own).
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Database errors inside the block leave it as ``StoreError`` with one clear line (as in ``write``),
        for work on a connection held open across calls (``store.alerts``)."""
        return self._errors(what)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except sa.exc.DBAPIError as exc:
            raise StoreError(_describe(exc, self, what)) from exc
        except sa.exc.StatementError as exc:  # a value refused while it was bound (a naive time from a plugin)
            reason = _first_line(exc.orig) if exc.orig is not None else type(exc).__name__
            raise StoreError(f"the store {self.url}: {what} failed: a value cannot be stored: {reason}") from exc
        except UnicodeEncodeError as exc:  # vendor text that is not Unicode (a lone surrogate from a JSON escape)
            raise StoreError(
                f"the store {self.url}: {what} failed: a text is not valid Unicode ({exc.reason}) and cannot be stored"
            ) from exc
        except OSError as exc:
            raise StoreError(f"the store {self.url}: {what} failed: {exc.strerror or exc}") from exc

    def revision(self) -> str | None:
        """The store's schema revision (None for an empty database)."""
        with self.read() as conn:
            return _current_revision(conn)

    def check_schema(self) -> None:
        """Raise ``StoreSchemaError`` unless the store's schema is the one this code needs."""
        with self.read() as conn:
            _check(conn, self)

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to this code's revision; ``(from, to)``. Concurrent upgrades wait for each other.

        Raises:
            StoreSchemaError: the store is newer than this code, or not a backupbridge store.
        """
        from alembic import command

        with self.write("upgrade") as conn:
            _lock_schema(conn)
            found = _current_revision(conn)
            head = head_revision()
            if found is None and _foreign_tables(conn):
                raise _not_ours(self)
            if found is not None and not _known(found):
                raise _newer(self, found, head)
            if found != head:
                command.upgrade(_alembic_config(conn), "head")
            return found, head

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _current_revision(conn: sa.Connection) -> str | None:
    """What Alembic's ``get_current_revision`` answers, read without importing Alembic: the one row of
    ``alembic_version`` (None when the table or its row is missing)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:  # branches: this code never makes them; let Alembic say what it makes of it
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()
    return str(found[0]) if found else None


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory.from_config(_alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises its own ResolutionError/CommandError for an unknown revision
        return False


def _lock_schema(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})


def _foreign_tables(conn: sa.Connection) -> list[str]:
    return sorted(set(sa.inspect(conn).get_table_names()) - {"alembic_version"})


def _check(conn: sa.Connection, store: Store) -> None:
    found = _current_revision(conn)
    if found == SCHEMA_REVISION:  # the common case, without Alembic (a test holds it equal to the head)
        return
    head = head_revision()
    if found == head:
        return
    if found is None:
        if _foreign_tables(conn):
            raise _not_ours(store)
        raise StoreSchemaError(
            f"the store {store.url} is empty: run 'backupbridge store upgrade'{_store_hint(store)}",
            found=None,
            expected=head,
        )
    if not _known(found):
        raise _newer(store, found, head)
    raise StoreSchemaError(
        f"the store {store.url} has schema {found}, this backupbridge needs {head}: "
        f"run 'backupbridge store upgrade'{_store_hint(store)}",
        found=found,
        expected=head,
    )


def _store_hint(store: Store) -> str:
    return f" --store '{store.url}'" if store.dialect == "postgresql" else ""


def _newer(store: Store, found: str, head: str) -> StoreSchemaError:
    return StoreSchemaError(
        f"the store {store.url} has schema {found}, newer than this backupbridge knows (it reads {head}): "
        "upgrade backupbridge (pip install -U backupbridge) or point --store at another store",
        found=found,
        expected=head,
    )


def _not_ours(store: Store) -> StoreSchemaError:
    return StoreSchemaError(
        f"the database {store.url} holds tables but no backupbridge schema: point --store at an empty database "
        "or at a backupbridge store",
        found=None,
        expected=head_revision(),
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0].strip() if text else type(error).__name__


def _describe(exc: sa.exc.DBAPIError, store: Store, what: str) -> str:
    """One line for a database failure: what it means to the user, never a statement or its parameters."""
    message = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    lowered = message.lower()
    code = getattr(exc.orig, "sqlstate", None)
    if "database is locked" in lowered or "database table is locked" in lowered:
        return (
            f"the store {store.url} is locked by another writer (waited {store.busy_timeout:g}s); "
            f"nothing of this {what} was written, try again"
        )
    if code == "55P03":  # lock_timeout: another run holds the lock (the alert lock on PostgreSQL)
        return f"the store {store.url} is locked by another run; nothing of this {what} was written, try again"
    if "disk is full" in lowered or "disk full" in lowered or code == "53100":
        return f"the disk holding the store {store.url} is full; nothing of this {what} was written"
    if "unable to open database file" in lowered:
        return f"cannot open the store {store.url}: its directory does not exist or is not writable"
    if "readonly database" in lowered or code == "25006":
        return f"the store {store.url} is read-only; nothing of this {what} was written"
    if "file is not a database" in lowered:
        return f"{store.url} is not an SQLite database"
    if store.dialect == "postgresql" and (code is None or code.startswith("08")):
        return f"cannot reach the store {store.url}: {message}"
    return f"the store {store.url}: {what} failed: {message}"


def open_store(
    url: str | sa.URL,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    create: bool = True,
    check: bool = True,
    **engine_options: Any,
) -> Store:
    """Open the store at ``url``; a new, empty one is created at this code's schema (``create``).

    An existing store is never migrated here: if its schema is older or newer than this code,
    ``StoreSchemaError`` says what to run (``backupbridge store upgrade``).

    Args:
        url: ``sqlite:///PATH`` or ``postgresql+psycopg://USER@HOST[:PORT]/DB`` (see ``store.config``).
        busy_timeout: seconds an SQLite writer waits for another's lock.
        create: create the schema in an empty database.
        check: check the schema revision (``store upgrade`` and ``store info`` open without it).

    Raises:
        StoreURLError: the URL does not parse, or its driver is not installed.
        StoreSchemaError: the schema is older or newer than this code.
        StoreError: the database cannot be reached, opened or written.
    """
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed, busy_timeout, engine_options)
        else:
            engine = _postgres_engine(parsed, engine_options)
    except ImportError:
        raise StoreURLError("the PostgreSQL driver is not installed: pip install 'backupbridge[postgres]'") from None
    except sa.exc.ArgumentError as exc:
        raise StoreURLError(f"the store URL {parsed.render_as_string(hide_password=True)!r}: {exc}") from None
    store = Store(engine, busy_timeout=busy_timeout)
    try:
        if create and store.revision() is None:
            with store.read() as conn:
                empty = not _foreign_tables(conn)
            if empty:
                store.upgrade()
        if check:
            store.check_schema()
    except BaseException:
        store.close()
        raise
    return store


def _sqlite_engine(url: sa.URL, busy_timeout: float, options: dict[str, Any]) -> sa.Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        url = url.set(database=str(Path(url.database).expanduser()))
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout}, **options)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling is switched off so ours (below) is the only one (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # A writer takes the lock when it begins, not at its first write: two writers can then never both
        # read, then both fail to upgrade to a write lock (SQLITE_BUSY without waiting).
        read = conn.get_execution_options().get("backupbridge_read", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


def _wal(cursor: Any, busy_timeout: float) -> None:
    """Switch the file to WAL. The switch needs the file to itself and SQLite answers "locked" at once,
    without its busy handler, when another connection is opening it too (first uses at the same time):
    so it is tried again for up to ``busy_timeout``."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _postgres_engine(url: sa.URL, options: dict[str, Any]) -> sa.Engine:
    import psycopg  # noqa: F401  (a missing driver is said plainly, see open_store)

    connect_args = {"connect_timeout": 10, "application_name": "backupbridge"}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **options)
