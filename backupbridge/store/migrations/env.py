"""Alembic's environment for the store: run on the connection ``Store.upgrade`` hands over (never a URL here)."""

from __future__ import annotations

from alembic import context

from backupbridge.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the store's migrations through 'backupbridge store upgrade' (Store.upgrade)")

# SQLite cannot ALTER most things in place: batch mode copies the table, the way Alembic documents.
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
