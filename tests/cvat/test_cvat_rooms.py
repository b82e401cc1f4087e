"""The CVAT plugin keeps the rooms ARCHITECTURE.md describes: flows take the API client
and the target (they never import the connector), the connector re-exports nothing, the
mask codec lives in the plugin, the pure rooms touch neither network nor disk."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(importlib.util.find_spec("bridge_cvat").origin).parent


def imported(module: str) -> set[str]:
    tree = ast.parse((PLUGIN / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("flow", ["pull", "push_task", "push_new_tasks", "job_workflow"])
def test_cvat_flows_do_not_refer_back_to_the_connector(flow):
    assert "bridge_cvat.connector" not in imported(flow)


@pytest.mark.parametrize(
    "pure", ["ontology", "convert", "masks", "xml_meta", "job_states", "target"]
)
def test_cvat_pure_rooms_import_no_network_or_disk_room(pure):
    assert not imported(pure) & {
        "bridge_cvat.api",
        "bridge_cvat.rest",
        "bridge_cvat.files",
        "bridge_cvat.connector",
        "bridge.http",
        "httpx",
    }


def test_cvat_connector_has_no_re_export_list():
    tree = ast.parse((PLUGIN / "connector.py").read_text())
    assigned = {
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    assert "__all__" not in assigned


def test_cvat_mask_codec_is_in_the_plugin_not_the_core():
    assert importlib.util.find_spec("bridge.geometry.cvat_rle") is None
    assert (PLUGIN / "masks.py").exists()
