"""Hook specifications: what a label-bridge plugin may provide.

A plugin is a module with `@hookimpl` functions; each hook receives a `register` callable
and calls it once per thing it provides (the simonw/llm shape):

    from bridge.hookspecs import hookimpl

    @hookimpl
    def register_formats(register):
        register(MyFormat())

Plugins are found through the "bridge" entry point group (the built-in vendor plugins are
registered exactly that way) or registered directly with `bridge.plugins.pm.register`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from bridge.formats import Connector, FileFormat
    from bridge.sync.target import TargetFactory

hookspec = pluggy.HookspecMarker("bridge")
hookimpl = pluggy.HookimplMarker("bridge")


@hookspec
def register_formats(register: Callable[[FileFormat], Any]) -> None:
    """Register file formats: `register(fmt)` with a `bridge.formats.FileFormat` instance
    (its `name` is what `--from`/`--to` take)."""


@hookspec
def register_connectors(register: Callable[[type[Connector]], Any]) -> None:
    """Register live connectors: `register(cls)` with a `bridge.formats.Connector`
    subclass (its `name` is the URL scheme it opens, e.g. "cvat" for `cvat://...`).
    Called the first time a command needs a connector, not at start-up."""


@hookspec
def register_sync_targets(register: Callable[[str, TargetFactory | str], Any]) -> None:
    """Register sync targets: `register(scheme, factory)` where `factory(url, options)`
    returns a `bridge.sync.target.SyncTarget` for URLs starting with `scheme://` (what
    `bridge push` and `bridge migrate` send to). Called only by the sync commands.
    `factory` may be given as "module:attribute": imported only when a push uses that
    scheme (a push to one tool does not import every tool's target)."""
