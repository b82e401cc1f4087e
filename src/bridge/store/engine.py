"""Where the workspace lives and how it is opened: location -> engine, checks, schema.

A *location* is `None` (then `$BRIDGE_WORKSPACE`, else `./bridge.db`), a path (an
embedded SQLite file) or a `postgresql://` URL (PostgreSQL through psycopg 3; the URL is
rewritten to `postgresql+psycopg://`).

Before anything is written, `open_engine` checks that the place is a workspace or can
become one: an existing file must be a SQLite database holding `bridge_meta` (or no table
at all); its `schema_version` must not be newer than this code's. Otherwise a
`WorkspaceError` says so and the file is untouched. Then the schema is created or
upgraded with the Alembic migrations shipped in `bridge/store/migrations`, inside one
transaction that holds the database's write lock (SQLite `BEGIN IMMEDIATE`; PostgreSQL a
transaction-level advisory lock), so two processes opening a new workspace at once do not
both create it.

SQLite connections run in WAL mode with a busy timeout, and every transaction the
workspace opens for writing starts with `BEGIN IMMEDIATE` (`writing(conn)`), so a
read-then-write is never interleaved with another process's write.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from bridge import __version__
from bridge.secrets import redact, register
from bridge.store import models
from bridge.store.errors import WorkspaceError

ENV_VARIABLE = "BRIDGE_WORKSPACE"
DEFAULT_PATH = "bridge.db"
VERSION_TABLE = "bridge_alembic_version"
BUSY_TIMEOUT_MS = 60_000
SQLITE_HEADER = b"SQLite format 3\x00"
MIGRATIONS = Path(__file__).parent / "migrations"
UPGRADE_HINT = "upgrade label-bridge (pip install -U label-bridge) to open this workspace"
ADVISORY_MIGRATE = 0x6272_6964_6765_0001  # "bridge" + 1: the schema migration lock


def resolve_location(location: str | Path | None) -> str:
    """The location as a string: `location`, else `$BRIDGE_WORKSPACE`, else ./bridge.db."""
    if location is None or str(location) == "":
        location = os.environ.get(ENV_VARIABLE) or DEFAULT_PATH
    return str(location)


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def display(location: str) -> str:
    """`location` fit to print: a URL without its password."""
    if is_postgres(location):
        try:
            return make_url(location).render_as_string(hide_password=True)
        except ArgumentError:
            return "postgresql://***"
    return location


def postgres_url(location: str) -> URL:
    try:
        url = make_url(location)
    except ArgumentError:
        raise WorkspaceError(
            f"not a valid PostgreSQL URL: {display(location)}",
            hint="e.g. postgresql://user:password@127.0.0.1:5432/bridge",
        ) from None
    if url.password:
        register(str(url.password))
    return url.set(drivername="postgresql+psycopg")


def _check_sqlite_file(path: Path) -> None:
    """Refuse, without writing anything, a file that is not (and cannot become) a
    workspace or that a newer label-bridge wrote."""
    if path.is_dir():
        raise WorkspaceError(
            f"{path} is a directory, not a workspace file",
            hint="give a file path, e.g. --workspace ./bridge.db",
        )
    if not path.exists():
        if not path.parent.exists():
            raise WorkspaceError(
                f"cannot create the workspace {path}: no directory {path.parent}",
                hint="create the directory first, or give another --workspace",
            )
        return
    if path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise WorkspaceError(
            f"{path} is not a label-bridge workspace (not a SQLite database)",
            hint="give another --workspace path (the file was left as it is)",
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise WorkspaceError(f"cannot open the workspace {path}: {error}") from None
    try:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if tables and models.meta.name not in tables:
            raise WorkspaceError(
                f"{path} is not a label-bridge workspace (a SQLite database of another application)",
                hint="give another --workspace path (the file was left as it is)",
            )
        if tables:
            rows = dict(conn.execute("SELECT key, value FROM bridge_meta").fetchall())
            _check_version(rows.get("schema_version"), str(path))
    except sqlite3.DatabaseError as error:
        raise WorkspaceError(
            f"{path} is not a readable label-bridge workspace: {error}",
            hint="give another --workspace path (the file was left as it is)",
        ) from None
    finally:
        conn.close()


def _check_version(version: str | None, where: str) -> None:
    if version is None:
        return
    try:
        number = int(version)
    except ValueError:
        raise WorkspaceError(
            f"{where}: workspace schema version {version!r} is not a number",
            hint="the workspace is damaged; give another --workspace",
        ) from None
    if number > models.SCHEMA_VERSION:
        raise WorkspaceError(
            f"{where}: the workspace has schema version {number}, newer than this "
            f"label-bridge {__version__} reads ({models.SCHEMA_VERSION})",
            hint=UPGRADE_HINT,
        )


def _sqlite_engine(path: Path, *, read_only: bool = False) -> Engine:
    if read_only:  # SQLite itself refuses every write on this connection
        uri = f"{path.resolve().as_uri()}?mode=ro"
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
            poolclass=NullPool,
        )
    else:
        engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
            cursor.close()
            return
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("bridge_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(location: str, **engine_options: Any) -> Engine:
    """An engine on the reachable PostgreSQL server of a `postgresql://` location (a
    `WorkspaceError` when the driver is missing or the server cannot be reached)."""
    url = postgres_url(location)
    try:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=2, max_overflow=4, **engine_options
        )
    except ImportError:
        raise WorkspaceError(
            "a postgresql:// workspace needs the psycopg driver, which is not installed",
            hint="pip install 'label-bridge[postgres]'",
        ) from None
    _check_reachable(engine, location, url)
    return engine


def open_engine(location: str) -> Engine:
    """An engine on a checked, up-to-date workspace at `location` (see the module)."""
    if is_postgres(location):
        engine = _postgres_engine(location)
    else:
        path = Path(location).expanduser()
        _check_sqlite_file(path)
        engine = _sqlite_engine(path)
    try:
        _ensure_schema(engine, display(location))
    except BaseException:
        engine.dispose()
        raise
    return engine


def open_engine_read_only(location: str) -> Engine:
    """An engine that only reads the existing, current workspace at `location`: nothing
    is created, upgraded or written (SQLite opened `mode=ro`; PostgreSQL sessions with
    `default_transaction_read_only`). Not a workspace, an older or a newer schema, an
    unreachable server: `WorkspaceError`, and the place is left as it was."""
    if is_postgres(location):
        engine = _postgres_engine(
            location, connect_args={"options": "-c default_transaction_read_only=on"}
        )
    else:
        path = Path(location).expanduser()
        if not path.is_file() or path.stat().st_size == 0:
            raise WorkspaceError(
                f"{path} is not a label-bridge workspace (no such file, or an empty one)",
                hint="create one with `bridge pull SOURCE --workspace PATH`",
            )
        _check_sqlite_file(path)
        engine = _sqlite_engine(path, read_only=True)
    try:
        with engine.connect() as conn:
            current = schema_version(conn)
            conn.rollback()
        _check_version(current, display(location))
        if current is None or int(current) < models.SCHEMA_VERSION:
            raise WorkspaceError(
                f"{display(location)} is not a current label-bridge workspace "
                f"(schema version {current or 'none'}, this label-bridge reads "
                f"{models.SCHEMA_VERSION}); reading it changes nothing, so it is not upgraded",
                hint="run `bridge workspace` (or a `bridge pull`) on it once to upgrade it",
            )
    except BaseException:
        engine.dispose()
        raise
    return engine


def _check_reachable(engine: Engine, location: str, url: URL) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "unreachable"
        secret = [str(url.password)] if url.password else []
        raise WorkspaceError(
            f"cannot connect to the workspace database {display(location)}: "
            f"{redact(reason, secret)}",
            hint="check that the PostgreSQL server runs and the URL (host, port, user, "
            "database) is right",
        ) from None


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A connection inside a write transaction (committed on success): `BEGIN IMMEDIATE`
    on SQLite; plain on PostgreSQL (callers take advisory locks where needed)."""
    with engine.connect() as conn:
        conn = conn.execution_options(bridge_write=True)
        with conn.begin():
            yield conn


WORKSPACE_ID_KEY = "workspace_id"
"""`bridge_meta` key of the workspace's identity: a uuid4 hex written when the workspace is
created (or, for a workspace made before it existed, on first use: `Workspace.workspace_id`).
It never changes, whatever is pulled or where the workspace file moves."""


def schema_version(conn: Connection) -> str | None:
    """`bridge_meta.schema_version`, or None when the table does not exist."""
    if not conn.dialect.has_table(conn, models.meta.name):
        return None
    row = conn.execute(
        select(models.meta.c.value).where(models.meta.c.key == "schema_version")
    ).first()
    return None if row is None else str(row[0])


def _ensure_schema(engine: Engine, where: str) -> None:
    with engine.connect() as conn:
        current = schema_version(conn)
        conn.rollback()
    _check_version(current, where)
    if current is not None and int(current) == models.SCHEMA_VERSION:
        return
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_MIGRATE})
        current = schema_version(conn)  # another process may have done it meanwhile
        _check_version(current, where)
        if current is not None and int(current) == models.SCHEMA_VERSION:
            return
        upgrade(conn)
        if current is None:
            conn.execute(
                models.meta.insert(),
                [
                    {"key": "created_by", "value": f"label-bridge {__version__}"},
                    {"key": "created_at", "value": str(time.time())},
                    {"key": WORKSPACE_ID_KEY, "value": uuid.uuid4().hex},
                ],
            )
        conn.execute(
            models.meta.update()
            .where(models.meta.c.key == "schema_version")
            .values(value=str(models.SCHEMA_VERSION))
        )


def upgrade(conn: Connection) -> None:
    """Run the shipped Alembic migrations up to head on `conn` (in its transaction)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
