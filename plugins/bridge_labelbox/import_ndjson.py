"""Unified items -> Labelbox import NDJSON (model-assisted labeling and label import).

An import file has one JSON object per annotation, each naming its data row
(`dataRow: {"globalKey"}` or `{"id"}`), its feature (`name`, or `schemaId` with
`use_schema_ids`) and a `uuid` that is unique in the import:

* objects: `bbox {top, left, height, width}`, `polygon [{x, y}]` (closed, first point
  repeated), `line`, `point {x, y}`, `mask {png: base64}` or `{instanceURI, colorRGB}`,
  `location {start, end}` for text entities (end INCLUSIVE) plus `messageId` in a
  conversation; each with its nested `classifications`;
* `relationship {source, target, type}` between object uuids;
* classifications: `answer` is `{name}` (radio), `[{name}, ...]` (checklist) or a string
  (text), nested ones under `classifications`; on video, `frames [{start, end}]`;
* video objects: `segments [{keyframes [{frame, bbox|point|line, classifications}]}]`.

Video frames are 1-based in Labelbox (unified frame n is Labelbox frame n+1). The rows
come in the order Labelbox's own `NDJsonConverter.serialize` writes them for a label:
relationships, objects and classifications, then video objects and frame classifications.
"""

from __future__ import annotations

import base64
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

from bridge.errors import ConfigError
from bridge.limits import DEFAULT_MAX_PIXELS
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Classification, Item, Region, Relation, Track

from .classifications import answer_text, question_kind
from .names import named_only
from .shapes import BOX_EXTRA, MASK_FETCHED, OPEN_POLYGON, write_span
from .video import placing_frame_count, region_as_track, report_track_losses, track_frame_answers

UUID_NAMESPACE = uuidlib.UUID("9b7f2c1e-5a4d-4e8f-b1c3-6d2a0e9f7b15")
VIDEO_SHAPES = {"bbox", "points", "skeleton", "polyline"}
"""Shapes of video objects (a skeleton or several points become one point)."""


def _uuid_for(*parts: str) -> str:
    """A stable uuid: the id itself when it is one, else derived from `parts`, so a
    re-import of the same data sends the same uuids."""
    try:
        return str(uuidlib.UUID(parts[-1]))
    except (ValueError, AttributeError, TypeError):
        return str(uuidlib.uuid5(UUID_NAMESPACE, "\x1f".join(parts)))


class _Writer:
    """Import rows for one item; `feature` picks name or schemaId."""

    def __init__(
        self,
        item: Item,
        losses: LossReport,
        data_row: dict,
        use_schema_ids: bool,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ):
        self.item, self.losses, self.data_row = item, losses, data_row
        self.use_schema_ids = use_schema_ids
        self.max_pixels = max_pixels
        self.where = f"item {item.key}"
        count = placing_frame_count(item.media.frame_count, item.annotation_sets)
        self.video_end = None if count is None else count - 1
        """The last frame (0-based) a track's segment may run to, when known."""

    def feature(self, name: str | None, extra: dict) -> dict[str, Any]:
        schema_id = extra.get("feature_schema_id")
        if self.use_schema_ids:
            if schema_id:
                return {"schemaId": schema_id}
            self.losses.record(
                "labelbox-schema-id-missing",
                "no Labelbox feature schema id is known; the feature is named instead",
                where=self.where,
                severity="approximated",
            )
        return {"name": name}

    # ---------------------------------------------------------- classifications
    def answer(self, classification: Classification) -> Any:
        kind = question_kind(classification)
        if kind == "text":
            return answer_text(classification.answers[0].value) if classification.answers else ""
        options = [self.option(answer) for answer in classification.answers]
        return options if kind == "checklist" else (options[0] if options else {})

    def option(self, answer) -> dict[str, Any]:
        out = self.feature(str(answer.value), answer.extra)
        if answer.classifications:
            out["classifications"] = [self.nested(c) for c in answer.classifications]
        return out

    def nested(self, classification: Classification) -> dict[str, Any]:
        out = self.feature(classification.name, classification.extra)
        out["answer"] = self.answer(classification)
        if question_kind(classification) == "text" and classification.answers:
            subs = classification.answers[0].classifications
            if subs:
                out["classifications"] = [self.nested(c) for c in subs]
        return out

    def classification_row(self, classification: Classification, row_uuid: str) -> dict[str, Any]:
        out = self.nested(classification)
        message_id = classification.extra.get("message_id")
        if message_id is not None:
            out["messageId"] = message_id
        if classification.frames is not None:
            out["frames"] = [
                {"start": r.start + 1, "end": r.end + 1} for r in classification.frames
            ]
        out.update(uuid=row_uuid, dataRow=self.data_row)
        return out

    # ---------------------------------------------------------------- objects
    def geometry(self, shape, extra: dict) -> dict[str, Any] | None:
        kind = shape.type
        if shape.units != "px":
            return self.drop("labelbox-percent-shape", "a shape in percent of an unknown size")
        if kind == "bbox":
            if shape.rotation:
                self.losses.record(
                    "labelbox-rotation-dropped",
                    "Labelbox boxes cannot rotate",
                    where=self.where,
                    severity="approximated",
                )
            out = {
                "bbox": {
                    "top": shape.y,
                    "left": shape.x,
                    "height": shape.height,
                    "width": shape.width,
                }
            }
            page = extra.get("page_number")
            if type(page) is int:  # a document box: Labelbox imports it with its page and unit
                unit = (extra.get(BOX_EXTRA) or {}).get("unit")
                out.update(page=page, unit=unit if isinstance(unit, str) else "POINTS")
            return out
        if kind in ("polygon", "polyline"):
            points = [{"x": x, "y": y} for x, y in shape.points]
            if kind == "polygon" and points and not extra.get(OPEN_POLYGON):
                points.append(points[0])
            return {"polygon" if kind == "polygon" else "line": points}
        if kind in ("points", "skeleton") and shape.points:
            if len(shape.points) > 1:
                self.losses.record(
                    "labelbox-points-split",
                    "a Labelbox point holds one point; only the first point of a multi-point shape was written",
                    where=self.where,
                )
            return {"point": {"x": shape.points[0].x, "y": shape.points[0].y}}
        if kind == "mask":
            return self.mask(shape, extra)
        if kind == "span":
            return self.span(shape, extra)
        return self.drop(f"labelbox-{kind}-unsupported", f"Labelbox cannot import {kind} shapes")

    def mask(self, shape, extra: dict) -> dict[str, Any] | None:
        if extra.get(MASK_FETCHED) is False:
            composite = extra.get("composite_mask") or {}
            if composite.get("url") and composite.get("color_rgb") is not None:
                color = [int(c) for c in composite["color_rgb"]]
                return {"mask": {"instanceURI": composite["url"], "colorRGB": color}}
            single = extra.get("mask") or {}
            if single.get("url"):  # a binary PNG: its white pixels are the mask
                return {"mask": {"instanceURI": single["url"], "colorRGB": [255, 255, 255]}}
            return self.drop("labelbox-mask-not-fetched", "a mask whose pixels were never fetched")
        from .png_masks import rle_to_png

        if not shape.rle.size[0] or not shape.rle.size[1]:
            return self.drop("labelbox-mask-empty-size", "a mask of size 0 has no PNG")
        png = base64.b64encode(rle_to_png(shape.rle, max_pixels=self.max_pixels)).decode("ascii")
        return {"mask": {"png": png}}

    def span(self, shape, extra: dict) -> dict[str, Any] | None:
        written = write_span(shape, extra, self.losses, self.where)
        if written is None:
            return None
        if "conversational_location" in written:
            conversational = written["conversational_location"]
            return {
                "messageId": conversational["message_id"],
                "location": conversational["location"],
            }
        location = written["location"]
        if "groups" in location:
            return self.drop("labelbox-document-entity", "document entities are not imported")
        return {"location": {"start": location["start"], "end": location["end"]}}

    def drop(self, code: str, what: str) -> None:
        self.losses.record(code, f"{what}: not written to the Labelbox import", where=self.where)
        return None

    def region_row(self, region: Region, row_uuid: str) -> dict[str, Any] | None:
        geometry = self.geometry(region.shape, region.extra)
        if geometry is None:
            return None
        out = {
            "uuid": row_uuid,
            "dataRow": self.data_row,
            **self.feature(region.label, region.extra),
            "classifications": [self.nested(c) for c in region.classifications],
            **geometry,
        }
        if region.score is not None:
            out["confidence"] = region.score
        return out

    def track_row(
        self, track: Track, row_uuid: str, end: int | None = None
    ) -> dict[str, Any] | None:
        """A video object: one segment per run of shown frames, holding the keyframes
        drawn and the run's first and last frames (interpolated or not). A Labelbox
        segment ends on its last keyframe while a track shows its last shape until its
        `outside` keyframe (or the video's last frame, `end`, 0-based, when known): that
        frame is added as a keyframe with the last shape. Labelbox interpolates the rest."""
        runs: list[list] = [[]]
        for keyframe in sorted(track.keyframes, key=lambda k: k.frame):
            if keyframe.outside:
                if runs[-1]:
                    runs[-1].append(keyframe.frame - 1)  # the run's last frame
                    runs.append([])
            elif keyframe.shape is not None:
                runs[-1].append(keyframe)
        if runs[-1]:
            runs[-1].append(end)
        segments = []
        for *run, last in (run for run in runs if run):
            if last is not None and last > run[-1].frame:
                run.append(run[-1].model_copy(update={"frame": last, "keyframe": True}))
            current = []
            for position, keyframe in enumerate(run):
                if not keyframe.keyframe and 0 < position < len(run) - 1:
                    continue
                if keyframe.shape.type not in VIDEO_SHAPES:
                    return self.drop(
                        "labelbox-video-shape", "video objects other than box/point/line"
                    )
                geometry = self.geometry(keyframe.shape, keyframe.extra)
                if geometry is None:
                    continue
                answers = track_frame_answers(track, keyframe)
                current.append(
                    {
                        "frame": keyframe.frame + 1,
                        **geometry,
                        "classifications": [self.nested(c) for c in answers],
                    }
                )
            if current:
                segments.append({"keyframes": current})
        if not segments:
            return None
        report_track_losses(track, self.losses, self.where)
        return {
            "uuid": row_uuid,
            "dataRow": self.data_row,
            **self.feature(track.label, track.extra),
            "classifications": [],
            "segments": segments,
        }

    def relation_row(self, relation: Relation, uuids: dict[str, str], row_uuid: str):
        source, target = relation.from_id, relation.to_id
        if relation.direction == "backward":
            source, target = target, source
        if source not in uuids or target not in uuids:
            return self.drop("labelbox-relation-dangling", "a relation to a region not written")
        kind = "bidirectional" if relation.direction == "both" else "unidirectional"
        return {
            "uuid": row_uuid,
            "dataRow": self.data_row,
            **self.feature(relation.label, relation.extra),
            "relationship": {"source": uuids[source], "target": uuids[target], "type": kind},
        }


def _video_text_rows(writer: _Writer, texts: list[Classification]) -> Iterator[dict]:
    """Frame-range text classifications, grouped by question as Labelbox writes them."""
    by_name: dict[str, list[dict]] = {}
    for classification in texts:
        value = answer_text(classification.answers[0].value) if classification.answers else ""
        frames = [{"start": r.start + 1, "end": r.end + 1} for r in classification.frames or []]
        by_name.setdefault(classification.name, []).append({"value": value, "frames": frames})
    for name, answers in by_name.items():
        yield {"name": name, "answer": answers, "dataRow": writer.data_row}


def _set_rows(writer: _Writer, annotation_set: AnnotationSet) -> Iterator[dict]:
    key = writer.item.key
    video = writer.item.media.kind == "video"
    still = [] if video else list(annotation_set.regions)
    if video and any(r.frame is None for r in annotation_set.regions):
        writer.drop("labelbox-video-region-without-frame", "a region on a video without a frame")
    moving = list(annotation_set.tracks)
    if video:
        moving += [region_as_track(r) for r in annotation_set.regions if r.frame is not None]
    elif moving:
        writer.drop("labelbox-tracks-on-still", "tracks on an item that is not a video")
        moving = []
    uuids = {r.id: _uuid_for(key, annotation_set.id, r.id) for r in [*still, *moving]}
    rows = [
        writer.relation_row(
            rel, uuids, _uuid_for(key, annotation_set.id, "rel", str(i), rel.from_id, rel.to_id)
        )
        for i, rel in enumerate(annotation_set.relations)
    ]
    rows += [writer.region_row(region, uuids[region.id]) for region in still]
    plain = [c for c in annotation_set.classifications if c.frames is None]
    ranged = [c for c in annotation_set.classifications if c.frames is not None]
    rows += [
        writer.classification_row(c, _uuid_for(key, annotation_set.id, "cls", str(i), c.name))
        for i, c in enumerate(plain)
    ]
    rows += [writer.track_row(track, uuids[track.id], writer.video_end) for track in moving]
    rows += [
        writer.classification_row(c, _uuid_for(key, annotation_set.id, "vcls", str(i), c.name))
        for i, c in enumerate(ranged)
        if question_kind(c) != "text"
    ]
    rows += _video_text_rows(writer, [c for c in ranged if question_kind(c) == "text"])
    yield from (row for row in rows if row is not None)


def _data_row(item: Item, data_row_key: str, losses: LossReport) -> dict[str, str] | None:
    if data_row_key == "id":
        if item.source is not None and item.source.tool == "labelbox" and item.source.item:
            return {"id": item.source.item}
        losses.record(
            "labelbox-data-row-id-unknown",
            "the item has no Labelbox data row id; its annotations were not written",
            where=f"item {item.key}",
        )
        return None
    global_key = (item.extra.get("lb_data_row") or {}).get("global_key") or item.key
    return {"globalKey": global_key}


def item_to_import_rows(
    item: Item,
    losses: LossReport,
    *,
    data_row_key: str = "globalKey",
    use_schema_ids: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Iterator[dict]:
    """Labelbox import NDJSON rows (MAL / label import) for every annotation set of `item`.

    `data_row_key` is "globalKey" (the item's global key, else its key) or "id" (the
    Labelbox data row id it was read with). A Labelbox import makes one label per data row,
    so several annotation sets on one item are merged (loss "labelbox-sets-merged"). A mask
    above `max_pixels` pixels is refused before its PNG is made."""
    if data_row_key not in ("globalKey", "id"):
        raise ConfigError(
            f"data_row_key must be 'globalKey' or 'id', not {data_row_key!r}",
            hint="-O data_row_key=globalKey or -O data_row_key=id",
        )
    data_row = _data_row(item, data_row_key, losses)
    if data_row is None:
        return
    if len(item.annotation_sets) > 1:
        losses.record(
            "labelbox-sets-merged",
            "an import makes one label per data row; several annotation sets were merged",
            where=f"item {item.key}",
            severity="approximated",
        )
    writer = _Writer(item, losses, data_row, use_schema_ids, max_pixels)
    for annotation_set in item.annotation_sets:
        yield from _set_rows(writer, named_only(annotation_set, losses, writer.where))
