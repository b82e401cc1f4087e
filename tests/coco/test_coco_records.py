"""The COCO writer's records path (`bridge.formats.ItemRecords`) against its validated path
(`-O validate=true`: the same reader's stream as `Item`s): on every fixture a reader can
open, and on hand-made records that leave defaults out and give ints where the schema
says float, both write the same bytes and the same loss report."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge import api
from bridge.errors import BridgeError
from bridge.formats import Dataset, ItemRecords
from bridge.losses import LossReport
from bridge.schema import Item, LabelClass, Ontology, Project
from tests.coco.test_coco_from_tools import NOT_EXPORTS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SOURCES = sorted(
    path
    for path in [
        *(FIXTURES / "labelstudio").glob("real_*.json"),
        *(FIXTURES / "cvat").glob("*.xml"),
        *(FIXTURES / "labelbox").glob("*.ndjson"),
        *(FIXTURES / "coco").glob("*_subset.json"),
    ]
    if path.name not in NOT_EXPORTS  # a flat-task import file: not auto-detected, by design
)


def write_both(tmp_path: Path, open_dataset, **options) -> tuple[bytes, list, bytes, list]:
    """(bytes, losses) of the records path, then of the validated path."""
    out = []
    for validate in (False, True):
        losses = LossReport()
        dataset = open_dataset(losses)
        path = tmp_path / f"validate-{validate}.json"
        api.write_dataset(dataset, path, "coco", losses, validate=validate, **options)
        out += [path.read_bytes(), losses.as_dict()]
    return out[0], out[1], out[2], out[3]


@pytest.mark.parametrize("sets", ["all", "latest,predictions"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_fixture_records_and_items_write_the_same_coco(tmp_path, source, sets):
    fast, fast_losses, slow, slow_losses = write_both(
        tmp_path, lambda losses: api.open_dataset(source, losses=losses), sets=sets
    )
    assert fast == slow
    assert fast_losses == slow_losses


def test_the_fixtures_offer_records():
    """The comparison above means something: the big readers stream records."""
    offering = set()
    for source in SOURCES:
        try:
            if isinstance(api.open_dataset(source).items, ItemRecords):
                offering.add(source.parent.name)
        except BridgeError:
            continue
    assert {"labelstudio", "cvat"} <= offering


PERSON = [LabelClass(name="person", kinds=["skeleton"])] + [
    LabelClass(name=n, kinds=["points"], parent="person") for n in ("nose", "eye")
]
SKELETON_POINTS = [
    {"x": 3, "y": 4, "label": "eye"},
    {
        "x": 1.5,
        "y": 2,
        "label": "nose",
        "visibility": "occluded",
        "classifications": [{"name": "blur", "answers": [{"value": True}]}],
    },
    {"x": 9, "y": 9, "label": "ear"},
]
RECORDS = [
    {  # pixels, ints where the schema says float, defaults left out
        "key": "a",
        "media": {"kind": "image", "uri": "s3://bucket/dir/a%20b.jpg", "width": 40, "height": 30},
        "annotation_sets": [
            {
                "id": "1",
                "annotator": {"email": "ann@example.com"},
                "regions": [
                    {
                        "id": "r1",
                        "label": "car",
                        "shape": {"type": "bbox", "x": 1, "y": 2, "width": 3, "height": 4},
                        "score": 1,
                    },
                    {
                        "id": "r2",
                        "label": "car",
                        "shape": {
                            "type": "bbox",
                            "x": 5,
                            "y": 6,
                            "width": 7,
                            "height": 8,
                            "rotation": 30,
                        },
                        "z_order": 2,
                    },
                    {
                        "id": "r3",
                        "label": "road",
                        "shape": {"type": "polygon", "points": [[0, 0], [10, 0], [10, 5]]},
                        "occluded": True,
                    },
                    {
                        "id": "r4",
                        "label": "sign",
                        "shape": {
                            "type": "ellipse",
                            "cx": 20,
                            "cy": 10,
                            "rx": 4,
                            "ry": 2,
                            "rotation": 15,
                        },
                    },
                    {
                        "id": "r5",
                        "label": "person",
                        "shape": {"type": "skeleton", "points": SKELETON_POINTS},
                    },
                    {
                        "id": "r6",
                        "label": "lane",
                        "shape": {"type": "polyline", "points": [[0, 0], [1, 1]]},
                    },
                    {
                        "id": "r7",
                        "shape": {"type": "bbox", "x": 0, "y": 0, "width": 1, "height": 1},
                    },
                    {
                        "id": "r8",
                        "label": "car",
                        "group": "g",
                        "shape": {"type": "polygon", "points": [[1, 1], [4, 1], [4, 4]]},
                    },
                    {
                        "id": "r9",
                        "label": "car",
                        "group": "g",
                        "shape": {"type": "bbox", "x": 1, "y": 1, "width": 3, "height": 3},
                    },
                    {
                        "id": "r10",
                        "label": "crowd",
                        "shape": {"type": "mask", "rle": {"size": [30, 40], "counts": "0`0`0"}},
                        "classifications": [
                            {"name": "iscrowd", "answers": [{"value": "yes"}]},
                            {"name": "kind", "answers": [{"value": 1}, {"value": 2}]},
                        ],
                    },
                ],
                "relations": [{"from_id": "r1", "to_id": "r2"}],
                "classifications": [{"name": "weather", "answers": [{"value": "sun"}]}],
            },
            {
                "id": "2",
                "kind": "prediction",
                "model_version": "v3",
                "regions": [
                    {
                        "id": "p1",
                        "label": "car",
                        "shape": {"type": "bbox", "x": 1.25, "y": 2, "width": 3, "height": 4},
                        "score": 0.5,
                    },
                ],
            },
        ],
    },
    {  # percent shapes of an image whose size is known, and one whose size is not
        "key": "b",
        "media": {"kind": "image", "uri": "images/b.png", "width": 200, "height": 100},
        "annotation_sets": [
            {
                "id": "3",
                "regions": [
                    {
                        "id": "q1",
                        "label": "car",
                        "shape": {
                            "type": "bbox",
                            "units": "percent",
                            "x": 10,
                            "y": 20,
                            "width": 30,
                            "height": 40,
                            "rotation": 45,
                        },
                    },
                    {
                        "id": "q2",
                        "label": "road",
                        "shape": {
                            "type": "polygon",
                            "units": "percent",
                            "points": [[0, 0], [50, 0], [50, 50]],
                        },
                    },
                    {
                        "id": "q3",
                        "label": "person",
                        "shape": {
                            "type": "points",
                            "units": "percent",
                            "points": [
                                {"x": 10, "y": 10},
                                {"x": 20, "y": 20, "visibility": "absent"},
                            ],
                        },
                    },
                ],
            }
        ],
    },
    {
        "key": "c",
        "media": {"kind": "image"},
        "annotation_sets": [
            {
                "id": "4",
                "regions": [
                    {
                        "id": "s1",
                        "label": "car",
                        "shape": {
                            "type": "bbox",
                            "units": "percent",
                            "x": 1,
                            "y": 1,
                            "width": 1,
                            "height": 1,
                        },
                    },
                ],
            }
        ],
    },
    {
        "key": "f",
        "media": {"kind": "image", "uri": "f.jpg"},
        "annotation_sets": [
            {
                "id": "5",
                "regions": [
                    {
                        "id": "s2",
                        "label": "crowd",
                        "shape": {"type": "mask", "rle": {"size": [2, 3], "counts": "06"}},
                        "source": {"tool": "coco", "region": "7"},
                        "extra": {"rle_form": "uncompressed", "area": 6},
                    },
                ],
            }
        ],
    },
    {"key": "d", "media": {"kind": "video", "uri": "v.mp4"}},
    {
        "key": "e",
        "media": {"kind": "image", "uri": "../../etc/e.jpg", "width": 5, "height": 5},
        "source": {"tool": "coco", "item": "7"},
        "extra": {"license": 3},
    },
]


def records_dataset(records: list[dict]) -> Dataset:
    def produce(validate: bool):
        for record in records:
            yield Item.model_validate(record) if validate else record

    project = Project(name="hand-made", ontology=Ontology(labels=PERSON))
    return Dataset(project=project, items=ItemRecords(produce))


@pytest.mark.parametrize("sets", ["all", "predictions", "annotator=ann@example.com"])
def test_hand_made_records_and_items_write_the_same_coco(tmp_path, sets):
    fast, fast_losses, slow, slow_losses = write_both(
        tmp_path, lambda losses: records_dataset(RECORDS), sets=sets
    )
    assert fast == slow
    assert fast_losses == slow_losses
    if sets == "all":  # the records exercised the branches they were written for
        codes = {loss["code"] for loss in fast_losses}
        for code in (
            "coco.rotation-dropped",
            "coco.ellipse-as-polygon",
            "coco.polyline-dropped",
            "coco.unlabeled-dropped",
            "coco.box-in-group-dropped",
            "coco.keypoint-unknown",
            "coco.keypoint-attributes-dropped",
            "coco.size-unknown",
            "coco.video-dropped",
            "coco.attributes-extra",
            "coco.relations-dropped",
            "coco.classifications-dropped",
            "coco.z-order-dropped",
        ):
            assert code in codes, code


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/data/upload/1/a.jpg", "a.jpg"),
        ("/data/upload/1/a%20b.jpg", "a b.jpg"),
        ("/images/b/", "b"),
        ("/images/..", "the-key"),
        ("/", "the-key"),
        ("/a/b.jpg?x=1#f", "b.jpg?x=1#f"),  # a path, not a URL: nothing is split off
        ("//host/share/c.png", "c.png"),
        ("http://example.com/d/e.jpg?sig=1", "e.jpg"),
        ("https://example.invalid/images/0000001.jpg", "0000001.jpg"),
        ("HTTPS://example.invalid/i/h%C3%A9.jpg", "hé.jpg"),
        ("https://example.invalid/i/", "i"),
        ("https://example.invalid/", "the-key"),
        ("https://example.invalid", "the-key"),
        ("https://user@host:8080/a/b.jpg#frag", "b.jpg"),
        ("s3://bucket/k/x.png", "x.png"),
        ("dir/f.jpg", "dir/f.jpg"),
        ("../g.jpg", "g.jpg"),
    ],
)
def test_file_name_of_media_uris(uri, expected):
    from bridge_coco.convert import file_name

    assert file_name({"key": "the-key", "media": {"kind": "image", "uri": uri}}) == expected
