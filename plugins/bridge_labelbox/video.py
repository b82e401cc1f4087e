"""Labelbox video labels (export v2) <-> unified tracks and frame-range classifications.

A video label's `annotations` hold:

* `frames`: `{"<frame>": {"objects": {"<feature_id>": object}, "classifications": [...]}}`
  with 1-based frame numbers; with `interpolated_frames` the export lists every frame an
  object is on, drawn or interpolated;
* `segments`: `{"<feature_id>": [[start, end], ...]}`, the inclusive frame ranges in which
  the object is on screen;
* `key_frame_feature_map`: `{"<feature_id>": [frames]}` (or `{"<frame>": bool}`), the
  frames the annotator drew; the others were interpolated;
* `classifications`: questions about the whole video.

Unified (frames 0-based, Labelbox frame n is unified frame n-1): a `Track` per feature id
whose keyframes are the exported frames (`keyframe=False` for interpolated ones) plus an
`outside` keyframe right after every segment that the video goes on past, so a gap between
segments is a gap in the track. A classification found on frames becomes one
`Classification` whose `frames` are the runs of consecutive frames it is on.
"""

from __future__ import annotations

from typing import Any

from bridge.errors import FormatError
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Keyframe, Region, Track

from .checks import a_list, an_object, frame_number, optional_text, show
from .classifications import read_classifications, write_classification, write_classifications
from .shapes import Masks, read_geometry, write_geometry

KFFM_FORM = "lb_key_frame_form"
KFFM_VALUE = "lb_key_frame_value"
FRAMES_FORM = "lb_frames_form"
"""How a frame-range classification was exported: "segments" (on the frames that start and
end each range, the ranges in `segments`), "video" (with the whole-video classifications,
the ranges in `segments`) or, without the key, on every frame it holds on."""
CLASSIFICATION_KEY_FRAMES = "lb_key_frames"
OTHER_KEY = "lb_video_other"
"""`segments` and `key_frame_feature_map` entries of features that are neither an object
nor a classification of the label: kept for a Labelbox round trip."""
_OBJECT_CONSUMED = {
    "feature_id",
    "name",
    "classifications",
    *("bounding_box", "polygon", "line", "point"),
}


def _key_frames(raw: Any) -> tuple[dict[int, Any], str]:
    """The drawn frames of one feature and the form the export used ("list" or "dict")."""
    if type(raw) is dict:
        return {
            frame_number(frame, "a key_frame_feature_map frame"): value
            for frame, value in raw.items()
        }, "dict"
    frames = a_list(raw or [], "a key_frame_feature_map entry")
    return {frame_number(frame, "a key_frame_feature_map frame"): True for frame in frames}, "list"


def _ranges(raw: Any, feature: str) -> list[tuple[int, int]]:
    """One feature's `segments`: inclusive [start, end] Labelbox frame ranges, checked."""
    ranges = []
    for pair in a_list(raw or [], f"the segments of {feature}"):
        if type(pair) is not list or len(pair) != 2:
            raise FormatError(f"a segment of {feature} must be [start, end], not {show(pair)}")
        start = frame_number(pair[0], f"a segment start of {feature}")
        end = frame_number(pair[1], f"a segment end of {feature}")
        if end < start:
            raise FormatError(f"a segment of {feature} ends ({end}) before it starts ({start})")
        ranges.append((start, end))
    return ranges


def _outside_frames(segments: list[tuple[int, int]], frame_count: int | None) -> list[int]:
    """Labelbox frames just after each segment where the object is not on screen (none
    after a segment that ends on the video's last frame)."""
    result = []
    for _, end in segments:
        after = end + 1
        if frame_count is not None and after > frame_count:
            continue
        if not any(start <= after <= stop for start, stop in segments):
            result.append(after)
    return result


def _frames(raw: Any) -> list[tuple[int, dict]]:
    """(Labelbox frame, frame object) in frame order, every key and value checked."""
    frames = [
        (frame_number(number, "a frame number"), an_object(content, f"frame {number}"))
        for number, content in an_object(raw, "frames").items()
    ]
    frames.sort(key=lambda pair: pair[0])
    return frames


def _frame_objects(frames: list[tuple[int, dict]]) -> dict[str, list[tuple[int, dict]]]:
    """feature id -> [(Labelbox frame, object)] in frame order."""
    by_feature: dict[str, list[tuple[int, dict]]] = {}
    for frame, content in frames:
        objects = content.get("objects")
        if not objects:
            continue
        for feature_id, obj in an_object(objects, f"the objects of frame {frame}").items():
            an_object(obj, f"an object of frame {frame}")
            observed = by_feature.get(feature_id)
            if observed is None:
                by_feature[feature_id] = [(frame, obj)]
            else:
                observed.append((frame, obj))
    return by_feature


def _keyframe(
    frame: int,
    obj: dict,
    size: tuple,
    drawn: dict[int, Any] | None,
    losses: LossReport,
    where: str,
    masks: Masks,
) -> dict:
    extra: dict[str, Any] = {}
    shape = read_geometry(obj, size, extra, masks, losses, where)
    value = True if drawn is None else drawn.get(frame)
    if drawn is not None and frame in drawn and value is not True:
        extra[KFFM_VALUE] = value
    nested = obj.get("classifications")
    return {
        "frame": frame - 1,
        "shape": shape,
        "keyframe": bool(value),  # `false` in the map, or not in it: not drawn
        "classifications": read_classifications(nested, losses, where) if nested else [],
        "extra": extra,
    }


def read_tracks(
    frames: list[tuple[int, dict]],
    segments: dict,
    key_frame_map: dict,
    size: tuple,
    frame_count: int | None,
    losses: LossReport,
    where: str,
    masks: Masks,
) -> list[dict]:
    """Unified `Track` data for every object of a video label. `size` is the media's
    (height, width), `frame_count` its number of frames (when known)."""
    tracks = []
    for feature_id, observed in _frame_objects(frames).items():
        drawn, form = (
            _key_frames(key_frame_map[feature_id]) if feature_id in key_frame_map else (None, None)
        )
        first = observed[0][1]
        keyframes = [
            _keyframe(frame, obj, size, drawn, losses, where, masks) for frame, obj in observed
        ]
        seen = {frame for frame, _ in observed}
        ranges = _ranges(segments.get(feature_id), feature_id)
        outside = [frame for frame in _outside_frames(ranges, frame_count) if frame not in seen]
        if outside:  # `observed` is in frame order already
            keyframes += [{"frame": frame - 1, "outside": True} for frame in outside]
            keyframes.sort(key=lambda keyframe: keyframe["frame"])
        extra = {k: v for k, v in first.items() if k not in _OBJECT_CONSUMED}
        extra.pop("mask", None), extra.pop("composite_mask", None)
        if form is not None:
            extra[KFFM_FORM] = form
        tracks.append(
            {
                "id": feature_id,
                "label": optional_text(first.get("name"), "an object's name"),
                "keyframes": keyframes,
                "extra": extra,
            }
        )
    return tracks


def _runs(frames: list[int]) -> list[dict]:
    """Sorted frame numbers as runs of consecutive frames (unified `FrameRange` data)."""
    runs: list[dict] = []
    for frame in sorted(set(frames)):
        if runs and runs[-1]["end"] == frame - 1:
            runs[-1]["end"] = frame
        else:
            runs.append({"start": frame, "end": frame})
    return runs


def _segment_runs(ranges: list[tuple[int, int]]) -> list[dict]:
    """Labelbox segments (1-based, inclusive) as unified frame ranges (0-based), merged."""
    runs: list[dict] = []
    for start, end in sorted(ranges):
        if runs and start - 1 <= runs[-1]["end"] + 1:
            runs[-1]["end"] = max(runs[-1]["end"], end - 1)
        else:
            runs.append({"start": start - 1, "end": end - 1})
    return runs


def read_frame_classifications(
    frames: list[tuple[int, dict]], segments: dict, losses: LossReport, where: str
) -> list[dict]:
    """Classifications found on frames, one per feature (and answer). Their frame ranges
    are the feature's `segments` (the export lists a range's classification on its first
    and last frames only), or, for a feature without segments, the runs of frames it is
    listed on."""
    grouped: dict[Any, tuple[dict, list[int]]] = {}
    for frame, content in frames:
        raws = content.get("classifications")
        for raw in a_list(raws, f"the classifications of frame {frame}") if raws else ():
            feature = raw.get("feature_id") if type(raw) is dict else None
            if type(feature) is str and feature:
                key: Any = feature
                if key not in grouped:
                    grouped[key] = (read_classifications([raw], losses, where)[0], [])
            else:  # no feature id: the same question with the same answers is one
                read = read_classifications([raw], losses, where)[0]
                key = (read["name"], tuple(str(answer["value"]) for answer in read["answers"]))
                if key not in grouped:
                    grouped[key] = (read, [])
            grouped[key][1].append(frame - 1)
    result = []
    for key, (classification, numbers) in grouped.items():
        if key in segments:
            classification["frames"] = _segment_runs(_ranges(segments[key], key))
            classification["extra"][FRAMES_FORM] = "segments"
        else:
            classification["frames"] = _runs(numbers)
        result.append(classification)
    return result


def read_video(
    annotations: dict,
    classifications: list[dict],
    size: tuple,
    frame_count: int | None,
    losses: LossReport,
    where: str,
    masks: Masks,
) -> tuple[list[dict], list[dict], dict]:
    """A video label's tracks and classifications (the whole-video ones read already
    given in `classifications`; those with `segments` hold on those frames only), and
    the `segments`/`key_frame_feature_map` entries of no object or classification."""
    frames = _frames(annotations.get("frames") or {})
    segments = an_object(annotations.get("segments") or {}, "segments")
    key_frame_map = an_object(
        annotations.get("key_frame_feature_map") or {}, "key_frame_feature_map"
    )
    tracks = read_tracks(frames, segments, key_frame_map, size, frame_count, losses, where, masks)
    on_frames = read_frame_classifications(frames, segments, losses, where)
    for classification in classifications:
        feature = (classification.get("source") or {}).get("region")
        if feature is not None and feature in segments:
            classification["frames"] = _segment_runs(_ranges(segments[feature], feature))
            classification["extra"][FRAMES_FORM] = "video"
    known = {track["id"] for track in tracks}
    for classification in (*classifications, *on_frames):
        feature = (classification.get("source") or {}).get("region")
        if feature is None:
            continue
        known.add(feature)
        if feature in key_frame_map:
            classification["extra"][CLASSIFICATION_KEY_FRAMES] = key_frame_map[feature]
    other = {}
    for name, mapping in (("segments", segments), ("key_frame_feature_map", key_frame_map)):
        rest = {feature: value for feature, value in mapping.items() if feature not in known}
        if rest:
            other[name] = rest
    return tracks, [*classifications, *on_frames], other


# ------------------------------------------------------------------------------ writing


def _segments(track: Track, frame_count: int | None) -> list[list[int]]:
    """Inclusive Labelbox frame ranges in which the track is on screen. A track that does
    not end with an `outside` keyframe stays on screen to the end of the video."""
    segments: list[list[int]] = []
    open_segment: list[int] | None = None
    for keyframe in sorted(track.keyframes, key=lambda k: k.frame):
        if keyframe.outside:
            if open_segment is not None:
                open_segment[1] = keyframe.frame  # unified frame-1, as a 1-based number
                segments.append(open_segment)
                open_segment = None
            continue
        if open_segment is None:
            open_segment = [keyframe.frame + 1, keyframe.frame + 1]
        else:
            open_segment[1] = keyframe.frame + 1
    if open_segment is not None:
        if frame_count is not None:
            open_segment[1] = max(open_segment[1], frame_count)
        segments.append(open_segment)
    return segments


def region_as_track(region: Region) -> Track:
    """A single-frame video region as a track on screen on that frame only."""
    frame = region.frame or 0
    keyframe = Keyframe(
        frame=frame, shape=region.shape, extra=region.extra, classifications=region.classifications
    )
    return Track(
        id=region.id,
        label=region.label,
        keyframes=[keyframe, Keyframe(frame=frame + 1, outside=True)],
    )


def frames_needed(annotation_set: AnnotationSet, leaving: bool = True) -> int:
    """The fewest video frames (Labelbox numbering) that place every frame of the set: each
    shown frame, single-frame regions, classification ranges and, with `leaving`, the
    first `outside` keyframe after a shown one (the frame the reader ends a segment on).
    0 when nothing is on a frame."""
    needed = 0
    for track in annotation_set.tracks:
        shown = False
        for keyframe in sorted(track.keyframes, key=lambda k: k.frame):
            if keyframe.outside and not (shown and leaving):
                shown = False
                continue
            shown = not keyframe.outside
            needed = max(needed, keyframe.frame + 1)
    for region in annotation_set.regions:
        if region.frame is not None:
            needed = max(needed, region.frame + 1)
    for classification in annotation_set.classifications:
        for run in classification.frames or []:
            needed = max(needed, run.end + 1)
    return needed


def placing_frame_count(count: int | None, annotation_sets: list[AnnotationSet]) -> int | None:
    """`count` (a video's frame count), or the fewest frames that place every frame of
    `annotation_sets` when a shown frame lies past it (see `frames_needed`). An object that
    leaves the screen only after the last frame raises nothing: it is on to the end."""
    if (
        count is None
        or max((frames_needed(s, leaving=False) for s in annotation_sets), default=0) <= count
    ):
        return count
    return max(count, *(frames_needed(s) for s in annotation_sets))


def track_frame_answers(track: Track, keyframe: Keyframe) -> list:
    """The answers a Labelbox frame object of `track` holds on `keyframe`: the track's own
    (Labelbox has no per-object answers on a video, see `report_track_losses`) unless the
    keyframe answers the same question, then the keyframe's."""
    if not track.classifications:
        return list(keyframe.classifications)
    asked = {classification.name for classification in keyframe.classifications}
    return [*(c for c in track.classifications if c.name not in asked), *keyframe.classifications]


def report_track_losses(track: Track, losses: LossReport, where: str) -> None:
    """What a Labelbox video object cannot hold of `track` (export v2 and import alike:
    answers live on the frames an object is on, and a gap is the end of a segment):

    * `labelbox-track-answers-per-frame` (approximated): the track's own answers (CVAT's
      immutable attributes) are written on every frame of the object instead;
    * `labelbox-outside-while-hidden`: an `outside` keyframe while the object is already
      off screen (or before it first shows) has no place;
    * `labelbox-answers-while-outside`: answers on an `outside` keyframe that differ from
      the previous keyframe's are on no frame the object is on."""
    if track.classifications:
        losses.record(
            "labelbox-track-answers-per-frame",
            "Labelbox video objects have no answers of their own; a track's answers were "
            "written on every frame of the object",
            where=where,
            count=len(track.classifications),
            severity="approximated",
        )
    shown, previous = False, []
    hidden = answers = 0
    for keyframe in sorted(track.keyframes, key=lambda k: k.frame):
        if keyframe.outside:
            if not shown:
                hidden += 1
            if keyframe.classifications and keyframe.classifications != previous:
                answers += len(keyframe.classifications)
        shown = not keyframe.outside
        previous = keyframe.classifications or previous
    if hidden:
        losses.record(
            "labelbox-outside-while-hidden",
            "an outside keyframe while the object is already off screen has no place in a "
            "Labelbox video object (its segments)",
            where=where,
            count=hidden,
        )
    if answers:
        losses.record(
            "labelbox-answers-while-outside",
            "answers on an outside keyframe are on no frame the Labelbox object is on",
            where=where,
            count=answers,
        )


def _put_track(
    track: Track, frames: dict, losses: LossReport, where: str
) -> list[tuple[int, Any]] | None:
    """Put the track's shapes into `frames`; return its frames (Labelbox numbers) that go
    into `key_frame_feature_map`, with their values (True for a drawn frame, else the value
    the export had, such as `false`); None when no shape of it could be written."""
    drawn = []
    base = {k: v for k, v in track.extra.items() if k != KFFM_FORM}
    written = False
    for keyframe in track.keyframes:
        if keyframe.outside or keyframe.shape is None:
            continue
        geometry = write_geometry(keyframe.shape, keyframe.extra, losses, where)
        if geometry is None:
            continue
        number = keyframe.frame + 1
        answers = write_classifications(track_frame_answers(track, keyframe))
        obj = {
            "feature_id": track.id,
            "name": track.label,
            **base,
            "classifications": answers,
            **geometry,
        }
        frame = frames.setdefault(str(number), {"objects": {}, "classifications": []})
        frame["objects"][track.id] = obj
        written = True
        if KFFM_VALUE in keyframe.extra:
            drawn.append((number, keyframe.extra[KFFM_VALUE]))
        elif keyframe.keyframe:
            drawn.append((number, True))
    if not written:  # reported as a whole already (an ellipse, a percent shape, ...)
        return None
    report_track_losses(track, losses, where)
    return drawn


def _classification_feature(classification) -> str | None:
    source = classification.source
    if source is not None and source.tool == "labelbox" and source.region:
        return source.region
    return None


def _put_ranged(
    classification, frames: dict, segments: dict, key_frames: dict, video_wide: list
) -> None:
    """A classification over frame ranges, placed as the export places it (see
    `FRAMES_FORM`); without a Labelbox feature id, on every frame of its ranges."""
    runs = [(run.start + 1, run.end + 1) for run in classification.frames or []]
    extra = {
        k: v
        for k, v in classification.extra.items()
        if k not in (FRAMES_FORM, CLASSIFICATION_KEY_FRAMES)
    }
    body = write_classification(classification.model_copy(update={"frames": None, "extra": extra}))
    feature = _classification_feature(classification)
    form = classification.extra.get(FRAMES_FORM)
    if feature is not None and CLASSIFICATION_KEY_FRAMES in classification.extra:
        key_frames[feature] = classification.extra[CLASSIFICATION_KEY_FRAMES]
    if feature is None or form is None:
        numbers = [frame for start, end in runs for frame in range(start, end + 1)]
    else:
        segments[feature] = [[start, end] for start, end in runs]
        if form == "video":
            video_wide.append(body)
            return
        numbers = sorted({frame for run in runs for frame in run})
    for number in numbers:
        frames.setdefault(str(number), {"objects": {}, "classifications": []})
        frames[str(number)]["classifications"].append(body)


def write_video_annotations(
    annotation_set: AnnotationSet, losses: LossReport, where: str, frame_count: int | None = None
) -> dict[str, Any]:
    """The `annotations` object of a video label."""
    frames: dict[str, dict] = {}
    segments: dict[str, list] = {}
    key_frames: dict[str, Any] = {}
    tracks = list(annotation_set.tracks)
    tracks += [region_as_track(r) for r in annotation_set.regions if r.frame is not None]
    frameless = sum(1 for r in annotation_set.regions if r.frame is None)
    if frameless:
        losses.record(
            "labelbox-video-region-without-frame",
            "a region on a video without a frame has no place in a Labelbox video label",
            where=where,
            count=frameless,
        )
    for track in tracks:
        drawn = _put_track(track, frames, losses, where)
        if drawn is None:  # no object written: no segments for it either
            continue
        segments[track.id] = _segments(track, frame_count)
        if track.extra.get(KFFM_FORM) == "dict":
            key_frames[track.id] = {str(number): value for number, value in drawn}
        else:
            key_frames[track.id] = [number for number, _ in drawn]
    video_wide: list[dict] = []
    for classification in annotation_set.classifications:
        if classification.frames is None:
            video_wide.append(write_classification(classification))
        else:
            _put_ranged(classification, frames, segments, key_frames, video_wide)
    other = annotation_set.extra.get(OTHER_KEY) or {}
    segments.update(other.get("segments") or {})
    key_frames.update(other.get("key_frame_feature_map") or {})
    ordered = {key: frames[key] for key in sorted(frames, key=int)}
    return {
        "frames": ordered,
        "segments": segments,
        "key_frame_feature_map": key_frames,
        "classifications": video_wide,
    }
