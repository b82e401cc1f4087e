"""Krippendorff's alpha: agreement of any number of raters, with missing ratings, at four
levels of measurement.

**Reliability data** is a raters x units matrix (as the `krippendorff` package takes it):
row r holds rater r's value for each unit, None or NaN where the rater gave none. A unit
with at least two values is *pairable*; the others add nothing. In a pairable unit u with
m_u values, every ordered pair of values (c, k) given by two different raters adds
1 / (m_u - 1) to the *coincidence matrix* o[c, k]. With n_c = sum_k o[c, k] (how many
pairable values are c), n = sum_c n_c and a distance d(c, k),

    alpha = 1 - (n - 1) * sum_ck o[c, k] d(c, k) / sum_ck n_c n_k d(c, k)

(observed over expected disagreement; Krippendorff 2011, "Computing Krippendorff's
Alpha-Reliability"). The distances by `level`:

| level | d(c, k) |
|---|---|
| nominal | 0 if c = k else 1 |
| ordinal | (sum of n_g for g from c to k, minus (n_c + n_k) / 2)^2, ranks in value order |
| interval | (c - k)^2 |
| ratio | ((c - k) / (c + k))^2 (0 when c + k = 0) |

Values are numbers or, for nominal data, any hashable (strings, tuples). Ordinal data in
strings needs `value_domain` (the values in their order); interval and ratio need numbers.
Missing is None or NaN; in an array of strings every string is a value (numpy turns a NaN
put into a string array into the text "nan", which the `krippendorff` package then treats as
missing; here, give such data as a list or an object array holding None).

**Streaming forms**: `value_counts` (units x values: how many raters gave each value to
each unit, as the `krippendorff` package takes it; rows can be fed in any chunking) and
`alpha_from_coincidences` (a coincidence matrix summed over chunks of units).

**Cost**: with few distinct values (<= 64) the coincidences are built from per-unit value
counts (`np.bincount`, chunks of units, a small matrix product), so memory is the input
plus O(units) temporaries; with more values, distances are computed per pair of raters
directly on the values (no values x values matrix per unit, no units x values matrix).

**Degenerate input** follows the `krippendorff` package where it raises, and raises a
`QAError` where it would return NaN: no pairable unit (no unit rated twice); a single
distinct value among the pairable values (no variation: alpha is 0/0). All raters agreeing
on units with different values is not degenerate: alpha = 1.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from bridge.qa.errors import QAError
from bridge.qa.values import is_missing, ordered_values

if TYPE_CHECKING:
    from typing import TypeAlias

    import numpy as np
    import numpy.typing as npt

    Codes: TypeAlias = npt.NDArray[np.signedinteger[Any]]
    """Reliability data as positions in the value domain, -1 for missing (int8 to int32:
    the smallest type that holds the domain, see `code_type`)."""

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = get_args(Level)

COINCIDENCE_LIMIT = 64
"""Up to this many distinct values, alpha goes through the coincidence matrix."""
UNIT_CHUNK_CELLS = 1 << 18
"""Units x values cells per chunk when counting values per unit (2 MB of float64)."""
INTEGER_SPAN_LIMIT = 1 << 20
"""Whole-number data spanning at most this many values is coded by bincount, not a sort."""

WHERE = "krippendorff_alpha"


def code_type(size: int) -> Any:
    """The smallest signed integer type holding codes 0..size-1 and -1."""
    import numpy as np

    for candidate in (np.int8, np.int16, np.int32):
        if size <= np.iinfo(candidate).max:
            return candidate
    return np.int64


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise QAError(
            f"unknown level of measurement {level!r}",
            where=WHERE,
            hint="use nominal, ordinal, interval or ratio",
        )


def _no_pairable() -> QAError:
    return QAError(
        "no unit has values from two raters: nothing to compare",
        where=WHERE,
        hint="alpha needs units rated by at least two raters",
    )


def _single_value() -> QAError:
    return QAError(
        "alpha is undefined: every pairable value is the same (no variation, 0/0)",
        where=WHERE,
        hint="report percent agreement (1.0) for such a question",
    )


# ------------------------------------------------------------------------- distances


def _distance(
    level: str,
    codes_a: npt.NDArray[Any],
    codes_b: npt.NDArray[Any],
    domain: npt.NDArray[Any],
    n_v: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """d between values given by their codes (positions in `domain`), element-wise with
    broadcasting; `n_v` (pairable values per code) is what ordinal distances count."""
    import numpy as np

    if level == "nominal":
        return np.asarray(codes_a != codes_b, dtype=np.float64)
    if level == "ordinal":
        cumulative = np.cumsum(n_v)
        low = np.minimum(codes_a, codes_b)
        high = np.maximum(codes_a, codes_b)
        between = cumulative[high] - cumulative[low] + (n_v[low] - n_v[high]) / 2.0
        return np.asarray(between**2, dtype=np.float64)
    a = domain[codes_a]
    b = domain[codes_b]
    if level == "interval":
        return np.asarray((a - b) ** 2, dtype=np.float64)
    total = a + b
    safe = np.where(total == 0, 1.0, total)
    return np.asarray(np.where(total == 0, 0.0, ((a - b) / safe) ** 2), dtype=np.float64)


def _expected_sum(level: str, n_v: npt.NDArray[np.float64], domain: npt.NDArray[Any]) -> float:
    """sum_ck n_c n_k d(c, k) over the values with n_c > 0 (closed forms where there are)."""
    import numpy as np

    used = np.nonzero(n_v)[0]
    counts = n_v[used]
    if level == "nominal":
        total = counts.sum()
        return float(total * total - (counts**2).sum())
    if level == "interval":
        values = domain[used].astype(np.float64)
        mean = float((counts * values).sum() / counts.sum())
        return float(2.0 * counts.sum() * (counts * (values - mean) ** 2).sum())
    result = 0.0
    step = max(1, UNIT_CHUNK_CELLS // max(1, len(used)))
    for start in range(0, len(used), step):
        rows = used[start : start + step]
        block = _distance(level, rows[:, None], used[None, :], domain, n_v)
        result += float(n_v[rows] @ block @ counts)
    return result


def alpha_from_coincidences(
    coincidences: npt.ArrayLike,
    level: Level = "nominal",
    value_domain: Sequence[Any] | npt.ArrayLike | None = None,
) -> float:
    """Alpha from a V x V coincidence matrix (see the module docstring); `value_domain`
    names the V values (default 0..V-1; needed as numbers for interval and ratio)."""
    import numpy as np

    _check_level(level)
    o = np.asarray(coincidences, dtype=np.float64)
    if o.ndim != 2 or o.shape[0] != o.shape[1]:
        raise QAError(f"a coincidence matrix is square, not {o.shape}", where=WHERE)
    domain = _domain_array(value_domain, o.shape[0], level)
    n_v = o.sum(axis=0)
    n = float(n_v.sum())
    if n <= 0:
        raise _no_pairable()
    if np.count_nonzero(n_v) < 2:
        raise _single_value()
    codes = np.arange(o.shape[0])
    distances = _distance(level, codes[:, None], codes[None, :], domain, n_v)
    observed = float((o * distances).sum())
    expected = _expected_sum(level, n_v, domain)
    if expected <= 0:
        raise _single_value()
    return 1.0 - (n - 1.0) * observed / expected


def _domain_array(
    value_domain: Sequence[Any] | npt.ArrayLike | None, size: int, level: str
) -> npt.NDArray[Any]:
    import numpy as np

    if value_domain is None:
        return np.arange(size, dtype=np.float64)
    domain = np.asarray(value_domain)
    if domain.ndim != 1 or len(domain) != size:
        raise QAError(
            f"value_domain has {domain.size} values for {size} columns",
            where=WHERE,
            hint="give one value per column of value_counts / the coincidence matrix",
        )
    if level in ("interval", "ratio"):
        if domain.dtype.kind not in "biuf":
            raise QAError(
                f"{level} alpha needs numeric values",
                where=WHERE,
                hint="use nominal or ordinal (with value_domain) for labels",
            )
        return domain.astype(np.float64)
    return domain


# ---------------------------------------------------------------------- value counts


def coincidences_from_counts(value_counts: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The coincidence matrix of a units x values table of counts (rows: units)."""
    import numpy as np

    counts = np.asarray(value_counts, dtype=np.float64)
    if counts.ndim != 2:
        raise QAError(f"value_counts is units x values, not shape {counts.shape}", where=WHERE)
    if (counts < 0).any() or not np.isfinite(counts).all():
        raise QAError("value_counts must hold counts >= 0", where=WHERE)
    size = counts.shape[1]
    o = np.zeros((size, size), dtype=np.float64)
    step = max(1, UNIT_CHUNK_CELLS // max(1, size))
    for start in range(0, counts.shape[0], step):
        _add_coincidences(o, counts[start : start + step])
    return o


def _add_coincidences(o: npt.NDArray[np.float64], counts: npt.NDArray[np.float64]) -> None:
    """Add the units of `counts` (units x values) to the coincidence matrix `o`."""
    import numpy as np

    per_unit = counts.sum(axis=1)
    keep = per_unit >= 2
    if not keep.any():
        return
    kept = counts[keep]
    weighted = kept / (per_unit[keep] - 1.0)[:, None]
    o += weighted.T @ kept
    o[np.diag_indices_from(o)] -= weighted.sum(axis=0)


# -------------------------------------------------------------- reliability data


def _encode(
    data: Any, value_domain: Sequence[Any] | npt.ArrayLike | None, level: str
) -> tuple[Codes, npt.NDArray[Any]]:
    """Codes (raters x units, -1 for missing) and the domain they index."""
    import numpy as np

    matrix = _as_matrix(data)
    if matrix.ndim != 2:
        raise QAError(
            f"reliability data is a raters x units matrix, not shape {matrix.shape}",
            where=WHERE,
        )
    kind = matrix.dtype.kind
    if kind == "O":
        flat = matrix.ravel().tolist()
        if all(isinstance(x, (int, float)) or is_missing(x) for x in flat):
            matrix = np.array(
                [np.nan if is_missing(x) else float(x) for x in flat], dtype=np.float64
            ).reshape(matrix.shape)
            kind = "f"
    if kind in "biuf":
        return _encode_numbers(matrix, value_domain)
    if kind in "USO":
        return _encode_labels(matrix, value_domain, level)
    raise QAError(f"cannot rate values of dtype {matrix.dtype}", where=WHERE)


def _as_matrix(data: Any) -> npt.NDArray[Any]:
    """`data` as a 2-D array; lists holding tuples (checklist answers) as one object cell
    each, which `np.asarray` would unpack."""
    import numpy as np

    rows_are_lists = isinstance(data, (list, tuple)) and all(
        isinstance(row, (list, tuple)) for row in data
    )
    if rows_are_lists and len({len(row) for row in data}) > 1:
        raise QAError("the raters' rows differ in length", where=WHERE)
    if not rows_are_lists or not any(isinstance(v, tuple) for row in data for v in row):
        return np.asarray(data)
    matrix: Any = np.empty((len(data), len(data[0]) if data else 0), dtype=object)
    for r, row in enumerate(data):
        for u, value in enumerate(row):
            matrix[r, u] = value
    return np.asarray(matrix)


def _encode_numbers(
    matrix: npt.NDArray[Any], value_domain: Sequence[Any] | npt.ArrayLike | None
) -> tuple[Codes, npt.NDArray[Any]]:
    import numpy as np

    values = matrix.astype(np.float64, copy=False)
    if np.isinf(values).any():
        raise QAError("reliability data holds an infinite value", where=WHERE)
    if value_domain is not None:
        domain = np.asarray(value_domain, dtype=np.float64)
        if len(np.unique(domain)) != len(domain):
            raise QAError("value_domain repeats a value", where=WHERE)
        sorter = np.argsort(domain, kind="stable")
        ordered = domain[sorter]
        codes = np.full(values.shape, -1, dtype=code_type(len(domain)))
        for row, out in zip(values, codes, strict=True):
            present = ~np.isnan(row)
            found = row[present]
            position = np.searchsorted(ordered, found).clip(0, len(ordered) - 1)
            if (ordered[position] != found).any():
                raise QAError(
                    "reliability data holds values outside value_domain",
                    where=WHERE,
                    hint="add them to value_domain, or leave value_domain out",
                )
            out[present] = sorter[position]
        return codes, domain
    if np.isnan(values).all():
        raise _no_pairable()
    low = float(np.nanmin(values))
    high = float(np.nanmax(values))
    whole = all(bool((np.floor(row) == row)[~np.isnan(row)].all()) for row in values)
    if whole and high - low <= INTEGER_SPAN_LIMIT:
        seen = np.zeros(int(high - low) + 1, dtype=bool)
        for row in values:
            seen[(row[~np.isnan(row)] - low).astype(np.int64)] = True
        size = int(seen.sum())
        lookup = (np.cumsum(seen) - 1).astype(code_type(size))
        codes = np.full(values.shape, -1, dtype=code_type(size))
        for row, out in zip(values, codes, strict=True):
            present = ~np.isnan(row)
            out[present] = lookup[(row[present] - low).astype(np.int64)]
        return codes, np.nonzero(seen)[0].astype(np.float64) + low
    present_any = ~np.isnan(values)
    domain, inverse = np.unique(values[present_any], return_inverse=True)
    codes = np.full(values.shape, -1, dtype=code_type(len(domain)))
    codes[present_any] = inverse
    return codes, domain


def _encode_labels(
    matrix: npt.NDArray[Any], value_domain: Sequence[Any] | npt.ArrayLike | None, level: str
) -> tuple[Codes, npt.NDArray[Any]]:
    import numpy as np

    if level in ("interval", "ratio"):
        raise QAError(
            f"{level} alpha needs numbers, and the data holds labels",
            where=WHERE,
            hint="use nominal, or ordinal with value_domain listing the labels in order",
        )
    flat = matrix.ravel().tolist()
    if value_domain is None:
        if level != "nominal":
            raise QAError(
                "ordinal alpha on labels needs their order",
                where=WHERE,
                hint="pass value_domain=[...] with the labels from lowest to highest",
            )
        order: list[Hashable] = ordered_values(flat)
    else:
        order = list(np.asarray(value_domain, dtype=object).tolist())
        if len(set(order)) != len(order):
            raise QAError("value_domain repeats a value", where=WHERE)
    index = {value: i for i, value in enumerate(order)}
    coded = []
    for value in flat:
        if is_missing(value):
            coded.append(-1)
        elif value in index:
            coded.append(index[value])
        else:
            raise QAError(
                f"reliability data holds {value!r}, which is not in value_domain",
                where=WHERE,
                hint="add it to value_domain, or leave value_domain out",
            )
    codes = np.array(coded, dtype=code_type(len(order))).reshape(matrix.shape)
    return codes, object_array(order)


def object_array(values: Sequence[Hashable]) -> npt.NDArray[Any]:
    """`values` as a 1-D object array, one cell each (`np.asarray` would unpack a tuple
    value, a checklist answer, into a second dimension)."""
    import numpy as np

    cells: Any = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        cells[position] = value
    array: npt.NDArray[Any] = cells
    return array


def _alpha_by_coincidences(codes: Codes, domain: npt.NDArray[Any], level: str) -> float:
    import numpy as np

    size = len(domain)
    units = codes.shape[1]
    o = np.zeros((size, size), dtype=np.float64)
    step = max(1, UNIT_CHUNK_CELLS // max(1, size))
    for start in range(0, units, step):
        block = codes[:, start : start + step]
        width = block.shape[1]
        present = block >= 0
        unit_index = np.nonzero(present)[1]
        cells = unit_index * size + block[present]
        counts = np.bincount(cells, minlength=width * size).reshape(width, size)
        _add_coincidences(o, counts.astype(np.float64))
    return alpha_from_coincidences(o, level, domain)  # type: ignore[arg-type]  # level checked


def _alpha_by_rater_pairs(codes: Codes, domain: npt.NDArray[Any], level: str) -> float:
    import numpy as np

    present = codes >= 0
    per_unit = present.sum(axis=0)
    pairable = per_unit >= 2
    weight = np.zeros(codes.shape[1], dtype=np.float64)
    weight[pairable] = 1.0 / (per_unit[pairable] - 1.0)
    n_v = np.zeros(len(domain), dtype=np.float64)
    for row, row_present in zip(codes, present, strict=True):
        n_v += np.bincount(row[row_present & pairable], minlength=len(domain))
    n = float(n_v.sum())
    if n <= 0:
        raise _no_pairable()
    if np.count_nonzero(n_v) < 2:
        raise _single_value()
    numeric = domain.astype(np.float64) if level in ("interval", "ratio") else domain
    observed = 0.0
    raters = codes.shape[0]
    for first in range(raters):
        for second in range(first + 1, raters):
            both = present[first] & present[second]
            distances = _distance(level, codes[first][both], codes[second][both], numeric, n_v)
            observed += 2.0 * float(distances @ weight[both])
    expected = _expected_sum(level, n_v, numeric)
    if expected <= 0:
        raise _single_value()
    return 1.0 - (n - 1.0) * observed / expected


ENTRY_VALUE_LIMIT = 2048
"""Up to this many values, `alpha_from_entries` sums a values x values coincidence matrix."""


def alpha_from_entries(
    units: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    domain: npt.NDArray[Any],
    level: Level = "nominal",
) -> float:
    """Alpha from one entry per rating: its unit (0..U-1, entries sorted by unit) and its
    value's position in `domain`. Memory is a chunk of units x values, whatever the number
    of raters (crowds: many raters, few ratings per unit). Up to `ENTRY_VALUE_LIMIT`
    values."""
    import numpy as np

    _check_level(level)
    if level in ("interval", "ratio"):
        domain = _domain_array(domain, len(domain), level)
    size = len(domain)
    if size > ENTRY_VALUE_LIMIT:
        raise QAError(
            f"{size} distinct values: too many for the coincidence matrix",
            where=WHERE,
            hint="use krippendorff_alpha on raters x units data",
        )
    o = np.zeros((size, size), dtype=np.float64)
    count = int(units[-1]) + 1 if len(units) else 0
    step = max(1, UNIT_CHUNK_CELLS // max(1, size))
    bounds = np.searchsorted(units, np.arange(0, count + step, step)).tolist()
    for start, (low, high) in zip(
        range(0, count, step), zip(bounds[:-1], bounds[1:], strict=False), strict=False
    ):
        width = min(step, count - start)
        cells = (units[low:high] - start) * size + positions[low:high]
        counts = np.bincount(cells, minlength=width * size).reshape(width, size)
        _add_coincidences(o, counts.astype(np.float64))
    return alpha_from_coincidences(o, level, domain)


def alpha_from_codes(codes: Codes, domain: npt.NDArray[Any], level: Level = "nominal") -> float:
    """Alpha of coded reliability data: `codes` is raters x units of positions in `domain`
    (-1 for missing). What `bridge.qa.categorical.Ratings` hands over."""
    _check_level(level)
    if codes.ndim != 2:
        raise QAError(f"codes are raters x units, not shape {codes.shape}", where=WHERE)
    if level in ("interval", "ratio"):
        domain = _domain_array(domain, len(domain), level)
    if len(domain) <= COINCIDENCE_LIMIT:
        return _alpha_by_coincidences(codes, domain, level)
    return _alpha_by_rater_pairs(codes, domain, level)


def krippendorff_alpha(
    data: Any = None,
    level: Level = "nominal",
    *,
    value_counts: npt.ArrayLike | None = None,
    value_domain: Sequence[Any] | npt.ArrayLike | None = None,
) -> float:
    """Krippendorff's alpha of `data` (raters x units, None/NaN for missing) or of
    `value_counts` (units x values counts), at `level` nominal, ordinal, interval or ratio.

    `value_domain` lists the possible values (in order, for ordinal labels); by default the
    values that occur (numbers sorted; labels in the value order of `bridge.qa.values`), or
    0..V-1 for `value_counts`. Raises `QAError` for degenerate data (module docstring)."""
    _check_level(level)
    if (data is None) == (value_counts is None):
        raise QAError(
            "give either reliability data or value_counts",
            where=WHERE,
            hint="data is raters x units; value_counts is units x values",
        )
    if value_counts is not None:
        import numpy as np

        o = coincidences_from_counts(value_counts)
        domain = value_domain if value_domain is not None else np.arange(o.shape[0])
        return alpha_from_coincidences(o, level, domain)
    codes, domain = _encode(data, value_domain, level)
    return alpha_from_codes(codes, domain, level)
