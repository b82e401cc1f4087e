"""Labelbox export v2 data rows <-> unified items. Pure: no network, no disk.

One export v2 line is one *data row* (Labelbox's name for an asset to label):

    {"data_row": {"id", "global_key", "external_id", "row_data", "details": {...}},
     "media_attributes": {"mime_type", "width", "height", "frame_rate", "frame_count", ...},
     "projects": {"<project id>": {"name", "project_details": {...},
                  "labels": [{"id", "label_kind", "version", "label_details": {"created_by",
                              "created_at", "updated_at", "reviews"}, "performance_details",
                              "annotations": {"objects", "classifications", "relationships"}
                                             | video: {"frames", "segments",
                                                       "key_frame_feature_map", "classifications"}}]}}}

Each label of each project becomes one unified `AnnotationSet` (source.project = the
project id, source.annotation = the label id). An object's `feature_id` is the region id;
relationships point at feature ids. Fields with no unified home stay in `extra` and are
written back by `item_to_data_row`, so export -> unified -> export is lossless.

Reviews: each entry of `label_details.reviews` is a review of its label; each entry of the
project's `project_details.workflow_history` (the data row's moves through the project's
workflow: `{"action", "created_at", "created_by", "previous_task_id", "previous_task_name",
"next_task_id", "next_task_name"}`) is a review of every label of that project on the row,
after the label's own reviews: "Approve" is accepted, "Reject" and "Rework" rejected, any
other action (a submission, a move between tasks) commented. The history itself rides in
the project's `extra` and is written back from there, not from the reviews.

`item_to_import_rows` (the import NDJSON for model-assisted labeling and label import)
lives in `import_ndjson` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bridge.errors import BridgeError, FormatError, describe_validation_error
from bridge.limits import DEFAULT_MAX_PIXELS
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    AnnotationStatus,
    Item,
    MediaKind,
    Region,
    Relation,
    without_extras,
)

from .checks import (
    NUMBER_TYPES,
    a_list,
    an_object,
    identifier,
    number,
    optional_text,
    required,
    timestamp,
)
from .classifications import TOOL, read_classifications, write_classifications
from .import_ndjson import item_to_import_rows
from .names import named_only
from .shapes import (
    GEOMETRY_KEYS,
    NO_MASKS,
    MaskFetcher,
    Masks,
    read_geometry,
    write_geometry,
)
from .video import OTHER_KEY, placing_frame_count, read_video, write_video_annotations

__all__ = [
    "data_row_to_item",
    "item_record",
    "item_to_data_row",
    "item_to_import_rows",
    "media_kind",
]

_DATA_ROW_CONSUMED = frozenset(("id", "row_data"))
_MEDIA_CONSUMED = frozenset(("mime_type", "width", "height", "frame_rate", "frame_count"))
_ROW_CONSUMED = frozenset(("data_row", "media_attributes", "projects"))
_PROJECT_CONSUMED = frozenset(("labels",))
_LABEL_CONSUMED = frozenset(("id", "label_details", "annotations"))
_DETAILS_CONSUMED = frozenset(("created_by", "reviews"))
_OBJECT_CONSUMED = frozenset(("feature_id", "name", "classifications", *GEOMETRY_KEYS))
_ANNOTATIONS_CONSUMED = frozenset(("objects", "classifications", "relationships"))
_VIDEO_CONSUMED = frozenset(("frames", "segments", "key_frame_feature_map"))
_VIDEO_ANNOTATIONS_CONSUMED = _ANNOTATIONS_CONSUMED | _VIDEO_CONSUMED
_RELATIONSHIP_CONSUMED = frozenset(("name", "relationship"))
_LINK_CONSUMED = frozenset(("source", "target", "type"))
PROJECT_KEY = "lb_project"
UNSUPPORTED_KEY = "lb_unsupported_objects"
UNSUPPORTED_AT = "lb_unsupported_at"
"""Where the unsupported objects were in `objects` (so they come back in their place)."""
ANNOTATIONS_KEY = "lb_annotations"
WORKFLOW_STATUS: dict[str, AnnotationStatus] = {
    "ToLabel": "draft",
    "InReview": "in_review",
    "InRework": "rejected",
    "Done": "accepted",
}


def media_kind(mime_type: str | None, annotations: Iterable[dict]) -> MediaKind:
    """What a data row is, from its MIME type (or, failing that, from its labels)."""
    mime = (mime_type or "").lower()
    if "conversation" in mime:
        return "conversation"
    for prefix, kind in (
        ("image/", "image"),
        ("video/", "video"),
        ("audio/", "audio"),
        ("text/html", "html"),
        ("text/", "text"),
        ("application/pdf", "document"),
    ):
        if mime.startswith(prefix):
            return kind  # type: ignore[return-value]
    if any(type(annotation) is dict and "frames" in annotation for annotation in annotations):
        return "video"
    return "image"


def _rest(raw: dict, consumed: AbstractSet[str]) -> dict[str, Any]:
    """The entries of `raw` not in `consumed` (checked in C first: often there are none)."""
    if consumed.issuperset(raw):
        return {}
    return {key: value for key, value in raw.items() if key not in consumed}


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(raw: Any, what: str) -> int | None:
    """A media size or count: None when the export gives none (or not a number)."""
    kind = type(raw)
    if kind is int:
        return raw
    if kind is float:
        return int(number(raw, what))
    return None


def _seconds(raw: Any) -> float | None:
    return number(raw, "seconds_to_create") if type(raw) in NUMBER_TYPES else None


_MEDIA_NUMBERS = (
    ("width", "width", False),
    ("height", "height", False),
    ("frame_count", "frame_count", True),
    ("fps", "frame_rate", False),
)
"""(unified field, export key, may it be 0): a size that is not positive is unknown."""


def _read_media(row: dict, data_row: dict, labels: Iterable[dict]) -> tuple[dict, dict]:
    """The item's media, and the media attributes it could not take (a width of 0: no
    size is known; the value rides in `extra` and is written back)."""
    attributes = row.get("media_attributes") or {}
    if type(attributes) is not dict:
        an_object(attributes, "media_attributes")
    annotations = (label.get("annotations") for label in labels if type(label) is dict)
    mime_type = optional_text(attributes.get("mime_type"), "media_attributes.mime_type")
    fps = attributes.get("frame_rate")
    media = {
        "kind": media_kind(mime_type, annotations),
        "uri": optional_text(data_row.get("row_data"), "data_row.row_data"),
        "width": _int(attributes.get("width"), "media_attributes.width"),
        "height": _int(attributes.get("height"), "media_attributes.height"),
        "frame_count": _int(attributes.get("frame_count"), "media_attributes.frame_count"),
        "fps": number(fps, "frame_rate") if type(fps) in NUMBER_TYPES else None,
        "mime_type": mime_type,
    }
    kept = {}
    for field, key, zero_ok in _MEDIA_NUMBERS:
        value = media[field]
        if value is not None and (value < 0 or (value == 0 and not zero_ok)):
            media[field] = None
            kept[key] = attributes[key]
    return media, kept


def _review(raw: Any) -> dict:
    """A Labelbox review; its exact shape is kept in `extra` for the round trip."""
    an_object(raw, "a review")
    text = " ".join(value for value in raw.values() if type(value) is str).lower()
    status = (
        "accepted"
        if "approve" in text or "accept" in text
        else ("rejected" if "reject" in text else "commented")
    )
    reviewer = raw.get("created_by") or raw.get("reviewer")
    return {
        "status": status,
        "reviewer": {"email": reviewer} if isinstance(reviewer, str) else None,
        "created_at": timestamp(raw.get("created_at") or raw.get("reviewed_at")),
        "extra": {"lb_raw": raw},
    }


WORKFLOW_REVIEW = "lb_workflow_action"
"""`extra` key of a review read from the workflow history: the history entry itself."""
_WORKFLOW_VERDICTS: dict[str, str] = {
    "approve": "accepted",
    "approved": "accepted",
    "reject": "rejected",
    "rejected": "rejected",
    "rework": "rejected",
}


def _workflow_reviews(history: Any) -> list[dict]:
    """The reviews a project's `workflow_history` stands for (see the module docstring)."""
    if history is None:
        return []
    reviews = []
    for entry in a_list(history, "project_details.workflow_history"):
        an_object(entry, "a workflow_history entry")
        action = optional_text(entry.get("action"), "a workflow_history action")
        who = entry.get("created_by")
        reviews.append(
            {
                "status": _WORKFLOW_VERDICTS.get((action or "").strip().lower(), "commented"),
                "reviewer": {"email": who} if isinstance(who, str) and who else None,
                "created_at": timestamp(entry.get("created_at")),
                "extra": {WORKFLOW_REVIEW: entry},
            }
        )
    return reviews


def _read_object(
    obj: Any, size: tuple, index: int, losses: LossReport, where: str, masks: Masks
) -> dict | None:
    """One export object as a unified `Region` record, or None for a kind with no unified
    shape. The reader's hot path: one comprehension, one geometry call, no field left at
    its default (nested classifications are read only when there are some)."""
    if type(obj) is not dict:
        an_object(obj, "an object")
    extra = {key: value for key, value in obj.items() if key not in _OBJECT_CONSUMED}
    shape = read_geometry(obj, size, extra, masks, losses, where)
    if shape is None:
        return None
    name = obj.get("name")
    if name is not None and type(name) is not str:
        optional_text(name, "an object's name")
    feature_id = obj.get("feature_id")
    if feature_id is None:
        region = {"id": f"object-{index}", "label": name, "shape": shape, "extra": extra}
    else:
        region_id = (
            feature_id if type(feature_id) is str else identifier(feature_id, "a feature_id")
        )
        region = {
            "id": region_id,
            "label": name,
            "shape": shape,
            "extra": extra,
            "source": {"tool": TOOL, "region": region_id},
        }
    nested = obj.get("classifications")
    if nested:
        region["classifications"] = read_classifications(nested, losses, where)
    return region


def _read_relationship(raw: Any) -> dict:
    an_object(raw, "a relationship")
    link = an_object(required(raw, "relationship", "a relationship"), "relationship")
    kind = link.get("type", "")
    both = type(kind) is str and kind.lower() == "bidirectional"
    extra = _rest(raw, _RELATIONSHIP_CONSUMED)
    link_rest = _rest(link, _LINK_CONSUMED)
    if link_rest:
        extra["lb_relationship"] = link_rest
    label = optional_text(raw.get("name"), "a relationship's name")
    source = identifier(required(link, "source", "relationship"), "relationship source")
    target = identifier(required(link, "target", "relationship"), "relationship target")
    return {
        "from_id": source,
        "to_id": target,
        "label": label,
        "direction": "both" if both else "forward",
        "extra": extra,
    }


def _read_objects(
    objects: Any, annotation_set: dict, size: tuple, losses: LossReport, where: str, masks: Masks
) -> list[dict]:
    """The regions of a label's `objects`; unsupported objects go into the set's `extra`."""
    regions, unsupported, positions = [], [], []
    for index, obj in enumerate(a_list(objects, "objects")):
        region = _read_object(obj, size, index, losses, where, masks)
        if region is None:
            unsupported.append(obj)
            positions.append(index)
        else:
            regions.append(region)
    if unsupported:
        _report_unsupported(unsupported, losses, where)
        annotation_set["extra"][UNSUPPORTED_KEY] = unsupported
        if positions[0] < len(regions):  # not all at the end: say where they were
            annotation_set["extra"][UNSUPPORTED_AT] = positions
    return regions


UNSUPPORTED_CODES = {
    "DocumentEntityToken": (
        "labelbox-document-entity",
        "document entities (token ids on PDF pages, no character offsets) have no unified "
        "span; they are kept for a Labelbox round trip only",
    ),
}


def _report_unsupported(objects: list[dict], losses: LossReport, where: str) -> None:
    """The objects kept for a Labelbox round trip only, by kind, each place naming the
    objects' kind and names."""
    by_kind: dict[str, list[str]] = {}
    for obj in objects:
        kind = obj.get("annotation_kind") if type(obj.get("annotation_kind")) is str else None
        name = obj.get("name") if type(obj.get("name")) is str else "?"
        by_kind.setdefault(kind or "unknown kind", []).append(name)
    for kind, names in by_kind.items():
        code, message = UNSUPPORTED_CODES.get(kind) or (
            "labelbox-object-unsupported",
            "objects of a kind label-bridge does not model are kept for a Labelbox round trip only",
        )
        losses.record(
            code,
            message,
            where=f"{where} ({kind}: {', '.join(sorted(set(names)))})",
            severity="unmapped",
            count=len(names),
        )


def _report_dicom(annotations: dict, losses: LossReport, where: str) -> None:
    """DICOM labels (`groups`: one video-like label per view) have no unified form yet:
    they ride in `extra` for a Labelbox round trip, and the loss report names them."""
    groups = annotations["groups"]
    names: set[str] = set()
    count = 0
    if type(groups) is dict:
        for group in groups.values():
            frames = group.get("frames") if type(group) is dict else None
            for frame in (frames or {}).values() if type(frames) is dict else ():
                objects = frame.get("objects") if type(frame) is dict else None
                for obj in (objects or {}).values() if type(objects) is dict else ():
                    count += 1
                    if type(obj) is dict and type(obj.get("name")) is str:
                        names.add(obj["name"])
    losses.record(
        "labelbox-dicom-unsupported",
        "DICOM annotations (per-view frames in `groups`) have no unified form yet; they are "
        "kept for a Labelbox round trip only",
        where=f"{where} ({', '.join(sorted(names)) or 'no named objects'})",
        severity="unmapped",
        count=max(count, 1),
    )


def _read_annotations(
    annotation_set: dict,
    annotations: Any,
    media: dict,
    losses: LossReport,
    where: str,
    masks: Masks,
) -> None:
    if type(annotations) is not dict:
        an_object(annotations, "a label's annotations")
    size = (media["height"], media["width"])
    objects = annotations.get("objects")
    regions = _read_objects(objects, annotation_set, size, losses, where, masks) if objects else []
    classifications = read_classifications(annotations.get("classifications"), losses, where)
    relationships = annotations.get("relationships")
    relations = (
        [_read_relationship(raw) for raw in a_list(relationships, "relationships")]
        if relationships
        else []
    )
    video = "frames" in annotations  # audio labels have `segments` of their own: kept as is
    rest_keys = _VIDEO_ANNOTATIONS_CONSUMED if video else _ANNOTATIONS_CONSUMED
    if video:
        annotation_set["tracks"], classifications, other = read_video(
            annotations, classifications, size, media["frame_count"], losses, where, masks
        )
        if other:
            annotation_set["extra"][OTHER_KEY] = other
    rest = _rest(annotations, rest_keys)
    if "groups" in annotations:
        _report_dicom(annotations, losses, where)
    annotation_set["regions"] = regions
    annotation_set["classifications"] = classifications
    annotation_set["relations"] = relations
    layout = {}
    if "objects" in annotations:
        layout["objects"] = True
    if "relationships" in annotations:
        layout["relationships"] = True
    if video:
        layout["frames"] = True
    annotation_set["extra"][ANNOTATIONS_KEY] = {"layout": layout, "rest": rest}


def _read_label(
    label: Any,
    project_id: str,
    project_rest: dict,
    workflow: Any,
    workflow_reviews: list[dict],
    data_row_id: str,
    media: dict,
    losses: LossReport,
    where: str,
    masks: Masks,
) -> dict:
    if type(label) is not dict:
        an_object(label, "a label")
    details = label.get("label_details") or {}
    if type(details) is not dict:
        an_object(details, "label_details")
    created_by = details.get("created_by")
    performance = label.get("performance_details") or {}
    if type(performance) is not dict:
        an_object(performance, "performance_details")
    seconds = performance.get("seconds_to_create")
    reviews = details.get("reviews")
    label_id = label.get("id")
    if type(label_id) is not str:
        label_id = identifier(required(label, "id", "a label"), "a label's id")
    extra = _rest(label, _LABEL_CONSUMED)
    extra["lb_label_details"] = (
        _rest(details, _DETAILS_CONSUMED) if "label_details" in label else None
    )
    extra[PROJECT_KEY] = dict(project_rest)
    extra["lb_has_reviews"] = "reviews" in details
    annotation_set = {
        "id": label_id,
        "created_at": timestamp(details.get("created_at")),
        "updated_at": timestamp(details.get("updated_at")),
        "source": {
            "tool": TOOL,
            "project": project_id,
            "item": data_row_id,
            "annotation": label_id,
        },
        "extra": extra,
    }
    if isinstance(created_by, str):
        annotation_set["annotator"] = {"email": created_by}
    if isinstance(workflow, str) and workflow in WORKFLOW_STATUS:
        annotation_set["status"] = WORKFLOW_STATUS[workflow]
    if seconds is not None:
        annotation_set["lead_time"] = _seconds(seconds)
    if reviews:
        annotation_set["reviews"] = [_review(review) for review in a_list(reviews, "reviews")]
    if workflow_reviews:
        annotation_set.setdefault("reviews", []).extend(
            {**review, "extra": dict(review["extra"])} for review in workflow_reviews
        )
    _read_annotations(annotation_set, label.get("annotations") or {}, media, losses, where, masks)
    return annotation_set


def _all_labels(row: dict) -> list[tuple[str, dict, dict]]:
    projects = row.get("projects") or {}
    if type(projects) is not dict:
        raise FormatError("projects must be an object keyed by project id")
    labels = []
    for pid, project in projects.items():
        if type(project) is not dict:
            an_object(project, f"project {pid}")
        project_labels = project.get("labels") or ()
        if type(project_labels) is not list:
            a_list(project_labels, f"project {pid} labels")
        labels += [(pid, project, label) for label in project_labels]
    return labels


def _read_labels(
    labels: list[tuple[str, dict, dict]],
    data_row_id: str,
    media: dict,
    losses: LossReport,
    where: str,
    masks: Masks,
) -> list[dict]:
    """One annotation set per label; a project's own fields are read once per project."""
    sets, projects = [], {}
    for pid, project, label in labels:
        if pid not in projects:
            details = an_object(project.get("project_details") or {}, "project_details")
            projects[pid] = (
                _rest(project, _PROJECT_CONSUMED),
                details.get("workflow_status"),
                _workflow_reviews(details.get("workflow_history")),
            )
        project_rest, workflow, workflow_reviews = projects[pid]
        sets.append(
            _read_label(
                label,
                pid,
                project_rest,
                workflow,
                workflow_reviews,
                data_row_id,
                media,
                losses,
                where,
                masks,
            )
        )
    return sets


def item_data(
    row: dict, losses: LossReport, where: str, instance: str | None, masks: Masks
) -> dict:
    """The unified `Item` of export line `row` as plain data, not yet validated: building
    it as dicts and validating once is much faster than building ~50 pydantic objects one
    by one, and every value is still checked (`data_row_to_item` does both; the benchmark
    times them apart). Malformed input raises `FormatError` where it is checked."""
    data_row = row["data_row"]
    labels = _all_labels(row)
    key = data_row.get("global_key") or data_row.get("external_id") or data_row.get("id")
    if not key:
        raise FormatError("the data row has no global_key, external_id or id", where=where)
    if type(key) is not str:
        key = identifier(key, "the data row's global_key")
    raw_id = data_row.get("id")
    data_row_id = (
        (raw_id if type(raw_id) is str else identifier(raw_id, "data_row.id")) if raw_id else key
    )
    media, unknown = _read_media(row, data_row, (label for _, _, label in labels))
    media_rest = _rest(row.get("media_attributes") or {}, _MEDIA_CONSUMED)
    if unknown:
        media_rest.update(unknown)
    extra = {
        "lb_data_row": _rest(data_row, _DATA_ROW_CONSUMED),
        "lb_media_attributes": media_rest,
        "lb_has_media_attributes": "media_attributes" in row,
    }
    if not _ROW_CONSUMED.issuperset(row):  # keys of a newer export
        extra.update(_rest(row, _ROW_CONSUMED))
    return {
        "key": key,
        "media": media,
        "source": {"tool": TOOL, "instance": instance, "item": data_row_id},
        "extra": extra,
        "annotation_sets": _read_labels(labels, data_row_id, media, losses, where, masks),
    }


def item_record(
    row: Any,
    losses: LossReport,
    *,
    where: str,
    instance: str | None = None,
    masks: MaskFetcher | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict:
    """One export v2 line (already parsed) as an item *record*: the plain data of the
    unified `Item`, valid by construction (every value `Item.model_validate` would refuse
    is refused here), so the JSONL writer may dump it without pydantic. Bad input raises
    `FormatError` at `where`; no mask above `max_pixels` pixels is decoded or made."""
    if not isinstance(row, dict) or not isinstance(row.get("data_row"), dict):
        raise FormatError(
            "not an export v2 data row (no data_row object)",
            where=where,
            hint='each line of a Labelbox export v2 file is {"data_row": {...}, "projects": {...}}',
        )
    source = (
        NO_MASKS if masks is None and max_pixels == DEFAULT_MAX_PIXELS else Masks(masks, max_pixels)
    )
    try:
        return item_data(row, losses, where, instance, source)
    except BridgeError as error:
        error.where = error.where or where
        raise


def data_row_to_item(
    row: dict,
    losses: LossReport,
    *,
    where: str,
    instance: str | None = None,
    masks: MaskFetcher | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Item:
    """One export v2 line (already parsed) as a unified `Item`: one `AnnotationSet` per
    label per project (`item_record`, validated). `masks(url)` fetches a mask PNG; without
    it mask regions keep their URLs in `extra` (loss "mask-not-fetched"). Bad input raises
    `FormatError` at `where`."""
    record = item_record(
        row, losses, where=where, instance=instance, masks=masks, max_pixels=max_pixels
    )
    try:
        return Item.model_validate(record)
    except ValidationError as error:  # a check item_record lacks: a bug, but still reported
        raise FormatError(
            f"malformed Labelbox data row: {describe_validation_error(error)}", where=where
        ) from None


# ------------------------------------------------------------------------------ writing


def _time_out(value: datetime | None, raw: Any) -> str | None:
    """The original timestamp text when it still says the same instant."""
    if value is None:
        return None
    return raw if _time(raw) == value else value.isoformat()


def _write_region(region: Region, losses: LossReport, where: str) -> dict[str, Any] | None:
    geometry = write_geometry(region.shape, region.extra, losses, where)
    if geometry is None:
        return None
    extra = {k: v for k, v in region.extra.items() if not k.startswith("lb_")}
    return {
        "feature_id": region.id,
        "name": region.label,
        **extra,
        "classifications": write_classifications(region.classifications),
        **geometry,
    }


def _write_relation(relation: Relation) -> dict[str, Any]:
    source, target = relation.from_id, relation.to_id
    if relation.direction == "backward":
        source, target = target, source
    extra = {k: v for k, v in relation.extra.items() if k != "lb_relationship"}
    link = {
        "source": source,
        "target": target,
        "type": "bidirectional" if relation.direction == "both" else "unidirectional",
        **relation.extra.get("lb_relationship", {}),
    }
    return {"name": relation.label, **extra, "relationship": link}


def _put_back_unsupported(objects: list, extra: dict) -> None:
    """The objects kept for a Labelbox round trip, put back where they were."""
    unsupported = extra.get(UNSUPPORTED_KEY) or []
    positions = extra.get(UNSUPPORTED_AT)
    if not isinstance(positions, list) or len(positions) != len(unsupported):
        objects += unsupported
        return
    for position, obj in zip(positions, unsupported, strict=True):
        if isinstance(position, int) and 0 <= position <= len(objects):
            objects.insert(position, obj)
        else:
            objects.append(obj)


def _write_annotations(
    item: Item, annotation_set: AnnotationSet, losses: LossReport, where: str
) -> dict[str, Any]:
    stored = annotation_set.extra.get(ANNOTATIONS_KEY) or {}
    layout = stored.get("layout") or {}
    video = item.media.kind == "video" or layout.get("frames")
    if video:
        out = write_video_annotations(annotation_set, losses, where, item.media.frame_count)
    else:
        if annotation_set.tracks:
            losses.record(
                "labelbox-tracks-on-still", "tracks on a non-video item were dropped", where=where
            )
        objects = [_write_region(region, losses, where) for region in annotation_set.regions]
        objects = [obj for obj in objects if obj is not None]
        _put_back_unsupported(objects, annotation_set.extra)
        out = {}
        if objects or layout.get("objects") or not stored:  # audio labels have no objects
            out["objects"] = objects
        out["classifications"] = write_classifications(annotation_set.classifications)
    if annotation_set.relations or layout.get("relationships") or not (video or stored):
        out["relationships"] = [_write_relation(r) for r in annotation_set.relations]
    out.update(stored.get("rest") or {})
    return out


def _write_label(
    item: Item, annotation_set: AnnotationSet, losses: LossReport, where: str
) -> dict[str, Any]:
    extra = annotation_set.extra
    raw_details = extra.get("lb_label_details", {})
    details: dict[str, Any] = dict(raw_details or {})
    for field in ("created_at", "updated_at"):
        text = _time_out(getattr(annotation_set, field), details.get(field))
        if text is not None:
            details[field] = text
    who = annotation_set.annotator
    if who is not None and (who.email or who.name):
        details["created_by"] = who.email or who.name
    elif who is not None:
        losses.record(
            "labelbox-annotator-id-only",
            "Labelbox names a label's author by e-mail; "
            "an annotator known only by another tool's user id was left out",
            where=where,
        )
    # reviews read from the workflow history go back with the project's history (extra)
    own_reviews = [r for r in annotation_set.reviews if WORKFLOW_REVIEW not in r.extra]
    if own_reviews or extra.get("lb_has_reviews", raw_details is not None):
        details["reviews"] = [r.extra.get("lb_raw") or {"status": r.status} for r in own_reviews]
    label_rest = {k: v for k, v in extra.items() if not k.startswith("lb_")}
    label = {
        "label_kind": "Video" if item.media.kind == "video" else "Default",
        "version": "1.0.0",
        **label_rest,
        "id": annotation_set.id,
    }
    if details or raw_details is not None:
        label["label_details"] = details
    label["annotations"] = _write_annotations(item, annotation_set, losses, where)
    return label


def _from_labelbox(element) -> bool:
    return element.source is not None and element.source.tool == TOOL


def _without_vendor_extras(annotation_set: AnnotationSet) -> AnnotationSet:
    """A copy without `extra` anywhere: another tool's vendor fields must not land in a
    Labelbox file (they were reported by the reader that kept them)."""
    return without_extras(annotation_set)


def _project_id(annotation_set: AnnotationSet, default: str) -> str:
    source = annotation_set.source
    if source is not None and source.tool == TOOL and source.project:
        return source.project
    return default


def _placing_frame_count(item: Item, losses: LossReport, where: str) -> Item:
    """`item` with a video frame count that places every annotated frame. Labelbox numbers
    a video's frames 1..frame_count and ends an object's last segment at frame_count; a
    count short of the frames shown (CVAT's `size` counts the frames of its task while it
    numbers them in the whole video, e.g. 10, 13, 16, 19 with `start_frame=10`, `step=3`)
    is raised to the fewest frames that hold them and the frames objects leave the screen
    on (loss `labelbox-frame-count-raised`, approximated). An object that leaves the screen
    only after the video's last frame raises nothing: it is on screen to the end."""
    count = item.media.frame_count
    if item.media.kind != "video" or count is None:
        return item
    needed = placing_frame_count(count, item.annotation_sets)
    if needed == count:
        return item
    losses.record(
        "labelbox-frame-count-raised",
        f"the video's frame count ({count}) is short of the frames annotated; "
        f"{needed} frames were written so that every frame has its place",
        where=where,
        severity="approximated",
    )
    return item.model_copy(update={"media": item.media.model_copy(update={"frame_count": needed})})


def item_to_data_row(
    item: Item, losses: LossReport, *, project_id: str = "unified", where: str | None = None
) -> dict[str, Any]:
    """A unified item as one export v2 line (the inverse of `data_row_to_item`).
    Annotation sets that did not come from a Labelbox project go under `project_id`."""
    where = where or f"item {item.key}"
    item = _placing_frame_count(item, losses, where)
    extra = item.extra
    data_row: dict[str, Any] = {}
    if item.source is not None and item.source.tool == TOOL and item.source.item:
        data_row["id"] = item.source.item
    data_row.update(extra.get("lb_data_row") or {"global_key": item.key})
    if item.media.uri is not None:
        data_row["row_data"] = item.media.uri
    row: dict[str, Any] = {"data_row": data_row}
    media = {
        "mime_type": item.media.mime_type,
        "width": item.media.width,
        "height": item.media.height,
        "frame_rate": item.media.fps,
        "frame_count": item.media.frame_count,
    }
    media = {k: v for k, v in media.items() if v is not None}
    if extra.get("lb_has_media_attributes", True):
        row["media_attributes"] = {**media, **(extra.get("lb_media_attributes") or {})}
    if _from_labelbox(item):
        row.update({k: v for k, v in extra.items() if not k.startswith("lb_")})
    projects: dict[str, dict] = {}
    for annotation_set in item.annotation_sets:
        if not _from_labelbox(annotation_set):
            annotation_set = _without_vendor_extras(annotation_set)
        annotation_set = named_only(annotation_set, losses, where)
        pid = _project_id(annotation_set, project_id)
        project = projects.setdefault(
            pid, {**annotation_set.extra.get(PROJECT_KEY, {}), "labels": []}
        )
        project["labels"].append(_write_label(item, annotation_set, losses, where))
    row["projects"] = projects
    return row
