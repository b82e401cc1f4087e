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

from bridge.errors import FormatError
from bridge.losses import LossReport
from bridge.schema import Answer, Classification

from .checks import MAX_NESTING, a_list, an_object, identifier, required

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


def read_classifications(raws: Any, losses: LossReport, where: str, depth: int = 0) -> list[dict]:
    """Every classification of an export list (nested ones included), as unified
    `Classification` data (plain dicts: the item is validated once, as a whole). `depth`
    counts the answers above this list: past `MAX_NESTING` the input is refused."""
    if not raws:
        return []
    if type(raws) is not list:
        a_list(raws, "classifications")
    if depth > MAX_NESTING:
        raise FormatError(
            f"classifications nest more than {MAX_NESTING} levels deep",
            where=where,
            hint="Labelbox nests classifications a few levels at most; is the file genuine?",
        )
    return [read_classification(raw, losses, where, depth) for raw in raws]


def _source(feature_id: Any) -> dict:
    return {"tool": TOOL, "region": identifier(feature_id, "a classification's feature_id")}


def _read_option(raw: Any, losses: LossReport, where: str, depth: int) -> dict:
    if type(raw) is not dict:
        an_object(raw, "an answer")
    name = raw.get("name")
    if type(name) is not str:
        name = identifier(required(raw, "name", "an answer"), "an answer's name")
    option = {"value": name, "extra": {k: v for k, v in raw.items() if k not in _OPTION_CONSUMED}}
    feature_id = raw.get("feature_id")
    if type(feature_id) is str:
        option["source"] = {"tool": TOOL, "region": feature_id}
    elif feature_id is not None:
        option["source"] = _source(feature_id)
    nested = raw.get("classifications")
    if nested:
        option["classifications"] = read_classifications(nested, losses, where, depth + 1)
    return option


def _read_text(raw: Any, losses: LossReport, where: str, depth: int) -> dict:
    if type(raw) is not dict:
        an_object(raw, "a text_answer")
    # an empty `classifications` list stays in `extra` so that it comes back as it was
    nested = raw.get("classifications")
    consumed = _TEXT_CONSUMED if nested else _CONTENT
    content = raw.get("content", "")
    text = {
        "value": content if type(content) is str else identifier(content, "a text answer"),
        "extra": {k: v for k, v in raw.items() if k not in consumed},
    }
    if nested:
        text["classifications"] = read_classifications(nested, losses, where, depth + 1)
    return text


def _answer_key(raw: dict) -> str | None:
    """The first key of `ANSWER_KEYS` that `raw` has."""
    for key in ANSWER_KEYS:
        if key in raw:
            return key
    return None


def read_classification(raw: Any, losses: LossReport, where: str, depth: int = 0) -> dict:
    """One export classification as a unified `Classification` record (the plain kinds
    are looked for first: they are what nearly every export holds)."""
    if type(raw) is not dict:
        an_object(raw, "a classification")
    if "radio_answer" in raw:
        answer_key, kind, conversational = "radio_answer", "radio", False
    elif "checklist_answers" in raw:
        answer_key, kind, conversational = "checklist_answers", "checklist", False
    elif "text_answer" in raw:
        answer_key, kind, conversational = "text_answer", "text", False
    else:
        answer_key = _answer_key(raw)
        if answer_key is None:
            return _unknown(raw, losses, where)
        kind, conversational = ANSWER_KEYS[answer_key]
    name = raw.get("name")
    if type(name) is not str:
        name = identifier(required(raw, "name", "a classification"), "a classification's name")
    value = raw[answer_key]
    if kind == "radio":
        answers = [_read_option(value, losses, where, depth)]
    elif kind == "checklist":
        answers = [
            _read_option(option, losses, where, depth) for option in a_list(value, answer_key)
        ]
    else:
        answers = [_read_text(value, losses, where, depth)]
    extra = {k: v for k, v in raw.items() if k not in _QUESTION_CONSUMED}
    extra[KIND_KEY] = kind
    if conversational:
        extra[CONVERSATIONAL_KEY] = True
    classification = {"name": name, "answers": answers, "extra": extra}
    feature_id = raw.get("feature_id")
    if type(feature_id) is str:
        classification["source"] = {"tool": TOOL, "region": feature_id}
    elif feature_id is not None:
        classification["source"] = _source(feature_id)
    return classification


def _unknown(raw: dict, losses: LossReport, where: str) -> dict:
    name = identifier(required(raw, "name", "a classification"), "a classification's name")
    losses.record(
        "labelbox-classification-unknown",
        f"a classification of an unknown kind is kept only for a Labelbox round trip: {name}",
        where=where,
        severity="unmapped",
    )
    return {"name": name, "answers": [], "extra": {RAW_KEY: raw}}


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


def answer_text(value: Any) -> str:
    """A text answer's content: a yes/no value (a CVAT checkbox) as JSON spells it, "true"
    or "false", not Python's "True"."""
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


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
        body: dict[str, Any] = {"content": answer_text(text.value), **text.extra}
        if text.classifications:
            body["classifications"] = write_classifications(text.classifications)
        out[prefix + "text_answer"] = body
    return out


def write_classifications(classifications: list[Classification]) -> list[dict[str, Any]]:
    return [write_classification(classification) for classification in classifications]
