"""Labelbox classifications (radio, checklist, free text; nested) <-> unified ones.

In an export v2 file a classification is a question `name` (with its `feature_id`,
`feature_schema_id` and ontology `value`) and one of:

* `radio_answer`: `{name, value, feature_id, feature_schema_id, classifications}`;
* `checklist_answers`: a list of such answers;
* `text_answer`: `{content, classifications?}`;

or, on conversational data rows, the same under `conversational_radio_answer`,
`conversational_checklist_answers`, `conversational_text_answer` with a `message_id`.
Every answer may carry nested `classifications` (Labelbox "nested classifications").

Unified: a `Classification` named like the question, one `Answer` per chosen option (its
`value` is the option's name, or the text) and the nested questions under each answer.
What the unified model has no field for (`feature_schema_id`, the ontology `value`, the
Labelbox kind) rides in `extra` and comes back on the way out.
"""

from __future__ import annotations

from typing import Any

from bridge.losses import LossReport
from bridge.schema import Answer, Classification

TOOL = "labelbox"

ANSWER_KEYS: dict[str, tuple[str, bool]] = {
    "radio_answer": ("radio", False),
    "checklist_answers": ("checklist", False),
    "text_answer": ("text", False),
    "conversational_radio_answer": ("radio", True),
    "conversational_checklist_answers": ("checklist", True),
    "conversational_text_answer": ("text", True),
}
"""Export key of the answer -> (Labelbox question kind, conversational?)."""

KIND_KEY = "lb_kind"
CONVERSATIONAL_KEY = "lb_conversational"
RAW_KEY = "lb_raw"
_QUESTION_CONSUMED = {"name", "feature_id", "classifications", *ANSWER_KEYS}
_OPTION_CONSUMED = {"name", "feature_id", "classifications"}
_TEXT_CONSUMED = {"content", "classifications"}
_CONTENT = {"content"}
_CONVERSATIONAL_KEYS = tuple(key for key in ANSWER_KEYS if key.startswith("conversational_"))


def read_classifications(raws: Any, losses: LossReport, where: str) -> list[dict]:
    """Every classification of an export list (nested ones included), as unified
    `Classification` data (plain dicts: the item is validated once, as a whole)."""
    if not raws:
        return []
    if not isinstance(raws, list):
        raise TypeError("classifications must be a list")
    return [read_classification(raw, losses, where) for raw in raws]


def _read_option(raw: dict, losses: LossReport, where: str) -> dict:
    value = str(raw["name"])
    nested = raw.get("classifications")
    feature_id = raw.get("feature_id")
    return {
        "value": value,
        "classifications": read_classifications(nested, losses, where) if nested else [],
        "source": None if feature_id is None else {"tool": TOOL, "region": str(feature_id)},
        "extra": {k: v for k, v in raw.items() if k not in _OPTION_CONSUMED},
    }


def _read_text(raw: dict, losses: LossReport, where: str) -> dict:
    # an empty `classifications` list stays in `extra` so that it comes back as it was
    nested = raw.get("classifications")
    consumed = _TEXT_CONSUMED if nested else _CONTENT
    return {
        "value": str(raw.get("content", "")),
        "classifications": read_classifications(nested, losses, where) if nested else [],
        "extra": {k: v for k, v in raw.items() if k not in consumed},
    }


def _answer_key(raw: dict) -> str | None:
    """The first key of `ANSWER_KEYS` that `raw` has (the plain kinds are checked first:
    they are what nearly every export holds)."""
    if "radio_answer" in raw:
        return "radio_answer"
    if "checklist_answers" in raw:
        return "checklist_answers"
    if "text_answer" in raw:
        return "text_answer"
    for key in _CONVERSATIONAL_KEYS:
        if key in raw:
            return key
    return None


def read_classification(raw: dict, losses: LossReport, where: str) -> dict:
    """One export classification as unified `Classification` data."""
    answer_key = _answer_key(raw)
    name = str(raw["name"])
    if answer_key is None:
        losses.record(
            "labelbox-classification-unknown",
            "a classification of an unknown kind is kept only for a Labelbox round trip",
            where=where, severity="unmapped",
        )  # fmt: skip
        return {"name": name, "answers": [], "extra": {RAW_KEY: raw}}
    kind, conversational = ANSWER_KEYS[answer_key]
    value = raw[answer_key]
    if kind == "radio":
        answers = [_read_option(value, losses, where)]
    elif kind == "checklist":
        answers = [_read_option(option, losses, where) for option in value]
    else:
        answers = [_read_text(value, losses, where)]
    extra = {k: v for k, v in raw.items() if k not in _QUESTION_CONSUMED}
    extra[KIND_KEY] = kind
    if conversational:
        extra[CONVERSATIONAL_KEY] = True
    feature_id = raw.get("feature_id")
    return {
        "name": name,
        "answers": answers,
        "source": None if feature_id is None else {"tool": TOOL, "region": str(feature_id)},
        "extra": extra,
    }


# ------------------------------------------------------------------------------ writing


def _kind(stored: Any, answers: list, first_value: Any) -> str:
    if stored in ("radio", "checklist", "text"):
        return stored
    if len(answers) > 1:
        return "checklist"
    if answers and not isinstance(first_value, str):
        return "text"
    return "radio"


def question_kind(classification: Classification) -> str:
    """ "radio", "checklist" or "text": from the Labelbox kind it was read as, else guessed
    (several answers: a checklist; a non-text value: text; one answer: a radio)."""
    answers = classification.answers
    first = answers[0].value if answers else None
    return _kind(classification.extra.get(KIND_KEY), answers, first)


def record_question_kind(classification: dict) -> str:
    """`question_kind` of a classification record (plain data, defaults maybe left out)."""
    answers = classification.get("answers") or []
    first = answers[0]["value"] if answers else None
    return _kind((classification.get("extra") or {}).get(KIND_KEY), answers, first)


def _feature_id(element) -> dict[str, str]:
    if element.source is not None and element.source.tool == TOOL and element.source.region:
        return {"feature_id": element.source.region}
    return {}


def _write_option(answer: Answer) -> dict[str, Any]:
    return {
        **_feature_id(answer),
        "name": str(answer.value),
        **answer.extra,
        "classifications": write_classifications(answer.classifications),
    }


def write_classification(classification: Classification) -> dict[str, Any]:
    """One unified classification as an export v2 classification."""
    if RAW_KEY in classification.extra:
        return classification.extra[RAW_KEY]
    kind = question_kind(classification)
    extra = {
        k: v for k, v in classification.extra.items() if k not in (KIND_KEY, CONVERSATIONAL_KEY)
    }
    prefix = "conversational_" if classification.extra.get(CONVERSATIONAL_KEY) else ""
    out: dict[str, Any] = {**_feature_id(classification), "name": classification.name, **extra}
    answers = classification.answers
    if kind == "checklist":
        out[prefix + "checklist_answers"] = [_write_option(answer) for answer in answers]
    elif kind == "radio" and answers:
        out[prefix + "radio_answer"] = _write_option(answers[0])
    elif answers:
        text = answers[0]
        body: dict[str, Any] = {"content": str(text.value), **text.extra}
        if text.classifications:
            body["classifications"] = write_classifications(text.classifications)
        out[prefix + "text_answer"] = body
    return out


def write_classifications(classifications: list[Classification]) -> list[dict[str, Any]]:
    return [write_classification(classification) for classification in classifications]
