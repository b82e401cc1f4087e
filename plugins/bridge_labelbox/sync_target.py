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

**Reconciliation of sets**: an import's name is `bridge-<digest>` of the ids and content
hashes of the sets it carries, and import names are looked up by name (`get_import`). A
run killed after Labelbox accepted an import and before the workspace recorded it sends the
same batch again on the next run (the planner trusts links: this target does not scan),
finds the import by its name and sends nothing. Creating data rows and batches again is
harmless (upserts by global key, batches by name).

Limits, reported in the loss report: Labelbox makes one label per data row and import, so
several sets of one item in one import are merged (`labelbox-sets-merged`); an *updated* set
is imported as a new label next to the earlier one (`labelbox.update_adds_label`: remove
the old label in Labelbox), and deletions are not propagated (`delete` refuses).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from bridge.errors import ConfigError, NotFoundError
from bridge.losses import LossReport
from bridge.schema import Project
from bridge.sync.target import ItemPush, Kind, RemoteRecord, SetPush, SyncTarget, TargetRef
from bridge_labelbox.connector import LabelboxConnector, data_row_spec

IMPORT_DIGEST = 24


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

    def remote_key(self, kind: Kind, element_id: str) -> str:
        """The global key of an item's data row; other elements keep their ids."""
        return f"{self.key_prefix}-{element_id}" if kind == "item" else element_id

    def scan_complete(self) -> bool:
        return False  # links are trusted; creates are upserts and imports are named

    def scan(self) -> Iterator[RemoteRecord]:
        return iter(())

    # -- project ----------------------------------------------------------------------

    def ensure_project(self, project: Project, losses: LossReport, remote_id: str | None) -> str:
        from bridge_labelbox.ontology import ontology_from_normalized

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
        self.api.add_to_project(self.project_id, keys)
        records = [
            RemoteRecord("item", push.item_id, rows.ids.get(key, key), extra={"global_key": key})
            for push, key in zip(pushed, keys, strict=True)
        ]
        sets = [set_push for push in pushed for set_push in push.sets]
        if sets:
            records += self._import(sets, losses)
        return records

    def dataset(self) -> str:
        """The dataset new data rows go to (the `dataset` / `dataset_name` options)."""
        if self._dataset is None:
            self._dataset = self.connector._target_dataset(self.project_id, self.options)
        return self._dataset

    # -- sets -------------------------------------------------------------------------

    def create_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        return self._import(batch, losses)

    def update_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        losses.record(
            "labelbox.update_adds_label",
            "Labelbox imports add labels: the changed set was imported as a new label next "
            "to the earlier one (remove the old label in Labelbox)",
            where=f"item {batch[0].item.key}" if batch else None,
            severity="approximated",
            count=len(batch),
        )
        return self._import(batch, losses)

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
        self, pushes: list[SetPush], mode: str, losses: LossReport
    ) -> list[RemoteRecord]:
        from bridge_labelbox.convert import item_to_import_rows

        digest = hashlib.sha256(
            "\n".join(sorted(f"{p.set_id}:{p.hash}" for p in pushes)).encode()
        ).hexdigest()[:IMPORT_DIGEST]
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
                name,
                parent=self.remote_key("item", push.item_id),
                extra={"import": name, "mode": mode},
            )
            for push in pushes
        ]

    # -- delete -----------------------------------------------------------------------

    def delete(self, records: list[RemoteRecord]) -> None:
        raise ConfigError(
            "the Labelbox target does not delete data rows or labels",
            where=f"labelbox://projects/{self.project_id}",
            hint="run without --delete (delete: false) and remove them in Labelbox",
        )

    def close(self) -> None:
        self.connector.close()


def sync_target(url: str, options: dict[str, Any]) -> LabelboxSyncTarget:
    """The `register_sync_targets` factory for labelbox:// URLs."""
    return LabelboxSyncTarget(url, options)
