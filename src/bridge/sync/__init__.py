"""Sync: keep a target (a Label Studio project, a CVAT project, a file, ...) in step with
the workspace (`bridge.store`).

* `bridge.sync.target`: the `SyncTarget` interface each tool implements, and its records;
* `bridge.sync.plan`: the pure planner (create / update / delete / unchanged / conflict);
* `bridge.sync.engine`: scan, plan, apply in batches, record links;
* `bridge.sync.filetarget`: the file target (any writable format, written atomically);
* `bridge.sync.config` / `bridge.sync.labelmap`: `bridge sync CONFIG` (YAML) and label maps.
"""
