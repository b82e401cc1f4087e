"""Export v2 NDJSON -> unified: the real export and a hand-built one with every kind."""

from __future__ import annotations

import json

import pytest
from bridge_labelbox.convert import data_row_to_item, item_to_data_row
from bridge_labelbox.files import read_export

from bridge import api
from bridge.formats.jsonl import read_jsonl
from bridge.geometry.masks import rle_to_bitmap
from bridge.losses import LossReport

from . import lb_export_samples as samples
from .lb_export_samples import REAL_EXPORT
from .lb_export_samples import ndjson_rows as _raw_rows


def _convert(row: dict, masks=None):
    losses = LossReport()
    return data_row_to_item(row, losses, where="test:1", masks=masks), losses


# ------------------------------------------------------------------------ the real export


def test_lb_real_export_reads_every_row_label_and_answer():
    raw = _raw_rows(REAL_EXPORT)
    raw_labels = [
        (pid, label) for row in raw for pid, p in row["projects"].items() for label in p["labels"]
    ]
    raw_answers = [
        (c["name"], c["radio_answer"]["name"])
        for _, label in raw_labels
        for c in label["annotations"]["classifications"]
    ]
    losses = LossReport()
    items = list(read_export(REAL_EXPORT, losses).items)

    assert len(items) == len(raw) == 102
    assert [i.key for i in items] == [row["data_row"]["global_key"] for row in raw]
    sets = [s for item in items for s in item.annotation_sets]
    assert [(s.source.project, s.id) for s in sets] == [
        (pid, label["id"]) for pid, label in raw_labels
    ]
    answers = [(c.name, c.answers[0].value) for s in sets for c in s.classifications]
    assert answers == raw_answers
    assert len(answers) == 192  # counted in the file by hand (grep -o radio_answer | wc -l)
    assert all(
        len(c.answers) == 1 and c.extra["lb_kind"] == "radio"
        for s in sets
        for c in s.classifications
    )
    assert not losses


def test_lb_real_export_first_row_values():
    item, _ = _convert(_raw_rows(REAL_EXPORT)[0])
    assert item.key == "bdabc5cfa3eb4d16ace5af44cbc0cf9d_vexcel"
    assert item.source.item == "clsoy26qo03vm0735wxvvmneh"
    assert (item.media.kind, item.media.width, item.media.height) == ("image", 390, 325)
    assert item.media.uri.endswith("bdabc5cfa3eb4d16ace5af44cbc0cf9d_vexcel.png")
    bad_image = item.annotation_sets[0].classifications[0]
    assert (bad_image.name, bad_image.answers[0].value) == ("bad_image", "False")
    assert bad_image.source.region == "clstcj1oo000j3b6nxy0dx9ry"
    assert bad_image.answers[0].extra["value"] == "false"


def test_lb_real_export_round_trips_exactly():
    for row in _raw_rows(REAL_EXPORT):
        item, _ = _convert(row)
        assert item_to_data_row(item, LossReport()) == row


def test_lb_cli_round_trip_through_unified_jsonl(tmp_path):
    unified, back = tmp_path / "u.jsonl", tmp_path / "back.ndjson"
    api.convert(str(REAL_EXPORT), unified)  # format auto-detected
    api.convert(str(unified), back, to_format="labelbox")
    assert _raw_rows(back) == _raw_rows(REAL_EXPORT)
    project = read_jsonl(unified).project
    assert {c.name for c in project.ontology.classifications} == {"bad_image", "wear"}


# ---------------------------------------------------------------- the hand-built export


def test_lb_image_objects_in_pixels_with_nested_classifications():
    item, _ = _convert(samples.image_row())
    label = item.annotation_sets[0]
    car, road, lane, nose, _blob = label.regions
    assert (car.id, car.label) == ("fCar", "car")
    assert (car.shape.x, car.shape.y, car.shape.width, car.shape.height) == (10, 20, 100, 200)
    color = car.classifications[0]
    assert (color.name, color.answers[0].value) == ("color", "red")
    shade = color.answers[0].classifications[0]
    assert (shade.name, shade.answers[0].value) == ("shade", "dark")
    assert road.shape.points == [(0, 0), (10, 0), (10, 10)]  # the repeated first point is dropped
    assert lane.shape.points == [(1, 1), (5, 5)]
    assert (nose.shape.points[0].x, nose.shape.points[0].y) == (3, 4)
    tags, note, weather = label.classifications
    assert [a.value for a in tags.answers] == ["a", "b"]
    assert tags.answers[1].classifications[0].answers[0].value == "because"
    assert (note.answers[0].value, weather.answers[0].value) == ("hello", "sunny")
    assert [(r.from_id, r.to_id, r.label, r.direction) for r in label.relations] == [
        ("fCar", "fRoad", "near", "forward")
    ]


def test_lb_two_projects_and_two_labels_make_three_sets():
    item, _ = _convert(samples.image_row())
    assert [(s.source.project, s.id) for s in item.annotation_sets] == [
        ("pA", "labelA1"),
        ("pA", "labelA2"),
        ("pB", "labelB1"),
    ]
    first = item.annotation_sets[0]
    assert first.annotator.email == "ann@example.com"
    assert first.created_at.isoformat() == "2024-02-16T17:49:08.951000+00:00"
    assert first.lead_time == 42.0
    assert first.status == "accepted"  # project workflow_status Done
    assert [(r.status, r.reviewer.email) for r in first.reviews] == [
        ("accepted", "rev@example.com")
    ]
    assert item.annotation_sets[2].regions[0].label == "road"


def test_lb_labels_of_one_project_share_its_fields_but_not_the_dict():
    row = samples.image_row()
    row["format_version"] = "v2.1"  # a top-level key of a newer export rides along
    item, _ = _convert(row)
    a1, a2, b1 = item.annotation_sets
    project_a = {"name": "Project A", "project_details": {"workflow_status": "Done"}}
    assert a1.extra["lb_project"] == a2.extra["lb_project"] == project_a
    assert b1.extra["lb_project"] == {"name": "Project B"}
    assert [a1.status, a2.status, b1.status] == ["accepted", "accepted", None]
    a1.extra["lb_project"]["name"] = "renamed"
    assert a2.extra["lb_project"]["name"] == "Project A"
    assert item.extra["format_version"] == "v2.1"
    assert item_to_data_row(item, LossReport())["format_version"] == "v2.1"


def test_lb_mask_fetched_from_composite_by_color():
    fetched = []

    def masks(url):
        fetched.append(url)
        return samples.composite_png()

    item, losses = _convert(samples.image_row(), masks=masks)
    blob = item.annotation_sets[0].regions[4]
    bitmap = rle_to_bitmap(blob.shape.rle)
    assert bitmap.shape == (6, 8)
    assert sorted(zip(*bitmap.nonzero(), strict=True)) == [
        (r, c) for r in (1, 2) for c in (2, 3, 4)
    ]
    assert fetched == [samples.COMPOSITE_URL]
    assert "mask-not-fetched" not in losses


def test_lb_mask_not_fetched_keeps_url_and_says_so():
    item, losses = _convert(samples.image_row())
    blob = item.annotation_sets[0].regions[4]
    assert blob.shape.type == "mask" and not rle_to_bitmap(blob.shape.rle).any()
    assert blob.extra["composite_mask"]["url"] == samples.COMPOSITE_URL
    assert losses.count("mask-not-fetched") == 1


def test_lb_video_track_keyframes_segments_and_gaps():
    item, _ = _convert(samples.video_row())
    assert (item.media.kind, item.media.frame_count, item.media.fps) == ("video", 30, 10.0)
    (track,) = item.annotation_sets[0].tracks
    assert track.id == "fTrack" and track.label == "car"
    # Labelbox frames 2,3,4 | gap | 8 are unified 1,2,3 | outside at 4 | 7, outside at 8
    assert [(k.frame, k.outside, k.keyframe) for k in track.keyframes] == [
        (1, False, True),
        (2, False, False),
        (3, False, True),
        (4, True, True),
        (7, False, True),
        (8, True, True),
    ]
    assert (track.keyframes[0].shape.x, track.keyframes[0].shape.y) == (4.0, 2.0)
    assert track.keyframes[0].classifications[0].answers[0].value == "yes"


def test_lb_video_frame_classifications_become_frame_ranges():
    item, _ = _convert(samples.video_row())
    content, scene = item.annotation_sets[0].classifications
    assert content.frames is None and content.answers[0].value == "cars"
    assert scene.name == "scene"
    assert [(r.start, r.end) for r in scene.frames] == [(1, 3), (9, 9)]


def test_lb_text_entity_end_becomes_exclusive():
    item, _ = _convert(samples.text_row())
    span = item.annotation_sets[0].regions[0].shape
    assert (span.start, span.end, span.text) == (0, 5, "Alice")
    assert "Alice and Bob"[span.start : span.end] == "Alice"
    assert item.media.kind == "text"


def test_lb_conversational_entity_and_classification():
    item, _ = _convert(samples.conversation_row())
    assert item.media.kind == "conversation"
    label = item.annotation_sets[0]
    span = label.regions[0].shape
    assert (span.container, span.start, span.end) == ("m1", 2, 7)
    intent = label.classifications[0]
    assert intent.answers[0].value == "ask" and intent.extra["message_id"] == "m1"


@pytest.mark.parametrize(
    "make_row",
    [
        samples.image_row,
        samples.video_row,
        samples.text_row,
        samples.conversation_row,
        samples.document_row,
        samples.audio_row,
    ],
)
def test_lb_hand_built_rows_round_trip_exactly(make_row):
    row = make_row()
    item, _ = _convert(row)
    assert item_to_data_row(item, LossReport()) == row


def test_lb_hand_built_rows_round_trip_through_jsonl_file(tmp_path):
    source = tmp_path / "export.ndjson"
    source.write_text("".join(json.dumps(row) + "\n" for row in samples.all_rows()))
    unified, back = tmp_path / "u.jsonl", tmp_path / "back.ndjson"
    api.convert(str(source), unified, from_format="labelbox")
    api.convert(str(unified), back, to_format="labelbox")
    assert _raw_rows(back) == samples.all_rows()
    labels = {label.name: label.kinds for label in read_jsonl(unified).project.ontology.labels}
    assert labels == {
        "car": ["bbox"],
        "road": ["polygon"],
        "lane": ["polyline"],
        "nose": ["points"],
        "blob": ["mask"],
        "PER": ["span"],
        "ORG": ["span"],
    }


def test_lb_document_entity_and_page_box():
    item, losses = _convert(samples.document_row())
    (page_box,) = item.annotation_sets[0].regions
    assert item.media.kind == "document"
    assert (page_box.shape.x, page_box.shape.y, page_box.extra["page_number"]) == (58.0, 48.0, 1)
    # the token entity has no character offsets: no span, kept for Labelbox, named as lost
    (kept,) = item.annotation_sets[0].extra["lb_unsupported_objects"]
    assert kept["annotation_kind"] == "DocumentEntityToken"
    (loss,) = [loss for loss in losses if loss.code == "labelbox-document-entity"]
    assert loss.examples == ["test:1 (DocumentEntityToken: named-entity)"] and loss.count == 1
    assert not [r for r in item.annotation_sets[0].regions if r.shape.type == "span"]


def test_lb_foreign_item_written_as_export_reads_back_the_same():
    from bridge.schema import (
        AnnotationSet,
        Answer,
        BBox,
        Classification,
        Item,
        Keyframe,
        Media,
        Polygon,
        Region,
        Relation,
        Track,
    )

    box = Region(
        id="r1",
        label="car",
        shape=BBox(x=1, y=2, width=3, height=4),
        classifications=[Classification(name="color", answers=[Answer(value="red")])],
    )
    poly = Region(id="r2", label="road", shape=Polygon(points=[(0, 0), (4, 0), (4, 4)]))
    still = Item(
        key="a.jpg",
        media=Media(kind="image", width=10, height=10),
        annotation_sets=[
            AnnotationSet(
                id="s1",
                regions=[box, poly],
                relations=[Relation(from_id="r1", to_id="r2", label="on")],
                classifications=[
                    Classification(name="tags", answers=[Answer(value="x"), Answer(value="y")])
                ],
            )
        ],
    )
    track = Track(
        id="t1",
        label="car",
        keyframes=[
            Keyframe(frame=0, shape=BBox(x=0, y=0, width=2, height=2)),
            Keyframe(frame=3, outside=True),
            Keyframe(frame=5, shape=BBox(x=1, y=1, width=2, height=2)),
        ],
    )
    video = Item(
        key="v.mp4",
        media=Media(kind="video", frame_count=10),
        annotation_sets=[AnnotationSet(id="s2", tracks=[track])],
    )
    for original in (still, video):
        losses = LossReport()
        row = item_to_data_row(original, losses, project_id="p")
        again = data_row_to_item(json.loads(json.dumps(row)), losses, where="t")
        first, back = original.annotation_sets[0], again.annotation_sets[0]
        assert [(r.id, r.label, r.shape) for r in back.regions] == [
            (r.id, r.label, r.shape) for r in first.regions
        ]
        assert [(c.name, [a.value for a in c.answers]) for c in back.classifications] == [
            (c.name, [a.value for a in c.answers]) for c in first.classifications
        ]
        assert [(r.from_id, r.to_id, r.label) for r in back.relations] == [
            (r.from_id, r.to_id, r.label) for r in first.relations
        ]
        assert [[(k.frame, k.outside, k.shape) for k in t.keyframes] for t in back.tracks] == [
            [(k.frame, k.outside, k.shape) for k in t.keyframes] for t in first.tracks
        ]
        assert back.source.project == "p"
        assert not [loss for loss in losses if loss.severity == "dropped"]
    assert row["projects"]["p"]["labels"][0]["annotations"]["segments"] == {"t1": [[1, 3], [6, 10]]}


def test_lb_single_frame_video_region_is_a_one_frame_segment():
    from bridge.schema import BBox, Item, Media, Region

    region = Region(id="r", label="sign", frame=4, shape=BBox(x=1, y=1, width=2, height=2))
    item = Item(
        key="v",
        media=Media(kind="video", frame_count=10),
        annotation_sets=[{"id": "s", "regions": [region]}],
    )
    annotations = item_to_data_row(item, LossReport())["projects"]["unified"]["labels"][0][
        "annotations"
    ]
    assert annotations["segments"] == {"r": [[5, 5]]}
    assert list(annotations["frames"]) == ["5"]
    assert annotations["key_frame_feature_map"] == {"r": [5]}


def test_lb_other_tools_vendor_fields_stay_out_of_the_export():
    from bridge.schema import BBox, Item, Media, Region, SourceRef

    region = Region(
        id="r",
        label="car",
        shape=BBox(x=1, y=1, width=2, height=2),
        extra={"cvat_source": "manual"},
    )
    item = Item(
        key="a.jpg",
        media=Media(kind="image"),
        source=SourceRef(tool="cvat", item="7"),
        extra={"cvat_frame": 3},
        annotation_sets=[
            {"id": "j1", "source": {"tool": "cvat"}, "regions": [region], "extra": {"cvat_job": 1}}
        ],
    )
    row = item_to_data_row(item, LossReport())
    assert "cvat_frame" not in row and row["data_row"] == {"global_key": "a.jpg"}
    label = row["projects"]["unified"]["labels"][0]
    assert "cvat_job" not in label
    assert label["annotations"]["objects"] == [
        {
            "feature_id": "r",
            "name": "car",
            "classifications": [],
            "bounding_box": {"top": 1.0, "left": 1.0, "height": 2.0, "width": 2.0},
        }
    ]


def test_lb_span_written_to_export_with_inclusive_end():
    from bridge.schema import Item, Media, Region, Span

    text = "Alice and Bob"
    item = Item(
        key="t",
        media=Media(kind="text", text=text),
        annotation_sets=[
            {
                "id": "s",
                "regions": [Region(id="r", label="PER", shape=Span(start=10, end=13, text="Bob"))],
            }
        ],
    )
    row = item_to_data_row(item, LossReport())
    (entity,) = row["projects"]["unified"]["labels"][0]["annotations"]["objects"]
    assert entity["location"] == {"start": 10, "end": 12, "token": "Bob"}
    assert text[entity["location"]["start"] : entity["location"]["end"] + 1] == "Bob"
    back, _ = _convert(row)
    assert (
        back.annotation_sets[0].regions[0].shape.start,
        back.annotation_sets[0].regions[0].shape.end,
    ) == (10, 13)
