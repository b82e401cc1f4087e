"""The yolo and coco plugins registered for these tests (an editable install that predates
their entry points does not list them yet)."""

from __future__ import annotations

import pytest

from bridge import plugins


@pytest.fixture(scope="session", autouse=True)
def yolo_registered():
    plugins.load_plugins()
    for name in ("coco", "yolo"):
        if plugins.pm.get_plugin(name) is None:
            import importlib

            plugins.pm.register(importlib.import_module(f"bridge_{name}.plugin"), name=name)
    plugins.registry(refresh=True)
    yield
