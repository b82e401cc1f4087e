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
`types` (the values of the API), `workspace` (`Workspace`, `open_workspace`).
"""

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
