"""The corpus test (issue 9, "Tests"): every real export under tests/fixtures is read,
written by its own tool's writer and by each other tool's writer, and read back. What did
not arrive must be accounted for by the loss report.

Counted per file, before and after: annotation sets, regions by kind, tracks, keyframes,
classifications (on sets, regions and tracks), keyframe answers (where they change) and
relations. An element
is accounted for when the report names its category (`LOSS_CATEGORIES`, by loss code), or
when it sat inside a container that did not arrive and that the report names (a dropped
annotation set takes its regions along, a dropped track its keyframes).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import get_args

import pytest

from bridge import api
from bridge.losses import LossReport
from bridge.schema import RegionKind

FIXTURES = Path(__file__).parent / "fixtures"
EXTENSIONS = {"cvat": ".xml", "labelbox": ".ndjson", "labelstudio": ".json"}
ALL = "*"


def _sources() -> list[tuple[str, Path, dict]]:
    sources = [("cvat", p, {}) for p in sorted((FIXTURES / "cvat").glob("*.xml"))]
    sources += [("labelbox", p, {}) for p in sorted((FIXTURES / "labelbox").glob("*.ndjson"))]
    for path in sorted((FIXTURES / "labelstudio").glob("real_*.json")):
        config = FIXTURES / "labelstudio" / "configs" / f"{path.stem[5:].removesuffix('_sync')}.xml"
        sources.append(("labelstudio", path, {"label_config": str(config)}))
    return sources


SOURCES = _sources()

# ---------------------------------------------------------------------- the counts

REGION_KINDS = get_args(RegionKind)
CONTENT = (
    "sets",
    "tracks",
    "keyframes",
    "classifications",
    "keyframe_answers",
    "relations",
    *(f"regions:{k}" for k in REGION_KINDS),
)


def changed_answers(keyframes) -> int:
    """Keyframe answers that say something new: those on a keyframe whose answers differ
    from the previous keyframe's (CVAT repeats every attribute on every frame)."""
    count, previous = 0, []
    for keyframe in sorted(keyframes, key=lambda k: k.frame):
        if keyframe.classifications and keyframe.classifications != previous:
            count += len(keyframe.classifications)
        previous = keyframe.classifications or previous
    return count


def _first_frame(track) -> int | None:
    return min((k.frame for k in track.keyframes if not k.outside), default=None)


def census(items) -> tuple[Counter, list[tuple[str, tuple, Counter]]]:
    """(counts of the elements of `items`, its containers as (category, signature,
    contents)): annotation sets, regions (signature: label) and tracks (label, first
    visible frame)."""
    total: Counter = Counter()
    containers: list[tuple[str, tuple, Counter]] = []
    for item in items:
        for number, aset in enumerate(item.annotation_sets):
            inside: Counter = Counter(
                classifications=len(aset.classifications), relations=len(aset.relations)
            )
            for region in aset.regions:
                held = Counter(classifications=len(region.classifications))
                category = f"regions:{region.shape.type}"
                containers.append((category, (region.label,), held))
                inside[category] += 1
                inside.update(held)
            for track in aset.tracks:
                held = Counter(
                    keyframes=len(track.keyframes),
                    classifications=len(track.classifications),
                    keyframe_answers=changed_answers(track.keyframes),
                )
                containers.append(("tracks", (track.label, _first_frame(track)), held))
                inside["tracks"] += 1
                inside.update(held)
            containers.append(("sets", (number,), inside))
            total["sets"] += 1
            total.update(inside)
    return +total, containers


# ----------------------------------------------------------- what each loss accounts for

REGIONS_AND_TRACKS = (*(f"regions:{k}" for k in REGION_KINDS), "tracks", "keyframes")
LOSS_CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    # Label Studio writer
    (r"unsupported-track", ("tracks",)),
    (r"unsupported-(?P<kind>[a-z_0-9]+)(-on-[a-z]+)?", ("regions:{kind}", "tracks")),
    (r"no-control-(?P<kind>[a-z_0-9]+)", ("regions:{kind}",)),
    (r"(tag-as-choices|duplicate-tag)", ("regions:tag",)),
    (r"span-unplaceable", ("regions:span",)),
    (r"(single-frame-shape|size-unknown|empty-label)", (*REGIONS_AND_TRACKS, "relations")),
    (r"(interpolated-frames-dropped|outside-while-hidden)", ("keyframes",)),
    (r"(tag-attributes-dropped|nested-answers-dropped|no-control-question)", ("classifications",)),
    (r"keyframe-attributes-dropped", ("keyframe_answers",)),
    # CVAT writer
    (r"cvat\.no_(?P<kind>[a-z_0-9]+)", ("regions:{kind}", "tracks")),
    (r"cvat\.extra_annotation_sets", ("sets",)),
    (r"cvat\.set_classification", ("classifications",)),
    (r"cvat\.relation", ("relations",)),
    (r"cvat\.percent_units", REGIONS_AND_TRACKS),
    (r"cvat\.unlabeled_region", (*REGIONS_AND_TRACKS, "relations")),
    # Labelbox writer
    (r"labelbox-(?P<kind>[a-z_0-9]+)-unsupported", ("regions:{kind}", "tracks")),
    (r"labelbox-mask-without-url", ("regions:mask",)),
    (r"labelbox-span-(without-offsets|across-messages)", ("regions:span",)),
    (r"labelbox-unnamed", (*REGIONS_AND_TRACKS, "relations", "classifications")),
    (r"labelbox-percent-shape", REGIONS_AND_TRACKS),
    (r"(labelbox-)?points-split", ("regions:skeleton", "regions:points")),  # kind changed
    (r"labelbox-outside-while-hidden", ("keyframes",)),
    (r"labelbox-answers-while-outside", ("keyframe_answers",)),
    (r"labelbox-track-answers-per-frame", ("classifications",)),  # now keyframe answers
]


def categories(code: str) -> tuple[str, ...]:
    for pattern, cats in LOSS_CATEGORIES:
        match = re.fullmatch(pattern, code)
        if match:
            return tuple(c.format(**match.groupdict()) for c in cats)
    return ()


def unaccounted(
    before: Counter, containers: list, after: Counter, arrived: list, losses: LossReport
) -> dict[str, int]:
    """The categories with more elements missing than the report accounts for. A container
    (set, region, track) of the source that has no counterpart of the same signature in
    the output is gone; the contents of as many of them as the report names may be
    missing (the largest first)."""
    direct: Counter = Counter()
    for loss in losses:
        for category in categories(loss.code):
            direct[category] += loss.count
    remaining = Counter((category, signature) for category, signature, _ in arrived)
    gone: dict[str, list[Counter]] = {}
    for category, signature, held in containers:
        if remaining[(category, signature)] > 0:
            remaining[(category, signature)] -= 1
        else:
            gone.setdefault(category, []).append(held)
    allowed = Counter(direct)
    for category, held in gone.items():
        named = min(direct[category], len(held))
        for content in CONTENT:
            allowed[content] += sum(sorted((c[content] for c in held), reverse=True)[:named])
    missing = {c: before[c] - after[c] for c in before if before[c] > after[c]}
    return {c: n - allowed[c] for c, n in missing.items() if n > allowed[c]}


# ---------------------------------------------------------------- the trips

KNOWN: dict[tuple[str, str], str] = {}
"""(source, target) trips failing in other plugins' writers, with the issue point."""

TRIPS = [
    pytest.param(
        tool,
        path,
        options,
        target,
        id=f"{path.name}->{target}",
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN[(path.name, target)])]
        if (path.name, target) in KNOWN
        else [],
    )
    for tool, path, options in SOURCES
    for target in EXTENSIONS
]


def test_the_corpus_holds_every_real_export():
    names = {path.name for _, path, _ in SOURCES}
    assert {"for_video.xml", "export_v2_image_classification.ndjson", "real_ner.json"} <= names
    assert len(SOURCES) >= 17


@pytest.mark.parametrize(("tool", "path", "options", "target"), TRIPS)
def test_every_element_arrives_or_is_reported(tool, path, options, target, tmp_path):
    before, containers = census(api.open_dataset(path, tool, **options).items)
    assert before["sets"] > 0 or path.stem.startswith("real_flat_tasks")  # import form: no work yet
    out = tmp_path / f"out{EXTENSIONS[target]}"
    losses = api.convert(path, out, from_format=tool, to_format=target, **options)
    back_losses = LossReport()
    after, arrived = census(api.open_dataset(out, target, back_losses).items)
    losses.merge(back_losses)
    assert unaccounted(before, containers, after, arrived, losses) == {}
