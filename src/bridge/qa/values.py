"""Answer values as the metrics see them: which count as missing, and one total order.

A *missing* value is `None` or a float NaN (numpy floats included): the rater gave no
answer to that unit. The *value order* sorts numbers (bool, int, float) by value before
strings (by text) before anything else (by `repr`); the metrics use it for the default label
order (Cohen's weighted kappa, ordinal alpha on numbers) and to break ties deterministically
(majority vote).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from numbers import Real
from typing import Any


def is_missing(value: object) -> bool:
    """True for None and NaN (Python or numpy float)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (bool, int, str)):
        return False
    return isinstance(value, Real) and math.isnan(float(value))


def value_key(value: object) -> tuple[int, Any]:
    """The sort key of the value order: numbers, then strings, then the rest by repr."""
    if isinstance(value, Real):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    return (2, repr(value))


def ordered_values(values: Iterable[Hashable]) -> list[Hashable]:
    """The distinct non-missing `values` in the value order."""
    distinct = {value for value in values if not is_missing(value)}
    return sorted(distinct, key=value_key)
