"""The Label Studio writer keeps what other tools' files hold, or names it in the loss report
(issue 9: 9.5, 9.7-9.10, 9.12, 9.15). Expected counts come from the source files themselves
(ElementTree on CVAT XML, json on Label Studio JSON), not from our readers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bridge_labelstudio.convert import item_to_task, task_to_item
from bridge_labelstudio.files import write_export
from bridge_labelstudio.ontology import ontology_to_config, parse_label_config

from bridge import api
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    ClassificationSpec,
    Item,
    LabelClass,
    Ontology,
    Project,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
CVAT = FIXTURES / "cvat"


def results(path: Path) -> list[dict]:
    """Every result of every annotation in a Label Studio JSON file."""
    tasks = json.loads(path.read_text())
    return [r for t in tasks for a in t["annotations"] for r in a["result"]]


# ------------------------------------------------------------------ 9.7 CVAT video


def cvat_video_counts(path: Path) -> dict[str, int]:
    """Tracks and keyframes of a CVAT video XML, counted with ElementTree."""
    root = ET.parse(path).getroot()
    mutable = {
        (label.findtext("name"), attr.findtext("name"))
        for label in root.iter("label")
        for attr in label.iter("attribute")
        if attr.findtext("mutable") == "True"
    }
    counts = dict.fromkeys(
        (
            "box_tracks",
            "other_tracks",
            "visible_keyframes",
            "outside",
            "interpolated",
            "frame_answers",
        ),
        0,
    )
    for track in root.iter("track"):
        shapes = list(track)
        if not all(s.tag == "box" for s in shapes):
            counts["other_tracks"] += 1
            continue
        counts["box_tracks"] += 1
        for box in shapes:
            if box.get("outside") == "1":
                counts["outside"] += 1
            elif box.get("keyframe") == "0":
                counts["interpolated"] += 1
            else:
                counts["visible_keyframes"] += 1
                counts["frame_answers"] += sum(
                    (track.get("label"), a.get("name")) in mutable for a in box.iter("attribute")
                )
    return counts


@pytest.mark.parametrize("name", ["for_video.xml", "all_shapes_video.xml"])
def test_cvat_video_box_tracks_reach_label_studio_directly(name, tmp_path):
    expected = cvat_video_counts(CVAT / name)
    assert expected["box_tracks"] > 0
    losses = api.convert(CVAT / name, tmp_path / "out.json")
    tracks = [r for r in results(tmp_path / "out.json") if r["type"] == "videorectangle"]
    assert len(tracks) == expected["box_tracks"]
    assert losses.count("unsupported-track") == expected["other_tracks"]
    steps = [s for r in tracks for s in r["value"]["sequence"]]
    drawn = [s for s in steps if not s.get("bridge_interpolated")]
    assert len(drawn) == expected["visible_keyframes"]
    hidden = [s for s in steps if s["enabled"] is False]
    assert len(hidden) + losses.count("outside-while-hidden") == expected["outside"]
    assert losses.count("interpolated-frames-dropped") == expected["interpolated"]
    answers = sum(len(s.get("bridge_attributes", ())) for s in drawn)
    assert answers == expected["frame_answers"]
    assert losses.count("keyframe-attributes-hidden") == expected["frame_answers"]


@pytest.mark.parametrize("name", ["for_video.xml", "all_shapes_video.xml"])
def test_cvat_video_direct_equals_through_jsonl(name, tmp_path):
    api.convert(CVAT / name, tmp_path / "direct.json")
    api.convert(CVAT / name, tmp_path / "unified.jsonl")
    api.convert(tmp_path / "unified.jsonl", tmp_path / "via.json")
    assert results(tmp_path / "direct.json") == results(tmp_path / "via.json")


@pytest.mark.parametrize("typed", ["<type>any</type>", ""])
def test_cvat_any_and_untyped_labels_get_a_video_rectangle(typed, tmp_path):
    text = (CVAT / "for_video.xml").read_text()
    text = text.replace("<name>II</name>", f"<name>II</name>{typed}")
    (tmp_path / "in.xml").write_text(text)
    losses = api.convert(tmp_path / "in.xml", tmp_path / "out.json")
    tracks = [r for r in results(tmp_path / "out.json") if r["type"] == "videorectangle"]
    assert [t["value"]["labels"] for t in tracks] == [["II"]]
    assert losses.count("unsupported-track") == 2  # the points and polyline tracks


def test_keyframe_answers_come_back_from_label_studio(tmp_path):
    dataset = api.open_dataset(CVAT / "all_shapes_video.xml")
    original = list(dataset.items)
    config = parse_label_config(
        ontology_to_config(dataset.project.ontology, dataset.project.media_kind)
    )
    losses = LossReport()
    back = task_to_item(item_to_task(original[0], config, losses), config, losses, where="t")
    before = {
        k.frame: k.classifications
        for t in original[0].annotation_sets[0].tracks
        for k in t.keyframes
        if k.keyframe and not k.outside and k.classifications
    }
    after = {
        k.frame: k.classifications
        for t in back.annotation_sets[0].tracks
        for k in t.keyframes
        if k.classifications
    }
    assert before and after == before


# ----------------------------------------------------------------------- 9.8 tags


def test_cvat_tags_become_choices(tmp_path):
    root = ET.parse(CVAT / "all_shapes_images.xml").getroot()
    tags = {
        (image.get("name"), tag.get("label"))
        for image in root.iter("image")
        for tag in image.iter("tag")
    }
    tag_attributes = sum(1 for tag in root.iter("tag") for _ in tag.iter("attribute"))
    losses = api.convert(CVAT / "all_shapes_images.xml", tmp_path / "out.json")
    written = set()
    for task in json.loads((tmp_path / "out.json").read_text()):
        for annotation in task["annotations"]:
            for result in annotation["result"]:
                if result["from_name"] == "tags":
                    written.update((task["data"]["image"], c) for c in result["value"]["choices"])
    assert written == tags and len(tags) == 2
    assert "no-control-tag" not in losses
    assert losses.count("tag-as-choices") == len(tags)
    assert losses.count("tag-attributes-dropped") == tag_attributes == 1
    dataset = api.open_dataset(CVAT / "all_shapes_images.xml")
    list(dataset.items)
    config = parse_label_config(ontology_to_config(dataset.project.ontology, "image"))
    control = config.control("tags")
    assert control.tag == "Choices" and control.label_values == ["night"]
    assert control.attrs.get("choice") == "multiple"


# ------------------------------------------------------------------ 9.10 free text


def _item_with(aset: AnnotationSet, kind: str = "image", **media) -> Item:
    return Item(
        key="k",
        media={"kind": kind, "uri": "a.jpg", "width": 10, "height": 10, **media},
        annotation_sets=[aset],
    )


def test_text_answers_become_textarea_results(tmp_path):
    ontology = Ontology(
        classifications=[
            ClassificationSpec(name="Describe it", input="text"),
            ClassificationSpec(name="quality", input="radio", options=[{"value": "good"}]),
        ],
        labels=[LabelClass(name="car", kinds=["bbox"])],
    )
    aset = AnnotationSet(
        id="1",
        classifications=[
            {"name": "Describe it", "answers": [{"value": "a red car"}]},
            {"name": "quality", "answers": [{"value": "good"}]},
        ],
    )
    project = Project(name="p", ontology=ontology, media_kind="image")
    losses = LossReport()
    write_export(Dataset(project, [_item_with(aset)]), tmp_path / "out.json", losses)
    by_type = {r["type"]: r for r in results(tmp_path / "out.json")}
    assert by_type["textarea"]["value"]["text"] == ["a red car"]
    assert by_type["choices"]["value"]["choices"] == ["good"]
    config = parse_label_config(ontology_to_config(ontology, "image"))
    assert config.control(by_type["textarea"]["from_name"]).tag == "TextArea"
    assert config.control(by_type["choices"]["from_name"]).tag == "Choices"
    back = api.open_dataset(tmp_path / "out.json")
    answers = {
        c.name: [a.value for a in c.answers]
        for c in next(iter(back.items)).annotation_sets[0].classifications
    }
    assert answers["Describe_it"] == ["a red car"]


def test_nested_answers_outside_taxonomy_are_reported():
    aset = AnnotationSet(
        id="1",
        classifications=[
            {
                "name": "q",
                "answers": [
                    {
                        "value": "yes",
                        "classifications": [{"name": "why", "answers": [{"value": "x"}]}],
                    }
                ],
            }
        ],
    )
    losses = LossReport()
    item_to_task(_item_with(aset), None, losses)
    assert losses.count("nested-answers-dropped") == 1


# ------------------------------------------------------ 9.12 / 9.15 spans, 9.5 labels


def _span_item(kind: str, span: dict, label: str | None = "PER") -> Item:
    region = {"id": "r1", "label": label, "shape": {"type": "span", **span}}
    return Item(
        key="k",
        media={"kind": kind, "text": "Hello world"},
        annotation_sets=[AnnotationSet(id="1", regions=[region])],
    )


@pytest.mark.parametrize(
    ("kind", "span"),
    [
        ("text", {"start": None, "end": 5}),
        ("text", {"start": 0, "end": None}),
        ("html", {"start": 0, "end": 5}),  # no XPath range: the editor cannot place it
        ("conversation", {"start": 0, "end": 5}),  # no paragraph
    ],
)
def test_spans_the_editor_cannot_place_are_reported_not_written(kind, span):
    losses = LossReport()
    task = item_to_task(_span_item(kind, span), None, losses)
    assert task["annotations"][0]["result"] == []
    assert losses.count("span-unplaceable") == 1


def test_text_span_with_offsets_is_written():
    losses = LossReport()
    task = item_to_task(_span_item("text", {"start": 0, "end": 5, "text": "Hello"}), None, losses)
    [result] = task["annotations"][0]["result"]
    assert (result["value"]["start"], result["value"]["end"]) == (0, 5)
    assert not losses


@pytest.mark.parametrize("kind", ["document", "image"])
def test_spans_on_media_label_studio_cannot_show_are_reported_by_name(kind):
    losses = LossReport()
    task = item_to_task(_span_item(kind, {"start": 0, "end": 5}), None, losses)
    assert task["annotations"][0]["result"] == []
    assert losses.count(f"unsupported-span-on-{kind}") == 1


def html_task(global_offsets: dict | None) -> dict:
    value = {
        "start": "/p[1]/text()[1]",
        "end": "/p[1]/text()[1]",
        "startOffset": 0,
        "endOffset": 5,
        "text": "Hello",
        "hypertextlabels": ["PER"],
    }
    if global_offsets is not None:
        value["globalOffsets"] = global_offsets
    return {
        "id": 1,
        "data": {"html": "<p>Hello world</p>"},
        "annotations": [
            {
                "id": 2,
                "result": [
                    {
                        "id": "s1",
                        "from_name": "ner",
                        "to_name": "html",
                        "type": "hypertextlabels",
                        "value": value,
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize("offsets", [None, {"start": 0, "end": 5}])
def test_hypertext_global_offsets_written_only_when_known(offsets):
    losses = LossReport()
    item = task_to_item(html_task(offsets), None, losses, where="t")
    task = item_to_task(item, None, losses)
    assert task["annotations"][0]["result"] == html_task(offsets)["annotations"][0]["result"]


def test_real_hypertext_export_round_trips_its_spans_exactly():
    path = FIXTURES / "labelstudio" / "real_html_spans.json"
    tasks = json.loads(path.read_text())
    losses = LossReport()
    for task in tasks:
        item = task_to_item(task, None, losses, where="t")
        again = item_to_task(item, None, losses)
        spans = [
            [r["value"] for r in a["result"] if r["type"] == "hypertextlabels"]
            for a in task["annotations"]
        ]
        assert spans == [
            [r["value"] for r in a["result"] if r["type"] == "hypertextlabels"]
            for a in again["annotations"]
        ]


@pytest.mark.parametrize("label", ["", "  "])
def test_empty_label_names_are_never_written(label):
    box = {
        "id": "b",
        "label": label,
        "shape": {"type": "bbox", "x": 1, "y": 1, "width": 2, "height": 2},
    }
    tag = {"id": "t", "label": label, "shape": {"type": "tag"}}
    track = {
        "id": "v",
        "label": label,
        "keyframes": [
            {"frame": 0, "shape": {"type": "bbox", "x": 1, "y": 1, "width": 2, "height": 2}}
        ],
    }
    relation = {"from_id": "a", "to_id": "c", "label": label}
    good = {
        "id": "a",
        "label": "car",
        "shape": {"type": "bbox", "x": 1, "y": 1, "width": 2, "height": 2},
    }
    losses = LossReport()
    image = _item_with(AnnotationSet(id="1", regions=[box, tag, good], relations=[relation]))
    video = _item_with(AnnotationSet(id="2", tracks=[track]), kind="video")
    written = [
        r
        for item in (image, video)
        for r in item_to_task(item, None, losses)["annotations"][0]["result"]
    ]
    assert [r["id"] for r in written if "id" in r] == ["a"]
    assert losses.count("empty-label") == 4
    names = [
        n
        for r in written
        for key in ("rectanglelabels", "labels", "choices")
        for n in (r.get("value", {}).get(key) or r.get(key) or [])
    ]
    assert names == ["car"]


# ------------------------------------------------- Labelbox rows (no project media kind)


def _labelbox_file(tmp_path: Path, *rows: dict) -> Path:
    path = tmp_path / "export.ndjson"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_labelbox_video_answers_per_frame_reach_label_studio(tmp_path):
    from tests.labelbox.lb_export_samples import video_row

    row = video_row()
    source = _labelbox_file(tmp_path, row)
    losses = api.convert(source, tmp_path / "out.json")
    [task] = json.loads((tmp_path / "out.json").read_text())
    assert task["data"] == {"video": row["data_row"]["row_data"]}
    [track] = [r for r in task["annotations"][0]["result"] if r["type"] == "videorectangle"]
    answered = [s for s in track["value"]["sequence"] if "bridge_attributes" in s]
    assert [a["name"] for s in answered for a in s["bridge_attributes"]] == ["occluded"]
    assert losses.count("keyframe-attributes-hidden") == 1
    assert "keyframe-attributes-dropped" not in losses
    unified = next(iter(api.open_dataset(source).items))
    back = next(iter(api.open_dataset(tmp_path / "out.json").items))
    frames = [
        (k.frame, [c.name for c in k.classifications])
        for k in unified.annotation_sets[0].tracks[0].keyframes
        if k.classifications
    ]
    assert frames == [
        (k.frame, [c.name for c in k.classifications])
        for k in back.annotation_sets[0].tracks[0].keyframes
        if k.classifications
    ]


def test_text_known_by_url_is_written_as_its_url_not_its_key(tmp_path):
    from tests.labelbox.lb_export_samples import text_row

    row = text_row()
    losses = api.convert(_labelbox_file(tmp_path, row), tmp_path / "out.json")
    [task] = json.loads((tmp_path / "out.json").read_text())
    assert task["data"] == {"text": row["data_row"]["row_data"]}
    assert losses.count("text-by-url") == 1


def test_an_item_without_media_gets_no_invented_data():
    losses = LossReport()
    task = item_to_task(Item(key="img-7", media={"kind": "image"}), None, losses)
    assert task["data"] == {}
    assert losses.count("media-unknown") == 1


# ------------------------------------------------------- answers, ids, the written config


def test_labelbox_answers_are_offered_by_the_generated_config(tmp_path):
    source = FIXTURES / "labelbox" / "export_v2_image_classification.ndjson"
    answers = sum(
        "radio_answer" in c
        for line in source.read_text().splitlines()
        for p in json.loads(line)["projects"].values()
        for label in p["labels"]
        for c in label["annotations"]["classifications"]
    )
    losses = api.convert(source, tmp_path / "out.json", config_out=str(tmp_path / "c.xml"))
    written = [r for r in results(tmp_path / "out.json") if r["type"] == "choices"]
    assert len(written) == answers == 192
    # the export lists no options, but the reader's ontology collects the answered ones
    assert losses.count("answer-not-in-config") == 0
    xml = (tmp_path / "c.xml").read_text()
    assert all(f'value="{choice}"' in xml for r in written for choice in r["value"]["choices"])
    config = parse_label_config((tmp_path / "c.xml").read_text())
    assert {r["from_name"] for r in written} == {c.name for c in config.controls}
    tasks = json.loads((tmp_path / "out.json").read_text())
    assert all("id" not in a for t in tasks for a in t["annotations"])  # Labelbox ids


def test_the_written_config_names_every_control_the_tasks_use(tmp_path):
    api.convert(
        CVAT / "all_shapes_images.xml",
        tmp_path / "out.json",
        config_out=str(tmp_path / "config.xml"),
    )
    config = parse_label_config((tmp_path / "config.xml").read_text())
    used = {r["from_name"] for r in results(tmp_path / "out.json")}
    assert used <= {c.name for c in config.controls}
    assert {"bbox", "tags", "color"} <= used


def test_answers_the_config_has_no_control_for_are_reported_not_written(tmp_path):
    box = {
        "id": "b",
        "label": "car",
        "shape": {"type": "bbox", "x": 1, "y": 1, "width": 2, "height": 2},
        "classifications": [{"name": "color", "answers": [{"value": "red"}]}],
    }
    aset = AnnotationSet(
        id="1", regions=[box], classifications=[{"name": "weather", "answers": [{"value": "sun"}]}]
    )
    ontology = Ontology(labels=[LabelClass(name="car", kinds=["bbox"])])  # no questions
    losses = LossReport()
    write_export(
        Dataset(Project(name="p", ontology=ontology, media_kind="image"), [_item_with(aset)]),
        tmp_path / "out.json",
        losses,
    )
    assert [r["type"] for r in results(tmp_path / "out.json")] == ["rectanglelabels"]
    assert losses.count("no-control-question") == 2
