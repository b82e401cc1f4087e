"""The checks that keep the reader's item records valid by construction.

`convert.task_record` hands the JSONL writer a task's unified item as plain data, which
is dumped without pydantic. Values the reader computes are valid by construction (shape
numbers go through `read_results._number`, ids are turned into strings, statuses are
fixed words); the values it passes through from the export into typed fields of the
schema (a label, a score, an e-mail, a timestamp) are checked here, where they are read.

A value these checks cannot vouch for marks the task *doubtful* (`ReadContext.doubtful`)
instead of failing: the task's record is then validated by pydantic exactly as the
validated stream does it, which raises the same `FormatError` for a value pydantic
refuses and coerces one it accepts (`"3.5"` as a lead time). An odd value costs time,
never a different result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

_DATETIME = TypeAdapter(datetime)


def text(value: Any, ctx) -> Any:
    """`value` for a `str | None` field; anything else makes the task doubtful."""
    if value is not None and type(value) is not str:
        ctx.doubtful = True
    return value


def name(value: Any, ctx) -> Any:
    """`value` for a required `str` field (a question's name)."""
    if type(value) is not str:
        ctx.doubtful = True
    return value


def number(value: Any, ctx) -> Any:
    """`value` for a `float | None` field: an int or a finite float (`x - x` is 0.0 only
    for finite x) passes; a string, a bool or NaN makes the task doubtful."""
    if value is None or type(value) is int:
        return value
    if type(value) is not float or value - value:
        ctx.doubtful = True
    return value


def timestamp(value: Any, ctx) -> Any:
    """`value` for a `datetime | None` field: a text pydantic reads as a datetime passes
    (the record keeps the text; the JSONL reader parses it with the same parser); a
    number (a Unix time to pydantic) or anything else makes the task doubtful."""
    if value is None:
        return value
    if type(value) is not str:
        ctx.doubtful = True
        return value
    try:
        _DATETIME.validate_python(value)
    except ValidationError:
        ctx.doubtful = True
    return value
