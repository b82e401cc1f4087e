"""Opening a workspace: where it is, what is refused (with a one-line message, a hint,
and the file untouched), schema creation with the shipped Alembic migrations."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bridge.store import WorkspaceError, open_workspace
from bridge.store.engine import postgres_url

ROOT = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_with_hint(error: WorkspaceError) -> None:
    assert "\n" not in error.message
    assert error.hint


def test_a_new_sqlite_workspace_gets_the_schema_from_the_migrations(tmp_path):
    path = tmp_path / "ws.db"
    with open_workspace(path) as ws:
        assert ws.summary()["schema_version"] == 1
    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    revision = conn.execute("SELECT version_num FROM bridge_alembic_version").fetchall()
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    expected = {
        "bridge_meta", "bridge_sources", "bridge_projects", "bridge_items",
        "bridge_item_sources", "bridge_sets", "bridge_links", "bridge_syncs", "bridge_locks",
    }  # fmt: skip
    assert expected <= tables
    assert revision == [("0001",)]
    assert journal == "wal"


def test_the_default_location_is_the_environment_then_bridge_db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIDGE_WORKSPACE", raising=False)
    open_workspace().close()
    assert (tmp_path / "bridge.db").exists()
    monkeypatch.setenv("BRIDGE_WORKSPACE", str(tmp_path / "elsewhere.db"))
    with open_workspace() as ws:
        assert ws.location == str(tmp_path / "elsewhere.db")
    assert (tmp_path / "elsewhere.db").exists()


def test_a_text_file_is_not_a_workspace_and_is_left_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n" * 100)
    before = digest(path)
    with pytest.raises(WorkspaceError, match="not a label-bridge workspace") as caught:
        open_workspace(path)
    one_line_with_hint(caught.value)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_another_applications_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ann')")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(WorkspaceError, match="another application") as caught:
        open_workspace(path)
    one_line_with_hint(caught.value)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def _write_version(location: str, version: str) -> None:
    url = postgres_url(location) if location.startswith("postgresql") else f"sqlite:///{location}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE bridge_meta SET value = :v WHERE key = 'schema_version'"), {"v": version}
        )
    engine.dispose()


def _state(location: str) -> list[tuple]:
    url = postgres_url(location) if location.startswith("postgresql") else f"sqlite:///{location}"
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [
            tuple(r) for r in conn.execute(text("SELECT key, value FROM bridge_meta ORDER BY key"))
        ]
        rows += [tuple(r) for r in conn.execute(text("SELECT name, pulls FROM bridge_sources"))]
    engine.dispose()
    return rows


def test_a_workspace_of_a_newer_schema_is_refused_with_upgrade_hint(workspace_url, tmp_path):
    open_workspace(workspace_url).close()
    _write_version(workspace_url, "99")
    before = _state(workspace_url)
    file_before = digest(Path(workspace_url)) if not workspace_url.startswith("postgresql") else ""
    with pytest.raises(WorkspaceError, match="schema version 99") as caught:
        open_workspace(workspace_url)
    one_line_with_hint(caught.value)
    assert "upgrade label-bridge" in caught.value.hint
    assert _state(workspace_url) == before
    if file_before:
        assert digest(Path(workspace_url)) == file_before


def test_an_unreachable_postgresql_url_is_a_clear_error_without_the_password():
    password = "pw-Sup3r-s3cret"
    url = f"postgresql://ann:{password}@127.0.0.1:1/bridge"
    with pytest.raises(WorkspaceError) as caught:
        open_workspace(url)
    text_ = str(caught.value)
    assert password not in text_
    assert (
        "cannot connect to the workspace database postgresql://ann:***@127.0.0.1:1/bridge" in text_
    )
    one_line_with_hint(caught.value)


def test_a_wrong_postgresql_password_is_not_printed_by_the_cli(postgres_server):
    from sqlalchemy.engine import make_url

    password = "wrong-Passw0rd-xyz"
    url = make_url(postgres_server).set(password=password).render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "pull", str(ROOT / "samples/cvat/for_video.xml"),
         "--workspace", url],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 7, done.stderr
    assert password not in done.stderr + done.stdout
    assert "password authentication failed" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cli_refuses_a_file_that_is_not_a_workspace_in_one_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "pull", str(ROOT / "samples/cvat/for_video.xml"),
         "--workspace", str(path)],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 7
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "not a label-bridge workspace" in lines[0]
    assert lines[1].strip().startswith("hint:") and len(lines) == 2
    assert path.read_text() == "hello\n"
