"""Fixtures for tests that talk to a real Label Studio server on 127.0.0.1.

Everything under tests/integration gets the ``labelstudio`` marker, so
``pytest -m "not labelstudio"`` skips it. The server needs
``scripts/labelstudio-server.sh install`` (``make test`` runs it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # make `tests.support` importable under any rootdir
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.labelstudio_server import LabelStudioServer  # noqa: E402

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (harmless if pyproject.toml registers it too)."""
    config.addinivalue_line(
        "markers", "labelstudio: needs the real Label Studio server (tests/integration)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory with ``labelstudio``."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.labelstudio)


@pytest.fixture(scope="session")
def ls_server() -> Iterator[LabelStudioServer]:
    """One Label Studio server for the whole test session (per xdist worker)."""
    with LabelStudioServer() as server:
        yield server


@pytest.fixture
def ls_client(ls_server: LabelStudioServer) -> Iterator[httpx.Client]:
    """An httpx client for ``ls_server`` that authenticates with the CI user's token."""
    headers = {"Authorization": f"Token {ls_server.token}"}
    with httpx.Client(base_url=ls_server.url, headers=headers, timeout=60) as client:
        yield client
