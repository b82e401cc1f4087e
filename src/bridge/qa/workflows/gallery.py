"""The gallery: the most-disagreed items, kept with what is needed to draw them.

Only the `size` items with the highest disagreement (> 0) are kept (a bounded heap, the
earlier item first on a tie), each as a small snapshot: the media (uri, kind, size) and,
for every human and gold set, the annotator, the regions with a place on the image
(`shapes.outline` is not None, or a mask; on a video, at the first frame anything is marked
on: its regions on that frame and its tracks' shapes there), the text spans (offsets, label, covered text)
and the item-level answers; a text item keeps its first 2000 characters. Everything else
is dropped as the pass goes on.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from bridge.qa.workflows.items import ItemView
from bridge.qa.workflows.shapes import outline
from bridge.schema import AnnotationSet, Mask, Shape, Span

TEXT_CHARS = 2000
"""How much of a text item's text a snapshot keeps."""


def drawable(shape: Shape) -> bool:
    return isinstance(shape, Mask) or outline(shape) is not None


@dataclass(order=True)
class _Entry:
    disagreement: float
    order: int
    snapshot: dict[str, Any] = field(compare=False)


def first_frame(view: ItemView) -> int | None:
    """The first frame anything is marked on (a frame region or a track keyframe), None
    for media without frames."""
    frames = [
        frame
        for sub in [*view.gold, *view.human]
        for frame in (
            *(r.frame for r in sub.aset.regions if r.frame is not None),
            *(k.frame for t in sub.aset.tracks for k in t.keyframes if not k.outside),
        )
    ]
    return min(frames) if frames else None


def _at_frame(aset: AnnotationSet, frame: int | None) -> list[tuple[str, str | None, Shape]]:
    """(id, label, shape) of what `aset` shows at `frame`: its regions on that frame (or
    without a frame) and its tracks' shapes there (interpolated as `bridge.qa.tracks` does)."""
    found: list[tuple[str, str | None, Shape]] = [
        (r.id, r.label, r.shape) for r in aset.regions if r.frame == frame
    ]
    if frame is not None and aset.tracks:
        from bridge.qa.errors import QAError
        from bridge.qa.tracks import track_shapes

        for track in aset.tracks:
            try:
                shape = track_shapes(track, frame + 1).get(frame)
            except QAError:  # two keyframes on one frame: the track is not drawn
                continue
            if shape is not None:
                found.append((track.id, track.label, shape))
    return found


def snapshot(view: ItemView, disagreement: float) -> dict[str, Any]:
    media = view.item.media
    frame = first_frame(view)
    sets = []
    for role, subs in (("gold", view.gold), ("annotator", view.human)):
        for sub in subs:
            regions = [
                {"id": rid, "label": label, "shape": shape.model_dump(mode="json")}
                for rid, label, shape in _at_frame(sub.aset, frame)
                if drawable(shape)
            ]
            spans = [
                {
                    "id": r.id,
                    "label": r.label,
                    "start": r.shape.start,
                    "end": r.shape.end,
                    "text": _covered(media.text, r.shape),
                }
                for r in sub.aset.regions
                if isinstance(r.shape, Span) and r.shape.container is None
            ]
            sets.append(
                {
                    "role": role,
                    "annotator": "gold" if role == "gold" else sub.who,
                    "set": sub.id,
                    "tool": sub.tool,
                    "regions": regions,
                    "spans": spans,
                    "answers": [
                        f"{c.name}={a.value}" for c in sub.aset.classifications for a in c.answers
                    ],
                }
            )
    return {
        "item": view.key,
        "disagreement": disagreement,
        "frame": frame,
        "media": {
            "kind": media.kind,
            "uri": media.uri,
            "width": media.width,
            "height": media.height,
            "text": media.text[:TEXT_CHARS] if media.text else None,
        },
        "sets": sets,
    }


def _covered(text: str | None, shape: Span) -> str | None:
    if shape.text is not None:
        return shape.text
    if text is None or shape.start is None or shape.end is None:
        return None
    return text[shape.start : shape.end]


class Gallery:
    """The bounded heap of the most-disagreed items (see the module docstring)."""

    def __init__(self, size: int = 12):
        self.size = size
        self._heap: list[_Entry] = []
        self._seq = 0

    def add(self, view: ItemView, disagreement: float | None) -> None:
        self._seq += 1
        if disagreement is None or disagreement <= 0 or self.size <= 0:
            return
        probe = _Entry(disagreement, -self._seq, {})
        if len(self._heap) >= self.size and probe <= self._heap[0]:
            return
        probe.snapshot = snapshot(view, disagreement)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, probe)
        else:
            heapq.heapreplace(self._heap, probe)

    def result(self) -> list[dict[str, Any]]:
        return [entry.snapshot for entry in sorted(self._heap, reverse=True)]
