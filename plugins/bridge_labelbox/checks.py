"""The checks that make the reader's item records valid by construction.

`convert.item_record` builds the unified item as plain data, and the JSONL writer dumps
that data without pydantic. So every value the reader passes through from the export must
already be what `Item.model_validate` would accept: a string where the schema says
`str | None`, a finite number where it says `float` (`float("nan")` is a float, but the
schema refuses NaN and infinity), a timestamp text that pydantic reads as the instant
Python read. What fails here is a `FormatError` (the reader adds file and line).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import chain
from math import isfinite
from typing import Any

from bridge.errors import FormatError


def optional_text(value: Any, what: str) -> str | None:
    """`value` when it is a string or None (a label name, a URI, a MIME type)."""
    if value is None or isinstance(value, str):
        return value
    raise FormatError(f"{what} must be a string, not {type(value).__name__} {value!r:.40}")


def non_finite(what: str) -> FormatError:
    return FormatError(f"{what} must be a finite number (not NaN or infinity)")


def finite(value: float, what: str) -> float:
    """`value` (a float) unless it is NaN or infinite (`x - x` is 0 only for finite x)."""
    if value - value:
        raise non_finite(what)
    return value


def finite_points(points: list[tuple[float, float]], what: str) -> list[tuple[float, float]]:
    """`points` unless a coordinate is NaN or infinite (checked in C: `map`, `chain`)."""
    if not all(map(isfinite, chain.from_iterable(points))):
        raise non_finite(what)
    return points


RFC_3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)?").fullmatch
"""Timestamps that both Python and pydantic read, and read alike (once Python read them)."""


def _sub_minute_offset(value: datetime) -> bool:
    offset = value.utcoffset()
    return offset is not None and bool(offset.seconds % 60 or offset.microseconds)


def timestamp(raw: Any) -> str | None:
    """An export timestamp as ISO 8601 text that pydantic reads as the same instant, or
    None when `raw` is not a timestamp Python reads (what the reader always did).

    Python's `fromisoformat` reads forms pydantic does not (`20240223T0614`, offsets with
    seconds): the text is Python's own `isoformat()` of what it read, and an offset with
    seconds (which JSON writers cut to minutes) is turned into UTC."""
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if RFC_3339(raw):  # Labelbox's own form: pydantic reads it as it is
        return raw
    if _sub_minute_offset(value):
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise FormatError(f"timestamp {raw!r:.40} is out of range in UTC") from None
    return value.isoformat()
