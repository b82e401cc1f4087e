"""Opening a sync target from what the user typed: a `scheme://` URL goes to the target a
plugin registered for that scheme (`register_sync_targets`); anything else is a file path
written in the format its extension (or `--to`) names."""

from __future__ import annotations

from typing import Any

from bridge.sync.filetarget import FileTarget
from bridge.sync.target import SyncTarget


def open_target(
    target: str, fmt: str | None = None, options: dict[str, Any] | None = None
) -> SyncTarget:
    """The `SyncTarget` for `target` (a URL or a file path)."""
    from bridge import api, plugins

    options = dict(options or {})
    scheme = api._scheme(target)
    if scheme is not None:
        return plugins.get_sync_target_factory(scheme)(target, options)
    return FileTarget(target, fmt, options)
