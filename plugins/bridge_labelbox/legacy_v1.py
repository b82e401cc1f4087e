"""Legacy (v1) Labelbox JSON exports, read as export v2 rows. Pure: no network, no disk.

Before export v2 (2023; v1 was retired in 2024) `project.export_labels()` and the app
wrote one JSON array with one object per *label*:

    {"ID": label id, "DataRow ID", "Labeled Data": media URL, "External ID", "Global Key"?,
     "Label": {"objects": [...], "classifications": [...], "relationships"?: [...]},
     "Created By", "Created At", "Updated At", "Seconds to Label", "Project Name",
     "Dataset Name", "Reviews", "Agreement", "Benchmark Agreement", "Benchmark ID",
     "View Label", "Has Open Issues", "Skipped"}

objects `{featureId, schemaId, title, value, color, bbox | polygon | line | point |
instanceURI (mask PNG) | data.location (text entity), classifications}` and
classifications `{featureId, schemaId, title, value, answer: {title, value, ...} | text
| answers: [...]}`. `v1_row_to_v2` rewrites one such object into the export v2 row the
reader takes, so everything downstream is the export v2 reader; the fields v2 has no
place for ride in the row's `legacy_v1` object (kept in the item's `extra`). Video labels
(`"Label": {"frames": url}`) point at a second download and are refused.
"""

from __future__ import annotations

from typing import Any

from bridge.errors import FormatError

from .checks import a_list, an_object

LEGACY_KEY = "legacy_v1"
_ROW_USED = {
    "ID",
    "DataRow ID",
    "Labeled Data",
    "External ID",
    "Global Key",
    "Label",
    "Created By",
    "Created At",
    "Updated At",
    "Seconds to Label",
    "Project Name",
    "Reviews",
    "Project ID",
}
_GEOMETRY = {"bbox": "bounding_box", "polygon": "polygon", "line": "line", "point": "point"}
_FEATURE = {"featureId": "feature_id", "schemaId": "feature_schema_id", "title": "name"}


def is_v1_row(row: Any) -> bool:
    """A legacy export's label object (and not an export v2 row)."""
    return type(row) is dict and "data_row" not in row and "Labeled Data" in row and "Label" in row


def _renamed(raw: dict, skip: tuple[str, ...] = ()) -> dict:
    """`raw` with v1 key names turned into v2 ones (featureId -> feature_id, ...)."""
    return {_FEATURE.get(key, key): value for key, value in raw.items() if key not in skip}


def _answer(raw: Any) -> dict:
    an_object(raw, "a legacy answer")
    answer = _renamed(raw, ("classifications",))
    answer["classifications"] = _classifications(raw.get("classifications"))
    return answer


def _classification(raw: Any) -> dict:
    an_object(raw, "a legacy classification")
    out = _renamed(raw, ("answer", "answers"))
    if "answers" in raw:
        out["checklist_answers"] = [_answer(a) for a in a_list(raw["answers"], "answers")]
    elif type(raw.get("answer")) is dict:
        out["radio_answer"] = _answer(raw["answer"])
    elif "answer" in raw:
        answer = raw["answer"]
        out["text_answer"] = {"content": answer if type(answer) is str else str(answer)}
    return out


def _classifications(raws: Any) -> list[dict]:
    return [_classification(raw) for raw in a_list(raws or [], "classifications")]


def _object(raw: Any) -> dict:
    an_object(raw, "a legacy object")
    out = _renamed(raw, ("instanceURI", "classifications", "data", *_GEOMETRY))
    for key, v2_key in _GEOMETRY.items():
        if key in raw:
            out[v2_key] = raw[key]
    if "instanceURI" in raw:
        out["mask"] = {"url": raw["instanceURI"]}
    data = raw.get("data")
    if type(data) is dict and "location" in data:
        location = an_object(data["location"], "data.location")
        out["location"] = location
        rest = {k: v for k, v in data.items() if k != "location"}
        if rest:
            out["data"] = rest
    elif data is not None:
        out["data"] = data
    out["classifications"] = _classifications(raw.get("classifications"))
    return out


def v1_row_to_v2(row: Any, where: str) -> dict:
    """One legacy export object as the export v2 row holding the same data row and label."""
    an_object(row, "a legacy export row")
    label = row.get("Label")
    if label == "Skip" or row.get("Skipped") is True:
        label = {}
    an_object(label, "Label")
    if "frames" in label:
        raise FormatError(
            "a legacy video label: its frames are behind a separate URL",
            where=where,
            hint="export the project again with export v2 (frames come in the file)",
        )
    data_row = {"id": row.get("DataRow ID"), "row_data": row.get("Labeled Data")}
    if row.get("Global Key"):
        data_row["global_key"] = row["Global Key"]
    if row.get("External ID") is not None:
        data_row["external_id"] = row["External ID"]
    annotations = {
        "objects": [_object(obj) for obj in a_list(label.get("objects") or [], "objects")],
        "classifications": _classifications(label.get("classifications")),
        "relationships": a_list(label.get("relationships") or [], "relationships"),
    }
    details = {
        "created_by": row.get("Created By"),
        "created_at": row.get("Created At"),
        "updated_at": row.get("Updated At"),
        "reviews": row.get("Reviews") or [],
    }
    v2_label = {
        "label_kind": "Default",
        "version": "1.0.0",
        "id": row.get("ID"),
        "label_details": details,
        "annotations": annotations,
    }  # what export v2 writes
    if row.get("Seconds to Label") is not None:
        v2_label["performance_details"] = {"seconds_to_create": row["Seconds to Label"]}
    project_id = row.get("Project ID") or row.get("Project Name") or "legacy"
    project = {"name": row.get("Project Name"), "labels": [v2_label] if row.get("ID") else []}
    legacy = {key: value for key, value in row.items() if key not in _ROW_USED}
    return {"data_row": data_row, "projects": {str(project_id): project}, LEGACY_KEY: legacy}
