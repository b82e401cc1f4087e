"""Cross-process locks, one per target (or any other name), for SQLite and PostgreSQL.

* SQLite: a row in `bridge_locks` (target, token, pid, host, since), taken inside a
  `BEGIN IMMEDIATE` transaction so that two processes cannot both see the lock free.
  A row whose holder is a dead process on this host is stale and taken over; a holder on
  another host is trusted until it releases.
* PostgreSQL: `pg_try_advisory_lock` on a 63-bit hash of the target, held by a dedicated
  connection for as long as the lock is held (the server frees it if the process dies);
  the `bridge_locks` row is written too, only to name the holder to whoever waits.

A second taker polls until `timeout` seconds have passed, then raises `WorkspaceBusy`
naming the holder (pid, host, since when).
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select, text

from bridge.store import models
from bridge.store.engine import writing
from bridge.store.errors import WorkspaceBusy

POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5


def advisory_key(name: str) -> int:
    """A signed 64-bit key for `pg_advisory_lock` from a lock name."""
    digest = hashlib.sha256(f"bridge-lock:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    return True


def _holder_text(row: object | None, name: str) -> str:
    if row is None:
        return f"another process holds the lock {name!r}"
    pid, host, since = row.pid, row.host, row.since  # type: ignore[attr-defined]
    when = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"process {pid} on {host} holds the lock {name!r} since {when}"


def _busy(row: object | None, name: str, timeout: float) -> WorkspaceBusy:
    return WorkspaceBusy(
        f"{_holder_text(row, name)} (waited {timeout:g} s)",
        hint="wait for that run to finish, or if it is gone, run again (a dead process's "
        "lock on this host is taken over)",
    )


@contextmanager
def hold(engine: Engine, name: str, timeout: float) -> Iterator[None]:
    """Hold the lock `name` for the duration of the block (see the module)."""
    if engine.dialect.name == "postgresql":
        with _hold_postgres(engine, name, timeout):
            yield
    else:
        with _hold_sqlite(engine, name, timeout):
            yield


def _row_values(name: str, token: str) -> dict[str, object]:
    return {
        "target": name,
        "token": token,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.time(),
    }


@contextmanager
def _hold_sqlite(engine: Engine, name: str, timeout: float) -> Iterator[None]:
    token = uuid.uuid4().hex
    table = models.locks
    deadline = time.monotonic() + timeout
    pause = POLL_SECONDS
    host = socket.gethostname()
    while True:
        with writing(engine) as conn:
            row = conn.execute(select(table).where(table.c.target == name)).first()
            stale = row is not None and row.host == host and not pid_alive(row.pid)
            if row is None or stale:
                if stale:
                    conn.execute(delete(table).where(table.c.target == name))
                conn.execute(table.insert().values(**_row_values(name, token)))
                break
        if time.monotonic() >= deadline:
            raise _busy(row, name, timeout)
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, MAX_POLL_SECONDS)
    try:
        yield
    finally:
        with writing(engine) as conn:
            conn.execute(delete(table).where(table.c.target == name, table.c.token == token))


@contextmanager
def _hold_postgres(engine: Engine, name: str, timeout: float) -> Iterator[None]:
    token = uuid.uuid4().hex
    table = models.locks
    key = advisory_key(name)
    deadline = time.monotonic() + timeout
    pause = POLL_SECONDS
    with engine.connect() as holder:
        holder = holder.execution_options(isolation_level="AUTOCOMMIT")
        while not holder.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            if time.monotonic() >= deadline:
                row = holder.execute(select(table).where(table.c.target == name)).first()
                raise _busy(row, name, timeout)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, MAX_POLL_SECONDS)
        try:
            holder.execute(delete(table).where(table.c.target == name))
            holder.execute(table.insert().values(**_row_values(name, token)))
            yield
        finally:
            try:
                holder.execute(delete(table).where(table.c.target == name, table.c.token == token))
            finally:
                holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
