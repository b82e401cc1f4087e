"""Push into new tasks: create a project (for /projects/new) and tasks with labels generated
from the ontology, attach the items' media by URL, wait for CVAT to import it, then write
the annotations job by job (`TaskPush`)."""

from __future__ import annotations

from typing import Any

from bridge.losses import LossReport
from bridge.options import integer_option, number_option
from bridge.schema import Item, Project
from bridge_cvat.api import CvatApi
from bridge_cvat.ontology import label_requests, named_labels
from bridge_cvat.push_task import TaskPush
from bridge_cvat.target import CvatTarget


def media_url(item: Item, media_base_url: str | None) -> str | None:
    """The http(s) URL CVAT downloads `item`'s media from: its `media.uri`, or
    `media_base_url` + its key when the uri is not a URL (items pulled from a tool)."""
    uri = item.media.uri or ""
    if uri.startswith(("http://", "https://")):
        return uri
    if media_base_url:
        return f"{media_base_url.rstrip('/')}/{item.key.lstrip('/')}"
    return None


def task_media_url(item: Item, media_base_url: str | None, losses: LossReport) -> str | None:
    """The URL CVAT downloads `item`'s media from when a CVAT task can hold it (an image or
    a video with an http(s) URL: `media_url`); else None, with the loss recorded
    (`cvat.no_remote_url` checked first, then `cvat.media_kind`)."""
    url = media_url(item, media_base_url)
    if url is None:
        losses.record(
            "cvat.no_remote_url",
            "item has no http(s) media URL to attach to a CVAT task (set media_base_url); "
            "not pushed",
            where=item.key,
        )
        return None
    if item.media.kind not in ("image", "video"):
        losses.record("cvat.media_kind", f"CVAT cannot label {item.media.kind}", where=item.key)
        return None
    return url


def data_request(pairs: list[tuple[Item, str]], options: dict[str, Any]) -> dict[str, Any]:
    """The DataRequest attaching `pairs`' URLs (in order) to a task: `image_quality` from
    the options, and for a video the first item's CVAT frame range (`start_frame`,
    `stop_frame`, `frame_filter`, as pulled)."""
    data: dict[str, Any] = {
        "image_quality": integer_option(options, "image_quality", 70, minimum=0, maximum=100),
        "remote_files": [url for _, url in pairs],
        "sorting_method": "predefined",
    }
    first = pairs[0][0]
    cvat = first.extra.get("cvat") or {}
    if first.media.kind == "video":
        for key in ("start_frame", "stop_frame", "frame_filter"):
            if cvat.get(key) not in (None, ""):
                data[key] = cvat[key]
    return data


def _new_task_groups(
    items: list[Item], losses: LossReport, media_base_url: str | None
) -> list[tuple[str, list[tuple[Item, str]]]]:
    """(item, URL) pairs grouped into the tasks to create: one task per image subset, one
    per video."""
    groups: dict[str, list[tuple[Item, str]]] = {}
    for item in items:
        url = task_media_url(item, media_base_url, losses)
        if url is None:
            continue
        if item.media.kind == "video":
            groups[f"video:{item.key}"] = [(item, url)]
        else:
            groups.setdefault(f"images:{item.subset or ''}", []).append((item, url))
    return list(groups.items())


def missing_labels(items: list[Item], labels: list[dict[str, Any]], losses) -> list[dict]:
    """Labels (and attributes) the items use but the ontology lacks, as CVAT label dicts:
    type "any", attributes as free text."""
    known = {label["name"]: label for label in labels}
    added: dict[str, dict[str, Any]] = {}
    for item in items:
        for aset in item.annotation_sets:
            for thing in [*aset.regions, *aset.tracks]:
                if thing.label is None:
                    continue
                label = known.get(thing.label) or added.setdefault(
                    thing.label, {"name": thing.label, "type": "any", "attributes": []}
                )
                _add_text_attributes(label, thing, losses)
    return list(added.values())


def _add_text_attributes(label: dict[str, Any], thing, losses) -> None:
    """Gives `label` a free-text attribute for each classification of `thing` (a region
    or track) it has no attribute for."""
    have = {a["name"] for a in label.get("attributes") or []}
    for name in {c.name for c in thing.classifications} - have:
        label.setdefault("attributes", []).append(
            {
                "name": name,
                "mutable": False,
                "input_type": "text",
                "values": [""],
                "default_value": "",
            }
        )
        losses.record(
            "cvat.attribute_added_as_text",
            "attribute not in the ontology; created as a CVAT text attribute",
            where=f"{thing.label}.{name}",
            severity="approximated",
        )


class NewTasksPush:
    """Creates a project (for /projects/new) and tasks with the items' media, then writes
    their annotations."""

    def __init__(self, api: CvatApi, target: CvatTarget, project: Project, losses, options):
        self.api = api
        self.target = target
        self.project = project
        self.losses = losses
        self.options = options

    def push(self, items: list[Item]) -> dict[str, Any]:
        labels = named_labels(self.project.ontology, self.losses, "ontology")
        labels = label_requests(labels + missing_labels(items, labels, self.losses))
        result: dict[str, Any] = {}
        project_id = self.target.id
        if self.target.kind == "projects" and project_id is None:
            body = {"name": self.options.get("name") or self.project.name, "labels": labels}
            project_id = self.api.create_project(body)["id"]
            result["project"] = project_id
        groups = _new_task_groups(items, self.losses, self.options.get("media_base_url"))
        result["tasks"] = []
        for group, pairs in groups:
            task_id = self._create_task(group, pairs, labels, project_id)
            push = TaskPush(self.api, self.target, task_id, self.losses, "replace", self.options)
            result["tasks"].append(push.push([item for item, _ in pairs], by_order=True))
        return result

    def _create_task(self, group: str, pairs, labels, project_id: int | None) -> int:
        first = pairs[0][0]
        base = self.options.get("name") or self.project.name
        body: dict[str, Any] = {
            "name": f"{base} {first.key}" if group.startswith("video:") else base
        }
        if project_id is not None:
            body["project_id"] = project_id
        else:
            body["labels"] = labels
        if first.subset and first.media.kind == "image":
            body["subset"] = first.subset
        if self.options.get("segment_size"):
            body["segment_size"] = integer_option(self.options, "segment_size", 0, minimum=1)
        task_id = self.api.create_task(body)["id"]
        rq_id = self.api.attach_data(task_id, data_request(pairs, self.options))
        self.api.wait_for_request(
            rq_id, poll_interval=number_option(self.options, "poll_interval", 2.0, minimum=0)
        )
        return task_id
