"""The live CVAT connector: `cvat://HOST[:PORT]/tasks/ID` and `cvat://HOST/projects/ID`.

Pull (`read`) turns a task or a project into a `Dataset`: one `Item` per image of an image
task, one per video of a video task, and on each item one `AnnotationSet` per CVAT job that
covers it (the job's assignee is the annotator; its stage and state give the status, see
`job_status`). Push (`write`) creates a project or task with labels generated from the
ontology, attaches the media by URL, waits for CVAT to import it, then writes the
annotations job by job.

This module parses the URL and the options and hands over: `pull.py` reads, `push_task.py`
writes into an existing task, `push_new_tasks.py` creates tasks first; `job_states.py`,
`job_workflow.py` and `label_dicts.py` hold what both directions share.

URLs use https unless the scheme is `cvat+http://`. The token comes from the environment
variable `CVAT_ACCESS_TOKEN` (a personal access token), the organization slug from
`CVAT_ORG`.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bridge.errors import ConfigError
from bridge.formats import Capabilities, Connector, Dataset
from bridge.http import HttpLimits, refuse_userinfo
from bridge.losses import LossReport
from bridge_cvat.api import AUTH_HINT, CvatApi
from bridge_cvat.job_states import STATUS_TO_JOB, job_stage_state, job_status
from bridge_cvat.job_workflow import JobWorkflow
from bridge_cvat.label_dicts import (
    ATTRIBUTE_REQUEST_FIELDS,
    LABEL_REQUEST_FIELDS,
    SERVER_FIELDS,
    SUBLABEL_REQUEST_FIELDS,
    SVG_LABEL_ID,
    label_requests,
    server_free,
    svg_with_names,
)
from bridge_cvat.pull import TaskPull, job_annotation_set, job_annotator, pull_dataset
from bridge_cvat.push_new_tasks import NewTasksPush, media_url, missing_labels
from bridge_cvat.push_task import PUSH_MODES, TaskPush, pick_annotation_set

# The names below stay importable from here: tests, docs and older callers use this module.
__all__ = [
    "ALL_REGIONS",
    "ATTRIBUTE_REQUEST_FIELDS",
    "LABEL_REQUEST_FIELDS",
    "ORG_ENV",
    "PUSH_MODES",
    "SERVER_FIELDS",
    "STATUS_TO_JOB",
    "SUBLABEL_REQUEST_FIELDS",
    "SVG_LABEL_ID",
    "TOKEN_ENV",
    "URL_RE",
    "CvatConnector",
    "CvatHttpConnector",
    "CvatTarget",
    "JobWorkflow",
    "NewTasksPush",
    "TaskPull",
    "TaskPush",
    "job_annotation_set",
    "job_annotator",
    "job_stage_state",
    "job_status",
    "label_requests",
    "media_url",
    "missing_labels",
    "parse_url",
    "pick_annotation_set",
    "pull_dataset",
    "server_free",
    "svg_with_names",
]

TOKEN_ENV = "CVAT_ACCESS_TOKEN"
ORG_ENV = "CVAT_ORG"
URL_RE = re.compile(
    r"^(?P<scheme>cvat(?:\+http)?)://(?P<host>[^/:?#]+)(?::(?P<port>\d+))?"
    r"/(?P<kind>tasks|projects)/(?P<id>\d+|new)/?$"
)
ALL_REGIONS = ["bbox", "polygon", "polyline", "points", "skeleton", "ellipse", "mask", "cuboid", "tag"]  # fmt: skip


@dataclass(frozen=True)
class CvatTarget:
    """What a cvat:// URL names: the server's base URL and a task or project (id None for
    `/tasks/new` or `/projects/new`)."""

    base_url: str
    kind: str
    id: int | None


def parse_url(url: str) -> CvatTarget:
    """`cvat://host[:port]/tasks/42` -> CvatTarget("https://host[:port]", "tasks", 42).
    A URL with `user:password@` is refused (tokens come from the environment)."""
    refuse_userinfo(url, hint=f"drop the part before @; put the token in {TOKEN_ENV}")
    match = URL_RE.match(url)
    if match is None:
        raise ConfigError(
            f"not a CVAT URL: {url!r}",
            hint="use cvat://HOST[:PORT]/tasks/ID or cvat://HOST/projects/ID "
            "(/tasks/new or /projects/new to push into new ones; cvat+http:// for plain http)",
        )
    http = "http" if match["scheme"] == "cvat+http" else "https"
    port = f":{match['port']}" if match["port"] else ""
    target_id = None if match["id"] == "new" else int(match["id"])
    return CvatTarget(f"{http}://{match['host']}{port}", match["kind"], target_id)


class CvatConnector(Connector):
    """A CVAT server, opened from `cvat://HOST[:PORT]/tasks/ID` or `/projects/ID`."""

    name = "cvat"
    description = "CVAT server (REST API): pull tasks and projects, push new ones"
    capabilities = Capabilities(
        media=["image", "video"], regions=ALL_REGIONS, tracks=True, live=True
    )

    def __init__(self, target: CvatTarget, api: CvatApi):
        self.target = target
        self.api = api

    @classmethod
    def from_url(cls, url: str, **options: Any) -> CvatConnector:
        target = parse_url(url)
        token = options.get("token") or os.environ.get(TOKEN_ENV, "").strip()
        if not token:  # CVAT answers every API call but /server/about with 401 without one
            raise ConfigError(f"{TOKEN_ENV} is not set", hint=AUTH_HINT)
        if isinstance(token, str):
            token = SecretStr(token)
        api = CvatApi(
            target.base_url,
            token=token,
            organization=options.get("organization") or os.environ.get(ORG_ENV) or None,
            retry=options.get("retry"),
            transport=options.get("transport"),
            sleep=options.get("sleep") or time.sleep,
            limits=HttpLimits.from_options(options),
        )
        return cls(target, api)

    def close(self) -> None:
        self.api.close()

    def list_projects(self) -> list[dict[str, Any]]:
        return list(self.api.list_projects())

    # -- push -----------------------------------------------------------------------

    def write(self, dataset: Dataset, losses: LossReport, **options: Any) -> dict[str, Any]:
        """Push `dataset`: into the task the URL names (its jobs' annotations are replaced,
        or patched with `mode=create|update|delete`), or into new tasks (`/tasks/new`,
        `/projects/ID`, `/projects/new`) created with the items' media URLs."""
        mode = options.get("mode", "replace")
        if mode not in PUSH_MODES:
            raise ConfigError(
                f"unknown push mode {mode!r}", hint=f"use one of {', '.join(PUSH_MODES)}"
            )
        items = list(dataset.items)  # the project is complete once the items are read
        if self.target.kind == "tasks" and self.target.id is not None:
            push = TaskPush(self, self.target.id, losses, mode, options)
            return {"tasks": [push.push(items)]}
        if mode != "replace":
            raise ConfigError(
                f"mode {mode!r} needs an existing task", hint="give cvat://HOST/tasks/ID"
            )
        return NewTasksPush(self, dataset.project, losses, options).push(items)

    # -- pull -----------------------------------------------------------------------

    def read(self, losses: LossReport, **options: Any) -> Dataset:
        """Pull the task or project the URL names (see `pull.pull_dataset`)."""
        return pull_dataset(self, losses)


class CvatHttpConnector(CvatConnector):
    """The same connector for `cvat+http://` URLs (a server without TLS)."""

    name = "cvat+http"
    description = "CVAT server over plain http (cvat+http://HOST:PORT/tasks/ID)"
