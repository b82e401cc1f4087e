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

import orjson

from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Keyframe, Region, Track

from .checks import optional_text
from .classifications import read_classifications, write_classification, write_classifications
from .shapes import MaskFetcher, read_geometry, write_geometry

KFFM_FORM = "lb_key_frame_form"
KFFM_VALUE = "lb_key_frame_value"
_OBJECT_CONSUMED = {
    "feature_id",
    "name",
    "classifications",
    *("bounding_box", "polygon", "line", "point"),
}


def _key_frames(raw: Any) -> tuple[dict[int, Any], str]:
    """The drawn frames of one feature and the form the export used ("list" or "dict")."""
    if isinstance(raw, dict):
        return {int(frame): value for frame, value in raw.items()}, "dict"
    return {int(frame): True for frame in raw or []}, "list"


def _outside_frames(segments: list, frame_count: int | None) -> list[int]:
    """Labelbox frames just after each segment where the object is not on screen."""
    covered = [(int(start), int(end)) for start, end in segments]
    result = []
    for _, end in covered:
        after = end + 1
        if frame_count is not None and after > frame_count:
            continue
        if not any(start <= after <= stop for start, stop in covered):
            result.append(after)
    return result


def _frame_objects(frames: dict) -> dict[str, list[tuple[int, dict]]]:
    """feature id -> [(Labelbox frame, object)] in frame order."""
    by_feature: dict[str, list[tuple[int, dict]]] = {}
    for number in sorted(frames, key=int):
        objects = frames[number].get("objects")
        if not objects:
            continue
        frame = int(number)
        for feature_id, obj in objects.items():
            key = str(feature_id)
            observed = by_feature.get(key)
            if observed is None:
                by_feature[key] = [(frame, obj)]
            else:
                observed.append((frame, obj))
    return by_feature


def _keyframe(frame: int, obj: dict, size: tuple, drawn: dict[int, Any] | None,
              losses: LossReport, where: str, masks: MaskFetcher | None) -> dict:  # fmt: skip
    extra: dict[str, Any] = {}
    shape = read_geometry(obj, size, extra, masks, losses, where)
    if drawn is not None and drawn.get(frame, True) is not True:
        extra[KFFM_VALUE] = drawn[frame]
    nested = obj.get("classifications")
    return {
        "frame": frame - 1,
        "shape": shape,
        "keyframe": drawn is None or frame in drawn,
        "classifications": read_classifications(nested, losses, where) if nested else [],
        "extra": extra,
    }


def read_tracks(annotations: dict, size: tuple, frame_count: int | None, losses: LossReport,
                where: str, masks: MaskFetcher | None) -> list[dict]:  # fmt: skip
    """Unified `Track` data for every object of a video label. `size` is the media's
    (height, width), `frame_count` its number of frames (when known)."""
    frames = annotations.get("frames") or {}
    segments = annotations.get("segments") or {}
    key_frame_map = annotations.get("key_frame_feature_map") or {}
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
        outside = [frame for frame in _outside_frames(segments.get(feature_id) or [], frame_count)
                   if frame not in seen]  # fmt: skip
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
            }  # fmt: skip
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


def read_frame_classifications(frames: dict, losses: LossReport, where: str) -> list[dict]:
    """Classifications found on frames, one per feature (and answer), with frame runs."""
    grouped: dict[str, tuple[dict, list[int]]] = {}
    for number in sorted(frames, key=int):
        for raw in frames[number].get("classifications") or []:
            key = (
                str(raw.get("feature_id")) if raw.get("feature_id") else orjson.dumps(raw).decode()
            )
            if key not in grouped:
                grouped[key] = (read_classifications([raw], losses, where)[0], [])
            grouped[key][1].append(int(number) - 1)
    result = []
    for classification, numbers in grouped.values():
        classification["frames"] = _runs(numbers)
        result.append(classification)
    return result


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
    keyframe = Keyframe(frame=frame, shape=region.shape, extra=region.extra,
                        classifications=region.classifications)  # fmt: skip
    return Track(id=region.id, label=region.label,
                 keyframes=[keyframe, Keyframe(frame=frame + 1, outside=True)])  # fmt: skip


def _put_track(track: Track, frames: dict, losses: LossReport, where: str) -> list[tuple[int, Any]]:
    """Put the track's shapes into `frames`; return its drawn frames (Labelbox numbers) with
    their `key_frame_feature_map` values."""
    drawn = []
    base = {k: v for k, v in track.extra.items() if k != KFFM_FORM}
    for keyframe in track.keyframes:
        if keyframe.outside or keyframe.shape is None:
            continue
        geometry = write_geometry(keyframe.shape, keyframe.extra, losses, where)
        if geometry is None:
            continue
        number = keyframe.frame + 1
        obj = {"feature_id": track.id, "name": track.label, **base,
               "classifications": write_classifications(keyframe.classifications), **geometry}  # fmt: skip
        frame = frames.setdefault(str(number), {"objects": {}, "classifications": []})
        frame["objects"][track.id] = obj
        if keyframe.keyframe:
            drawn.append((number, keyframe.extra.get(KFFM_VALUE, True)))
    return drawn


def write_video_annotations(annotation_set: AnnotationSet, losses: LossReport, where: str,
                            frame_count: int | None = None) -> dict[str, Any]:  # fmt: skip
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
            where=where, count=frameless,
        )  # fmt: skip
    for track in tracks:
        drawn = _put_track(track, frames, losses, where)
        segments[track.id] = _segments(track, frame_count)
        if track.extra.get(KFFM_FORM) == "dict":
            key_frames[track.id] = {str(number): value for number, value in drawn}
        else:
            key_frames[track.id] = [number for number, _ in drawn]
    video_wide = []
    for classification in annotation_set.classifications:
        if classification.frames is None:
            video_wide.append(write_classification(classification))
            continue
        body = write_classification(classification.model_copy(update={"frames": None}))
        for run in classification.frames:
            for frame in range(run.start + 1, run.end + 2):
                frames.setdefault(str(frame), {"objects": {}, "classifications": []})
                frames[str(frame)]["classifications"].append(body)
    ordered = {key: frames[key] for key in sorted(frames, key=int)}
    return {"frames": ordered, "segments": segments, "key_frame_feature_map": key_frames,
            "classifications": video_wide}  # fmt: skip
