"""The Labelbox sync target: keeps a Labelbox project in step with the workspace (`bridge
push labelbox://projects/ID`, `bridge sync CONFIG`).

How workspace elements map onto Labelbox:

* the **project** must exist (Labelbox projects and their ontology are set up in the app);
  `ensure_project` checks it and reports (`labelbox.feature_missing`) the ontology's labels
  the project's ontology lacks: their annotations will be refused by the import;
* an **item** is a **data row** whose **global key** is `bridge-<item id>` (the
  reconciliation key: global keys are unique in the organization, so creating the rows is an
  upsert by global key: `ensure_data_rows` looks the keys up and only creates the missing
  ones); it is queued into the project in a batch named after a digest of its keys (a batch
  that exists already is kept);
* an **annotation set** goes in an **annotation import**: a label import (ground truth), or
  with `--as predictions` a model-assisted labeling (MAL) import, whose pre-annotations
  labelers see and accept or edit (the SDK's `LabelImport` vs `MALPredictionImport`: same
  NDJSON rows, another mutation). Each row carries a stable `uuid` (derived from the item,
  set and region ids).

**Scan**: the data rows are looked up by our global keys (`dataRowsForGlobalKeys`, the
SDK's `get_data_row_ids_for_global_keys`, for every item the push desires or has linked:
`prepare_scan`), so a data row deleted in Labelbox is created again, with its sets, and a
row created by a run killed before recording it is adopted. Sets cannot be listed (an
import is not a per-set object): the scan reports a linked set as present while its data
row exists.

**Reconciliation of sets**: an import's name is `bridge-<label|mal>-<digest>` of the ids,
content hashes and data row ids of the sets it carries, and imports are looked up by name
(`get_import`) before one is sent: a run killed after Labelbox accepted an import and
before the workspace recorded it finds it and sends nothing. Creating data rows and batches
again is harmless (upserts by global key; batches named after their keys and row ids).

**Updates replace**: a changed set's data row loses its earlier label (`deleteLabels`, the
SDK's `Label.bulk_delete`, for the row's labels in this project), then the new one is
imported. The import is looked up first: found, the update was done (a rerun after a kill
between the import and the record deletes nothing); not found, the row's labels are deleted
and the import sent (a rerun after a kill between the two finds nothing to delete and
imports): never two labels, never none. **Deletions** (`--delete`): a set's label with
`deleteLabels`, an item's data row with `deleteDataRows` (the SDK's `DataRow.bulk_delete`;
it takes its labels), both looked up first so a repeated deletion sends nothing.

Limits, reported in the loss report: Labelbox makes one label per data row and import, so
several sets of one item in one import are merged (`labelbox-sets-merged`); changing or
deleting *one* of such merged sets cannot touch the label without losing the others: the
change is imported as a label next to it (`labelbox.update_adds_label`), the deletion not
done (`labelbox.set_not_deleted`). Model-assisted pre-labels are not labels: a changed
prediction set is imported next to the earlier pre-labels (`labelbox.update_adds_label`),
a deleted one stays (`labelbox.set_not_deleted`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from bridge.errors import ConfigError, NotFoundError
from bridge.losses import LossReport
from bridge.schema import Project
from bridge.sync.target import ItemPush, Kind, RemoteRecord, SetPush, SyncTarget, TargetRef
from bridge_labelbox.connector import LabelboxConnector, data_row_spec

IMPORT_DIGEST = 24
DELETE_CHUNK = 500
"""Ids per `deleteLabels` / `deleteDataRows` mutation (the SDK deletes labels 500 at a time)."""
LABEL_PAGE = 100
DATA_ROW_LABELS = (
    "query GetDataRowLabelsPyApi($param_0: ID!){dataRow(where: {id: $param_0})"
    "{labels(skip: %d first: %d){id project {id}}}}"
)
"""The SDK's `DataRow.labels()` relationship query, selecting each label's id and project."""
DELETE_LABELS = "mutation deleteLabelsPyApi{deleteLabels(labelIds: [%s]){id}}"
DELETE_DATA_ROWS = "mutation deleteDataRowsPyApi{deleteDataRows(where: {dataRowIds: [%s]}){id}}"
"""The SDK's bulk deletions (`labelbox.orm.query.bulk_delete`: ids written in the query)."""


def split_remote_id(remote_id: str) -> tuple[str, int]:
    """(import name, number of sets merged into the row's label) of a set's remote id
    `name#n` (a bare name: 1)."""
    name, _, count = remote_id.partition("#")
    return name, int(count) if count.isdigit() else 1


class LabelboxSyncTarget(SyncTarget):
    """A Labelbox project as a sync target (see the module docstring)."""

    supports_predictions = True
    batch_size = 500

    def __init__(self, url: str, options: dict[str, Any]):
        self.options = dict(options)
        self.connector = LabelboxConnector.from_url(url, **self.options)
        if self.connector.project_id is None:
            raise ConfigError(
                "a Labelbox sync target is a project",
                where=url,
                hint="use labelbox://projects/<project id> (create the project in Labelbox first)",
            )
        self.project_id: str = self.connector.project_id
        self.api = self.connector.api
        self.ref = TargetRef("labelbox", self.api.endpoint, self.project_id)
        self._dataset: str | None = None
        self._scan_keys: list[str] = []
        self._set_links: dict[str, Any] = {}
        self._losses = LossReport()

    def remote_key(self, kind: Kind, element_id: str) -> str:
        """The global key of an item's data row; other elements keep their ids."""
        return f"{self.key_prefix}-{element_id}" if kind == "item" else element_id

    def prepare_scan(
        self, keys: dict[Kind, dict[str, str]], links: dict[Kind, dict[str, Any]]
    ) -> None:
        self._scan_keys = sorted(keys["item"])
        self._set_links = dict(links["annotation_set"])

    def scan(self) -> Iterator[RemoteRecord]:
        """The data rows of our global keys (see the module docstring), and the linked sets
        whose data row exists."""
        rows = self.api.data_row_ids(self._scan_keys) if self._scan_keys else {}
        for key, row_id in rows.items():
            yield RemoteRecord("item", key, row_id, extra={"global_key": key})
        for set_id, link in self._set_links.items():
            if link.parent in rows:
                extra = {k: v for k, v in link.extra.items() if k not in ("remote", "parent")}
                yield RemoteRecord(
                    "annotation_set", set_id, link.remote_id, link.parent, None, extra=extra
                )

    # -- project ----------------------------------------------------------------------

    def ensure_project(self, project: Project, losses: LossReport, remote_id: str | None) -> str:
        from bridge_labelbox.ontology import ontology_from_normalized

        self._losses = losses
        self.api.get_project(self.project_id)  # NotFoundError names it when it is not there
        remote = ontology_from_normalized(self.api.project_ontology(self.project_id))
        known = {label.name for label in remote.labels} | {c.name for c in remote.classifications}
        for label in project.ontology.labels:
            if label.name not in known:
                losses.record(
                    "labelbox.feature_missing",
                    "the project's ontology has no feature of this name; its annotations "
                    "will be refused (add it to the ontology in Labelbox)",
                    where=label.name,
                )
        return self.project_id

    # -- items ------------------------------------------------------------------------

    def create_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        specs: list[dict[str, Any]] = []
        pushed: list[ItemPush] = []
        for push in batch:
            spec = data_row_spec(push.item)
            if spec is None:
                losses.record(
                    "labelbox_item_without_media",
                    "an item with neither a media URL nor text cannot become a Labelbox data row",
                    where=f"item {push.item.key}",
                )
                continue
            spec["global_key"] = self.remote_key("item", push.item_id)
            specs.append(spec)
            pushed.append(push)
        if not specs:
            return []
        rows = self.api.ensure_data_rows(self.dataset(), specs)
        keys = [spec["global_key"] for spec in specs]
        row_ids = sorted(rows.ids.get(key, key) for key in keys)
        self.api.add_to_project(
            self.project_id, keys, prefix=f"{self.key_prefix}-{_digest(row_ids)[:8]}"
        )
        records = [
            RemoteRecord("item", push.item_id, rows.ids.get(key, key), extra={"global_key": key})
            for push, key in zip(pushed, keys, strict=True)
        ]
        for push, key in zip(pushed, keys, strict=True):
            for set_push in push.sets:
                set_push.parent = rows.ids.get(key, key)
        sets = [set_push for push in pushed for set_push in push.sets]
        if sets:
            records += self._import(sets, losses)
        return records

    def update_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        """Items whose data row exists: adopted by the scan (a run killed before recording
        them, perhaps before queueing them) or changed in the source (the data row is kept
        as it is). Queued into the project again: a no-op for a batch that exists."""
        keys = [self.remote_key("item", push.item_id) for push in batch]
        row_ids = sorted(push.remote_id or key for push, key in zip(batch, keys, strict=True))
        if keys:
            self.api.add_to_project(
                self.project_id, keys, prefix=f"{self.key_prefix}-{_digest(row_ids)[:8]}"
            )
        return [
            RemoteRecord("item", push.item_id, push.remote_id or key, extra={"global_key": key})
            for push, key in zip(batch, keys, strict=True)
        ]

    def dataset(self) -> str:
        """The dataset new data rows go to (the `dataset` / `dataset_name` options)."""
        if self._dataset is None:
            self._dataset = self.connector._target_dataset(self.project_id, self.options)
        return self._dataset

    # -- sets -------------------------------------------------------------------------

    def create_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        return self._import(batch, losses)

    def update_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        """Replace the labels of the changed sets' data rows (see the module docstring)."""
        rows: dict[str, list[SetPush]] = {}
        for push in batch:
            if not push.as_prediction:
                rows.setdefault(push.parent or "", []).append(push)
        replace: list[SetPush] = []
        beside: list[SetPush] = []
        for push in batch:
            merged = split_remote_id(push.remote_id or "")[1]
            if push.as_prediction or not push.parent or merged > len(rows[push.parent]):
                beside.append(push)
            else:
                replace.append(push)
        if beside:
            losses.record(
                "labelbox.update_adds_label",
                "the earlier label also holds other annotation sets (or is a model-assisted "
                "pre-label): the changed set was imported next to it (remove the old one in "
                "Labelbox)",
                where=f"item {beside[0].item.key}",
                severity="approximated",
                count=len(beside),
            )
        records = self._import(beside, losses) if beside else []
        if replace:
            row_ids = sorted({push.parent or "" for push in replace})
            records += self._import_mode(
                replace, "label", losses, before=lambda: self._delete_row_labels(row_ids)
            )
        return records

    def _row_labels(self, row_id: str) -> list[str]:
        """The ids of the data row's labels in this project (GetDataRowLabelsPyApi)."""
        found: list[str] = []
        skip = 0
        while True:
            data = self.api.execute(DATA_ROW_LABELS % (skip, LABEL_PAGE), {"param_0": row_id})
            row = data.get("dataRow") or {}
            labels = row.get("labels") or []
            for label in labels:
                if (label.get("project") or {}).get("id") == self.project_id:
                    found.append(str(label["id"]))
            if len(labels) < LABEL_PAGE:
                return found
            skip += LABEL_PAGE

    def _delete_row_labels(self, row_ids: list[str]) -> None:
        labels = [label for row_id in row_ids for label in self._row_labels(row_id)]
        for start in range(0, len(labels), DELETE_CHUNK):
            chunk = labels[start : start + DELETE_CHUNK]
            self.api.execute(DELETE_LABELS % _quoted(chunk), mutation=True)

    def _import(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        records: list[RemoteRecord] = []
        for mode in ("label", "mal"):
            pushes = [
                p for p in batch if (p.as_prediction if mode == "mal" else not p.as_prediction)
            ]
            if pushes:
                records += self._import_mode(pushes, mode, losses)
        return records

    def _import_mode(
        self,
        pushes: list[SetPush],
        mode: str,
        losses: LossReport,
        before: Callable[[], None] | None = None,
    ) -> list[RemoteRecord]:
        """One import of `pushes` (named after them; not sent again when it exists);
        `before` runs right before an import is sent (not when it was found)."""
        from bridge_labelbox.convert import item_to_import_rows

        digest = _digest(sorted(f"{p.set_id}:{p.hash}:{p.parent}" for p in pushes))[:IMPORT_DIGEST]
        name = f"{self.key_prefix}-{mode}-{digest}"
        rows: list[dict[str, Any]] = []
        per_row: dict[str, int] = {}
        for push in pushes:
            global_key = self.remote_key("item", push.item_id)
            per_row[global_key] = per_row.get(global_key, 0) + 1
            item = push.item.model_copy(update={"annotation_sets": [push.aset]})
            for row in item_to_import_rows(item, losses, data_row_key="globalKey"):
                row["dataRow"] = {"globalKey": global_key}
                rows.append(row)
        merged = sum(count - 1 for count in per_row.values() if count > 1)
        if merged:
            losses.record(
                "labelbox-sets-merged",
                "an import makes one label per data row; several annotation sets were merged",
                where=f"import {name}",
                severity="approximated",
                count=merged,
            )
        try:
            record = self.api.get_import(self.project_id, name, mode)
            self.api.wait_for_import(self.project_id, record, mode)  # a rerun: already sent
        except NotFoundError:
            if before is not None:
                before()
            if rows:
                outcome = self.api.run_import(self.project_id, name, rows, mode=mode)
                for error in outcome.row_errors:
                    losses.record(
                        "labelbox_import_row_refused",
                        "Labelbox refused an annotation of the import",
                        where=error.describe(),
                    )
        return [
            RemoteRecord(
                "annotation_set",
                push.set_id,
                f"{name}#{per_row[self.remote_key('item', push.item_id)]}",
                parent=self.remote_key("item", push.item_id),
                extra={"import": name, "mode": mode},
            )
            for push in pushes
        ]

    # -- delete -----------------------------------------------------------------------

    def delete(self, records: list[RemoteRecord]) -> None:
        """Sets: their data row's labels (when the label holds only sets being deleted);
        items: their data rows. Looked up by global key first (see the module docstring)."""
        sets = [r for r in records if r.kind == "annotation_set"]
        items = [r for r in records if r.kind == "item"]
        if sets:
            self._delete_sets(sets)
        if items:
            keys = [self.remote_key("item", r.key) for r in items]
            existing = self.api.data_row_ids(keys)
            ids = sorted(existing[key] for key in keys if key in existing)
            for start in range(0, len(ids), DELETE_CHUNK):
                chunk = ids[start : start + DELETE_CHUNK]
                self.api.execute(DELETE_DATA_ROWS % _quoted(chunk), mutation=True)

    def _delete_sets(self, records: list[RemoteRecord]) -> None:
        by_row: dict[str, list[RemoteRecord]] = {}
        for record in records:
            by_row.setdefault(record.parent or "", []).append(record)
        existing = self.api.data_row_ids(sorted(k for k in by_row if k))
        doomed: list[str] = []
        for key, group in sorted(by_row.items()):
            merged = max(split_remote_id(r.remote_id)[1] for r in group)
            prediction = any(r.extra.get("mode") == "mal" for r in group)
            if prediction or merged > len(group):
                self._losses.record(
                    "labelbox.set_not_deleted",
                    "the set is merged into a label with other sets, or is a model-assisted "
                    "pre-label: not deleted in Labelbox (remove it there)",
                    where=f"data row {key}",
                    count=len(group),
                )
            elif key in existing:
                doomed.append(existing[key])
        if doomed:
            self._delete_row_labels(doomed)

    def close(self) -> None:
        self.connector.close()


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _quoted(ids: list[str]) -> str:
    """Ids as the SDK writes them into a bulk deletion (`"id1", "id2"`)."""
    return ", ".join(json.dumps(str(i)) for i in ids)


def sync_target(url: str, options: dict[str, Any]) -> LabelboxSyncTarget:
    """The `register_sync_targets` factory for labelbox:// URLs."""
    return LabelboxSyncTarget(url, options)
