"""Alembic environment: runs on the connection `bridge.store.engine` hands over in
`config.attributes["connection"]`, inside the caller's transaction."""

from __future__ import annotations

from alembic import context

from bridge.store.engine import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
