"""Hypothesis strategies that build any valid unified Item."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

from hypothesis import strategies as st

from bridge import schema as s

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)
coord = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)
above_zero = st.floats(min_value=1e-6, max_value=1e5, allow_nan=False, allow_infinity=False)
angle = st.floats(min_value=0, max_value=360, allow_nan=False)
point = st.tuples(coord, coord)
json_scalar = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_value = st.recursive(
    json_scalar,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=6,
)
extras = st.dictionaries(text, json_value, max_size=2)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)
) | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
sources = st.none() | st.builds(
    s.SourceRef,
    tool=st.sampled_from(["labelstudio", "cvat", "labelbox"]),
    instance=st.none() | text,
    project=st.none() | ids,
    item=st.none() | ids,
    annotation=st.none() | ids,
    region=st.none() | ids,
)


def ordered(values):
    """Two of `values`, the first not after the second (start <= end)."""
    return st.tuples(values, values).map(sorted)


attribute_values = st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | coord | text


def classifications(depth: int = 2):
    nested = st.lists(classifications(depth - 1), max_size=2) if depth > 0 else st.just([])
    answer = st.builds(
        s.Answer,
        value=attribute_values,
        classifications=nested,
        source=sources,
        extra=extras,
    )
    ranges = st.none() | st.lists(
        ordered(st.integers(0, 99)).map(lambda pair: s.FrameRange(start=pair[0], end=pair[1])),
        max_size=2,
    )
    return st.builds(
        s.Classification, name=text, answers=st.lists(answer, max_size=3), frames=ranges
    )


keypoints = st.builds(
    s.Keypoint,
    x=coord,
    y=coord,
    label=st.none() | text,
    visibility=st.sampled_from(["visible", "occluded", "absent"]),
    classifications=st.lists(classifications(0), max_size=1),
    source=sources,
)
units = st.sampled_from(["px", "percent"])
rles = st.builds(
    s.RLE,
    size=st.tuples(st.integers(0, 4000), st.integers(0, 4000)),
    counts=st.text("0123456789:;<=>?@ABCDEFGH", max_size=20),
)

shapes = st.one_of(
    st.builds(
        s.BBox, x=coord, y=coord, width=positive, height=positive, rotation=angle, units=units
    ),
    st.builds(s.Polygon, points=st.lists(point, min_size=3, max_size=6), units=units),
    st.builds(s.Polyline, points=st.lists(point, min_size=2, max_size=6)),
    st.builds(s.Points, points=st.lists(keypoints, max_size=3)),
    st.builds(s.Skeleton, points=st.lists(keypoints, max_size=3)),
    st.builds(s.Ellipse, cx=coord, cy=coord, rx=positive, ry=positive, rotation=angle),
    st.builds(s.Mask, rle=rles),
    st.builds(s.Cuboid, points=st.lists(point, min_size=8, max_size=8)),
    st.builds(
        s.Cuboid3D,
        position=st.tuples(coord, coord, coord),
        rotation=st.tuples(coord, coord, coord),
        scale=st.tuples(positive, positive, positive),
    ),
    st.builds(
        lambda offsets, **fields: s.Span(start=offsets[0], end=offsets[1], **fields),
        offsets=ordered(st.integers(0, 10**6))
        | st.tuples(st.none(), st.none() | st.integers(0, 10**6))
        | st.tuples(st.integers(0, 10**6), st.none()),
        text=st.none() | text,
        container=st.none() | ids,
    ),
    # across parts `end` indexes the last part: any order
    st.builds(
        lambda parts, **fields: s.Span(container=parts[0], end_container=parts[1], **fields),
        parts=st.tuples(ids, ids).filter(lambda parts: parts[0] != parts[1]),
        start=st.integers(0, 10**6),
        end=st.integers(0, 10**6),
    ),
    st.builds(
        lambda times, unit: s.TimeSegment(start=times[0], end=times[1], unit=unit),
        times=ordered(positive),
        unit=st.sampled_from(["seconds", "frames"]),
    ),
    st.builds(s.Tag),
)
regions = st.builds(
    s.Region,
    id=ids,
    label=st.none() | text,
    shape=shapes,
    frame=st.none() | st.integers(0, 10**5),
    occluded=st.booleans(),
    z_order=st.none() | st.integers(-5, 5),
    group=st.none() | ids,
    score=st.none() | st.floats(0, 1),
    classifications=st.lists(classifications(1), max_size=2),
    source=sources,
    extra=extras,
)
keyframes = st.builds(
    s.Keyframe,
    frame=st.integers(0, 10**5),
    shape=st.none() | shapes,
    outside=st.booleans(),
    occluded=st.booleans(),
    keyframe=st.booleans(),
    classifications=st.lists(classifications(0), max_size=1),
)
tracks = st.builds(
    s.Track,
    id=ids,
    label=st.none() | text,
    keyframes=st.lists(keyframes, max_size=3),
    source=sources,
    extra=extras,
)
relations = st.builds(
    s.Relation,
    from_id=ids,
    to_id=ids,
    label=st.none() | text,
    direction=st.sampled_from(["forward", "backward", "both"]),
)
annotators = st.none() | st.builds(
    s.Annotator, id=st.none() | ids, email=st.none() | text, name=st.none() | text
)
reviews = st.builds(
    s.Review,
    reviewer=annotators,
    status=st.sampled_from(["accepted", "rejected", "fixed", "commented"]),
    comment=st.none() | text,
    created_at=st.none() | moments,
)
annotation_sets = st.builds(
    s.AnnotationSet,
    id=ids,
    kind=st.sampled_from(["human", "prediction", "consensus", "gold"]),
    annotator=annotators,
    created_at=st.none() | moments,
    updated_at=st.none() | moments,
    lead_time=st.none() | positive,
    status=st.none()
    | st.sampled_from(["draft", "submitted", "skipped", "in_review", "accepted", "rejected"]),
    ground_truth=st.booleans(),
    model_version=st.none() | text,
    score=st.none() | st.floats(0, 1),
    regions=st.lists(regions, max_size=3),
    tracks=st.lists(tracks, max_size=2),
    relations=st.lists(relations, max_size=2),
    classifications=st.lists(classifications(2), max_size=2),
    reviews=st.lists(reviews, max_size=1),
    source=sources,
    extra=extras,
)
media = st.builds(
    s.Media,
    kind=st.sampled_from(get_args(s.MediaKind)),
    uri=st.none() | text,
    width=st.none() | st.integers(1, 10**5),
    height=st.none() | st.integers(1, 10**5),
    frame_count=st.none() | st.integers(0, 10**6),
    fps=st.none() | above_zero,
    duration=st.none() | positive,
    text=st.none() | text,
)
items = st.builds(
    s.Item,
    key=text,
    media=media,
    data=st.dictionaries(text, json_value, max_size=2),
    subset=st.none() | text,
    annotation_sets=st.lists(annotation_sets, max_size=2),
    source=sources,
    extra=extras,
)
