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
import reprlib
from datetime import UTC, datetime
from typing import Any

from bridge.errors import FormatError


def optional_text(value: Any, what: str) -> str | None:
    """`value` when it is a string or None (a label name, a URI, a MIME type)."""
    if value is None or isinstance(value, str):
        return value
    raise FormatError(f"{what} must be a string, not {type(value).__name__} {show(value)}")


def non_finite(what: str) -> FormatError:
    return FormatError(f"{what} must be a finite number (not NaN or infinity)")


def finite(value: float, what: str) -> float:
    """`value` (a float) unless it is NaN or infinite (`x - x` is 0 only for finite x)."""
    if value - value:
        raise non_finite(what)
    return value


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
            raise FormatError(f"timestamp {show(raw)} is out of range in UTC") from None
    return value.isoformat()


# ------------------------------------------------------------------ shapes of the input
# The reader checks the export's structure where it reads it and says what is wrong in
# Labelbox's own terms; nothing turns a KeyError or TypeError into a FormatError after the
# fact (such errors would hide the reader's own bugs from the fuzz tests).

NUMBER_TYPES = (int, float)
MAX_NESTING = 32
"""How deep classifications may nest (answer -> question -> answer ...): Labelbox's editor
allows a handful of levels; deeper input is refused before Python's recursion limit."""


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 40


def show(value: Any) -> str:
    """A short, bounded rendering of an input value for an error message (a huge list or
    integer is not rendered whole)."""
    if type(value) is int and not -(10**40) < value < 10**40:
        return "a very large integer"
    return _REPR.repr(value)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def an_object(value: Any, what: str) -> dict:
    """`value` when it is a JSON object."""
    if type(value) is not dict:
        raise FormatError(f"{what} must be an object, not {_kind(value)} {show(value)}")
    return value


def a_list(value: Any, what: str) -> list:
    """`value` when it is a JSON array."""
    if type(value) is not list:
        raise FormatError(f"{what} must be a list, not {_kind(value)} {show(value)}")
    return value


def required(raw: dict, key: str, what: str) -> Any:
    """`raw[key]`, or a FormatError naming the missing key."""
    if key not in raw:
        raise FormatError(f"{what} has no {key!r}")
    return raw[key]


def number(value: Any, what: str) -> float:
    """A finite JSON number as a float (booleans and numeric strings are not numbers)."""
    kind = type(value)
    if kind is float:
        return finite(value, what)
    if kind is int:
        if -(2**1000) < value < 2**1000:
            return float(value)
        raise FormatError(f"{what} is out of range: {show(value)}")
    raise FormatError(f"{what} must be a number, not {_kind(value)} {show(value)}")


def integer(value: Any, what: str) -> int:
    """A JSON integer (a float with no fraction is taken as the integer it is)."""
    kind = type(value)
    if kind is int:
        return value
    if kind is float and value.is_integer():
        return int(value)
    raise FormatError(f"{what} must be an integer, not {_kind(value)} {show(value)}")


def frame_number(raw: Any, what: str) -> int:
    """A Labelbox video frame number (1-based): an integer or the digits of one (the keys
    of `frames`). Zero and negative frames are refused: no Labelbox export has them."""
    if type(raw) is str:
        if not raw.isascii() or not raw.isdigit():
            raise FormatError(f"{what} must be a frame number, not {show(raw)}")
        frame = int(raw)
    else:
        frame = integer(raw, what)
    if frame < 1:
        raise FormatError(
            f"{what} is {frame}: Labelbox frames are numbered from 1",
            hint="a frame number must be 1 or more",
        )
    return frame


def identifier(value: Any, what: str) -> str:
    """A feature id, data row id or name given as a string or an integer, as text."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int and -(10**100) < value < 10**100:
        return str(value)
    raise FormatError(f"{what} must be a string, not {_kind(value)} {show(value)}")
