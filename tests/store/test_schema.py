"""Opening a store: created at the current schema, refused with what to run when older or newer, migrations
that match the tables the code uses, and one clear line for each way a store cannot be used."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backupbridge.errors import ConfigurationError
from backupbridge.store import (
    Store,
    StoreError,
    StoreSchemaError,
    StoreURLError,
    head_revision,
    open_store,
    record_snapshot,
)
from backupbridge.store import schema as tables
from backupbridge.store.engine import MIGRATIONS, _alembic_config

from .conftest import NOW
from .snapshots import device, job, snapshot


def test_a_new_store_is_created_at_the_schema_the_code_reads(store: Store) -> None:
    assert store.revision() == head_revision() == tables.SCHEMA_REVISION


def test_the_migrations_create_exactly_the_tables_the_code_uses(store: Store) -> None:
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), tables.metadata)
    assert differences == []


def test_the_migrations_ship_inside_the_package() -> None:
    import backupbridge

    assert MIGRATIONS == Path(backupbridge.__file__).parent / "store" / "migrations"
    assert (MIGRATIONS / "env.py").is_file() and (MIGRATIONS / "script.py.mako").is_file()
    assert sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py")) == [
        "v0001_runs_entities_jobs.py",
        "v0002_daily_verdicts.py",
        "v0003_migration_journal.py",
        "v0004_alert_state.py",
        "v0005_alert_reconciled.py",
    ]


def _at_revision(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    engine.dispose()


def test_an_older_store_says_to_run_store_upgrade_and_upgrading_keeps_its_rows(store_url: str) -> None:
    _at_revision(store_url, "0001")
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.devices).values(
                vendor="v",
                account="a",
                id="d1",
                name="SRV",
                digest="-",
                os="windows",
                status="online",
                first_seen=NOW,
                last_seen=NOW,
            )
        )
    engine.dispose()
    with pytest.raises(StoreSchemaError) as caught:
        open_store(store_url)
    assert isinstance(caught.value, ConfigurationError)
    assert "has schema 0001, this backupbridge needs 0005: run 'backupbridge store upgrade'" in str(caught.value)
    assert (caught.value.found, caught.value.expected) == ("0001", "0005")
    with open_store(store_url, check=False) as old:
        assert old.upgrade() == ("0001", "0005")
    with open_store(store_url) as upgraded, upgraded.read() as conn:
        assert conn.execute(sa.select(tables.devices.c.name)).scalars().all() == ["SRV"]


def test_a_store_from_a_newer_version_says_to_upgrade_backupbridge(store: Store, store_url: str) -> None:
    with store.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreSchemaError, match=r"schema 0099, newer than this backupbridge knows .*pip install -U"):
        open_store(store_url)
    with open_store(store_url, check=False) as newer, pytest.raises(StoreSchemaError, match="newer"):
        newer.upgrade()


def test_a_database_of_something_else_is_not_taken_over(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StoreSchemaError, match="holds tables but no backupbridge schema"):
        open_store(store_url)


def test_concurrent_first_opens_create_the_schema_once(store_url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            open_store(store_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_store(store_url) as opened:
        assert opened.revision() == head_revision()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "does not parse; use sqlite:///PATH or postgresql+psycopg://"),
        ("mysql://u@h/db", "names 'mysql', which the store does not support"),
        ("postgresql+asyncpg://u@h/db", "which the store does not support"),
    ],
)
def test_a_url_that_does_not_parse_is_one_clear_line(url: str, says: str) -> None:
    with pytest.raises(StoreURLError, match=re.escape(says)) as caught:
        open_store(url)
    assert "\n" not in str(caught.value)


def test_an_unreachable_postgresql_is_one_line_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://backup:s3cret-pw@127.0.0.1:1/history")
    message = str(caught.value)
    assert message.startswith("cannot reach the store postgresql+psycopg://backup:***@127.0.0.1:1/history")
    assert "s3cret-pw" not in message and "\n" not in message


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="its directory does not exist or is not writable"):
        open_store(f"sqlite:///{tmp_path}/missing/history.sqlite3")


def test_a_locked_sqlite_store_is_one_line_and_nothing_is_half_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/history.sqlite3"
    with open_store(url, busy_timeout=0.2) as store:
        holder = sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match=r"is locked by another writer \(waited 0.2s\); nothing of this run"):
                record_snapshot(store, snapshot(NOW, jobs=[job("j1", NOW)]), NOW)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        with store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar_one() == 0


def test_a_full_disk_is_one_line_and_the_account_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/history.sqlite3"
    with open_store(url) as store:
        with store.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

        @sa.event.listens_for(store.engine, "connect")
        def _small_disk(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {int(pages) + 8}")

        store.engine.dispose()
        many = [device(f"d{i}", name="SRV-" + "x" * 400 + str(i)) for i in range(400)]
        with pytest.raises(StoreError, match=r"disk holding the store .* is full; nothing of this recording"):
            record_snapshot(store, snapshot(NOW, devices=many), NOW)
        with store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(tables.devices)).scalar_one() == 0
            assert conn.execute(sa.select(sa.func.count()).select_from(tables.run_accounts)).scalar_one() == 0


def test_datetimes_come_back_aware_and_in_utc(store: Store) -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    record_snapshot(store, snapshot(NOW.astimezone(berlin)), NOW.astimezone(berlin))
    with store.read() as conn:
        started = conn.execute(sa.select(tables.runs.c.started_at)).scalar_one()
    assert started == NOW and started.tzinfo is not None and started.utcoffset() == dt.timedelta(0)
