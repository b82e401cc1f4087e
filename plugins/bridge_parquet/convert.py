"""Unified items <-> Parquet rows (pure: plain dicts; `files.py` holds the Arrow schema).

**One row per region.** Every row carries its item's columns (`item_key`, `media_kind`,
`media_uri`, `media_width`, `media_height`, `media_text`, `subset`) and its annotation
set's columns (`set_id`, `set_kind`, `annotator_email`, `annotator_id`, `annotator_name`,
`set_status`, `ground_truth`, `model_version`, `source_tool`, `created_at`, `updated_at`,
`lead_time`, `set_classifications`), then the region's: `region_id`, `label`,
`shape_type`, `units`, `geometry` (the unified shape as JSON text, `bridge schema`'s
shapes), `bbox_x`, `bbox_y`, `bbox_w`, `bbox_h`, `rotation` (boxes only), `score`,
`frame`, `occluded`, `group_id`, `z_order` and `classifications`.

* **Tracks**: one row per *keyframe*, with `track_id` set (`region_id` is the track id),
  `frame`, `outside` and `keyframe`; the keyframe's answers in `classifications`, the
  track's in `track_classifications`. A row per keyframe keeps every drawn state
  queryable by frame (`WHERE frame = 10`); interpolated frames are not materialised.
* **Items with no regions** still appear: one row per annotation set with the region
  columns null, and one row with the set columns null too for an item with no set at all
  (so `SELECT count(DISTINCT item_key)` counts every item).
* **Classifications** are a list of structs `{name, answers: list<string>}`; answers are
  written as text (`true`/`false` for yes/no answers; numbers as written), and answers to
  sub-questions are flattened into the list with the name `question/answer/sub-question`.
  Reading gives text answers and flat questions back: reported as `parquet-answer-types`
  and `parquet-nested-flattened` (approximated) when written.

Not in the table (reported when met): relations (`parquet-relations`), reviews
(`parquet-reviews`), classifications limited to frame ranges (`parquet-classification-frames`,
kept without their frames), an item's raw `data` fields (`parquet-item-data`), a video's or
audio's frame count, fps, duration and MIME type (`parquet-media-facts`), an annotation
set's own score (`parquet-set-score`; a consensus set's) and its source beyond the tool's
name (`parquet-set-source`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bridge.errors import FormatError, describe_validation_error
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    AnyShape,
    BBox,
    Classification,
    Item,
    Keyframe,
    Media,
    Region,
    SourceRef,
    Track,
)

ITEM_COLUMNS = (
    "item_key",
    "media_kind",
    "media_uri",
    "media_width",
    "media_height",
    "media_text",
    "subset",
)
SET_COLUMNS = (
    "set_id",
    "set_kind",
    "annotator_email",
    "annotator_id",
    "annotator_name",
    "set_status",
    "ground_truth",
    "model_version",
    "source_tool",
    "created_at",
    "updated_at",
    "lead_time",
    "set_classifications",
)
REGION_COLUMNS = (
    "region_id",
    "track_id",
    "label",
    "shape_type",
    "units",
    "geometry",
    "bbox_x",
    "bbox_y",
    "bbox_w",
    "bbox_h",
    "rotation",
    "score",
    "frame",
    "occluded",
    "outside",
    "keyframe",
    "group_id",
    "z_order",
    "classifications",
    "track_classifications",
)
COLUMNS = ITEM_COLUMNS + SET_COLUMNS + REGION_COLUMNS
UNWRITTEN_MEDIA = ("frame_count", "fps", "duration", "mime_type")
"""`Media` fields without a column."""
SHAPES: TypeAdapter[Any] = TypeAdapter(AnyShape)


def _answer_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def classification_structs(
    classifications: Iterable[Classification], losses: LossReport, where: str, prefix: str = ""
) -> list[dict[str, Any]]:
    """`classifications` as `{name, answers}` structs, sub-questions flattened."""
    structs: list[dict[str, Any]] = []
    for classification in classifications:
        name = f"{prefix}{classification.name}"
        if classification.frames is not None:
            losses.record(
                "parquet-classification-frames",
                "answers limited to frame ranges written without their frames",
                where=where,
                severity="approximated",
            )
        if any(not isinstance(a.value, str) for a in classification.answers):
            losses.record(
                "parquet-answer-types",
                "yes/no and number answers written as text",
                where=where,
                severity="approximated",
            )
        structs.append(
            {"name": name, "answers": [_answer_text(a.value) for a in classification.answers]}
        )
        for answer in classification.answers:
            if answer.classifications:
                losses.record(
                    "parquet-nested-flattened",
                    "answers to sub-questions flattened as question/answer/sub-question",
                    where=where,
                    severity="approximated",
                )
                structs.extend(
                    classification_structs(
                        answer.classifications,
                        losses,
                        where,
                        f"{name}/{_answer_text(answer.value)}/",
                    )
                )
    return structs


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _item_columns(item: Item) -> dict[str, Any]:
    return {
        "item_key": item.key,
        "media_kind": item.media.kind,
        "media_uri": item.media.uri,
        "media_width": item.media.width,
        "media_height": item.media.height,
        "media_text": item.media.text,
        "subset": item.subset,
    }


def _set_columns(aset: AnnotationSet, losses: LossReport, where: str) -> dict[str, Any]:
    person = aset.annotator or Annotator()
    return {
        "set_id": aset.id,
        "set_kind": aset.kind,
        "annotator_email": person.email,
        "annotator_id": person.id,
        "annotator_name": person.name,
        "set_status": aset.status,
        "ground_truth": aset.ground_truth,
        "model_version": aset.model_version,
        "source_tool": aset.source.tool if aset.source else None,
        "created_at": _utc(aset.created_at),
        "updated_at": _utc(aset.updated_at),
        "lead_time": aset.lead_time,
        "set_classifications": classification_structs(aset.classifications, losses, where),
    }


def _shape_columns(shape: Any) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "shape_type": None if shape is None else shape.type,
        "units": None if shape is None else shape.units,
        "geometry": None if shape is None else shape.model_dump_json(exclude_defaults=True),
    }
    if isinstance(shape, BBox):
        columns.update(
            bbox_x=shape.x,
            bbox_y=shape.y,
            bbox_w=shape.width,
            bbox_h=shape.height,
            rotation=shape.rotation,
        )
    return columns


def item_rows(item: Item, losses: LossReport) -> Iterator[dict[str, Any]]:
    """The rows of `item` (see the module's docstring); losses recorded."""
    where = f"item {item.key!r}"
    base = _item_columns(item)
    if item.data:
        losses.record("parquet-item-data", "an item's raw data fields have no column", where=where)
    if any(getattr(item.media, name) is not None for name in UNWRITTEN_MEDIA):
        losses.record(
            "parquet-media-facts",
            "frame count, fps, duration and MIME type of the media have no column",
            where=where,
        )
    if not item.annotation_sets:
        yield dict(base)
        return
    for aset in item.annotation_sets:
        here = f"{where} set {aset.id!r}"
        set_base = {**base, **_set_columns(aset, losses, here)}
        if aset.relations:
            losses.record(
                "parquet-relations", "relations have no row", where=here, count=len(aset.relations)
            )
        if aset.reviews:
            losses.record(
                "parquet-reviews", "reviews have no column", where=here, count=len(aset.reviews)
            )
        if aset.score is not None:
            losses.record(
                "parquet-set-score", "an annotation set's own score has no column", where=here
            )
        if aset.source is not None and aset.source != SourceRef(tool=aset.source.tool):
            losses.record(
                "parquet-set-source",
                "an annotation set's source is kept as its tool's name only",
                where=here,
                severity="approximated",
            )
        if not aset.regions and not aset.tracks:
            yield set_base
            continue
        for region in aset.regions:
            yield {
                **set_base,
                **_shape_columns(region.shape),
                "region_id": region.id,
                "label": region.label,
                "score": region.score,
                "frame": region.frame,
                "occluded": region.occluded,
                "group_id": region.group,
                "z_order": region.z_order,
                "classifications": classification_structs(region.classifications, losses, here),
            }
        for track in aset.tracks:
            track_answers = classification_structs(track.classifications, losses, here)
            for keyframe in track.keyframes:
                yield {
                    **set_base,
                    **_shape_columns(keyframe.shape),
                    "region_id": track.id,
                    "track_id": track.id,
                    "label": track.label,
                    "score": track.score,
                    "frame": keyframe.frame,
                    "occluded": keyframe.occluded,
                    "outside": keyframe.outside,
                    "keyframe": keyframe.keyframe,
                    "group_id": track.group,
                    "z_order": keyframe.z_order,
                    "classifications": classification_structs(
                        keyframe.classifications, losses, here
                    ),
                    "track_classifications": track_answers,
                }


# ------------------------------------------------------------------------------ read


def _classifications(structs: list[dict[str, Any]] | None) -> list[Classification]:
    return [
        Classification(name=s["name"], answers=[Answer(value=a) for a in s["answers"] or []])
        for s in structs or []
    ]


def _shape(row: dict[str, Any]) -> Any:
    return None if row.get("geometry") is None else SHAPES.validate_json(row["geometry"])


class _ItemBuilder:
    """Collects the rows of one item (consecutive rows with the same `item_key`)."""

    def __init__(self, row: dict[str, Any]):
        self.first = row
        self.sets: dict[str, AnnotationSet] = {}
        self.tracks: dict[tuple[str, str], Track] = {}

    def add(self, row: dict[str, Any]) -> None:
        set_id = row.get("set_id")
        if set_id is None:
            return
        aset = self.sets.get(set_id)
        if aset is None:
            person = Annotator(
                id=row.get("annotator_id"),
                email=row.get("annotator_email"),
                name=row.get("annotator_name"),
            )
            aset = self.sets[set_id] = AnnotationSet(
                id=set_id,
                kind=row.get("set_kind") or "human",
                annotator=None if person == Annotator() else person,
                status=row.get("set_status"),
                ground_truth=bool(row.get("ground_truth")),
                model_version=row.get("model_version"),
                source=SourceRef(tool=row["source_tool"]) if row.get("source_tool") else None,
                created_at=row.get("created_at"),
                updated_at=row.get("updated_at"),
                lead_time=row.get("lead_time"),
                classifications=_classifications(row.get("set_classifications")),
            )
        if row.get("region_id") is None:
            return
        if row.get("track_id") is not None:
            self._keyframe(aset, row)
            return
        aset.regions.append(
            Region(
                id=row["region_id"],
                label=row.get("label"),
                shape=_shape(row),
                frame=row.get("frame"),
                occluded=bool(row.get("occluded")),
                group=row.get("group_id"),
                z_order=row.get("z_order"),
                score=row.get("score"),
                classifications=_classifications(row.get("classifications")),
            )
        )

    def _keyframe(self, aset: AnnotationSet, row: dict[str, Any]) -> None:
        key = (aset.id, row["track_id"])
        track = self.tracks.get(key)
        if track is None:
            track = self.tracks[key] = Track(
                id=row["track_id"],
                label=row.get("label"),
                keyframes=[],
                group=row.get("group_id"),
                score=row.get("score"),
                classifications=_classifications(row.get("track_classifications")),
            )
            aset.tracks.append(track)
        track.keyframes.append(
            Keyframe(
                frame=row["frame"],
                shape=_shape(row),
                outside=bool(row.get("outside")),
                occluded=bool(row.get("occluded")),
                keyframe=row.get("keyframe") is not False,
                z_order=row.get("z_order"),
                classifications=_classifications(row.get("classifications")),
            )
        )

    def item(self) -> Item:
        row = self.first
        return Item(
            key=row["item_key"],
            media=Media(
                kind=row["media_kind"],
                uri=row.get("media_uri"),
                width=row.get("media_width"),
                height=row.get("media_height"),
                text=row.get("media_text"),
            ),
            subset=row.get("subset"),
            annotation_sets=list(self.sets.values()),
        )


def items_from_rows(rows: Iterable[dict[str, Any]], where: str = "") -> Iterator[Item]:
    """Items from rows in the order the writer wrote them (an item's rows together). A row
    the unified model refuses (a `geometry` that is not a shape, an unknown media kind) is
    a `FormatError` located at its row (1-based) in `where`."""
    builder: _ItemBuilder | None = None
    first_row = 0
    at = ""
    try:
        for number, row in enumerate(rows, start=1):
            if builder is None or row["item_key"] != builder.first["item_key"]:
                if builder is not None:
                    at = f"the item from row {first_row}"
                    yield builder.item()
                builder, first_row = _ItemBuilder(row), number
            at = f"row {number}"
            builder.add(row)
        if builder is not None:
            at = f"the item from row {first_row}"
            yield builder.item()
    except ValidationError as error:  # the model's checks of what the file holds
        raise FormatError(
            f"not a unified item: {describe_validation_error(error)}",
            where=f"{where} {at}".strip(),
            hint="this reader takes the one-row-per-region tables label-bridge writes",
        ) from None
