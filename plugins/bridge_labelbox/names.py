"""No Labelbox file gets an object, relationship, question or answer without a name.

Labelbox finds a feature by its name (or schema id): an import row with `"name": null`
or `""` is refused by Labelbox, and an export line with one cannot be read back as what
it was. Elements from other tools may have no label (a Label Studio region whose label
was lost, a CVAT shape of an empty label): both writers take the annotation set through
`named_only`, which leaves such elements out and counts each in the loss report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Answer, Classification, Keyframe

from .classifications import RAW_KEY, question_kind

CODE = "labelbox-unnamed"


def _record(losses: LossReport, what: str, where: str, count: int = 1) -> None:
    losses.record(
        CODE,
        f"Labelbox names every feature; {what} without a name was left out",
        where=where,
        count=count,
    )


def _answers(classification: Classification, losses: LossReport, where: str) -> list[Answer] | None:
    """The answers with a name (a text answer may be empty), None if all were kept."""
    text = question_kind(classification) == "text"
    kept, changed = [], False
    for answer in classification.answers:
        if not text and (answer.value is None or str(answer.value) == ""):
            _record(losses, f"an answer to {classification.name!r}", where)
            changed = True
            continue
        nested = named_classifications(answer.classifications, losses, where)
        if nested is not None:
            answer = answer.model_copy(update={"classifications": nested})
            changed = True
        kept.append(answer)
    return kept if changed else None


def named_classifications(
    classifications: list[Classification], losses: LossReport, where: str
) -> list[Classification] | None:
    """`classifications` without unnamed questions and answers (nested ones too), or None
    when nothing had to go."""
    if not classifications:
        return None
    kept, changed = [], False
    for classification in classifications:
        if RAW_KEY in classification.extra:  # written back verbatim, as Labelbox wrote it
            kept.append(classification)
            continue
        if not classification.name:
            _record(losses, "a question", where)
            changed = True
            continue
        answers = _answers(classification, losses, where)
        if answers is not None:
            changed = True
            if not answers:
                _record(
                    losses, f"the question {classification.name!r} (no named answer left)", where
                )
                continue
            classification = classification.model_copy(update={"answers": answers})
        kept.append(classification)
    return kept if changed else None


def _keyframes(keyframes: list[Keyframe], losses: LossReport, where: str) -> list[Keyframe] | None:
    out, changed = [], False
    for keyframe in keyframes:
        nested = named_classifications(keyframe.classifications, losses, where)
        if nested is not None:
            keyframe = keyframe.model_copy(update={"classifications": nested})
            changed = True
        out.append(keyframe)
    return out if changed else None


def _labelled(
    elements: list[Any],
    what: Callable[[Any], str],
    field: str,
    nested: Callable[[Any, LossReport, str], list | None],
    losses: LossReport,
    where: str,
) -> tuple[list[Any], bool]:
    """The `elements` (regions or tracks) with a label, each with its `field` put through
    `nested`; and whether anything was left out or changed."""
    kept, changed = [], False
    for element in elements:
        if not element.label:
            _record(losses, what(element), where)
            changed = True
            continue
        inner = nested(getattr(element, field), losses, where)
        if inner is not None:
            element = element.model_copy(update={field: inner})
            changed = True
        kept.append(element)
    return kept, changed


def named_only(annotation_set: AnnotationSet, losses: LossReport, where: str) -> AnnotationSet:
    """`annotation_set` without regions, tracks, relations, questions or answers that have
    no name (each counted in the loss report); the same object when all are named."""
    update: dict = {}
    regions, changed = _labelled(
        annotation_set.regions,
        lambda region: f"a {region.shape.type} object",
        "classifications",
        named_classifications,
        losses,
        where,
    )
    if changed:
        update["regions"] = regions
    tracks, changed = _labelled(
        annotation_set.tracks,
        lambda _: "a video object (track)",
        "keyframes",
        _keyframes,
        losses,
        where,
    )
    if changed:
        update["tracks"] = tracks
    kept_ids = {r.id for r in regions} | {t.id for t in tracks}
    all_ids = {r.id for r in annotation_set.regions} | {t.id for t in annotation_set.tracks}
    relations = []
    for relation in annotation_set.relations:
        if not relation.label:
            _record(losses, "a relationship", where)
            update["relations"] = relations
        elif {relation.from_id, relation.to_id} & (all_ids - kept_ids):
            losses.record(
                "labelbox-relation-dangling",
                "a relationship to an object left out was left out too",
                where=where,
            )
            update["relations"] = relations
        else:
            relations.append(relation)
    nested = named_classifications(annotation_set.classifications, losses, where)
    if nested is not None:
        update["classifications"] = nested
    return annotation_set.model_copy(update=update) if update else annotation_set
