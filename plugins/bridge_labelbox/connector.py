"""The live Labelbox connector: `labelbox://projects/<project id>`.

* pull (`read`): the project's ontology and a streamed export (export v2 NDJSON), each
  exported data row converted to a unified `Item` (`convert.data_row_to_item`); mask URLs
  are fetched with the API key.
* push (`write`): each item becomes a data row keyed by its global key (`Item.key`) in a
  dataset (existing global keys are reused, never duplicated), the rows are queued into the
  project as batches, and the annotations are uploaded as one label import (ground truth) or,
  with `mode=mal`, a model-assisted labeling import (pre-annotations labelers review).

The API key comes from `LABELBOX_API_KEY` (never printed); the endpoint from the `endpoint`
option, then `LABELBOX_ENDPOINT`, then https://api.labelbox.com/graphql.
"""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from pydantic import SecretStr

from bridge.errors import ConfigError, RemoteError
from bridge.formats import Capabilities, Connector, Dataset
from bridge.http import HttpLimits
from bridge.io import dump_json
from bridge.limits import max_pixels_option
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge.schema import Item, MediaKind, Project, SourceRef
from bridge.secrets import refuse_userinfo
from bridge_labelbox.api import DEFAULT_ENDPOINT, ExportParams, ImportOutcome, LabelboxApi

KEY_ENV = "LABELBOX_API_KEY"
ENDPOINT_ENV = "LABELBOX_ENDPOINT"
MEDIA_KINDS: dict[str, MediaKind] = {
    "IMAGE": "image",
    "VIDEO": "video",
    "TEXT": "text",
    "DOCUMENT": "document",
    "PDF": "document",
    "CONVERSATIONAL": "conversation",
    "AUDIO": "audio",
    "HTML": "html",
}
"""Labelbox `allowedMediaType` -> unified media kind."""
MASK_CACHE = 8
"""Mask PNGs kept while pulling (composite masks are shared by a label's objects)."""
PROJECT_EXTRA_FIELDS = (
    "allowedMediaType",
    "editorTaskType",
    "isBenchmarkEnabled",
    "isConsensusEnabled",
    "createdAt",
    "updatedAt",
)


class ImportRowsRefused(RemoteError):
    """Labelbox imported the annotations except some rows; `outcome.row_errors` lists them
    with their data rows."""

    def __init__(self, message: str, outcome: ImportOutcome, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.outcome = outcome


class LabelboxConnector(Connector):
    """Pull and push one Labelbox project over the GraphQL API."""

    name = "labelbox"
    description = "Labelbox projects over the GraphQL API (labelbox://projects/<id>)"
    capabilities = Capabilities(
        media=["image", "video", "text", "document", "conversation", "audio", "html"],
        regions=["bbox", "polygon", "polyline", "points", "mask", "span"],
        tracks=True,
        relations=True,
        live=True,
    )

    def __init__(self, api: LabelboxApi, project_id: str | None, **options: Any):
        self.api = api
        self.project_id = project_id
        self.options = options

    @classmethod
    def from_url(cls, url: str, **options: Any) -> LabelboxConnector:
        """Open `labelbox://projects/<id>` (query parameters are options, e.g.
        `?mode=mal&dataset=<dataset id>`)."""
        project_id, url_options = parse_url(url)
        options = {**url_options, **options}
        key = options.pop("api_key", None) or os.environ.get(KEY_ENV)
        if not key:
            raise ConfigError(
                f"{KEY_ENV} is not set",
                hint="create an API key in Labelbox (Workspace settings > API keys) and export it",
            )
        endpoint = options.pop("endpoint", None) or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT
        refuse_userinfo(
            str(endpoint), hint=f"drop the part before @ from {ENDPOINT_ENV} or -O endpoint"
        )
        api_options = {k: options.pop(k) for k in ("sleep", "retry", "transport") if k in options}
        api_options["limits"] = HttpLimits.from_options(options)
        api = LabelboxApi(SecretStr(str(key)), endpoint=str(endpoint), **api_options)
        return cls(api, project_id, **options)

    def close(self) -> None:
        self.api.close()

    def _require_project(self) -> str:
        if not self.project_id:
            raise ConfigError(
                "the URL names no project", hint="use labelbox://projects/<project id>"
            )
        return self.project_id

    # -- listing ------------------------------------------------------------------------

    def list_projects(self) -> list[dict[str, Any]]:
        return [
            {
                "id": project.get("id"),
                "name": project.get("name"),
                "media": MEDIA_KINDS.get(str(project.get("allowedMediaType"))),
                "data_rows": project.get("dataRowCount"),
            }
            for project in self.api.list_projects()
        ]

    # -- pull -----------------------------------------------------------------------------

    def read(self, losses: LossReport, **options: Any) -> Dataset:
        """The project with its ontology, and its exported data rows as a stream."""
        from bridge_labelbox.ontology import ontology_from_normalized

        options = {**self.options, **options}
        params = ExportParams(interpolated_frames=flag_option(options, "interpolated_frames"))
        project_id = self._require_project()
        self.api.max_pixels = max_pixels_option(options)
        remote = self.api.get_project(project_id)
        project = Project(
            name=str(remote.get("name") or project_id),
            description=remote["description"]
            if isinstance(remote.get("description"), str)
            else None,
            media_kind=MEDIA_KINDS.get(str(remote.get("allowedMediaType"))),
            ontology=ontology_from_normalized(self.api.project_ontology(project_id)),
            source=SourceRef(tool="labelbox", instance=self.api.endpoint, project=project_id),
            extra={key: remote[key] for key in PROJECT_EXTRA_FIELDS if remote.get(key) is not None},
        )
        items = self._pulled_items(project_id, params, losses)
        return Dataset(
            project,
            items,
            origin=f"labelbox://projects/{project_id}",
            meta={"format": "labelbox", "endpoint": self.api.endpoint},
        )

    def _pulled_items(
        self, project_id: str, params: ExportParams, losses: LossReport
    ) -> Iterator[Item]:
        from bridge_labelbox.convert import data_row_to_item

        # a label's objects share one composite mask URL: fetch it once, not per object
        masks = functools.lru_cache(maxsize=MASK_CACHE)(self.api.fetch_mask)
        for row in self.api.export_project(project_id, params):
            data_row = row.get("data_row")
            row_id = data_row.get("id") if isinstance(data_row, dict) else None
            yield data_row_to_item(
                row, losses, where=f"data row {row_id}", instance=self.api.endpoint, masks=masks
            )

    # -- push -----------------------------------------------------------------------------

    def write(self, dataset: Dataset, losses: LossReport, **options: Any) -> dict[str, Any]:
        """Create or reuse the data rows, batch them into the project, import the labels."""
        options = {**self.options, **options}
        project_id = self._require_project()
        mode = str(options.get("mode") or "label")
        if mode not in ("label", "mal"):
            raise ConfigError(f"unknown mode {mode!r}", hint="use mode=label or mode=mal")
        with tempfile.SpooledTemporaryFile(max_size=16_000_000) as spool:
            specs = self._spool_items(dataset, losses, spool, options)
            spool.seek(0)
            if not specs:
                return {"project": project_id, "data_rows": {"created": 0, "reused": 0}}
            dataset_id = self._target_dataset(project_id, options)
            rows = self.api.ensure_data_rows(dataset_id, specs)
            batches = self.api.add_to_project(project_id, [spec["global_key"] for spec in specs])
            name = str(options.get("import_name") or f"label-bridge-{uuid.uuid4().hex[:12]}")
            outcome = self.api.run_import(project_id, name, read_ndjson(spool), mode=mode)
        summary = {
            "project": project_id,
            "dataset": dataset_id,
            "data_rows": {"created": len(rows.created), "reused": len(rows.reused)},
            "data_row_ids": rows.ids,
            "batches": batches,
            "import": {**outcome.record, "mode": mode, "rows": outcome.rows},
        }
        self._report_row_errors(outcome, losses)
        return summary

    def _spool_items(
        self, dataset: Dataset, losses: LossReport, spool: IO[bytes], options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Write every item's import rows to `spool`; return the data row specs."""
        from bridge_labelbox.convert import item_to_import_rows

        use_schema_ids = flag_option(options, "use_schema_ids")
        specs: dict[str, dict[str, Any]] = {}
        for item in dataset.items:
            spec = data_row_spec(item)
            if spec is None:
                losses.record(
                    "labelbox_item_without_media",
                    "an item with neither a media URL nor text cannot become a Labelbox data row",
                    where=f"item {item.key}",
                )
                continue
            specs.setdefault(item.key, spec)
            for row in item_to_import_rows(
                item, losses, data_row_key="globalKey", use_schema_ids=use_schema_ids
            ):
                spool.write(dump_json(row, where=f"item {item.key}") + b"\n")
        return list(specs.values())

    def _target_dataset(self, project_id: str, options: dict[str, Any]) -> str:
        """The dataset new data rows go to: the `dataset` option (an id), else the dataset
        named by `dataset_name` (default "label-bridge <project id>"), created if absent."""
        if options.get("dataset"):
            return str(options["dataset"])
        name = str(options.get("dataset_name") or f"label-bridge {project_id}")
        existing = self.api.find_dataset(name)
        return str((existing or self.api.create_dataset(name))["id"])

    def _report_row_errors(self, outcome: ImportOutcome, losses: LossReport) -> None:
        if not outcome.row_errors:
            return
        for error in outcome.row_errors:
            losses.record(
                "labelbox_import_row_refused",
                "Labelbox refused an annotation of the import",
                where=error.describe(),
            )
        shown = "; ".join(error.describe() for error in outcome.row_errors[:5])
        more = len(outcome.row_errors) - 5
        raise ImportRowsRefused(
            f"Labelbox refused {len(outcome.row_errors)} of {outcome.rows} annotation rows: "
            f"{shown}{f' (and {more} more)' if more > 0 else ''}",
            outcome,
            where=f"import {outcome.record.get('name')!r}",
            hint="the other rows were imported; fix these items and push them again",
        )


def parse_url(url: str) -> tuple[str | None, dict[str, str]]:
    """(project id or None, query options) from `labelbox://projects/<id>?k=v`."""
    refuse_userinfo(url, hint=f"drop the part before @; put the API key in {KEY_ENV}")
    parts = urlsplit(url)
    if parts.scheme != "labelbox":
        raise ConfigError(f"not a labelbox:// URL: {url}")
    segments = [part for part in (parts.netloc + parts.path).split("/") if part]
    if not segments or segments[0] != "projects" or len(segments) > 2:
        raise ConfigError(
            f"cannot read the Labelbox URL {url!r}", hint="use labelbox://projects/<project id>"
        )
    project_id = segments[1] if len(segments) == 2 else None
    return project_id, dict(parse_qsl(parts.query))


def data_row_spec(item: Item) -> dict[str, Any] | None:
    """The data row to create for `item`: `row_data` (its media URL, or the text itself),
    `global_key` (the item key) and, when the item came from a Labelbox export, its
    `external_id`."""
    row_data = item.data.get("row_data") if isinstance(item.data.get("row_data"), str) else None
    row_data = row_data or item.media.uri or item.media.text
    if not row_data:
        return None
    spec: dict[str, Any] = {"row_data": row_data, "global_key": item.key}
    exported = item.extra.get("lb_data_row")
    external_id = exported.get("external_id") if isinstance(exported, dict) else None
    if isinstance(external_id, str) and external_id:
        spec["external_id"] = external_id
    return spec


def read_ndjson(handle: IO[bytes]) -> Iterator[dict[str, Any]]:
    for line in handle:
        if line.strip():
            yield orjson.loads(line)
