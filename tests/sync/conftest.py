"""Fixtures of the sync tests: the real Label Studio server of tests/integration (one per
session), and a `bridge` runner. Tests that use `ls_server` get the `labelstudio` marker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.labelstudio_server import LabelStudioServer  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "ls_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.labelstudio)


@pytest.fixture(scope="session")
def ls_server() -> Iterator[LabelStudioServer]:
    """One Label Studio server for the sync tests (started from the template data dir)."""
    with LabelStudioServer() as server:
        yield server


def bridge(
    *args: str, token: str | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the `bridge` CLI in a child process (as a user would)."""
    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    if token is not None:
        full["LABEL_STUDIO_API_KEY"] = token
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def bridge_json(*args: str, **kwargs: Any) -> dict[str, Any]:
    run = bridge(*args, "--json", **kwargs)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)
