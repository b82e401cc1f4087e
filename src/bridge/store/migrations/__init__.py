"""Alembic migrations of the workspace schema, shipped in the package and run by
`bridge.store.engine.upgrade` (no alembic.ini needed). A new revision goes in `versions/`
and raises `bridge.store.models.SCHEMA_VERSION`."""
