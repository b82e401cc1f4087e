"""The export format plugins, registered for the tests even when the installed package's
entry points predate them (an editable install made before they were added)."""

from __future__ import annotations

import importlib

from bridge import plugins

EXPORT_PLUGINS = {
    "voc": "bridge_voc.plugin",
    "conll": "bridge_conll.plugin",
    "parquet": "bridge_parquet.plugin",
}


def ensure_export_formats() -> None:
    """Register every export plugin whose format the registry does not know yet."""
    known = plugins.registry().formats
    added = False
    for name, module_name in EXPORT_PLUGINS.items():
        if name in known or plugins.pm.get_plugin(name) is not None:
            continue
        plugins.pm.register(importlib.import_module(module_name), name=name)
        added = True
    if added:
        plugins.registry(refresh=True)
