"""Writing unified items as COCO: category ids, options, losses, geometry."""

from __future__ import annotations

import json

import pytest

from bridge import api
from bridge.errors import ConfigError, FormatError
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    RLE,
    AnnotationSet,
    Annotator,
    BBox,
    Item,
    Keyframe,
    Keypoint,
    LabelClass,
    Mask,
    Media,
    Ontology,
    Polygon,
    Polyline,
    Project,
    Region,
    Relation,
    Skeleton,
    Track,
)

from .conftest import FIXTURES


def _write(tmp_path, items, labels=(), ontology_final=True, **options):
    ontology = Ontology(
        labels=[lc if isinstance(lc, LabelClass) else LabelClass(name=lc) for lc in labels]
    )
    dataset = Dataset(
        project=Project(name="p", ontology=ontology),
        items=iter(items),
        ontology_final=ontology_final,
    )
    losses = LossReport()
    out = tmp_path / "out.json"
    api.write_dataset(dataset, out, "coco", losses, **options)
    return json.loads(out.read_text()), losses


def _item(key, *regions, sets=None, width=100, height=50, kind="image"):
    media = Media(kind=kind, uri=f"https://example.com/a/{key}.jpg", width=width, height=height)
    sets = sets or [AnnotationSet(id="a", regions=list(regions))]
    return Item(key=key, media=media, annotation_sets=sets)


def _box(rid, label, x=10, y=5, w=20, h=10, score=None, **kw):
    shape = BBox(x=x, y=y, width=w, height=h, **kw)
    return Region(id=rid, label=label, shape=shape, score=score)


def test_categories_follow_the_ontology_one_based(tmp_path):
    data, _ = _write(tmp_path, [_item("i1", _box("r1", "dog"))], labels=["cat", "dog", "bird"])
    assert data["categories"] == [
        {"id": 1, "name": "cat"},
        {"id": 2, "name": "dog"},
        {"id": 3, "name": "bird"},
    ]
    assert data["annotations"][0]["category_id"] == 2


def test_label_map_and_kept_coco_ids_fix_the_ids(tmp_path):
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"dog": 18, "cat": 17}))
    kept = LabelClass(name="person", tool_ids={"coco": {"id": 1, "supercategory": "person"}})
    data, _ = _write(
        tmp_path,
        [_item("i1", _box("r1", "dog"), _box("r2", "zebra"))],
        labels=["cat", "dog", kept, "bird"],
        label_map=str(label_map),
    )
    ids = {c["name"]: c["id"] for c in data["categories"]}
    # label map first, then kept coco ids, then the next ids above all, in ontology order
    assert ids == {"person": 1, "cat": 17, "dog": 18, "bird": 19, "zebra": 20}
    assert {c["name"]: c.get("supercategory") for c in data["categories"]}["person"] == "person"
    assert [a["category_id"] for a in data["annotations"]] == [18, 20]


@pytest.mark.parametrize(
    "content", ['{"dog": 0}', '{"dog": 1, "cat": 1}', '["dog"]', '{"dog": true}', "{"]
)
def test_a_bad_label_map_is_a_config_error(tmp_path, content):
    label_map = tmp_path / "map.json"
    label_map.write_text(content)
    with pytest.raises(ConfigError):
        _write(tmp_path, [_item("i1")], labels=["dog"], label_map=str(label_map))


def test_labels_met_while_streaming_get_the_next_ids(tmp_path):
    items = [_item("i1", _box("r1", "b")), _item("i2", _box("r2", "a"))]
    data, _ = _write(tmp_path, items, ontology_final=False)
    assert [(c["id"], c["name"]) for c in data["categories"]] == [(1, "b"), (2, "a")]


def test_images_and_areas(tmp_path):
    polygon = Region(id="p", label="a", shape=Polygon(points=[(0, 0), (4, 0), (4, 3)]))
    data, _ = _write(tmp_path, [_item("i1", _box("r1", "a"), polygon)], labels=["a"])
    assert data["images"] == [{"id": 1, "file_name": "i1.jpg", "width": 100, "height": 50}]
    box, triangle = data["annotations"]
    assert box["bbox"] == [10, 5, 20, 10] and box["area"] == 200
    assert triangle["area"] == 6.0  # half of 4 x 3
    assert triangle["bbox"] == [0, 0, 4, 3]
    assert triangle["segmentation"] == [[0, 0, 4, 0, 4, 3]]
    assert [a["id"] for a in data["annotations"]] == [1, 2]


def test_rotated_box_is_written_axis_aligned_and_reported(tmp_path):
    # a 20 x 10 box centred on (50, 25), turned 90 degrees: the box around it is 10 x 20
    region = _box("r1", "a", x=40, y=20, w=20, h=10, rotation=90)
    data, losses = _write(tmp_path, [_item("i1", region)], labels=["a"])
    assert data["annotations"][0]["bbox"] == pytest.approx([45, 15, 10, 20])
    assert losses["coco.rotation-dropped"].severity == "approximated"


def test_what_coco_cannot_hold_is_reported(tmp_path):
    aset = AnnotationSet(
        id="a",
        regions=[
            _box("r1", "a"),
            _box("r2", "a"),
            Region(id="l", label="a", shape=Polyline(points=[(0, 0), (1, 1)])),
            Region(id="u", shape=BBox(x=0, y=0, width=1, height=1)),
        ],
        tracks=[
            Track(
                id="t",
                label="a",
                keyframes=[Keyframe(frame=0, shape=BBox(x=0, y=0, width=1, height=1))],
            )
        ],
        relations=[Relation(from_id="r1", to_id="r2")],
    )
    video = Item(key="v", media=Media(kind="video"), annotation_sets=[])
    data, losses = _write(tmp_path, [_item("i1", sets=[aset]), video], labels=["a"])
    assert len(data["annotations"]) == 2
    assert len(data["images"]) == 1
    for code in (
        "coco.tracks-dropped",
        "coco.relations-dropped",
        "coco.polyline-dropped",
        "coco.unlabeled-dropped",
        "coco.video-dropped",
    ):
        assert losses.count(code) == 1, code


def test_percent_shapes_need_the_image_size(tmp_path):
    percent = Region(
        id="r", label="a", shape=BBox(x=10, y=10, width=50, height=50, units="percent")
    )
    sized = _item("i1", percent, width=200, height=100)
    unsized = Item(
        key="i2",
        media=Media(kind="image"),
        annotation_sets=[AnnotationSet(id="a", regions=[percent])],
    )
    data, losses = _write(tmp_path, [sized, unsized], labels=["a"])
    assert data["annotations"][0]["bbox"] == pytest.approx([20, 10, 100, 50])
    assert len(data["annotations"]) == 1
    assert losses.count("coco.size-unknown") == 1
    assert losses.count("coco.image-size-unknown") == 1
    assert "width" not in data["images"][1]


def test_several_sets_name_their_annotator(tmp_path):
    sets = [
        AnnotationSet(
            id="1", annotator=Annotator(email="ann@example.com"), regions=[_box("r1", "a")]
        ),
        AnnotationSet(
            id="2", kind="prediction", model_version="yolo-v8", regions=[_box("r2", "a", score=0.5)]
        ),
    ]
    data, _ = _write(tmp_path, [_item("i1", sets=sets)], labels=["a"])
    assert [a["annotator"] for a in data["annotations"]] == ["ann@example.com", "yolo-v8"]
    assert data["annotations"][1]["score"] == 0.5
    data, losses = _write(tmp_path, [_item("i1", sets=sets)], labels=["a"], sets="predictions")
    assert len(data["annotations"]) == 1 and "annotator" not in data["annotations"][0]
    assert losses.count("coco.annotator-dropped") == 1  # the model's version is not written
    with pytest.raises(ConfigError):
        _write(tmp_path, [_item("i1", sets=sets)], labels=["a"], sets="bogus")


def test_crowd_masks_are_uncompressed_rle_with_their_area(tmp_path):
    import numpy as np

    from bridge.geometry.masks import bitmap_to_rle

    bitmap = np.zeros((50, 100), dtype=np.uint8)
    bitmap[10:20, 30:36] = 1  # 60 pixels, box (30, 10, 6, 10)
    rle = bitmap_to_rle(bitmap)
    crowd = Region(id="m", label="a", shape=Mask(rle=rle), extra={"iscrowd": 1})
    plain = Region(id="n", label="a", shape=Mask(rle=RLE(size=rle.size, counts=rle.counts)))
    data, _ = _write(tmp_path, [_item("i1", crowd, plain)], labels=["a"])
    first, second = data["annotations"]
    assert first["iscrowd"] == 1 and second["iscrowd"] == 0
    assert first["segmentation"]["counts"] == [
        10 + 30 * 50,
        10,
        40,
        10,
        40,
        10,
        40,
        10,
        40,
        10,
        40,
        10,
        50 * 100 - (10 + 30 * 50) - 60 - 5 * 40,
    ]
    assert second["segmentation"]["counts"] == rle.counts
    assert first["area"] == second["area"] == 60
    assert first["bbox"] == [30, 10, 6, 10]


def test_skeleton_keypoints_follow_the_ontology(tmp_path):
    labels = [
        LabelClass(name="person", kinds=["skeleton"], edges=[("nose", "eye"), ("eye", "ear")]),
        LabelClass(name="nose", parent="person"),
        LabelClass(name="eye", parent="person"),
        LabelClass(name="ear", parent="person"),
    ]
    skeleton = Skeleton(
        points=[
            Keypoint(x=30, y=20, label="ear", visibility="occluded"),
            Keypoint(x=10, y=10, label="nose"),
            Keypoint(x=0, y=0, label="eye", visibility="absent"),
        ]
    )
    data, _ = _write(
        tmp_path, [_item("i1", Region(id="s", label="person", shape=skeleton))], labels=labels
    )
    assert data["categories"] == [
        {
            "id": 1,
            "name": "person",
            "keypoints": ["nose", "eye", "ear"],
            "skeleton": [[1, 2], [2, 3]],
        }
    ]
    annotation = data["annotations"][0]
    assert annotation["keypoints"] == [10, 10, 2, 0, 0, 0, 30, 20, 1]
    assert annotation["num_keypoints"] == 2
    assert annotation["bbox"] == [10, 10, 20, 10]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bbox", [1, 2, -3, 4]),
        ("bbox", [1, 2, 3]),
        ("bbox", [1, True, 3, 4]),
        ("bbox", [1, "2", 3, 4]),
        ("segmentation", [[1, 2, 3, 4, 5]]),
        ("segmentation", [[1, 2, 3, 4, 5, "6"]]),
        ("segmentation", {"size": [2, 2], "counts": [1, 2]}),
        ("segmentation", {"size": [2, 2], "counts": "!!"}),
        ("category_id", 12),
        ("image_id", 1),
    ],
)
def test_reading_checks_values_where_they_are(tmp_path, field, value):
    text = (FIXTURES / "instances_val2017_subset.json").read_text()
    data = json.loads(text)
    data["annotations"][3][field] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(FormatError) as caught:
        list(api.open_dataset(bad, "coco").items)
    assert "annotations[3]" in caught.value.where


def test_an_infinite_number_is_refused(tmp_path):
    text = (FIXTURES / "instances_val2017_subset.json").read_text()
    data = json.loads(text)
    data["annotations"][0]["bbox"] = [1, 2, 3, 4]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data).replace("[1, 2, 3, 4]", "[1, 2, 3, 1e400]", 1))
    with pytest.raises(FormatError):
        list(api.open_dataset(bad, "coco").items)


def test_results_need_the_images_file():
    with pytest.raises(ConfigError, match="images"):
        api.open_dataset(FIXTURES / "instances_val2014_fakebbox100_results.json", "coco")


def test_keypoint_results_read_as_predictions():
    source = FIXTURES / "person_keypoints_val2014_fakekeypoints100_results.json"
    dataset = api.open_dataset(
        source, images=str(FIXTURES / "person_keypoints_val2017_subset.json")
    )
    items = list(dataset.items)
    results = json.loads(source.read_text())
    skeletons = [r for i in items for s in i.annotation_sets for r in s.regions]
    assert len(skeletons) == len(results)
    first = next(r for r in skeletons if r.id == "1")
    assert first.score == results[0]["score"]
    assert [(p.x, p.y) for p in first.shape.points] == [
        (results[0]["keypoints"][i], results[0]["keypoints"][i + 1]) for i in range(0, 51, 3)
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("instances_val2017_subset.json", "coco"),
        ("person_keypoints_val2017_subset.json", "coco"),
        ("instances_val2014_fakebbox100_results.json", "coco"),
        ("instances_val2014_fakesegm100_results.json", "coco"),
    ],
)
def test_sniffing(name, expected):
    from bridge import plugins

    assert plugins.detect_format(FIXTURES / name) == expected


def test_a_symlink_at_the_output_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text("keep")
    (tmp_path / "out.json").symlink_to(target)
    with pytest.raises(ConfigError, match="symbolic link"):
        _write(tmp_path, [_item("i1", _box("r1", "a"))], labels=["a"])
    assert target.read_text() == "keep"


def test_file_names_are_data_not_paths(tmp_path):
    item = Item(
        key="k",
        media=Media(kind="image", uri="../../etc/passwd", width=10, height=10),
        annotation_sets=[],
    )
    data, _ = _write(tmp_path, [item], labels=[])
    assert data["images"][0]["file_name"] == "passwd"  # no way up from the image root
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://example.com/a/b%20c.jpg?x=1", "b c.jpg"),
        ("/data/images/x.png", "x.png"),
        ("train/x.png", "train/x.png"),
        ("C:\\images\\y.jpg", "y.jpg"),
        ("s3://bucket/key/z.jpg", "z.jpg"),
        ("a/../../w.jpg", "w.jpg"),
        ("..", "k"),
    ],
)
def test_file_name_from_the_media_uri(tmp_path, uri, expected):
    item = Item(key="k", media=Media(kind="image", uri=uri), annotation_sets=[])
    data, _ = _write(tmp_path, [item], labels=[])
    assert data["images"][0]["file_name"] == expected


def test_ids_read_from_coco_are_kept_and_clashes_renumbered(tmp_path):
    from bridge.schema import SourceRef

    def read_from_coco(key, image_id, annotation_id):
        region = _box("r", "a").model_copy(
            update={"source": SourceRef(tool="coco", region=str(annotation_id))}
        )
        item = _item(key, region)
        return item.model_copy(update={"source": SourceRef(tool="coco", item=str(image_id))})

    items = [_item("fresh", _box("r", "a")), read_from_coco("x", 40, 7), read_from_coco("y", 40, 7)]
    items.append(read_from_coco("z", 1, 1))  # 1 was given to the first item already
    data, losses = _write(tmp_path, items, labels=["a"])
    assert [i["id"] for i in data["images"]] == [1, 40, 41, 42]
    assert [a["id"] for a in data["annotations"]] == [1, 7, 8, 9]
    assert losses.count("coco.image-id-renumbered") == 2
    assert losses.count("coco.annotation-id-renumbered") == 2
