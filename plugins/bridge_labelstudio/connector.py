"""The live Label Studio connector: pull a project into unified Items, push a Dataset.

URLs (the token always comes from the environment variable `LABEL_STUDIO_API_KEY`):

* `labelstudio://HOST:PORT/projects/ID`: a project on a server spoken to over http;
* `labelstudio+https://HOST/projects/ID`: the same over https (a path prefix before
  `/projects` is kept: `labelstudio+https://example.org/ls/projects/3`);
* `labelstudio://HOST:PORT` or `.../projects/new`: no project yet; a push creates one from
  the dataset's ontology.

Pull reads the label config (-> ontology) and every task with its annotations and
predictions (through an export snapshot by default, the faster path measured by
benchmarks/labelstudio_pull_bench.py; `-O pull=pages` walks the task list instead).
Push imports tasks in batches with their annotations and predictions inline, which is the
only bulk path Label Studio has, and keeps each annotation's author when the server knows a
user with that email (or the same user id on the same server).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bridge.errors import AuthError, BridgeError, ConfigError, NotFoundError, RemoteError
from bridge.formats import Capabilities, Connector, Dataset
from bridge.http import HttpLimits
from bridge.limits import max_pixels_option
from bridge.losses import LossReport
from bridge.options import integer_option
from bridge.schema import AnnotationSet, Annotator, Item, Project, SourceRef
from bridge.secrets import refuse_userinfo
from bridge_labelstudio import convert
from bridge_labelstudio.api import LabelStudioApi
from bridge_labelstudio.ontology import (
    LabelConfig,
    config_to_ontology,
    ontology_to_config,
    parse_label_config,
)

TOOL = "labelstudio"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
URL_FORM = re.compile(
    r"^(?P<scheme>labelstudio(?:\+https?)?)://(?P<host>[^/?#]+)(?P<prefix>(?:/(?!projects(?:/|$))[^/?#]+)*)"
    r"(?:/projects(?:/(?P<project>\d+|new))?)?/?$"
)
DEFAULT_BATCH_SIZE = 500
TASK_FIELDS_IMPORTED = ("data", "meta", "allow_skip")
KEY_META = "bridge_key"
DATA_MANAGER_TASK_FIELDS = frozenset(
    {
        "annotations_results",
        "predictions_results",
        "annotations_ids",
        "annotators",
        "predictions_model_versions",
        "predictions_score",
        "avg_lead_time",
        "completed_at",
        "draft_exists",
        "updated_by",
        "annotators_count",
        "reviewers",
        "reviewers_count",
        "comments",
        "storage_filename",
    }
)
"""Columns the task list (`GET /api/tasks?fields=all`) computes for Label Studio's Data
Manager table: summaries of the annotations (`annotations_results` repeats every result as
text), not task data. Pulls by pages drop them so both pull paths give the same items."""
DATA_MANAGER_ANNOTATION_FIELDS = frozenset({"created_username", "created_ago"})


@dataclass(frozen=True)
class LabelStudioTarget:
    """What a `labelstudio://` URL names: the server's base URL and maybe a project id."""

    base_url: str
    project_id: int | None


def parse_url(url: str) -> LabelStudioTarget:
    """Split a connector URL into the server's base URL and the project id (if any). A
    URL with `user:password@` is refused: the token comes from the environment, and the
    URL is copied into every pulled item's source."""
    refuse_userinfo(url, hint=f"drop the part before @; put the token in {TOKEN_ENV}")
    match = URL_FORM.match(url.strip())
    if match is None:
        raise ConfigError(
            f"not a Label Studio URL: {url}",
            hint="use labelstudio://HOST:PORT/projects/ID (http) or "
            "labelstudio+https://HOST/projects/ID (https)",
        )
    http = "https" if match.group("scheme").endswith("+https") else "http"
    project = match.group("project")
    project_id = int(project) if project and project != "new" else None
    return LabelStudioTarget(f"{http}://{match.group('host')}{match.group('prefix')}", project_id)


def token_from_env() -> SecretStr:
    """The API key from `LABEL_STUDIO_API_KEY`, or a `ConfigError` saying how to set it."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    if not value:
        raise ConfigError(
            f"{TOKEN_ENV} is not set",
            hint=f"export {TOKEN_ENV}=<your token> (Label Studio: Account & Settings > "
            "Personal Access Token, or a legacy token)",
        )
    return SecretStr(value)


class LabelStudioConnector(Connector):
    """Pull and push Label Studio projects over its REST API."""

    name = "labelstudio"
    description = (
        "Label Studio server (labelstudio://HOST:PORT/projects/ID, token in LABEL_STUDIO_API_KEY)"
    )
    capabilities = Capabilities(
        media=["image", "video", "text", "audio", "html", "conversation", "timeseries"],
        regions=["bbox", "polygon", "points", "ellipse", "mask", "span", "time_segment"],
        tracks=True,
        relations=True,
        live=True,
    )

    def __init__(self, api: LabelStudioApi, project_id: int | None, url: str):
        self.api = api
        self.project_id = project_id
        self.url = url
        self._users: list[dict[str, Any]] | None = None
        if project_id is None:  # a push creates the project from the whole ontology
            self.capabilities = self.capabilities.model_copy(update={"needs_final_ontology": True})

    @classmethod
    def from_url(cls, url: str, **options: Any) -> LabelStudioConnector:
        target = parse_url(url)
        api = LabelStudioApi(
            target.base_url,
            token_from_env(),
            retry=options.get("retry"),
            transport=options.get("transport"),
            limits=HttpLimits.from_options(options),
        )
        return cls(api, target.project_id, url)

    def close(self) -> None:
        self.api.close()

    # -- listing -----------------------------------------------------------------------

    def list_projects(self) -> list[dict[str, Any]]:
        """`{"id", "title", "tasks", "url"}` for every project the token can see."""
        base = self._url_base()
        return [
            {
                "id": p.get("id"),
                "title": p.get("title"),
                "tasks": p.get("task_number"),
                "url": f"{base}/projects/{p.get('id')}",
            }
            for p in self.api.list_projects()
        ]

    def _url_base(self) -> str:
        scheme = "labelstudio+https" if self.api.base_url.startswith("https:") else "labelstudio"
        return f"{scheme}://{self.api.base_url.split('://', 1)[1]}"

    # -- users -------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        """The server's users, fetched once; none if this token may not list them (then
        pulled annotators keep their ids only and pushed ones are recorded as losses)."""
        if self._users is None:
            try:
                self._users = self.api.list_users()
            except (AuthError, NotFoundError):
                self._users = []
        return self._users

    # -- pull --------------------------------------------------------------------------

    def read(self, losses: LossReport, **options: Any) -> Dataset:
        """The project the URL names, its tasks streamed as Items.

        Options: `pull` = "export" (default: one export snapshot, streamed) or "pages"
        (walk `/api/tasks`, `page_size` tasks per request)."""
        if self.project_id is None:
            raise ConfigError(
                f"{self.url} names no project to read",
                hint="add /projects/ID; projects here: " + self._project_menu(),
            )
        raw = self.api.get_project(self.project_id)
        config = parse_label_config(raw.get("label_config") or "<View/>")
        project = Project(
            name=str(raw.get("title") or f"project {self.project_id}"),
            description=raw.get("description") or None,
            media_kind=config.media_kind,
            ontology=config_to_ontology(config),
            source=SourceRef(tool=TOOL, instance=self.api.base_url, project=str(self.project_id)),
        )
        expected = raw.get("task_number")
        if isinstance(expected, bool) or not isinstance(expected, int):
            expected = None
        items = self._items(config, losses, options, expected)
        meta = {"format": TOOL, "project_id": self.project_id, "task_count": raw.get("task_number")}
        return Dataset(project=project, items=items, origin=self.url, meta=meta)

    def _project_menu(self, limit: int = 10) -> str:
        try:
            found = self.list_projects()
        except BridgeError:
            return "(could not list them)"
        shown = ", ".join(f"{p['id']} {p['title']!r}" for p in found[:limit])
        return shown or "none yet"

    def _tasks(self, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
        how = options.get("pull", "export")
        if how == "pages":
            pages = self.api.iter_tasks(self.project_id, int_option(options, "page_size", 100))
            return (without_data_manager_fields(task) for task in pages)
        if how != "export":
            raise ConfigError(
                f"unknown pull method {how!r}", hint="use -O pull=export or -O pull=pages"
            )
        return self._export_else_pages(int_option(options, "page_size", 100))

    def _export_else_pages(self, page_size: int) -> Iterator[dict[str, Any]]:
        """The export snapshot's tasks; the task list if this server has no snapshot API
        (the project itself was found already, so a 404 here means the endpoint)."""
        rows = self.api.export_tasks(self.project_id)
        try:
            first = next(rows, None)
        except NotFoundError:
            pages = self.api.iter_tasks(self.project_id, page_size)
            yield from (without_data_manager_fields(task) for task in pages)
            return
        if first is not None:
            yield first
            yield from rows

    def _items(
        self, config: LabelConfig, losses: LossReport, options: dict, expected: int | None
    ) -> Iterator[Item]:
        """The project's tasks as items; a `RemoteError` at the end if their number is not
        the project's own task count (`expected`: an export or a page walk that lost
        tasks, or a server that answered something else)."""
        people = {str(u.get("id")): u for u in self.users() if u.get("id") is not None}
        max_pixels = max_pixels_option(options)
        count = 0
        for task in self._tasks(options):
            count += 1
            item = convert.task_to_item(
                task,
                config,
                losses,
                where=f"task {task.get('id')}",
                instance=self.api.base_url,
                project=str(self.project_id),
                max_pixels=max_pixels,
            )
            restore_key(item, task)
            name_annotators(item, people)
            yield item
        if expected is not None and count != expected:
            raise RemoteError(
                f"the pull read {count} tasks, but the project says it has {expected}",
                where=f"project {self.project_id} on {self.api.base_url}",
                hint="the project changed during the pull, or the server's answer was "
                "incomplete: pull again",
            )

    # -- push --------------------------------------------------------------------------

    def write(self, dataset: Dataset, losses: LossReport, **options: Any) -> dict[str, Any]:
        """Import `dataset` into the project the URL names, or into a new project made from
        the dataset's ontology. Returns `{"project", "url", "created_project", "tasks":
        {item key: task id}, "annotations", "predictions"}`.

        Options: `batch_size` (tasks per import request, default 500), `title` (of a new
        project)."""
        items = iter(dataset.items)
        first = next(items, None)
        stream = itertools.chain([first], items) if first is not None else iter(())
        created = self.project_id is None
        if created:
            self.project_id = self._create_project(dataset, first, options)
        raw = self.api.get_project(self.project_id)
        config = parse_label_config(raw.get("label_config") or "<View/>")
        pusher = TaskPusher(self, config, losses)
        batch_size = int_option(options, "batch_size", DEFAULT_BATCH_SIZE)
        for batch in batched(stream, batch_size):
            pusher.push(batch)
        return {
            "project": self.project_id,
            "url": f"{self._url_base()}/projects/{self.project_id}",
            "created_project": created,
            "tasks": pusher.task_ids,
            "annotations": pusher.annotations,
            "predictions": pusher.predictions,
        }

    def _create_project(self, dataset: Dataset, first: Item | None, options: dict) -> int:
        project = dataset.project
        media_kind = project.media_kind or (first.media.kind if first is not None else None)
        label_config = ontology_to_config(project.ontology, media_kind)
        title = project_title(str(options.get("title") or project.name or ""))
        extra = {"description": project.description} if project.description else {}
        return int(self.api.create_project(title, label_config, **extra)["id"])


class LabelStudioHttpsConnector(LabelStudioConnector):
    """`labelstudio+https://HOST/projects/ID`: the Label Studio connector over https."""

    name = "labelstudio+https"
    description = "Label Studio server over https (labelstudio+https://HOST/projects/ID)"


def int_option(options: dict[str, Any], name: str, default: int) -> int:
    """A positive whole-number option, or a `ConfigError` naming it."""
    return integer_option(options, name, default, minimum=1)


def project_title(name: str) -> str:
    """A title Label Studio accepts (3 to 50 characters) made from `name`."""
    name = " ".join(name.split())
    if len(name) < 3:
        name = f"{name} (label-bridge)".strip()
    return name if len(name) <= 50 else name[:49].rstrip() + "…"


# ------------------------------------------------------------------------ pull helpers


def without_data_manager_fields(task: dict[str, Any]) -> dict[str, Any]:
    """A task from the task list without its Data Manager summary columns."""
    kept = {k: v for k, v in task.items() if k not in DATA_MANAGER_TASK_FIELDS}
    annotations = kept.get("annotations")
    if isinstance(annotations, list):
        kept["annotations"] = [
            {k: v for k, v in a.items() if k not in DATA_MANAGER_ANNOTATION_FIELDS}
            if isinstance(a, dict)
            else a
            for a in annotations
        ]
    return kept


def restore_key(item: Item, task: dict[str, Any]) -> None:
    """Use the item key a push stored in the task's `meta` (keys that Label Studio's data
    cannot carry, such as another tool's global key)."""
    meta = task.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get(KEY_META), str):
        item.key = meta[KEY_META]


def name_annotators(item: Item, people: dict[str, dict[str, Any]]) -> None:
    """Fill in the email and name of annotators known only by user id."""
    for aset in item.annotation_sets:
        person = aset.annotator
        if person is None or person.email or person.id not in people:
            continue
        user = people[person.id]
        full = convert.full_name(user)
        email = user.get("email")
        person.email = email if isinstance(email, str) and email else None
        person.name = person.name or full or None


# ------------------------------------------------------------------------ push helpers


def batched(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class TaskPusher:
    """Turns Items into import-shaped tasks and imports them one batch per request,
    resolving annotators to the server's users and recording what cannot be kept."""

    def __init__(self, connector: LabelStudioConnector, config: LabelConfig, losses: LossReport):
        self.connector = connector
        self.api = connector.api
        self.config = config
        self.losses = losses
        self.task_ids: dict[str, int] = {}
        self.annotations = 0
        self.predictions = 0
        users = connector.users()
        self.by_email = {str(u["email"]).lower(): u["id"] for u in users if u.get("email")}
        self.user_ids = {str(u["id"]) for u in users if u.get("id") is not None}

    def push(self, batch: list[Item]) -> None:
        tasks = [self.task_for(item) for item in batch]
        try:
            answer = self.api.import_tasks(self.connector.project_id, tasks)
        except BridgeError as error:
            error.message = f"{error.message} (batch of {len(batch)} items from {batch[0].key!r})"
            error.args = (error.message,)
            raise
        for item, task_id in zip(batch, answer["task_ids"], strict=True):
            self.task_ids[item.key] = task_id
        self.annotations += int(answer.get("annotation_count") or 0)
        self.predictions += int(answer.get("prediction_count") or 0)

    def task_for(self, item: Item) -> dict[str, Any]:
        """The import-shaped task of `item`: data, meta, annotations, predictions."""
        exported = convert.item_to_task(item, self.config, self.losses)
        task = {k: exported[k] for k in TASK_FIELDS_IMPORTED if k in exported}
        self._keep_key(item, task)
        humans = [a for a in item.annotation_sets if a.kind != "prediction" and a.status != "draft"]
        predictions = [a for a in item.annotation_sets if a.kind == "prediction"]
        task["annotations"] = [
            self._annotation(aset, raw, item)
            for aset, raw in zip(humans, exported.get("annotations") or [], strict=True)
        ]
        raw_predictions = exported.get("predictions") if predictions else []
        task["predictions"] = [
            prediction_entry(aset, raw)
            for aset, raw in zip(predictions, raw_predictions, strict=True)
        ]
        drafts = len(item.annotation_sets) - len(humans) - len(predictions)
        if drafts:
            self.losses.record(
                "draft-not-pushed",
                "Label Studio's import takes no drafts; drafts were not pushed",
                where=f"item {item.key}",
                count=drafts,
            )
        return task

    def _keep_key(self, item: Item, task: dict[str, Any]) -> None:
        probe = convert.task_to_item(
            {"data": task["data"]}, self.config, LossReport(), where="probe"
        )
        if probe.key != item.key:
            meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
            task["meta"] = {**meta, KEY_META: item.key}

    def _annotation(self, aset: AnnotationSet, raw: dict[str, Any], item: Item) -> dict[str, Any]:
        where = f"item {item.key} annotation {aset.id}"
        entry: dict[str, Any] = {
            "result": raw.get("result", []),
            "was_cancelled": aset.status == "skipped",
            "ground_truth": bool(aset.ground_truth or aset.kind == "gold"),
        }
        if aset.lead_time is not None:
            entry["lead_time"] = aset.lead_time
        author = self._author(aset.annotator, aset, item)
        if author is not None:
            entry["completed_by"] = author
        elif aset.annotator is not None:
            self.losses.record(
                "annotator-not-kept",
                "no user with this email on the Label Studio server: the annotation is "
                "credited to the importing user (create the user, then push again)",
                where=f"{where} by {describe(aset.annotator)}",
            )
        if aset.created_at is not None or aset.updated_at is not None:
            self.losses.record(
                "annotation-time-not-kept",
                "Label Studio sets created_at/updated_at of imported annotations to the import time",
                where=where,
                severity="approximated",
            )
        if aset.reviews:
            self.losses.record(
                "review-not-pushed",
                "reviews cannot be imported into Label Studio",
                where=where,
                count=len(aset.reviews),
            )
        return entry

    def _author(self, person: Annotator | None, aset: AnnotationSet, item: Item) -> int | None:
        """The server's user id for `person`: by email, else by the same id on this very
        server (the annotation was pulled from it)."""
        if person is None:
            return None
        if person.email and person.email.lower() in self.by_email:
            return int(self.by_email[person.email.lower()])
        source = aset.source or item.source
        same_server = (
            source is not None
            and source.tool == TOOL
            and ((source.instance or "").rstrip("/") == self.api.base_url)
        )
        if same_server and person.id in self.user_ids and person.id.isdigit():
            return int(person.id)
        return None


def prediction_entry(aset: AnnotationSet, raw: dict[str, Any]) -> dict[str, Any]:
    """An import-shaped prediction: its result, model version and score (when known)."""
    entry: dict[str, Any] = {"result": raw.get("result", [])}
    if aset.model_version is not None:
        entry["model_version"] = aset.model_version
    if aset.score is not None:
        entry["score"] = aset.score
    return entry


def describe(person: Annotator) -> str:
    return person.email or person.name or f"user {person.id}"
