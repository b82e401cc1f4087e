"""CVAT label dicts as they cross the REST API.

Pulled labels carry fields that place them on one server (`server_free` drops them);
labels sent to create a task or project may carry only the request model's fields and no
ids (`label_requests`).
"""

from __future__ import annotations

import re
from typing import Any

SERVER_FIELDS = ("project_id", "task_id", "parent_id", "has_parent")
"""Label fields that say where a label lives on the server, not what it is."""


def server_free(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """REST labels without the fields that place them on one server (project_id, ...),
    and skeleton layouts naming their points (`data-label-name`) instead of the server's
    sublabel ids (`data-label-id`), as CVAT's XML export and label editor do."""
    clean = []
    for label in labels:
        if label.get("parent_id") is not None:
            continue
        out = {k: v for k, v in label.items() if k not in SERVER_FIELDS}
        subs = label.get("sublabels") or []
        out["sublabels"] = [
            {k: v for k, v in sub.items() if k not in SERVER_FIELDS} for sub in subs
        ]
        if out.get("svg"):
            out["svg"] = svg_with_names(
                out["svg"], {sub.get("id"): sub.get("name") for sub in subs}
            )
        clean.append(out)
    return clean


SVG_LABEL_ID = re.compile(r'data-label-id="(\d+)"')


def svg_with_names(svg: str, names: dict[Any, Any]) -> str:
    """`svg` with each `data-label-id="13"` replaced by `data-label-name="head"`."""

    def name_for(match: re.Match) -> str:
        name = names.get(int(match.group(1)))
        return f'data-label-name="{name}"' if name else match.group(0)

    return SVG_LABEL_ID.sub(name_for, svg)


LABEL_REQUEST_FIELDS = frozenset({"name", "color", "attributes", "type", "svg", "sublabels"})
SUBLABEL_REQUEST_FIELDS = frozenset({"name", "color", "attributes", "type"})
ATTRIBUTE_REQUEST_FIELDS = frozenset({"name", "mutable", "input_type", "values", "default_value"})


def label_requests(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CVAT label dicts as PatchedLabelRequests for a *new* task or project: no ids (the
    server assigns them), only fields the request model has."""

    def attributes(label):
        return [
            {k: v for k, v in a.items() if k in ATTRIBUTE_REQUEST_FIELDS}
            for a in label.get("attributes") or []
        ]

    requests = []
    for label in labels:
        out = {k: v for k, v in label.items() if k in LABEL_REQUEST_FIELDS}
        out["attributes"] = attributes(label)
        if label.get("sublabels"):
            out["sublabels"] = [
                {**{k: v for k, v in sub.items() if k in SUBLABEL_REQUEST_FIELDS},
                 "attributes": attributes(sub)}
                for sub in label["sublabels"]
            ]  # fmt: skip
        else:
            out.pop("sublabels", None)
        requests.append(out)
    return requests
