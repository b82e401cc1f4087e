"""Our import NDJSON equals what labelbox's own `NDJsonConverter.serialize` writes for the
same annotations, row by row, uuids aside.

The unified items come from the hand-built export (masks fetched). The `labelbox.types`
labels are built here, from the same unified data, with the SDK's own classes; the SDK
then serializes them. uuids are random in the SDK and stable in ours, so both sides are
compared with every uuid replaced by the index of the row that carries it.
"""

from __future__ import annotations

import numpy as np
import pytest
from bridge_labelbox.convert import data_row_to_item, item_to_import_rows

from bridge.geometry.masks import rle_to_bitmap
from bridge.losses import LossReport
from bridge.schema import Answer, Classification, FrameRange, Item

from . import lb_export_samples as samples

lb = pytest.importorskip("labelbox.types")
serialization = pytest.importorskip("labelbox.data.serialization")


# ------------------------------------------------------- unified -> labelbox.types (oracle)


def _kind(classification: Classification) -> str:
    return classification.extra["lb_kind"]


def sdk_classification(classification: Classification, **kwargs):
    kind = _kind(classification)
    if kind == "text":
        value = lb.Text(answer=str(classification.answers[0].value))
    else:
        answers = [
            lb.ClassificationAnswer(
                name=str(answer.value),
                classifications=[sdk_classification(c) for c in answer.classifications],
            )
            for answer in classification.answers
        ]
        value = lb.Radio(answer=answers[0]) if kind == "radio" else lb.Checklist(answer=answers)
    message_id = classification.extra.get("message_id")
    if message_id is not None:
        kwargs["message_id"] = message_id
    return lb.ClassificationAnnotation(name=classification.name, value=value, **kwargs)


def sdk_geometry(shape):
    if shape.type == "bbox":
        return lb.Rectangle(
            start=lb.Point(x=shape.x, y=shape.y),
            end=lb.Point(x=shape.x + shape.width, y=shape.y + shape.height),
        )
    if shape.type == "polygon":
        return lb.Polygon(points=[lb.Point(x=x, y=y) for x, y in shape.points])
    if shape.type == "polyline":
        return lb.Line(points=[lb.Point(x=x, y=y) for x, y in shape.points])
    if shape.type == "points":
        return lb.Point(x=shape.points[0].x, y=shape.points[0].y)
    if shape.type == "mask":
        bitmap = rle_to_bitmap(shape.rle).astype(np.uint8) * 255
        return lb.Mask(mask=lb.MaskData.from_2D_arr(bitmap), color=(255, 255, 255))
    if shape.type == "span" and shape.container is not None:
        return lb.ConversationEntity(
            start=shape.start, end=shape.end - 1, message_id=shape.container
        )
    if shape.type == "span":
        return lb.TextEntity(start=shape.start, end=shape.end - 1)
    raise AssertionError(shape.type)


def sdk_video_objects(track) -> list:
    annotations, segment = [], 0
    for keyframe in track.keyframes:
        if keyframe.outside:
            segment += 1
        elif keyframe.keyframe:
            annotations.append(
                lb.VideoObjectAnnotation(
                    name=track.label,
                    frame=keyframe.frame + 1,
                    keyframe=True,
                    segment_index=segment,
                    value=sdk_geometry(keyframe.shape),
                    classifications=[sdk_classification(c) for c in keyframe.classifications],
                )
            )
    return annotations


def sdk_video_classifications(classification: Classification) -> list:
    result = []
    for index, run in enumerate(classification.frames):
        for frame in range(run.start + 1, run.end + 2):
            value = sdk_classification(classification).value
            segment = {} if _kind(classification) == "text" else {"segment_index": index}
            result.append(
                lb.VideoClassificationAnnotation(
                    name=classification.name, frame=frame, value=value, **segment
                )
            )
    return result


def sdk_label(item: Item, annotation_set):
    objects = {
        r.id: lb.ObjectAnnotation(
            name=r.label,
            value=sdk_geometry(r.shape),
            classifications=[sdk_classification(c) for c in r.classifications],
        )
        for r in annotation_set.regions
    }
    relationships = [
        lb.RelationshipAnnotation(
            name=rel.label,
            value=lb.Relationship(
                source=objects[rel.from_id],
                target=objects[rel.to_id],
                type=lb.Relationship.Type.UNIDIRECTIONAL,
            ),
        )
        for rel in annotation_set.relations
    ]
    plain = [sdk_classification(c) for c in annotation_set.classifications if c.frames is None]
    video = [a for track in annotation_set.tracks for a in sdk_video_objects(track)]
    video += [
        a
        for c in annotation_set.classifications
        if c.frames is not None
        for a in sdk_video_classifications(c)
    ]
    annotations = [*relationships, *objects.values(), *plain, *video]
    return lb.Label(data={"global_key": item.key}, annotations=annotations)


def sdk_rows(item: Item) -> list[dict]:
    labels = [sdk_label(item, s) for s in item.annotation_sets]
    return list(serialization.NDJsonConverter.serialize(labels))


# -------------------------------------------------------------------------- comparison


def without_uuids(rows: list[dict]) -> list[dict]:
    """Rows with `uuid` dropped and relationship ends named by the row they point at."""
    index = {row["uuid"]: n for n, row in enumerate(rows) if "uuid" in row}
    result = []
    for row in rows:
        row = {k: v for k, v in row.items() if k != "uuid"}
        if "relationship" in row:
            link = dict(row["relationship"])
            link["source"], link["target"] = (
                f"row{index[link['source']]}",
                f"row{index[link['target']]}",
            )
            row["relationship"] = link
        result.append(row)
    return result


def unified_items() -> list[Item]:
    items = [
        data_row_to_item(row, LossReport(), where="t", masks=lambda url: samples.composite_png())
        for row in samples.all_rows()
    ]
    video = items[1].annotation_sets[0]
    video.classifications.append(
        Classification(
            name="caption",
            answers=[Answer(value="x")],
            extra={"lb_kind": "text"},
            frames=[FrameRange(start=0, end=1), FrameRange(start=4, end=4)],
        )
    )
    return items


@pytest.mark.parametrize("index", range(4), ids=["image", "video", "text", "conversation"])
def test_lb_import_rows_equal_labelbox_serializer(index):
    item = unified_items()[index]
    ours = list(item_to_import_rows(item, LossReport()))
    theirs = sdk_rows(item)
    assert len(ours) == len(theirs)
    for mine, sdk in zip(without_uuids(ours), without_uuids(theirs), strict=True):
        assert mine == sdk


def test_lb_import_uuids_unique_and_relationship_points_at_objects():
    item = unified_items()[0]
    rows = list(item_to_import_rows(item, LossReport()))
    uuids = [row["uuid"] for row in rows if "uuid" in row]
    assert len(uuids) == len(set(uuids))
    (relationship,) = [row for row in rows if "relationship" in row]
    by_uuid = {row["uuid"]: row for row in rows}
    assert by_uuid[relationship["relationship"]["source"]]["name"] == "car"
    assert by_uuid[relationship["relationship"]["target"]]["name"] == "road"
    again = list(item_to_import_rows(item, LossReport()))
    assert [row.get("uuid") for row in again] == [row.get("uuid") for row in rows]  # stable
