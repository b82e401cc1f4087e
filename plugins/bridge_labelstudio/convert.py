"""Label Studio tasks (export/import JSON) <-> unified Items. Pure: no network, no disk.

A Label Studio **task** is one thing to label: `{"id", "data": {...}, "annotations": [...],
"predictions": [...], "drafts": [...], "meta", ...}`. `data` holds the values the label
config's object tags show (`$image` -> `data["image"]`). An **annotation** is one person's
submitted work (`completed_by` is the user id, or `{id, email, ...}` in some exports;
`was_cancelled` means skipped; `ground_truth` marks reference answers; `lead_time` is
seconds spent); a **prediction** is a model's pre-annotation (`model_version`, `score`); a
**draft** an unsubmitted annotation. Each has a `result` list (see `read_results`).

Mapping: annotation -> AnnotationSet kind "human" (status "skipped" if cancelled, else
"submitted"), prediction -> kind "prediction", draft -> status "draft"; their ids become
`"<id>"`, `"prediction:<id>"`, `"draft:<id>"` with the Label Studio id in `source.annotation`.
Every field with no unified home rides in `extra` and comes back on writing.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import orjson
from pydantic import ValidationError

from bridge.errors import FormatError, describe_validation_error
from bridge.limits import DEFAULT_MAX_PIXELS
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Annotator, Item, Review, without_extras
from bridge_labelstudio import checks
from bridge_labelstudio.controls import DEFAULT_OBJECTS, RESULT_MEDIA
from bridge_labelstudio.ontology import LabelConfig
from bridge_labelstudio.read_results import ReadContext, read_results
from bridge_labelstudio.write_results import (
    WriteContext,
    question_result,
    region_results,
    relation_result,
    tag_results,
    track_result,
)

TOOL = "labelstudio"
TASK_KEYS = {"id", "data", "annotations", "predictions", "drafts"}
LS_TASK_KEYS = {"data", "annotations", "predictions", "drafts"}
"""A task holding none of these is a flat task (`{"image": ...}`: the data itself, the
basic import form), or another tool's JSON."""
NOT_TASKS_HINT = (
    'a Label Studio export is a JSON list of tasks (objects with "data", '
    '"annotations", ...); name the file\'s real format with --from'
)
ANNOTATION_KEYS = {
    "id",
    "result",
    "completed_by",
    "created_at",
    "updated_at",
    "lead_time",
    "was_cancelled",
    "ground_truth",
    "reviews",
}
PREDICTION_KEYS = {"id", "result", "model_version", "score", "created_at", "updated_at"}
DRAFT_KEYS = {"id", "result", "user", "created_at", "updated_at", "lead_time"}
DATA_KEY_MEDIA = {
    "image": "image",
    "img": "image",
    "video": "video",
    "audio": "audio",
    "text": "text",
    "html": "html",
    "dialogue": "conversation",
    "timeseries": "timeseries",
}
TEXT_MEDIA = {"text", "html"}
SUBSET_META = "bridge_subset"
"""Key of the task's `meta` that holds `Item.subset` (Label Studio has no subsets; it keeps
a task's `meta` through import and export)."""


# ---------------------------------------------------------------------------- media


def _first_result(task: dict) -> dict | None:
    for field in ("annotations", "predictions", "drafts"):
        entries = task.get(field)
        for entry in entries if isinstance(entries, list) else ():
            results = entry.get("result") if isinstance(entry, dict) else None
            for result in results if isinstance(results, list) else ():
                if isinstance(result, dict) and result.get("type") != "relation":
                    return result
    return None


def _media_source(task: dict, data: dict, config: LabelConfig | None) -> tuple[str, str | None]:
    """(media kind, data key) of the task: from the config, else guessed from results."""
    if config is not None and config.objects:
        obj = next((o for o in config.objects if o.data_key in data), config.objects[0])
        return obj.media_kind or "image", obj.data_key
    result = _first_result(task)
    if result is not None:
        to_name, rtype, value = result.get("to_name"), result.get("type"), result.get("value")
        key = to_name if isinstance(to_name, str) and to_name in data else None
        kind = RESULT_MEDIA.get(rtype) if isinstance(rtype, str) else None
        if kind is None:
            has_text = isinstance(value, dict) and "text" in value
            kind = DATA_KEY_MEDIA.get(key or "", "text" if has_text else None)
        if kind is not None:
            return kind, key or _guess_key(data, kind)
    for key in data:
        if key in DATA_KEY_MEDIA:
            return DATA_KEY_MEDIA[key], key
    key = next((k for k, v in data.items() if isinstance(v, str)), None)
    if key is None:
        return "text", None
    value = data[key]
    return ("image" if "://" in value or value.startswith("/") else "text"), key


def _guess_key(data: dict, kind: str) -> str | None:
    key = next((k for k, v in DATA_KEY_MEDIA.items() if v == kind and k in data), None)
    return key or next((k for k, v in data.items() if isinstance(v, str)), None)


def _media(kind: str, data: dict, key: str | None) -> dict[str, Any]:
    media: dict[str, Any] = {"kind": kind}
    value = data.get(key) if key is not None else None
    if isinstance(value, str):
        media["text" if kind in TEXT_MEDIA else "uri"] = value
    return media


def _item_key(media: dict, data: dict, key: str | None, task_id: Any) -> str:
    """The media URL, else a content hash of the shown data (text matches across tools)."""
    if "uri" in media:
        return media["uri"]
    shown = data.get(key) if key is not None else data
    if shown is None and task_id is not None:
        return f"labelstudio-task-{task_id}"
    try:
        encoded = orjson.dumps(shown, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # integers beyond 64 bits (from a parser other than orjson)
        encoded = json.dumps(shown, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha1(encoded).hexdigest()
    return f"sha1:{digest[:20]}"


# ------------------------------------------------------------------------ annotators


def full_name(user: dict) -> str:
    """A Label Studio user's "first last" name (the parts that are text), or ""."""
    return " ".join(
        p for p in (user.get("first_name"), user.get("last_name")) if isinstance(p, str) and p
    )


def _annotator(who: Any, ctx: ReadContext) -> tuple[dict | None, dict]:
    """(annotator dict, leftover fields) for `completed_by` / a draft's `user`."""
    if who is None:
        return None, {}
    if isinstance(who, bool) or not isinstance(who, int | str | dict):
        return None, {"completed_by": who}
    if isinstance(who, int):
        return {"id": str(who)}, {}
    if isinstance(who, str):
        return ({"email": who} if "@" in who else {"id": who}), {}
    person = {
        "id": str(who["id"]) if who.get("id") is not None else None,
        "email": checks.text(who.get("email"), ctx),
    }
    name = full_name(who)
    if name:
        person["name"] = name
    return person, {
        "completed_by_fields": {k: v for k, v in who.items() if k not in ("id", "email")}
    }


def _reviews(raw: Any, ctx: ReadContext) -> list[dict]:
    reviews = []
    for review in raw if isinstance(raw, list) else []:
        if not isinstance(review, dict):
            continue
        reviewer, leftover = _annotator(review.get("created_by"), ctx)
        accepted = review.get("accepted")
        status = (
            "accepted" if accepted is True else "rejected" if accepted is False else "commented"
        )
        entry = {
            "reviewer": reviewer,
            "status": status,
            "comment": checks.text(review.get("comment"), ctx),
            "created_at": checks.timestamp(review.get("created_at"), ctx),
            "extra": {
                k: v
                for k, v in review.items()
                if k not in ("created_by", "accepted", "comment", "created_at")
            },
        }
        entry["extra"].update(leftover)  # the reviewer object's other fields
        reviews.append(entry)
    return reviews


# ---------------------------------------------------------------------- task -> item


def _set_from(entry: Any, kind: str, ctx: ReadContext, base: dict, index: int) -> dict:
    if not isinstance(entry, dict):
        ctx.fail(f"an {kind} is {type(entry).__name__}, not an object")
    found = read_results(entry.get("result"), ctx)
    raw_id = entry.get("id")
    prefix = {"annotation": "", "prediction": "prediction:", "draft": "draft:"}[kind]
    aset: dict[str, Any] = {
        "id": f"{prefix}{raw_id if raw_id is not None else index}",
        "source": {**base, "annotation": str(raw_id) if raw_id is not None else None},
        "regions": found["regions"],
        "tracks": found["tracks"],
        "relations": found["relations"],
        "classifications": found["classifications"],
        "created_at": checks.timestamp(entry.get("created_at"), ctx),
        "updated_at": checks.timestamp(entry.get("updated_at"), ctx),
    }
    keys = {"annotation": ANNOTATION_KEYS, "prediction": PREDICTION_KEYS, "draft": DRAFT_KEYS}
    extra = {k: v for k, v in entry.items() if k not in keys[kind]}
    if kind == "prediction":
        aset.update(
            kind="prediction",
            model_version=_text(entry.get("model_version")),
            score=checks.number(entry.get("score"), ctx),
        )
    else:
        who = entry.get("completed_by" if kind == "annotation" else "user")
        person, leftover = _annotator(who, ctx)
        aset.update(annotator=person, lead_time=checks.number(entry.get("lead_time"), ctx))
        extra.update(leftover)
    if kind == "annotation":
        aset["status"] = "skipped" if entry.get("was_cancelled") else "submitted"
        aset["ground_truth"] = bool(entry.get("ground_truth"))
        aset["reviews"] = _reviews(entry.get("reviews"), ctx)
        if "reviews" in entry and not isinstance(entry["reviews"], list):
            extra["reviews"] = entry["reviews"]
    elif kind == "draft":
        aset["status"] = "draft"
    if found["unconverted"]:
        extra["unconverted_results"] = found["unconverted"]
    aset["extra"] = extra
    _drop_defaults(aset)
    return aset


_EMPTY_BY_DEFAULT = ("regions", "tracks", "relations", "classifications", "reviews", "ground_truth")
_NONE_BY_DEFAULT = ("created_at", "updated_at", "annotator", "lead_time", "model_version", "score")


def _drop_defaults(aset: dict) -> None:
    """Leave out the annotation-set fields that hold their default ([] or False; None), as
    the JSONL writer leaves them out of a model: records stay as small as model lines."""
    for key in _EMPTY_BY_DEFAULT:
        if key in aset and not aset[key]:
            del aset[key]
    for key in _NONE_BY_DEFAULT:
        if key in aset and aset[key] is None:
            del aset[key]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _list(task: dict, key: str, ctx: ReadContext) -> list:
    value = task.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.fail(f"{key} is {type(value).__name__}, not a list")
    return value


def task_to_item(
    task: dict,
    config: LabelConfig | None,
    losses: LossReport,
    *,
    where: str,
    instance: str | None = None,
    project: str | None = None,
    seen: dict | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Item:
    """One Label Studio task as a unified Item (`FormatError` naming the task if malformed).

    `seen` (optional) collects the controls and labels met, to build an ontology when no
    config is given (see `bridge_labelstudio.files.config_from_seen`); `max_pixels` is
    the pixel budget a brush mask's image may have (`-O max_pixels`)."""
    record, _ = _task_record(task, config, losses, where, instance, project, seen, max_pixels)
    return validated_item(record, where)


def task_record(
    task: dict,
    config: LabelConfig | None,
    losses: LossReport,
    *,
    where: str,
    instance: str | None = None,
    project: str | None = None,
    seen: dict | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict | Item:
    """One task as an item *record*: the plain JSON data of the `Item` that `task_to_item`
    gives, valid by construction, for the JSONL writer to dump without pydantic. A task
    holding a value the reader's checks cannot vouch for (`bridge_labelstudio.checks`)
    comes back as the validated `Item` instead, or raises `task_to_item`'s `FormatError`.
    Same arguments, losses and `seen` as `task_to_item`."""
    record, doubtful = _task_record(
        task, config, losses, where, instance, project, seen, max_pixels
    )
    return validated_item(record, where) if doubtful else record


def validated_item(record: dict, where: str) -> Item:
    """`record` as an `Item`; what pydantic refuses is a `FormatError` at `where`."""
    try:
        return Item.model_validate(record)
    except ValidationError as error:
        raise FormatError(
            f"invalid task: {describe_validation_error(error)}", where=where
        ) from None


def _task_record(
    task, config, losses, where, instance, project, seen, max_pixels
) -> tuple[dict, bool]:
    """(the item record, whether it is doubtful) of one task."""
    ctx = ReadContext(where, losses, config, seen, max_pixels)
    if not isinstance(task, dict):
        ctx.fail(f"a task is {type(task).__name__}, not an object", hint=NOT_TASKS_HINT)
    if not LS_TASK_KEYS & task.keys():
        task = _flat_task(task, ctx)
    data = task.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        _refuse_foreign(task, ctx)
        ctx.fail("the task's data is not an object", hint=NOT_TASKS_HINT)
    kind, key = _media_source(task, data, config)
    ctx.media_kind = kind
    if kind == "text" and key is not None:
        ctx.text = data.get(key)
    task_id = task.get("id")
    base = {
        "tool": TOOL,
        "instance": instance,
        "project": project,
        "item": str(task_id) if task_id is not None else None,
    }
    sets = [
        _set_from(a, "annotation", ctx, base, i)
        for i, a in enumerate(_list(task, "annotations", ctx))
    ]
    extra = {k: v for k, v in task.items() if k not in TASK_KEYS}
    subset = _take_subset(extra) if "meta" in extra else None
    predictions, prediction_ids = _objects_and_ids(_list(task, "predictions", ctx))
    sets.extend(_set_from(p, "prediction", ctx, base, i) for i, p in predictions)
    if prediction_ids:
        extra["prediction_ids"] = prediction_ids
        losses.record(
            "prediction-ids-only",
            "the export lists predictions by id only; their ids are kept in the item's extra",
            where=where,
            severity="unmapped",
        )
    drafts, draft_ids = _objects_and_ids(_list(task, "drafts", ctx))
    sets.extend(_set_from(d, "draft", ctx, base, i) for i, d in drafts)
    if draft_ids or task.get("drafts") == []:
        extra["draft_ids"] = draft_ids  # snapshot exports list drafts by id
    media = _media(kind, data, key)
    if ctx.width is not None:
        media["width"], media["height"] = ctx.width, ctx.height
    _video_facts(media, sets)
    item = {
        "key": _item_key(media, data, key, task_id),
        "media": media,
        "data": data,
        "source": base,
        "extra": extra,
        "annotation_sets": sets,
    }
    if subset is not None:
        item["subset"] = subset
    return item, ctx.doubtful


FOREIGN_SHAPES = (
    (("data_row",), "a Labelbox export row", "labelbox"),
    (("dataRow",), "a Labelbox import (NDJSON) row", None),
    (("globalKey",), "a Labelbox data row", None),
    (("count", "results"), "a REST API page (count/next/results), e.g. a CVAT answer", None),
    (("shapes", "tracks"), "CVAT annotations JSON (GET /api/tasks/ID/annotations)", None),
    (("segment_size",), "a CVAT task (REST API answer)", None),
    (("data_chunk_size",), "a CVAT task (REST API answer)", None),
    (("stage", "state", "task_id"), "a CVAT job (REST API answer)", None),
    (("format", "version", "project"), "a unified label-bridge JSONL header", "jsonl"),
    (("key", "media", "annotation_sets"), "a unified label-bridge JSONL item", "jsonl"),
    (
        ("annotation_id", "annotator"),
        "a Label Studio JSON-MIN export row (its results are "
        "flattened; export the project as JSON instead)",
        None,
    ),
)
"""Keys that tell another tool's JSON from a flat Label Studio task."""


def _refuse_foreign(task: dict, ctx: ReadContext) -> None:
    """A `FormatError` naming the format `task` looks like, if it is another tool's JSON."""
    for keys, what, name in FOREIGN_SHAPES:
        if all(key in task for key in keys):
            use = f"--from {name}" if name else "the tool's own connector or file format"
            ctx.fail(
                f"this is not a Label Studio task: it looks like {what}",
                hint=f"read it with {use}; {NOT_TASKS_HINT}",
            )


def _flat_task(task: dict, ctx: ReadContext) -> dict:
    """A task without `data`/`annotations`/...: Label Studio's basic import form
    (`{"image": "https://..."}`, the object *is* the task's data), unless it is empty or
    another tool's JSON (a `FormatError` naming what it looks like)."""
    _refuse_foreign(task, ctx)
    if not task:
        ctx.fail("an empty object {} is not a Label Studio task", hint=NOT_TASKS_HINT)
    return {"data": task}


def _take_subset(extra: dict) -> str | None:
    """`meta["bridge_subset"]` (a string) as the item's subset, taken out of `extra["meta"]`
    (dropped if nothing else is in it); anything else is left as it is."""
    meta = extra["meta"]
    if not isinstance(meta, dict) or not isinstance(meta.get(SUBSET_META), str):
        return None
    rest = {k: v for k, v in meta.items() if k != SUBSET_META}
    if rest:
        extra["meta"] = rest
    else:
        del extra["meta"]
    return meta[SUBSET_META]


def _objects_and_ids(entries: list) -> tuple[list[tuple[int, Any]], list[int]]:
    """Split a predictions/drafts list into (index, object) pairs and bare ids."""
    objects, ids = [], []
    for index, entry in enumerate(entries):
        if isinstance(entry, int) and not isinstance(entry, bool):
            ids.append(entry)
        else:
            objects.append((index, entry))
    return objects, ids


def _video_facts(media: dict, sets: list[dict]) -> None:
    for aset in sets:
        for track in aset.get("tracks", ()):
            value = track["extra"].get("value") or {}
            frames, duration = value.get("framesCount"), value.get("duration")
            if type(frames) is int and frames >= 0:  # else it only rides in the track's extra
                media.setdefault("frame_count", frames)
            if type(duration) in (int, float) and 0 <= duration < math.inf:
                media.setdefault("duration", duration)


# ---------------------------------------------------------------------- item -> task


def _where(item: Item) -> str:
    if item.source is not None and item.source.item is not None:
        return f"task {item.source.item}"
    return f"item {item.key}"


def _context(item: Item, config: LabelConfig | None, losses: LossReport) -> WriteContext:
    media = item.media
    return WriteContext(
        losses,
        _where(item),
        config,
        media.kind,
        media.width,
        media.height,
        media.duration,
        media.frame_count,
    )


def annotation_set_to_result(
    aset: AnnotationSet, item: Item, config: LabelConfig | None, losses: LossReport
) -> list[dict]:
    """The Label Studio `result` list of one annotation set."""
    return _results(aset, _context(item, config, losses))


def _results(aset: AnnotationSet, ctx: WriteContext) -> list[dict]:
    results: list[dict] = []
    for region in aset.regions:
        if region.shape.type != "tag":
            results.extend(region_results(region, ctx))
    tags = [region for region in aset.regions if region.shape.type == "tag"]
    if tags:
        results.extend(tag_results(tags, ctx))
    for track in aset.tracks:
        result = track_result(track, ctx)
        if result is not None:
            results.append(result)
            results.extend(
                question_result(c, ctx, track.id, result["to_name"], result["value"])
                for c in track.classifications
            )
    results.extend(question_result(c, ctx, None, None, None) for c in aset.classifications)
    results = [result for result in results if result is not None]
    for relation in aset.relations:
        written = relation_result(relation, ctx)
        if written is not None:
            results.append(written)
    results.extend(aset.extra.get("unconverted_results") or ())
    return results


def _ls_id(aset: AnnotationSet) -> Any:
    """The set's Label Studio id (None for a set another tool made: its id means nothing
    to Label Studio)."""
    if aset.source is None or aset.source.tool != TOOL:
        return None
    raw = aset.source.annotation
    if raw is None:
        return None
    return int(raw) if raw.isdigit() else raw


def _person(annotator: Annotator | None, extra: dict) -> Any:
    if annotator is None:
        return extra.get("completed_by")
    fields = extra.get("completed_by_fields")
    ident = int(annotator.id) if annotator.id and annotator.id.isdigit() else annotator.id
    if fields is not None:
        return {"id": ident, "email": annotator.email, **fields}
    if annotator.id is not None:
        return ident
    return annotator.email


def _completed_by(aset: AnnotationSet, ctx: WriteContext) -> Any:
    """Who made a set, as Label Studio's import takes it: the user id read from Label
    Studio; for other tools' annotators the id `ctx.users` (e-mail -> user id) gives, else
    `{"email": ...}` (Label Studio resolves it to an existing user and refuses the import if
    there is none; `foreign_annotator_losses` says so for files); without an e-mail,
    nothing (the importing user becomes the annotator)."""
    annotator = aset.annotator
    if (aset.source is not None and aset.source.tool == TOOL) or annotator is None:
        return _person(annotator, aset.extra)
    if ctx.users is None:
        return {"email": annotator.email} if annotator.email else None
    user_id = ctx.users.get(annotator.email or "")
    if user_id is None:
        ctx.lose(
            "annotator-dropped",
            "no Label Studio user has this annotator's e-mail; the "
            "importing user becomes the annotator",
        )
    return user_id


def foreign_annotator_losses(item: Item, losses: LossReport) -> None:
    """Record how annotators from other tools were written by `item_to_task` (no `users`)."""
    for aset in item.annotation_sets:
        if aset.annotator is None or (aset.source is not None and aset.source.tool == TOOL):
            continue
        where = f"{_where(item)} annotation {aset.id}"
        if aset.annotator.email:
            losses.record(
                "annotator-by-email",
                "annotators from other tools are written as "
                '{"email": ...}; Label Studio imports them only if such a user exists',
                where=where,
                severity="unmapped",
            )
        elif aset.kind != "prediction":
            losses.record(
                "annotator-dropped",
                "an annotator without an e-mail cannot be named "
                "in Label Studio; the importing user becomes the annotator",
                where=where,
            )


def _time(value) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _review(review: Review) -> dict:
    extra = dict(review.extra)
    who = _person(review.reviewer, extra) if review.reviewer else extra.get("completed_by")
    extra.pop("completed_by_fields", None)
    extra.pop("completed_by", None)
    entry = {"created_by": who, **extra}
    if review.status in ("accepted", "rejected"):
        entry["accepted"] = review.status == "accepted"
    if review.comment is not None:
        entry["comment"] = review.comment
    if review.created_at is not None:
        entry["created_at"] = _time(review.created_at)
    return entry


def _annotation(aset: AnnotationSet, ctx: WriteContext) -> dict:
    entry: dict[str, Any] = {}
    ident = _ls_id(aset)
    if ident is not None:
        entry["id"] = ident
    extra = {
        k: v
        for k, v in aset.extra.items()
        if k not in ("unconverted_results", "completed_by_fields")
    }
    entry["result"] = _results(aset, ctx)
    if aset.kind == "prediction":
        entry.update(model_version=aset.model_version, score=aset.score)
    else:
        key = "user" if aset.status == "draft" else "completed_by"
        person = _completed_by(aset, ctx)
        if person is not None:
            entry[key] = person
        extra.pop("completed_by", None)
        if aset.lead_time is not None:
            entry["lead_time"] = aset.lead_time
    if aset.kind != "prediction" and aset.status != "draft":
        entry["was_cancelled"] = aset.status == "skipped"
        entry["ground_truth"] = aset.ground_truth or aset.kind == "gold"
        if aset.reviews:
            entry["reviews"] = [_review(r) for r in aset.reviews]
    for key, value in (("created_at", aset.created_at), ("updated_at", aset.updated_at)):
        if value is not None:
            entry[key] = _time(value)
    entry.update(extra)
    return entry


def _data(item: Item, config: LabelConfig | None, ctx: WriteContext) -> dict:
    """The task's data: the item's own (read from Label Studio), else its media (text, or
    the URL) under the config's first object's key. The key is never used as data."""
    if item.data:
        return dict(item.data)
    if config is not None and config.objects and config.objects[0].data_key:
        key = config.objects[0].data_key
    else:
        key = DEFAULT_OBJECTS.get(item.media.kind, DEFAULT_OBJECTS["image"])[2][1:]
    media = item.media
    value = media.text if media.kind in TEXT_MEDIA else media.uri
    if value is None and media.kind in TEXT_MEDIA and media.uri is not None:
        value = media.uri
        ctx.lose(
            "text-by-url",
            "a text item known by its URL only: the task's data holds the "
            'URL, which the project\'s text tag loads only with valueType="url"',
            severity="approximated",
        )
    if value is None:
        ctx.lose(
            "media-unknown",
            "the item has neither a media URL nor text: its task has no "
            "data for the label config's object tag",
        )
        return {}
    return {key: value}


def _foreign(element: Item | AnnotationSet) -> bool:
    return element.source is not None and element.source.tool not in (None, TOOL)


def _without_foreign_extras(item: Item) -> Item:
    """`item` without the `extra` of the parts another tool read (a Labelbox answer's
    `value`, CVAT's `source`, ...): they are that tool's fields, not Label Studio's, and
    would be written into the task as if they were."""
    foreign_sets = [i for i, aset in enumerate(item.annotation_sets) if _foreign(aset)]
    if not _foreign(item) and not foreign_sets:
        return item
    sets = list(item.annotation_sets)
    for index in foreign_sets:
        sets[index] = without_extras(sets[index])
    extra = {} if _foreign(item) else item.extra
    return item.model_copy(update={"annotation_sets": sets, "extra": extra})


def item_to_task(
    item: Item,
    config: LabelConfig | None,
    losses: LossReport,
    *,
    users: dict[str, int] | None = None,
) -> dict:
    """A unified Item as a Label Studio task (the export/import JSON shape).

    `users` (e-mail -> Label Studio user id, e.g. from the server's user list) names the
    annotators of sets that come from other tools; without it they are written as
    `{"email": ...}`, which Label Studio's import accepts only for existing users."""
    item = _without_foreign_extras(item)
    ctx = _context(item, config, losses)
    ctx.users = users
    task: dict[str, Any] = {}
    if item.source is not None and item.source.tool == TOOL and item.source.item is not None:
        raw = item.source.item
        task["id"] = int(raw) if raw.isdigit() else raw
    task["data"] = _data(item, config, ctx)
    annotations, predictions, drafts = [], [], []
    for aset in item.annotation_sets:
        target = (
            predictions
            if aset.kind == "prediction"
            else drafts
            if aset.status == "draft"
            else annotations
        )
        target.append(_annotation(aset, ctx))
    extra = dict(item.extra)
    task["annotations"] = annotations
    task["predictions"] = predictions or extra.pop("prediction_ids", [])
    extra.pop("prediction_ids", None)
    draft_ids = extra.pop("draft_ids", None)
    if drafts or draft_ids is not None:
        task["drafts"] = drafts or draft_ids
    task.update(extra)
    if item.subset is not None:
        _put_subset(task, item.subset, ctx)
    return task


def _put_subset(task: dict, subset: str, ctx: WriteContext) -> None:
    meta = task.get("meta")
    if meta is None or isinstance(meta, dict):
        task["meta"] = {**(meta or {}), SUBSET_META: subset}
    else:
        ctx.lose(
            "subset-dropped",
            "the task's meta is not an object, so the subset could not be kept in it",
        )
