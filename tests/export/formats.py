"""The export format plugins, registered for the tests even when the installed package's
entry points predate them (an editable install made before they were added)."""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys

import pytest

from bridge import cli as cli_module
from bridge import plugins

EXPORT_PLUGINS = {
    "voc": "bridge_voc.plugin",
    "conll": "bridge_conll.plugin",
    "parquet": "bridge_parquet.plugin",
}


SIBLING_PLUGINS = {"coco": "bridge_coco.plugin", "yolo": "bridge_yolo.plugin"}
"""Built on another branch: registered when they are importable (merged), else skipped."""


def ensure_export_formats() -> None:
    """Register every export plugin whose format the registry does not know yet."""
    known = plugins.registry().formats
    added = False
    wanted = dict(EXPORT_PLUGINS)
    for name, module_name in SIBLING_PLUGINS.items():
        if importlib.util.find_spec(module_name.split(".")[0]) is not None:
            wanted[name] = module_name
    for name, module_name in wanted.items():
        if name in known or plugins.pm.get_plugin(name) is not None:
            continue
        plugins.pm.register(importlib.import_module(module_name), name=name)
        added = True
    if added:
        plugins.registry(refresh=True)


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run `bridge ARGS...` in this process: gives (exit code, captured output); the signal
    handlers the CLI installs are put back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["bridge", *map(str, args)])
        with pytest.raises(SystemExit) as stop:
            cli_module.main()
        return stop.value.code or 0, capsys.readouterr()

    yield run
    for signum, handler in saved.items():
        signal.signal(signum, handler)
