"""Pascal VOC: real files read with VOC's 1-based inclusive coordinates, our files loaded by
a standard XML parser within bounds, round trips, losses, and output paths."""

from __future__ import annotations

import os
import xml.etree.ElementTree as StdET
from pathlib import Path

import pytest
from bridge_voc.files import read_voc, write_voc

from bridge import api, plugins
from bridge.errors import ConfigError, FormatError
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    Answer,
    BBox,
    Classification,
    Item,
    Keyframe,
    Media,
    Polygon,
    Project,
    Region,
    Relation,
    Review,
    Span,
    Track,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "voc"
REAL_FILES = sorted(FIXTURES.glob("*.xml"))


def _std_boxes(path: Path) -> list[tuple[str, int, int, int, int]]:
    """(name, xmin, ymin, xmax, ymax) of every object, by the standard library's parser."""
    root = StdET.parse(path).getroot()
    return [
        (
            obj.findtext("name"),
            *(
                int(float(obj.find("bndbox").findtext(tag)))
                for tag in ("xmin", "ymin", "xmax", "ymax")
            ),
        )
        for obj in root.iter("object")
    ]


def _dataset(*items: Item) -> Dataset:
    return Dataset(project=Project(name="t"), items=list(items))


def _image(key: str, *regions: Region, **media: int) -> Item:
    sizes = {"width": 200, "height": 100, **media}
    sets = [AnnotationSet(id="s", regions=list(regions))] if regions else []
    return Item(key=key, media=Media(kind="image", **sizes), annotation_sets=sets)


def _box(id: str, label: str, x: float, y: float, w: float, h: float, **kw) -> Region:
    return Region(id=id, label=label, shape=BBox(x=x, y=y, width=w, height=h, **kw))


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_real_files_read_with_the_voc_pixel_convention(path):
    """xmin/ymin are 1-based and xmax/ymax inclusive: x = xmin - 1, width = xmax - xmin + 1."""
    [item] = api.open_dataset(path).items  # one annotation file: the format is sniffed
    root = StdET.parse(path).getroot()
    assert item.key == root.findtext("filename")
    assert (item.media.width, item.media.height) == (
        int(root.find("size").findtext("width")),
        int(root.find("size").findtext("height")),
    )
    expected = [
        (n, x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1) for n, x0, y0, x1, y1 in _std_boxes(path)
    ]
    got = [
        (r.label, r.shape.x, r.shape.y, r.shape.width, r.shape.height)
        for r in item.annotation_sets[0].regions
    ]
    assert got == expected
    assert len(got) == {"keras_yolo3_000001.xml": 11, "jinnan_000001.xml": 4}.get(path.name, 1)


def test_voc_fields_become_classifications_unless_they_are_the_defaults(tmp_path):
    [item] = read_voc(FIXTURES / "labelimg_elephant_000001.xml").items
    [region] = item.annotation_sets[0].regions
    assert region.classifications == []  # Unspecified, 0, 0: VOC's defaults
    path = tmp_path / "x.xml"
    path.write_text(
        "<annotation><filename>x.jpg</filename><object><name>cat</name><pose>Left</pose>"
        "<truncated>1</truncated><difficult>0</difficult><occluded>1</occluded>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>"
        "<attributes><attribute><name>color</name><value>red</value></attribute></attributes>"
        "</object></annotation>"
    )
    [item] = read_voc(path).items
    [region] = item.annotation_sets[0].regions
    answers = {c.name: c.answers[0].value for c in region.classifications}
    assert answers == {"pose": "Left", "truncated": True, "color": "red"}
    assert region.occluded is True
    write_voc(_dataset(item), tmp_path / "voc", LossReport())
    obj = StdET.parse(tmp_path / "voc" / "Annotations" / "x.xml").getroot().find("object")
    fields = {tag: obj.findtext(tag) for tag in ("pose", "truncated", "difficult", "occluded")}
    assert fields == {"pose": "Left", "truncated": "1", "difficult": "0", "occluded": "1"}
    assert obj.findtext("attributes/attribute/name") == "color"


def test_voc_fields_that_are_not_one_flag_go_to_the_attributes_block(tmp_path):
    def asked(name, *values):
        return Classification(name=name, answers=[Answer(value=v) for v in values])

    region = _box("1", "cat", 0, 0, 5, 5).model_copy(
        update={
            "classifications": [
                asked("truncated", "partly"),
                asked("difficult", True),
                asked("pose", "Left", "Right"),
            ]
        }
    )
    losses = LossReport()
    write_voc(_dataset(_image("x.jpg", region)), tmp_path / "voc", losses)
    obj = StdET.parse(tmp_path / "voc" / "Annotations" / "x.xml").getroot().find("object")
    fields = {tag: obj.findtext(tag) for tag in ("pose", "truncated", "difficult")}
    assert fields == {"pose": "Unspecified", "truncated": "0", "difficult": "1"}
    block = {a.findtext("name"): a.findtext("value") for a in obj.iter("attribute")}
    assert block == {"truncated": "partly", "pose": "Left"}
    assert losses.count("voc-attribute-values") == 1  # the pose's second answer
    [back] = read_voc(tmp_path / "voc").items  # the file reads back
    answers = {
        c.name: c.answers[0].value for c in back.annotation_sets[0].regions[0].classifications
    }
    assert answers == {"truncated": "partly", "difficult": True, "pose": "Left"}


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_real_files_round_trip_through_a_voc_directory(path, tmp_path):
    [item] = read_voc(path).items
    write_voc(_dataset(item), tmp_path / "voc", LossReport())
    [back] = read_voc(tmp_path / "voc").items
    assert back == item
    assert _std_boxes(tmp_path / "voc" / "Annotations" / "000001.xml") == _std_boxes(path)


def test_written_files_load_in_a_standard_parser_within_the_image(tmp_path):
    items = [
        _image("a.jpg", _box("1", "car", 10, 20, 30, 40)),
        _image("b.jpg", _box("1", "car", -5, 90, 30, 40), _box("2", "dog", 150.4, 10.6, 80, 5)),
    ]
    losses = LossReport()
    write_voc(_dataset(*items), tmp_path / "voc", losses)
    # x=10, w=30 -> pixels 11..40 (1-based, inclusive); y=20, h=40 -> 21..60
    assert _std_boxes(tmp_path / "voc" / "Annotations" / "a.xml") == [("car", 11, 21, 40, 60)]
    for name in ("a.xml", "b.xml"):
        root = StdET.parse(tmp_path / "voc" / "Annotations" / name).getroot()
        width, height = int(root.findtext("size/width")), int(root.findtext("size/height"))
        for obj in root.iter("object"):
            box = obj.find("bndbox")
            x0, y0, x1, y1 = (int(box.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax"))
            assert 1 <= x0 <= x1 <= width and 1 <= y0 <= y1 <= height
    # in a 200 x 100 image: the car from x=-5 and y=90 (height 40) is clipped on the left
    # and at the bottom; the dog (150.4..230.4 x 10.6..15.6) rounded, clipped on the right
    assert _std_boxes(tmp_path / "voc" / "Annotations" / "b.xml") == [
        ("car", 1, 91, 25, 100),
        ("dog", 151, 12, 200, 16),
    ]
    assert losses.count("voc-box-clipped") == 2
    assert losses.count("voc-rounded") == 1  # 150.4, 10.6


def test_what_voc_cannot_hold_is_reported(tmp_path):
    rotated = _box("r", "car", 50, 50, 10, 20, rotation=90)  # centre (55, 60): 45..65 x 55..65
    polygon = Region(id="p", label="dog", shape=Polygon(points=[(10, 10), (30, 5), (20, 40)]))
    span = Region(id="s", label="x", shape=Span(start=0, end=1))
    unlabeled = Region(id="u", shape=BBox(x=1, y=1, width=5, height=5))
    empty_label = Region(id="e", label="", shape=BBox(x=1, y=1, width=5, height=5))
    track = Track(
        id="t", label="car", keyframes=[Keyframe(frame=0, shape=BBox(x=0, y=0, width=1, height=1))]
    )
    first = AnnotationSet(
        id="one",
        regions=[rotated, polygon, span, unlabeled, empty_label],
        tracks=[track],
        relations=[Relation(from_id="r", to_id="p")],
        classifications=[Classification(name="q", answers=[Answer(value="a")])],
        reviews=[Review(status="accepted")],
    )
    item = Item(
        key="x.jpg",
        media=Media(kind="image", width=200, height=100),
        annotation_sets=[first, AnnotationSet(id="two")],
    )
    text = Item(key="t.txt", media=Media(kind="text", text="hello"))
    losses = LossReport()
    write_voc(_dataset(item, text), tmp_path / "voc", losses)
    assert _std_boxes(tmp_path / "voc" / "Annotations" / "x.xml") == [
        ("car", 46, 56, 65, 65),
        ("dog", 11, 6, 30, 40),
    ]
    for code in (
        "voc-rotation",
        "voc-shape-as-bbox",
        "voc-region-kind",
        "voc-tracks",
        "voc-relations",
        "voc-set-classifications",
        "voc-extra-sets",
        "voc-media",
        "voc-reviews",
    ):
        assert losses.count(code) == 1, code
    assert losses.count("voc-unlabeled") == 2  # no label, and an empty one
    assert not (tmp_path / "voc" / "Annotations" / "t.xml").exists()
    [back] = read_voc(tmp_path / "voc").items  # every written <object> has its <name>
    assert [r.label for r in back.annotation_sets[0].regions] == ["car", "dog"]

    dropped = LossReport()
    write_voc(_dataset(item), tmp_path / "drop", dropped, shapes="drop")
    assert [b[0] for b in _std_boxes(tmp_path / "drop" / "Annotations" / "x.xml")] == ["car"]
    assert dropped.count("voc-shape-dropped") == 1 and "voc-shape-as-bbox" not in dropped


def test_characters_xml_cannot_hold_are_removed_and_reported(tmp_path):
    region = _box("1", "c\x01ar", 0, 0, 5, 5).model_copy(
        update={"classifications": [Classification(name="note", answers=[Answer(value="a\x0bb")])]}
    )
    losses = LossReport()
    write_voc(_dataset(_image("x.jpg", region)), tmp_path / "voc", losses)
    path = tmp_path / "voc" / "Annotations" / "x.xml"
    root = StdET.parse(path).getroot()  # a standard parser reads the file
    assert root.findtext("object/name") == "car"
    assert root.findtext("object/attributes/attribute/value") == "ab"
    assert losses.count("voc-xml-characters") == 1
    odd = [_box(str(n), label, 0, 0, 5, 5) for n, label in enumerate(["a:b", "x\ry", "c\x01ar"])]
    losses = LossReport()
    write_voc(_dataset(_image("y.jpg", *odd)), tmp_path / "odd", losses)
    labelmap = (tmp_path / "odd" / "labelmap.txt").read_bytes().decode().split("\n")
    assert labelmap[1:] == ["a_b:::", "x_y:::", "car:::", ""]
    assert losses.count("voc-labelmap-name") == 3


def test_subsets_are_image_set_lists_and_read_back(tmp_path):
    items = [
        _image("a.jpg", _box("1", "car", 0, 0, 5, 5)).model_copy(update={"subset": "train"}),
        _image("b.jpg").model_copy(update={"subset": "val"}),
        _image("c.jpg", _box("1", "dog", 0, 0, 5, 5)),
    ]
    write_voc(_dataset(*items), tmp_path / "voc", LossReport())
    main = tmp_path / "voc" / "ImageSets" / "Main"
    assert (main / "train.txt").read_text() == "a\n"
    assert (main / "val.txt").read_text() == "b\n"
    assert (main / "default.txt").read_text() == "c\n"
    labelmap = (tmp_path / "voc" / "labelmap.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in labelmap[1:]] == ["car", "dog"]
    back = {item.key: item.subset for item in read_voc(tmp_path / "voc").items}
    assert back == {"a.jpg": "train", "b.jpg": "val", "c.jpg": None}
    losses = LossReport()
    odd = items[0].model_copy(update={"subset": "../../up"})
    write_voc(_dataset(odd), tmp_path / "odd", losses)
    assert os.listdir(tmp_path / "odd" / "ImageSets" / "Main") == ["up.txt"]
    assert losses.count("voc-subset-renamed") == 1


EVIL_KEYS = [
    "../../evil1.jpg",
    "/tmp/evil2.jpg",
    "a\x00b.jpg",
    "..",
    "C:\\data\\evil3.jpg",
    "sub/../../evil4.jpg",
    ".hidden.jpg",
    "dir/same.jpg",
    "other/same.jpg",
]


def test_item_names_never_write_outside_the_output(tmp_path):
    out = tmp_path / "work" / "voc"
    items = [_image(key, _box("1", "car", 0, 0, 5, 5)) for key in EVIL_KEYS]
    losses = LossReport()
    write_voc(_dataset(*items), out, losses)
    # renamed by hand: a\x00b.jpg -> a_b.jpg, .. -> item, .hidden.jpg -> hidden.jpg
    assert losses.count("voc-file-name") == 3
    everything = [Path(root) / name for root, _dirs, files in os.walk(tmp_path) for name in files]
    assert everything and all(out in path.parents for path in everything)
    names = sorted(p.name for p in (out / "Annotations").iterdir())
    assert len(names) == len(EVIL_KEYS)  # two "same.jpg" keys: one gets a hashed name
    assert all(not name.startswith(".") and "\x00" not in name for name in names)
    keys = [item.key for item in read_voc(out).items]
    assert len(set(keys)) >= len(EVIL_KEYS) - 1


def test_a_link_at_the_output_is_not_followed(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ConfigError, match="symbolic link"):
        write_voc(_dataset(_image("a.jpg")), link, LossReport())
    assert link.is_symlink() and sorted(os.listdir(real)) == ["keep.txt"]
    assert sorted(os.listdir(tmp_path)) == ["link", "real"]  # no stage left behind


def test_a_non_empty_directory_is_refused(tmp_path):
    (tmp_path / "voc").mkdir()
    (tmp_path / "voc" / "x").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        write_voc(_dataset(_image("a.jpg")), tmp_path / "voc", LossReport())


def test_a_failed_write_leaves_nothing(tmp_path):
    def items():
        yield _image("a.jpg", _box("1", "car", 0, 0, 5, 5))
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        write_voc(Dataset(project=Project(name="t"), items=items()), tmp_path / "voc", LossReport())
    assert os.listdir(tmp_path) == []


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<annotation><filename>&lol2;</filename></annotation>
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BOMB, "refused XML construct"),
        (b"<annotation><filename>a.jpg</filename>", "not well-formed"),
        (
            b"<annotation><object><name>c</name><bndbox><xmin>9</xmin><ymin>1</ymin>"
            b"<xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>",
            "ends before it starts",
        ),
        (
            b"<annotation><object><name>c</name><bndbox><xmin>x</xmin><ymin>1</ymin>"
            b"<xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>",
            "not a number",
        ),
        (b"<annotation><object><name>c</name></object></annotation>", "no <bndbox>"),
        (b"<voc/>", "not <annotation>"),
    ],
)
def test_bad_files_are_located_format_errors(tmp_path, body, message):
    path = tmp_path / "bad.xml"
    path.write_bytes(body)
    with pytest.raises(FormatError, match=message) as error:
        list(read_voc(path).items)
    assert str(path) in (error.value.where or "")


def test_bridge_convert_writes_and_reads_a_voc_directory(cli, tmp_path):
    code, _ = cli("convert", FIXTURES / "jinnan_000001.xml", tmp_path / "voc", "--to", "voc")
    assert code == 0
    code, _ = cli("convert", tmp_path / "voc", tmp_path / "back.jsonl")  # directory sniffed
    assert code == 0
    [item] = api.open_dataset(tmp_path / "back.jsonl").items
    assert [r.label for r in item.annotation_sets[0].regions] == ["3", "5", "5", "4"]


def test_the_sniffer_takes_voc_files_and_leaves_cvat_xml_alone():
    voc = plugins.registry().formats["voc"]
    cvat_files = sorted((FIXTURES.parent / "cvat").rglob("*.xml"))
    assert cvat_files
    for path in cvat_files:  # CVAT's root is <annotations>
        assert not voc.sniff(path, path.read_bytes()[:65536]), path
    for path in REAL_FILES:
        assert voc.sniff(path, path.read_bytes()[:65536]), path
