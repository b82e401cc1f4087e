"""Translate CVAT REST annotations between numeric ids and names.

CVAT's REST API refers to labels by `label_id` and to attributes by `spec_id`; skeleton
point shapes (`elements`) refer to their *sublabel* ids. `convert.py` works on the same
shapes with names instead ("CVAT dicts": `"label": "car"`, attributes as
`{"name": "color", "value": "red"}`), so the XML files and the REST API share one
conversion. This module is the id <-> name step, both ways:

    REST  {"label_id": 3, "attributes": [{"spec_id": 9, "value": "red"}], ...}
    named {"label": "car", "attributes": [{"name": "color", "value": "red"}], ...}

Every other field (type, frame, points, rotation, occluded, outside, z_order, group, source,
score, id) passes through unchanged. Mask `points` stay CVAT's REST form: run lengths over
the mask's bounding-box crop followed by the crop's *inclusive* corners `[x1, y1, x2, y2]`.

It also knows how REST frame numbers relate to a video's own (`FrameNumbering`) and builds
a job's request body from unified annotation sets (`BodyBuilder`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import BridgeError, FormatError
from bridge_cvat import convert

ID_FIELDS = ("label_id", "attributes", "elements", "shapes")
GEOMETRY_FIELDS = frozenset(
    {"type", "frame", "occluded", "outside", "z_order", "rotation", "points"}
)
SHAPE_FIELDS = GEOMETRY_FIELDS | {"id", "group", "source", "score"}
"""Fields of a LabeledShapeRequest besides label_id, attributes and elements."""
TRACKED_SHAPE_FIELDS = GEOMETRY_FIELDS | {"id"}
"""Fields of a TrackedShapeRequest (a track keyframe) besides attributes."""
TRACK_FIELDS = frozenset({"frame", "id", "group", "source"})
"""Fields of a LabeledTrackRequest besides label_id, shapes, attributes and elements."""
TAG_FIELDS = frozenset({"frame", "id", "group", "source"})
"""Fields of a LabeledImageRequest (a tag) besides label_id and attributes."""


class UncheckedAnswer(FormatError):
    """A server answer broke our code where no check looked at it (a KeyError, TypeError
    ... caught by `malformed_answer`). Users see a FormatError; the fuzz tests fail on
    this class: each one is an input check to write where the value is read."""


@contextmanager
def malformed_answer(where: str) -> Iterator[None]:
    """Last line of defence while reading a server answer: a missing key or a wrong type
    that no deliberate check caught becomes an `UncheckedAnswer` located at `where`."""
    try:
        yield
    except BridgeError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise UncheckedAnswer(
            f"malformed CVAT answer ({type(error).__name__}: {error})",
            where=where,
            hint="the server sent something this CVAT version should not; check its version",
        ) from None


@dataclass
class RestLabel:
    """One CVAT label (or skeleton sublabel) as the REST API lists it: its id, name, the
    attribute names by `spec_id`, and for a skeleton its sublabels by name."""

    id: int
    name: str
    attribute_names: dict[int, str] = field(default_factory=dict)
    sublabels: dict[str, RestLabel] = field(default_factory=dict)

    def spec_id(self, attribute: str, where: str) -> int:
        for spec_id, name in self.attribute_names.items():
            if name == attribute:
                return spec_id
        raise FormatError(
            f"label {self.name!r} has no attribute {attribute!r} on the server",
            where=where,
            hint="add the attribute to the label in CVAT, or push to a new task",
        )


class RestLabels:
    """The labels of one CVAT task or project, looked up by id or by name.

    Top-level names are unique in a task; sublabel names only within their skeleton, so a
    sublabel is found by id or by (skeleton, name).
    """

    def __init__(self, labels: list[dict[str, Any]], where: str = "labels"):
        self.where = where
        with malformed_answer(where):
            self._index(labels)

    def _index(self, labels: list[dict[str, Any]]) -> None:
        self.raw = [label for label in labels if label.get("parent_id") is None]
        self.by_name: dict[str, RestLabel] = {}
        self.by_id: dict[int, RestLabel] = {}
        for raw in self.raw:
            label = self._build(raw)
            self.by_name[label.name] = label
            self.by_id[label.id] = label
            for sub in label.sublabels.values():
                self.by_id[sub.id] = sub

    def _build(self, raw: dict[str, Any]) -> RestLabel:
        try:
            label = RestLabel(id=int(raw["id"]), name=str(raw["name"]))
            for attribute in raw.get("attributes") or []:
                label.attribute_names[int(attribute["id"])] = str(attribute["name"])
            for sub in raw.get("sublabels") or []:
                sublabel = self._build(sub)
                label.sublabels[sublabel.name] = sublabel
        except (KeyError, TypeError, ValueError) as error:
            raise FormatError(
                f"malformed label: {type(error).__name__} {error}", where=self.where
            ) from None
        return label

    def label(self, label_id: Any, where: str) -> RestLabel:
        label = self.by_id.get(label_id) if isinstance(label_id, int) else None
        if label is None:
            raise FormatError(f"unknown label_id {label_id!r}", where=where)
        return label

    def named(self, name: Any, where: str, parent: RestLabel | None = None) -> RestLabel:
        scope = parent.sublabels if parent is not None else self.by_name
        label = scope.get(name) if isinstance(name, str) else None
        if label is None:
            owner = f" in skeleton {parent.name!r}" if parent is not None else ""
            raise FormatError(
                f"label {name!r}{owner} does not exist on the server",
                where=where,
                hint="add the label in CVAT, or push to a new task so labels are created",
            )
        return label


# ------------------------------------------------------------------- REST -> named


def _attributes_to_names(values: Any, label: RestLabel, where: str) -> list[dict[str, str]]:
    named = []
    for value in values or []:
        if not isinstance(value, dict):
            raise FormatError("malformed attribute value: not an object", where=where)
        name = label.attribute_names.get(value.get("spec_id"))
        if name is None:
            raise FormatError(
                f"unknown spec_id {value.get('spec_id')!r} for label {label.name!r}", where=where
            )
        named.append({"name": name, "value": str(value.get("value", ""))})
    return named


def _check_object(value: Any, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(f"malformed {what}: expected an object", where=where)
    return value


def _passthrough(rest: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rest.items() if key not in ID_FIELDS}


def shape_from_rest(shape: Any, labels: RestLabels, *, where: str) -> dict[str, Any]:
    """A REST LabeledShape as a named CVAT dict (skeleton elements too)."""
    shape = _check_object(shape, "shape", where)
    label = labels.label(shape.get("label_id"), where)
    named = _passthrough(shape)
    named["label"] = label.name
    named["attributes"] = _attributes_to_names(shape.get("attributes"), label, where)
    if shape.get("elements"):
        named["elements"] = [
            shape_from_rest(element, labels, where=where) for element in shape["elements"]
        ]
    return named


def tag_from_rest(tag: Any, labels: RestLabels, *, where: str) -> dict[str, Any]:
    """A REST LabeledImage (a tag) as a named CVAT dict."""
    tag = _check_object(tag, "tag", where)
    label = labels.label(tag.get("label_id"), where)
    named = _passthrough(tag)
    named["label"] = label.name
    named["attributes"] = _attributes_to_names(tag.get("attributes"), label, where)
    return named


def track_from_rest(track: Any, labels: RestLabels, *, where: str) -> dict[str, Any]:
    """A REST LabeledTrack as a named CVAT dict: immutable attributes on the track,
    mutable ones on each tracked shape; skeleton point tracks in `elements`."""
    track = _check_object(track, "track", where)
    label = labels.label(track.get("label_id"), where)
    named = _passthrough(track)
    named["label"] = label.name
    named["attributes"] = _attributes_to_names(track.get("attributes"), label, where)
    shapes = track.get("shapes")
    if not isinstance(shapes, list):
        raise FormatError("malformed track: 'shapes' is not a list", where=where)
    named["shapes"] = [_tracked_shape_from_rest(shape, label, where) for shape in shapes]
    if track.get("elements"):
        named["elements"] = [
            track_from_rest(element, labels, where=where) for element in track["elements"]
        ]
    return named


def _tracked_shape_from_rest(shape: Any, label: RestLabel, where: str) -> dict[str, Any]:
    shape = _check_object(shape, "tracked shape", where)
    named = _passthrough(shape)
    named["attributes"] = _attributes_to_names(shape.get("attributes"), label, where)
    return named


# ------------------------------------------------------------------- named -> REST


def _attributes_to_ids(values: Any, label: RestLabel, where: str) -> list[dict[str, Any]]:
    return [
        {"spec_id": label.spec_id(value["name"], where), "value": str(value["value"])}
        for value in values or []
    ]


def _strip(named: dict[str, Any], allowed: frozenset[str], keep_ids: bool) -> dict[str, Any]:
    """The fields of `named` the REST request model has; None only where it is nullable."""
    rest = {key: value for key, value in named.items() if key in allowed}
    if not keep_ids:
        rest.pop("id", None)
    return {key: value for key, value in rest.items() if value is not None or key == "group"}


def shape_to_rest(
    shape: dict[str, Any],
    labels: RestLabels,
    *,
    where: str,
    keep_ids: bool = False,
    parent: RestLabel | None = None,
) -> dict[str, Any]:
    """A named CVAT shape dict as a REST LabeledShapeRequest. `keep_ids=False` drops the
    shape ids (they belong to the server the shape was read from)."""
    label = labels.named(shape.get("label"), where, parent)
    rest = _strip(shape, SHAPE_FIELDS, keep_ids)
    rest["label_id"] = label.id
    rest["attributes"] = _attributes_to_ids(shape.get("attributes"), label, where)
    if shape.get("elements"):
        rest["elements"] = [
            shape_to_rest(element, labels, where=where, keep_ids=keep_ids, parent=label)
            for element in shape["elements"]
        ]
    return rest


def tag_to_rest(
    tag: dict[str, Any], labels: RestLabels, *, where: str, keep_ids: bool = False
) -> dict[str, Any]:
    """A named CVAT tag dict as a REST LabeledImageRequest."""
    label = labels.named(tag.get("label"), where)
    rest = _strip(tag, TAG_FIELDS, keep_ids)
    rest["label_id"] = label.id
    rest["attributes"] = _attributes_to_ids(tag.get("attributes"), label, where)
    return rest


def track_to_rest(
    track: dict[str, Any],
    labels: RestLabels,
    *,
    where: str,
    keep_ids: bool = False,
    parent: RestLabel | None = None,
) -> dict[str, Any]:
    """A named CVAT track dict as a REST LabeledTrackRequest."""
    label = labels.named(track.get("label"), where, parent)
    rest = _strip(track, TRACK_FIELDS, keep_ids)
    rest["label_id"] = label.id
    rest["attributes"] = _attributes_to_ids(track.get("attributes"), label, where)
    rest["shapes"] = []
    for shape in track.get("shapes") or []:
        if shape.get("keyframe") is False:
            continue  # an interpolated frame: CVAT interpolates it again from the keyframes
        tracked = _strip(shape, TRACKED_SHAPE_FIELDS, keep_ids)
        tracked["attributes"] = _attributes_to_ids(shape.get("attributes"), label, where)
        rest["shapes"].append(tracked)
    if track.get("elements"):
        rest["elements"] = [
            track_to_rest(element, labels, where=where, keep_ids=keep_ids, parent=label)
            for element in track["elements"]
        ]
    _track_start(rest)
    return rest


def _track_start(rest: dict[str, Any]) -> None:
    """A track starts at its first keyframe (interpolated frames were left out)."""
    if rest["shapes"]:
        rest["frame"] = min(shape["frame"] for shape in rest["shapes"])


# -------------------------------------------------------------- frame numbering


@dataclass(frozen=True)
class FrameNumbering:
    """How a task's REST frame numbers (0, 1, 2, ... over the task's frames) map to the
    unified frame numbers of a video (its original frame numbers): with `start_frame=10`
    and `frame_filter="step=3"` REST frame 2 is video frame 16. Image tasks use 0/1."""

    start: int = 0
    step: int = 1

    @classmethod
    def from_meta(cls, meta: dict[str, Any], where: str) -> FrameNumbering:
        text = str(meta.get("frame_filter") or "")
        step = 1
        if text:
            if not text.startswith("step="):
                raise FormatError(f"unknown frame_filter {text!r}", where=where)
            try:
                step = int(text.removeprefix("step="))
            except ValueError:
                raise FormatError(f"unknown frame_filter {text!r}", where=where) from None
        start = meta.get("start_frame") or 0
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise FormatError(f"start_frame {start!r} is not a frame number", where=where)
        return cls(start=start, step=max(step, 1))

    def to_unified(self, rest_frame: int) -> int:
        return self.start + rest_frame * self.step

    def to_rest(self, frame: int) -> int | None:
        """The REST frame of unified `frame`, or None when the task does not hold it."""
        offset, remainder = divmod(frame - self.start, self.step)
        return offset if remainder == 0 and offset >= 0 else None


def renumber(named: dict[str, Any], convert_frame) -> dict[str, Any]:
    """`named` (a shape, tag or track dict, with its elements and tracked shapes) with
    every `frame` passed through `convert_frame`."""
    out = dict(named)
    if "frame" in out:
        out["frame"] = convert_frame(out["frame"])
    for key in ("elements", "shapes"):
        if isinstance(out.get(key), list):
            out[key] = [renumber(child, convert_frame) for child in out[key]]
    return out


# -------------------------------------------------------------- unified -> job bodies


@dataclass
class JobFrames:
    """What to write into one job: the job's REST frame range and, per REST frame, the
    unified annotation set placed there (images), or the video's one annotation set."""

    job_id: int
    start: int
    stop: int
    per_frame: dict[int, Any] = field(default_factory=dict)
    video_set: Any = None
    numbering: FrameNumbering = field(default_factory=FrameNumbering)

    def holds(self, rest_frame: int | None) -> bool:
        return rest_frame is not None and self.start <= rest_frame <= self.stop


class BodyBuilder:
    """Builds a job's LabeledDataRequest body from unified annotation sets, through
    `convert` (unified -> named dicts) and the id translation above."""

    def __init__(self, labels: RestLabels, index: Any, losses: Any, keep_ids: bool):
        self.labels = labels
        self.index = index
        self.losses = losses
        self.keep_ids = keep_ids
        self._reported: set[int] = set()  # regions/tracks already reported (several jobs)

    def body(self, job: JobFrames) -> dict[str, Any]:
        body: dict[str, Any] = {"version": 0, "tags": [], "shapes": [], "tracks": []}
        where = f"job {job.job_id}"
        for rest_frame, aset in sorted(job.per_frame.items()):
            for region in aset.regions:
                self._add_region(body, region, rest_frame, where)
            if aset.tracks:
                self.losses.record(
                    "cvat.track_on_image",
                    "tracks on an image have no CVAT form; dropped",
                    where=where,
                    count=len(aset.tracks),
                )
        if job.video_set is not None:
            self._add_video(body, job, where)
        return body

    def _add_video(self, body, job: JobFrames, where: str) -> None:
        to_rest = job.numbering.to_rest
        for region in job.video_set.regions:
            rest_frame = to_rest(region.frame if region.frame is not None else job.numbering.start)
            if job.holds(rest_frame):
                self._add_region(body, region, rest_frame, where)
            elif rest_frame is None:
                self._frame_loss(region, where)
        for track in job.video_set.tracks:
            frames = [to_rest(k.frame) for k in track.keyframes]
            if any(f is None for f in frames):
                self._frame_loss(track, where)
            first = min((f for f in frames if f is not None), default=None)
            if job.holds(first):
                self._add_track(body, track, to_rest, where)
                if max(f for f in frames if f is not None) > job.stop:
                    self.losses.record(
                        "cvat.track_crosses_jobs",
                        "track written whole into the job holding its first keyframe, "
                        "although it runs past that job's last frame",
                        where=where,
                        severity="approximated",
                    )

    def _frame_loss(self, thing: Any, where: str) -> None:
        if id(thing) in self._reported:
            return
        self._reported.add(id(thing))
        self.losses.record(
            "cvat.frame_not_in_task",
            "frame not among the task's frames (start/step); dropped",
            where=where,
        )

    def _add_region(self, body, region, rest_frame: int, where: str) -> None:
        if region.shape.type == "tag":
            named = convert.region_to_tag(region, self.losses, where=where)
            if named is None:  # no label: reported
                return
            named["frame"] = rest_frame
            self._append(
                body,
                "tags",
                tag_to_rest(named, self.labels, where=where, keep_ids=self.keep_ids),
                where,
            )
            return
        named = convert.region_to_shape(region, self.index, self.losses, where=where)
        if named is None:
            return
        named = renumber(named, lambda _frame: rest_frame)
        rest = shape_to_rest(named, self.labels, where=where, keep_ids=self.keep_ids)
        self._append(body, "shapes", rest, where)

    def _append(self, body, key: str, rest: dict[str, Any], where: str) -> None:
        """Add `rest` to `body[key]`; an update or delete needs the CVAT id."""
        if self.keep_ids and rest.get("id") is None:
            self.losses.record(
                "cvat.no_id_to_update",
                "not pulled from this task (no CVAT id); skipped by update/delete",
                where=where,
            )
            return
        body[key].append(rest)

    def _add_track(self, body, track, to_rest, where: str) -> None:
        named = convert.track_to_cvat(track, self.index, self.losses, where=where)
        if named is None:  # no label: reported
            return
        named = renumber(named, lambda frame: to_rest(frame))
        named["shapes"] = [s for s in named["shapes"] if s.get("frame") is not None]
        for element in named.get("elements") or []:
            element["shapes"] = [s for s in element["shapes"] if s.get("frame") is not None]
        rest = track_to_rest(named, self.labels, where=where, keep_ids=self.keep_ids)
        self._append(body, "tracks", rest, where)
