"""Push unified Items to a real Label Studio server and pull them back: nothing changes.

For each kind of label config, a project is created *from the ontology* by the connector
(`labelstudio://HOST:PORT`), items with annotations by two annotators and a model's
prediction are imported in one bulk request, and the project is pulled back (export snapshot
and page walk). The pulled Items equal the pushed ones once server-made ids, timestamps and
vendor bookkeeping (`source`, `extra`) are set aside.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from bridge_labelstudio.connector import LabelStudioConnector
from bridge_labelstudio.ontology import config_to_ontology, parse_label_config
from pycocotools import mask as coco_mask

from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    RLE,
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    Item,
    Keyframe,
    Keypoint,
    Mask,
    Media,
    Points,
    Polygon,
    Project,
    Region,
    Relation,
    Span,
    Track,
)
from tests.support.labelstudio_server import CI_EMAIL

SECOND_EMAIL = "ann2@example.com"
ANN1 = Annotator(email=CI_EMAIL)
ANN2 = Annotator(email=SECOND_EMAIL)


@pytest.fixture(scope="session")
def second_annotator(ls_server) -> dict:
    """A second user on the session server (created once through the API)."""
    headers = {"Authorization": f"Token {ls_server.token}"}
    with httpx.Client(base_url=ls_server.url, headers=headers, timeout=60) as client:
        users = client.get("/api/users/").json()
        known = next((u for u in users if u["email"] == SECOND_EMAIL), None)
        if known is not None:
            return known
        body = {"email": SECOND_EMAIL, "username": "ann2", "first_name": "Ann", "last_name": "Two"}
        response = client.post("/api/users/", json=body)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def connect(ls_server, monkeypatch, second_annotator):
    """Open the connector on a URL of the session server (token from the environment)."""
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    opened = []

    def open_url(path: str = "") -> LabelStudioConnector:
        host = ls_server.url.split("://", 1)[1]
        connector = LabelStudioConnector.from_url(f"labelstudio://{host}{path}")
        opened.append(connector)
        return connector

    yield open_url
    for connector in opened:
        connector.close()


# ----------------------------------------------------------------------- the five kinds

BOXES_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image">
    <Label value="Car"/><Label value="Person"/>
  </RectangleLabels>
  <Choices name="color" toName="image" perRegion="true" choice="single">
    <Choice value="red"/><Choice value="blue"/>
  </Choices>
  <TextArea name="note" toName="image" perRegion="true"/>
</View>"""

SHAPES_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <PolygonLabels name="poly" toName="image"><Label value="Road"/></PolygonLabels>
  <KeyPointLabels name="kp" toName="image"><Label value="Nose"/></KeyPointLabels>
  <BrushLabels name="brush" toName="image"><Label value="Sky"/></BrushLabels>
</View>"""

NER_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
  <Relations><Relation value="works_for"/></Relations>
</View>"""

CLASSIFY_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <TextArea name="summary" toName="text"/>
</View>"""

VIDEO_CONFIG = """<View>
  <Video name="video" value="$video" framerate="25"/>
  <Labels name="videoLabels" toName="video"><Label value="Car"/></Labels>
  <VideoRectangle name="track" toName="video"/>
</View>"""


def answer(name: str, value) -> Classification:
    return Classification(name=name, answers=[Answer(value=value)])


def human(who: Annotator, lead_time: float, **content) -> AnnotationSet:
    return AnnotationSet(
        id="new", annotator=who, lead_time=lead_time, status="submitted", **content
    )


def prediction(score: float, **content) -> AnnotationSet:
    return AnnotationSet(
        id="new", kind="prediction", model_version="model-v1", score=score, **content
    )


def image(n: int, width: int = 640, height: int = 480) -> tuple[str, Media]:
    url = f"https://example.invalid/img/{n}.jpg"
    return url, Media(kind="image", uri=url, width=width, height=height)


def boxes_items() -> list[Item]:
    items = []
    for n in range(2):
        url, media = image(n)
        rotated = Region(
            id=f"b{n}a",
            label="Car",
            shape=BBox(x=100, y=50, width=200, height=100, rotation=30),
            classifications=[answer("color", "red"), answer("note", "dented door")],
        )
        person = Region(id=f"b{n}b", label="Person", shape=BBox(x=10, y=20, width=40, height=120))
        other = Region(
            id=f"b{n}c",
            label="Car",
            shape=BBox(x=96, y=48, width=208, height=104),
            classifications=[answer("color", "blue")],
        )
        guess = Region(id=f"b{n}p", label="Car", shape=BBox(x=90, y=40, width=220, height=110))
        items.append(
            Item(
                key=url,
                media=media,
                data={"image": url},
                annotation_sets=[
                    human(ANN1, 12.5, regions=[rotated, person]),
                    human(ANN2, 20.0, regions=[other]),
                    prediction(0.75, regions=[guess]),
                ],
            )
        )
    return items


def square_mask(height: int, width: int, top: int, left: int, size: int) -> RLE:
    bitmap = np.zeros((height, width), dtype=np.uint8, order="F")
    bitmap[top : top + size, left : left + size] = 1
    encoded = coco_mask.encode(bitmap)
    return RLE(size=(height, width), counts=encoded["counts"].decode())


def shapes_items() -> list[Item]:
    url, media = image(10, width=64, height=48)
    road = Region(id="s1", label="Road", shape=Polygon(points=[(4, 40), (30, 20), (60, 44)]))
    nose = Region(id="s2", label="Nose", shape=Points(points=[Keypoint(x=32, y=16)]))
    sky = Region(id="s3", label="Sky", shape=Mask(rle=square_mask(48, 64, 2, 3, 10)))
    road2 = Region(id="s4", label="Road", shape=Polygon(points=[(0, 47), (63, 47), (32, 24)]))
    guess = Region(id="s5", label="Sky", shape=Mask(rle=square_mask(48, 64, 0, 0, 16)))
    return [
        Item(
            key=url,
            media=media,
            data={"image": url},
            annotation_sets=[
                human(ANN1, 30.0, regions=[road, nose, sky]),
                human(ANN2, 31.0, regions=[road2]),
                prediction(0.5, regions=[guess]),
            ],
        )
    ]


def ner_items() -> list[Item]:
    text = "Alice works for Acme in Paris."

    def spans(prefix: str) -> list[Region]:
        return [
            Region(id=f"{prefix}1", label="PER", shape=Span(start=0, end=5, text="Alice")),
            Region(id=f"{prefix}2", label="ORG", shape=Span(start=16, end=20, text="Acme")),
        ]

    link = Relation(from_id="n1", to_id="n2", label="works_for")
    return [
        Item(
            key="alice",
            media=Media(kind="text", text=text),
            data={"text": text},
            annotation_sets=[
                human(ANN1, 5.0, regions=spans("n"), relations=[link]),
                human(ANN2, 6.0, regions=spans("m")[:1]),
                prediction(0.9, regions=spans("p")),
            ],
        )
    ]


def classify_items() -> list[Item]:
    items = []
    for n, (text, mood) in enumerate(
        [("Great product!", "Positive"), ("Broke in a day.", "Negative")]
    ):
        items.append(
            Item(
                key=f"review-{n}",
                media=Media(kind="text", text=text),
                data={"text": text},
                annotation_sets=[
                    human(
                        ANN1,
                        2.0,
                        classifications=[answer("sentiment", mood), answer("summary", "short")],
                    ),
                    human(ANN2, 3.0, classifications=[answer("sentiment", "Positive")]),
                    prediction(0.6, classifications=[answer("sentiment", mood)]),
                ],
            )
        )
    return items


def video_items() -> list[Item]:
    url = "https://example.invalid/video/0.mp4"
    media = Media(kind="video", uri=url, width=1280, height=720, frame_count=250, duration=10.0)

    def track(track_id: str, dx: float) -> Track:
        return Track(
            id=track_id,
            label="Car",
            keyframes=[
                Keyframe(frame=0, shape=BBox(x=100 + dx, y=100, width=200, height=100)),
                Keyframe(frame=24, shape=BBox(x=300 + dx, y=120, width=200, height=100)),
                # Label Studio ends a segment at a drawn frame (`enabled: false`), so the last
                # shown frame is a keyframe of its own just before the `outside` one
                Keyframe(frame=48, shape=BBox(x=310 + dx, y=130, width=200, height=100)),
                Keyframe(frame=49, outside=True),
            ],
        )

    return [
        Item(
            key=url,
            media=media,
            data={"video": url},
            annotation_sets=[
                human(ANN1, 40.0, tracks=[track("t1", 0)]),
                human(ANN2, 41.0, tracks=[track("t2", 8)]),
                prediction(0.4, tracks=[track("t3", 16)]),
            ],
        )
    ]


KINDS = {
    "image-boxes-rotation-attributes": (BOXES_CONFIG, "image", boxes_items),
    "polygons-keypoints-brush": (SHAPES_CONFIG, "image", shapes_items),
    "ner-spans-relations": (NER_CONFIG, "text", ner_items),
    "text-classification": (CLASSIFY_CONFIG, "text", classify_items),
    "video-tracking": (VIDEO_CONFIG, "video", video_items),
}


# -------------------------------------------------------------------------- comparing


def _round(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return value


def comparable(item: Item) -> dict:
    """An item without what the server assigns: source refs, vendor `extra`, annotation
    set ids and times, annotator ids (people compare by email); floats to 4 decimals."""
    data = item.model_dump(mode="json", exclude_defaults=True, exclude={"source", "extra"})

    def scrub(node):
        if isinstance(node, dict):
            for key in ("source", "extra", "created_at", "updated_at"):
                node.pop(key, None)
            for value in node.values():
                scrub(value)
        elif isinstance(node, list):
            for value in node:
                scrub(value)

    for aset in data.get("annotation_sets", []):
        aset.pop("id", None)
        if "annotator" in aset:
            aset["annotator"] = {"email": aset["annotator"].get("email")}
    scrub(data)
    data["annotation_sets"] = sorted(data.get("annotation_sets", []), key=repr)
    return _round(data)


def push_and_pull(connect, config_xml: str, media_kind: str, items: list[Item], pull: str):
    ontology = config_to_ontology(parse_label_config(config_xml))
    project = Project(name=f"live {media_kind}", media_kind=media_kind, ontology=ontology)
    push_losses = LossReport()
    pushed = connect().write(Dataset(project=project, items=items), push_losses)
    pulled_losses = LossReport()
    dataset = connect(f"/projects/{pushed['project']}").read(pulled_losses, pull=pull)
    return pushed, push_losses, list(dataset.items), pulled_losses, dataset


@pytest.mark.parametrize("kind", list(KINDS))
def test_ls_live_push_then_pull_gives_back_the_items(kind, connect):
    config_xml, media_kind, make_items = KINDS[kind]
    items = make_items()
    pushed, push_losses, pulled, pull_losses, dataset = push_and_pull(
        connect, config_xml, media_kind, items, pull="export"
    )
    assert pushed["created_project"] is True
    assert set(pushed["tasks"]) == {item.key for item in items}
    humans = sum(1 for i in items for a in i.annotation_sets if a.kind == "human")
    assert pushed["annotations"] == humans and pushed["predictions"] == len(items)
    lost = {loss.code for loss in push_losses} | {loss.code for loss in pull_losses}
    assert lost <= {"annotation-time-not-kept"}, push_losses.as_dict() + pull_losses.as_dict()
    by_key = {item.key: item for item in pulled}
    assert sorted(by_key) == sorted(item.key for item in items)
    for item in items:
        assert comparable(by_key[item.key]) == comparable(item), item.key
        task_id = str(pushed["tasks"][item.key])
        assert by_key[item.key].source.item == task_id
    # the project made from the ontology keeps every control name and label
    made = config_to_ontology(parse_label_config(config_xml))
    assert sorted(c.name for c in dataset.project.ontology.labels) == sorted(
        c.name for c in made.labels
    )


def test_ls_live_pull_by_pages_equals_pull_by_export(connect):
    items = boxes_items() + [
        item.model_copy(update={"key": item.key + "?copy"}) for item in boxes_items()
    ]
    for item in items[2:]:
        item.media.uri = item.key
        item.data = {"image": item.key}
    ontology = config_to_ontology(parse_label_config(BOXES_CONFIG))
    pushed = connect().write(
        Dataset(project=Project(name="pages vs export", ontology=ontology), items=items),
        LossReport(),
        batch_size=3,
    )
    assert len(pushed["tasks"]) == 4
    url = f"/projects/{pushed['project']}"
    by_export = list(connect(url).read(LossReport(), pull="export").items)
    by_pages = list(connect(url).read(LossReport(), pull="pages", page_size=3).items)

    # the two endpoints differ only in server bookkeeping (`unique_id`, `result_count`,
    # `overlap`, ...), which rides in `extra`
    def unified(pulled: list[Item]) -> list[dict]:
        return [scrub_extra(i.model_dump(mode="json")) for i in pulled]

    assert unified(by_export) == unified(by_pages)
    assert [i.key for i in by_export] == [i.key for i in items]
    for item in by_pages:
        assert "annotations_results" not in item.extra, "Data Manager columns are dropped"
        assert item.source.item == str(pushed["tasks"][item.key])


def scrub_extra(node):
    """`node` without any `extra` dict, at any depth."""
    if isinstance(node, dict):
        return {k: scrub_extra(v) for k, v in node.items() if k != "extra"}
    if isinstance(node, list):
        return [scrub_extra(v) for v in node]
    return node


def test_ls_live_unknown_annotator_is_recorded_as_a_loss(connect):
    url, media = image(99)
    stranger = Annotator(email="nobody@example.invalid")
    region = Region(id="u1", label="Car", shape=BBox(x=1, y=2, width=3, height=4))
    items = [
        Item(
            key=url,
            media=media,
            data={"image": url},
            annotation_sets=[human(stranger, 1.0, regions=[region])],
        )
    ]
    ontology = config_to_ontology(parse_label_config(BOXES_CONFIG))
    losses = LossReport()
    pushed = connect().write(
        Dataset(project=Project(name="stranger", ontology=ontology), items=items), losses
    )
    assert losses.count("annotator-not-kept") == 1
    assert "nobody@example.invalid" in losses["annotator-not-kept"].examples[0]
    pulled = list(connect(f"/projects/{pushed['project']}").read(LossReport()).items)
    assert pulled[0].annotation_sets[0].annotator.email == CI_EMAIL  # the importing user


def test_ls_live_keys_label_studio_cannot_derive_survive(connect):
    url, media = image(7)
    item = Item(key="global-key-7", media=media, data={"image": url})
    ontology = config_to_ontology(parse_label_config(BOXES_CONFIG))
    dataset = Dataset(project=Project(name="keys", ontology=ontology), items=[item])
    pushed = connect().write(dataset, LossReport())
    assert list(pushed["tasks"]) == ["global-key-7"]
    pulled = list(connect(f"/projects/{pushed['project']}").read(LossReport()).items)
    assert [i.key for i in pulled] == ["global-key-7"]


def test_ls_live_video_keeps_frame_count_and_duration(connect):
    items = video_items()
    _, _, pulled, _, _ = push_and_pull(connect, VIDEO_CONFIG, "video", items, pull="export")
    assert pulled[0].media.frame_count == 250
    assert pulled[0].media.duration == 10.0
