"""The workspace: where pulled sources meet and pushes remember what they sent.

```python
from bridge.store import open_workspace, SourceSpec, MatchRule, TargetRef, Link

with open_workspace("bridge.db") as ws:           # or "postgresql://...", or None
    result = ws.pull(dataset, SourceSpec("vendor-a", tool="cvat"), MatchRule.parse("filename"))
    for stored in ws.iter_items():                 # StoredItem(item_id, item, sets)
        ...
    with ws.lock(TargetRef("labelstudio", "127.0.0.1:8080", "12")):
        ws.record_links(target, "item", [Link(stored.item_id, "item", "4711", hash)])
```

Modules: `engine` (location, checks, schema migrations), `models` (tables), `pull`
(pulling a dataset), `locking` (cross-process locks), `hashing` (`content_hash`),
`types` (the values of the API), `workspace` (`Workspace`, `open_workspace`),
`format` (the workspace read as a source: the "workspace" file format and the
`postgresql://` connector).

The names below are imported when first used (PEP 562), so that registering the
"workspace" format at start-up does not import SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.store.errors import WorkspaceBusy, WorkspaceError
    from bridge.store.hashing import content_hash
    from bridge.store.types import (
        Link,
        MatchRule,
        PullResult,
        SourceSpec,
        StoredItem,
        StoredSet,
        TargetRef,
    )
    from bridge.store.workspace import PROJECT_ID, Workspace, merge_projects, open_workspace

_HOMES = {
    "WorkspaceBusy": "errors",
    "WorkspaceError": "errors",
    "content_hash": "hashing",
    "Link": "types",
    "MatchRule": "types",
    "PullResult": "types",
    "SourceSpec": "types",
    "StoredItem": "types",
    "StoredSet": "types",
    "TargetRef": "types",
    "PROJECT_ID": "workspace",
    "Workspace": "workspace",
    "merge_projects": "workspace",
    "open_workspace": "workspace",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bridge.store' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bridge.store.{home}"), name)


__all__ = [
    "PROJECT_ID",
    "Link",
    "MatchRule",
    "PullResult",
    "SourceSpec",
    "StoredItem",
    "StoredSet",
    "TargetRef",
    "Workspace",
    "WorkspaceBusy",
    "WorkspaceError",
    "content_hash",
    "merge_projects",
    "open_workspace",
]
