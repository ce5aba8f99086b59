"""Every store test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``BACKUPBRIDGE_TEST_POSTGRES_URL`` (``.ci/run`` starts a throw-away server and sets
it); each test gets a schema of its own there, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from backupbridge.store import Store, open_store

POSTGRES_ENV = "BACKUPBRIDGE_TEST_POSTGRES_URL"
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL for an empty database of each dialect."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'history.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL store tests need {POSTGRES_ENV} (.ci/run starts a server and sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(base).set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def count(store: Store) -> Callable[..., int]:
    """``count("jobs", vendor="x")``: rows of a table matching the column values."""

    def rows(table: str, **where: object) -> int:
        t = sa.table(table, *(sa.column(c) for c in where))
        query = sa.select(sa.func.count()).select_from(t)
        for column, value in where.items():
            query = query.where(t.c[column] == value)
        with store.read() as conn:
            return int(conn.execute(query).scalar_one())

    return rows
