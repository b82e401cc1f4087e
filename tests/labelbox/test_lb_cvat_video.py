"""CVAT video exports -> Labelbox (export v2 and import NDJSON), issue 9 point 9: every
shown frame of a track, every answer (a CVAT attribute, mutable or not) and every gap
arrives, or is counted in the loss report. Expected values come from the CVAT XML, read
here with ElementTree; the import rows are parsed with the labelbox SDK's own models."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bridge_labelbox.convert import data_row_to_item, item_to_data_row, item_to_import_rows

from bridge import api
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Item, Media

from .lb_export_samples import FIXTURES as LABELBOX

CVAT = Path(__file__).parent.parent / "fixtures" / "cvat"
VIDEOS = ["for_video.xml", "for_video_with_skeleton.xml", "all_shapes_video.xml"]
EXPORT_KINDS = {"box", "points", "polyline", "polygon", "skeleton"}
"""CVAT shapes a Labelbox export v2 video object holds (ellipses and cuboids it does not)."""
IMPORT_KINDS = {"box", "points", "polyline", "skeleton"}
"""CVAT shapes a Labelbox import video object holds (box, point, line keyframes)."""


class Shape:
    def __init__(self, element: ET.Element):
        self.kind = element.tag
        self.frame = int(element.get("frame"))
        self.outside = element.get("outside", "0") == "1"
        self.keyframe = element.get("keyframe", "1") == "1"
        self.answers = {a.get("name"): a.text or "" for a in element.findall("attribute")}


def cvat_video(name: str) -> tuple[int, dict[str, bool], list[tuple[str, str, list[Shape]]]]:
    """(task size, attribute name -> mutable, [(track id, label, shapes by frame)])."""
    root = ET.parse(CVAT / name).getroot()
    mutable = {
        a.findtext("name"): a.findtext("mutable") == "True"
        for a in root.iter("attribute")
        if a.find("mutable") is not None
    }
    tracks = []
    for track in root.findall("track"):
        shapes = sorted((Shape(e) for e in track if e.tag != "track"), key=lambda s: s.frame)
        tracks.append((track.get("id"), track.get("label"), shapes))
    return int(root.findtext("meta/task/size")), mutable, tracks


def runs(shapes: list[Shape]) -> list[tuple[list[Shape], int | None]]:
    """Runs of shown shapes, each with the frame of the outside shape that ends it."""
    result: list[tuple[list[Shape], int | None]] = []
    current: list[Shape] = []
    for shape in shapes:
        if shape.outside:
            if current:
                result.append((current, shape.frame))
            current = []
        else:
            current.append(shape)
    if current:
        result.append((current, None))
    return result


def frames_needed(size: int, tracks, kinds: set[str]) -> int:
    """`size`, unless a shown frame lies past it: then the fewest Labelbox frames that
    place every shown frame and every frame an object leaves the screen on (Labelbox
    frame = CVAT frame + 1)."""
    shown = leaving = 0
    for _, _, shapes in tracks:
        if shapes[0].kind not in kinds:
            continue
        for run, end in runs(shapes):
            shown = max(shown, run[-1].frame + 1)
            leaving = max(leaving, (end or 0) + 1)
    return size if shown <= size else max(shown, leaving)


def expected_losses(tracks, mutable: dict[str, bool], kinds: set[str]) -> dict[str, int]:
    hidden = answers = immutable = 0
    for _, _, shapes in tracks:
        if shapes[0].kind not in kinds:
            continue
        immutable += len({n for s in shapes for n in s.answers if not mutable.get(n, True)})
        shown, previous = False, {}
        for shape in shapes:
            changing = {n: v for n, v in shape.answers.items() if mutable.get(n, True)}
            if shape.outside:
                hidden += not shown
                if changing and changing != previous:
                    answers += len(changing)
            shown = not shape.outside
            previous = changing or previous
    counts = {
        "labelbox-outside-while-hidden": hidden,
        "labelbox-answers-while-outside": answers,
        "labelbox-track-answers-per-frame": immutable,
    }
    return {code: n for code, n in counts.items() if n}


def _losses(report, codes) -> dict[str, int]:
    return {loss.code: loss.count for loss in report if loss.code in codes}


def _answer(classification: dict) -> str:
    if "radio_answer" in classification:
        return classification["radio_answer"]["name"]
    if "text_answer" in classification:
        return classification["text_answer"]["content"]
    return ",".join(a["name"] for a in classification["checklist_answers"])


CODES = (
    "labelbox-outside-while-hidden",
    "labelbox-answers-while-outside",
    "labelbox-track-answers-per-frame",
)


@pytest.mark.parametrize("name", VIDEOS)
def test_lb_cvat_video_export_keeps_frames_answers_and_gaps(name, tmp_path):
    size, mutable, tracks = cvat_video(name)
    out = tmp_path / "out.ndjson"
    losses = api.convert(CVAT / name, out, from_format="cvat", to_format="labelbox")
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    (label,) = [lab for project in row["projects"].values() for lab in project["labels"]]
    annotations = label["annotations"]
    count = row["media_attributes"]["frame_count"]
    assert count == frames_needed(size, tracks, EXPORT_KINDS)
    if count > size:
        assert any(loss.code == "labelbox-frame-count-raised" for loss in losses)
    written = 0
    for track_id, track_label, shapes in tracks:
        if shapes[0].kind not in EXPORT_KINDS:
            assert track_id not in annotations["segments"]
            continue
        on = {
            int(number): frame["objects"][track_id]
            for number, frame in annotations["frames"].items()
            if track_id in frame["objects"]
        }
        shown = [s for s in shapes if not s.outside]
        assert sorted(on) == [s.frame + 1 for s in shown]
        for shape in shown:
            obj = on[shape.frame + 1]
            assert obj["name"] == track_label
            got = {c["name"]: _answer(c) for c in obj["classifications"]}
            assert got == shape.answers  # immutable and mutable attributes alike
            written += len(shape.answers)
        expected = [
            [run[0].frame + 1, end if end is not None else count] for run, end in runs(shapes)
        ]
        assert annotations["segments"][track_id] == expected
        assert annotations["key_frame_feature_map"][track_id] == [
            s.frame + 1 for s in shown if s.keyframe
        ]
    assert _losses(losses, CODES) == expected_losses(tracks, mutable, EXPORT_KINDS)
    if name == "all_shapes_video.xml":  # the box track's immutable "model", on every frame
        assert written == 2 * 4 and _losses(losses, CODES)["labelbox-track-answers-per-frame"] == 1


def test_lb_cvat_video_export_reads_back_every_gap(tmp_path):
    """for_video.xml: the box track shows on CVAT frame 10 and leaves on 13; read back,
    it is a track shown on 10 with an outside keyframe on 13 (the task's size, 4 frames,
    would have cut it), and the answer "hgkf" stays on its frame."""
    out = tmp_path / "out.ndjson"
    api.convert(CVAT / "for_video.xml", out, from_format="cvat", to_format="labelbox")
    (item,) = api.open_dataset(out, "labelbox").items
    tracks = {t.id: t for t in item.annotation_sets[0].tracks}
    assert [(k.frame, k.outside) for k in tracks["0"].keyframes] == [(10, False), (13, True)]
    assert [(k.frame, k.outside) for k in tracks["2"].keyframes] == [(13, False), (16, True)]
    (first, _) = tracks["1"].keyframes
    assert [(c.name, c.answers[0].value) for c in first.classifications] == [("hgl", "hgkf")]


@pytest.mark.parametrize("name", VIDEOS)
def test_lb_cvat_video_import_keeps_extent_and_answers(name, tmp_path):
    objects = pytest.importorskip("labelbox.data.serialization.ndjson.objects")
    size, mutable, tracks = cvat_video(name)
    out = tmp_path / "out.ndjson"
    losses = api.convert(CVAT / name, out, from_format="cvat", to_format="labelbox-import")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    video_rows = [row for row in rows if "segments" in row]
    writable = [t for t in tracks if t[2][0].kind in IMPORT_KINDS]
    assert len(video_rows) == len(writable)
    last_frame = frames_needed(size, tracks, EXPORT_KINDS)
    for row, (_, track_label, shapes) in zip(video_rows, writable, strict=True):
        parsed = objects.NDSegments.model_validate(row).to_common(
            name=row["name"], feature_schema_id=None
        )
        assert row["name"] == track_label
        by_segment: dict[int, list] = {}
        for annotation in parsed:
            by_segment.setdefault(annotation.segment_index, []).append(annotation)
        expected_runs = runs(shapes)
        assert len(by_segment) == len(expected_runs)
        for index, (run, end) in enumerate(expected_runs):
            keyframes = {a.frame: a for a in by_segment[index]}
            # the object shows from its first frame until the outside frame (or the end)
            assert min(keyframes) == run[0].frame + 1
            assert max(keyframes) == (end if end is not None else last_frame)
            drawn = {s.frame + 1 for s in run if s.keyframe}
            assert drawn <= set(keyframes)
            for frame, annotation in keyframes.items():
                source = [s for s in run if s.frame + 1 <= frame][-1]  # held until the next
                got = {
                    c.name: getattr(c.value.answer, "name", c.value.answer)
                    for c in annotation.classifications
                }
                assert got == source.answers
    assert _losses(losses, CODES) == expected_losses(tracks, mutable, IMPORT_KINDS)


def _video(keyframes: list[dict], frame_count: int) -> Item:
    track = {"id": "t", "label": "car", "keyframes": keyframes}
    return Item(
        key="v",
        media=Media(kind="video", width=100, height=100, frame_count=frame_count),
        annotation_sets=[AnnotationSet(id="1", tracks=[track])],
    )


BOX = {"type": "bbox", "x": 1, "y": 2, "width": 3, "height": 4}


def test_lb_leaving_after_the_last_frame_keeps_the_frame_count():
    """Shown on frames 0 and 9 of 10, outside on 10 (past the end): the count stays 10,
    the segment runs 1-10, and the import's segment ends on frame 10 too."""
    item = _video(
        [{"frame": 0, "shape": BOX}, {"frame": 9, "shape": BOX}, {"frame": 10, "outside": True}], 10
    )
    losses = LossReport()
    row = item_to_data_row(item, losses)
    assert row["media_attributes"]["frame_count"] == 10
    (label,) = row["projects"]["unified"]["labels"]
    assert label["annotations"]["segments"] == {"t": [[1, 10]]}
    (track,) = item_to_import_rows(item, losses)
    assert [k["frame"] for k in track["segments"][0]["keyframes"]] == [1, 10]
    assert not list(losses)


def test_lb_shown_past_the_frame_count_raises_it_to_the_leaving_frame():
    """Shown on frame 12 of a "5-frame" video, outside on 20: the segment is Labelbox
    frames 13-20 and the count is raised to 21, the Labelbox frame the object leaves on
    (with 20 the reader would take the object to stay on screen to the end)."""
    item = _video([{"frame": 12, "shape": BOX}, {"frame": 20, "outside": True}], 5)
    losses = LossReport()
    row = item_to_data_row(item, losses)
    assert row["media_attributes"]["frame_count"] == 21
    (label,) = row["projects"]["unified"]["labels"]
    assert label["annotations"]["segments"] == {"t": [[13, 20]]}
    assert losses.count("labelbox-frame-count-raised") == 1
    (back,) = data_row_to_item(row, LossReport(), where="t").annotation_sets[0].tracks
    assert [(k.frame, k.outside) for k in back.keyframes] == [(12, False), (20, True)]
    (track,) = item_to_import_rows(item, LossReport())
    assert [k["frame"] for k in track["segments"][0]["keyframes"]] == [13, 20]


@pytest.mark.parametrize(
    "name", ["export_v2_video_bbox_keyframes.ndjson", "export_v2_video_checklist_segments.ndjson"]
)
def test_lb_real_video_exports_still_round_trip_exactly(name, tmp_path):
    """Labelbox -> unified -> Labelbox of the real video shapes: the same rows, and no
    loss (none of the CVAT-track codes above fires on Labelbox's own tracks)."""
    out = tmp_path / "back.ndjson"
    losses = api.convert(LABELBOX / name, out, from_format="labelbox", to_format="labelbox")
    source = [json.loads(line) for line in (LABELBOX / name).read_text().splitlines()]
    assert [json.loads(line) for line in out.read_text().splitlines()] == source
    assert not list(losses)
    video = [
        key
        for row in source
        for project in row["projects"].values()
        for label in project["labels"]
        for key in ("frames", "segments")
        if label["annotations"].get(key)
    ]
    assert video  # objects on frames or ranges on segments, not an empty shell
