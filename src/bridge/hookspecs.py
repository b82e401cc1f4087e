"""Hook specifications: what a label-bridge plugin may provide.

A plugin is a module with `@hookimpl` functions; each hook receives a `register` callable
and calls it once per thing it provides (the simonw/llm shape):

    from bridge import hookimpl

    @hookimpl
    def register_formats(register):
        register(MyFormat())

Plugins are found through the "bridge" entry point group (the built-in connectors are
registered exactly that way) or registered directly with `bridge.plugins.pm.register`.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("bridge")
hookimpl = pluggy.HookimplMarker("bridge")


@hookspec
def register_formats(register):
    """Register file formats: `register(fmt)` with a `bridge.formats.FileFormat`."""


@hookspec
def register_connectors(register):
    """Register live connectors: `register(cls)` with a `bridge.connectors.Connector`
    subclass (its `scheme` names the URLs it opens, e.g. "labelstudio")."""


@hookspec
def register_exporters(register):
    """Register exporters (COCO, YOLO, ...): `register(exporter)` with a `FileFormat`
    whose capabilities say `read=False`."""


@hookspec
def register_qa_metrics(register):
    """Register QA metrics: `register(name, function)`."""
