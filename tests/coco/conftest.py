"""The coco plugin registered for these tests (an editable install that predates its entry
point does not list it yet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge import plugins

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "coco"


@pytest.fixture(scope="session", autouse=True)
def coco_registered():
    plugins.load_plugins()
    if plugins.pm.get_plugin("coco") is None:
        import bridge_coco.plugin

        plugins.pm.register(bridge_coco.plugin, name="coco")
    plugins.registry(refresh=True)
    yield
