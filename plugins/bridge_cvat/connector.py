"""The live CVAT connector: `cvat://HOST[:PORT]/tasks/ID` and `cvat://HOST/projects/ID`.

Pull (`read`) turns a task or a project into a `Dataset`: one `Item` per image of an image
task, one per video of a video task, and on each item one `AnnotationSet` per CVAT job that
covers it (the job's assignee is the annotator; its stage and state give the status, see
`job_status`). Push (`write`) creates a project or task with labels generated from the
ontology, attaches the media by URL, waits for CVAT to import it, then writes the
annotations job by job.

This module parses the URL (`target.py`) and the options and hands the `CvatApi` client and
the target over: `pull.py` reads, `push_task.py` writes into an existing task,
`push_new_tasks.py` creates tasks first; `job_states.py`, `job_workflow.py` and
`ontology.py` hold what both directions share.

URLs use https unless the scheme is `cvat+http://`. The token comes from the environment
variable `CVAT_ACCESS_TOKEN` (a personal access token), the organization slug from
`CVAT_ORG`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import SecretStr

from bridge.errors import ConfigError
from bridge.formats import Capabilities, Connector, Dataset
from bridge.http import HttpLimits
from bridge.limits import max_pixels_option
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge_cvat.api import AUTH_HINT, CvatApi
from bridge_cvat.ontology import REGIONS
from bridge_cvat.pull import pull_dataset
from bridge_cvat.push_new_tasks import NewTasksPush
from bridge_cvat.push_task import PUSH_MODES, TaskPush
from bridge_cvat.target import CvatTarget, parse_url

TOKEN_ENV = "CVAT_ACCESS_TOKEN"
ORG_ENV = "CVAT_ORG"


class CvatConnector(Connector):
    """A CVAT server, opened from `cvat://HOST[:PORT]/tasks/ID` or `/projects/ID`."""

    name = "cvat"
    description = "CVAT server (REST API): pull tasks and projects, push new ones"
    capabilities = Capabilities(media=["image", "video"], regions=REGIONS, tracks=True, live=True)

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
        options = {**options, "job_workflow": flag_option(options, "job_workflow")}
        mode = options.get("mode", "replace")
        if mode not in PUSH_MODES:
            raise ConfigError(
                f"unknown push mode {mode!r}", hint=f"use one of {', '.join(PUSH_MODES)}"
            )
        flag_option(options, "job_workflow")  # a typo fails before anything is created
        items = list(dataset.items)  # the project is complete once the items are read
        if self.target.kind == "tasks" and self.target.id is not None:
            push = TaskPush(self.api, self.target, self.target.id, losses, mode, options)
            return {"tasks": [push.push(items)]}
        if mode != "replace":
            raise ConfigError(
                f"mode {mode!r} needs an existing task", hint="give cvat://HOST/tasks/ID"
            )
        return NewTasksPush(self.api, self.target, dataset.project, losses, options).push(items)

    # -- pull -----------------------------------------------------------------------

    def read(self, losses: LossReport, **options: Any) -> Dataset:
        """Pull the task or project the URL names (see `pull.pull_dataset`); `-O
        issues=false` skips reading the jobs' issues as reviews."""
        issues = flag_option(options, "issues", default=True)
        return pull_dataset(self.api, self.target, losses, max_pixels_option(options), issues)


class CvatHttpConnector(CvatConnector):
    """The same connector for `cvat+http://` URLs (a server without TLS)."""

    name = "cvat+http"
    description = "CVAT server over plain http (cvat+http://HOST:PORT/tasks/ID)"
