"""Fixtures of the workspace tests: `workspace_url` runs a test on SQLite and on
PostgreSQL.

PostgreSQL comes from `BRIDGE_TEST_POSTGRES` (a `postgresql://` URL of a server where the
user may create databases; `scripts/postgres-server.sh start` prints one). Each test gets
a database of its own, dropped afterwards. Without a reachable server the PostgreSQL
variants skip with a message saying how to get one, except under CI (`CI` set), where
they fail: CI must test PostgreSQL.
"""

from __future__ import annotations

import os
import uuid

import pytest

ENV = "BRIDGE_TEST_POSTGRES"
HOW = 'start one with `eval "$(scripts/postgres-server.sh start)"`'


def _no_server(reason: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"PostgreSQL workspace tests: {reason} (required under CI)")
    pytest.skip(f"PostgreSQL workspace tests skipped: {reason}; {HOW}")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server URL from BRIDGE_TEST_POSTGRES, checked to be reachable."""
    url = os.environ.get(ENV)
    if not url:
        _no_server(f"{ENV} is not set")
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        _no_server(f"no server reachable at {ENV} ({type(error).__name__})")
    return url


@pytest.fixture
def postgres_database(postgres_server: str):
    """A fresh, empty database on the test server (dropped afterwards)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bridge_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server).set(database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def workspace_url(request, tmp_path) -> str:
    """A workspace location on each backend: a new SQLite file, a new PG database."""
    if request.param == "sqlite":
        return str(tmp_path / "workspace.db")
    return request.getfixturevalue("postgres_database")
