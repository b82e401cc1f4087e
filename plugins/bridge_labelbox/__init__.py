"""label-bridge plugin for Labelbox.

* `convert`: export v2 data rows <-> unified items; `import_ndjson`: unified -> import NDJSON
  (helpers: `classifications`, `shapes`, `video`); `ontology`: normalized ontology JSON.
* `files`: the `labelbox` (export v2) and `labelbox-import` file formats.
* `api`, `connector`: the live GraphQL connector (`labelbox://`).
"""
