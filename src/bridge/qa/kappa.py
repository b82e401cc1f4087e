"""Cohen's kappa (two raters) and Fleiss' kappa (a fixed number of ratings per subject).

**Cohen's kappa** (Cohen 1960; weighted: Cohen 1968) compares two raters who answered the
same units. With O the K x K table of their answers (rater a in rows, b in columns), E the
table expected by chance from the two raters' own marginals (E = row totals x column totals
/ n) and W a disagreement weight (0 on the diagonal),

    kappa = 1 - sum(W * O) / sum(W * E)

Unweighted kappa has W = 1 off the diagonal (then kappa = (po - pe) / (1 - pe)); `linear`
weights are |i - j| and `quadratic` (i - j)^2, with i, j the positions of the answers in
`labels` (default: the answers in the value order of `bridge.qa.values`). This is
scikit-learn's `cohen_kappa_score`.

**Fleiss' kappa** (Fleiss 1971) takes a subjects x categories table of counts: n_ij raters
put subject i in category j, every subject rated n times (not necessarily by the same
raters). With P_i = (sum_j n_ij^2 - n) / (n (n - 1)) the agreeing pairs of subject i,
P = mean(P_i), p_j = the share of all ratings in category j and Pe = sum_j p_j^2,

    kappa = (P - Pe) / (1 - Pe)

`fleiss_category_kappas` gives Fleiss' per-category kappa
kappa_j = 1 - sum_i n_ij (n - n_ij) / (N n (n - 1) p_j (1 - p_j)).

**Degenerate input** (a `QAError`, never NaN): no unit rated by both raters; answers outside
the given `labels`; sum(W * E) = 0, which happens only when both raters gave one and the same
answer to every unit (pe = 1: no variation, so chance-corrected agreement is 0/0; percent
agreement is 1.0 there, and is what to report); a Fleiss table with subjects of different
rating counts (use Krippendorff's alpha, which takes missing ratings), fewer than 2 ratings
per subject, or one category only (Pe = 1).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Literal

from bridge.qa.errors import QAError
from bridge.qa.values import is_missing, ordered_values

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Weights = Literal["linear", "quadratic"] | None


def contingency_table(
    a: Sequence[Hashable], b: Sequence[Hashable], labels: Sequence[Hashable] | None = None
) -> tuple[npt.NDArray[np.float64], list[Hashable]]:
    """The K x K table of two raters' answers (a in rows, b in columns) and its labels.

    Pairs where either answer is missing (None/NaN) are left out."""
    import numpy as np

    if len(a) != len(b):
        raise QAError(
            f"the two raters' answer lists differ in length ({len(a)} and {len(b)})",
            where="cohen_kappa",
            hint="give one answer per unit for each rater (None where a rater gave none)",
        )
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if not is_missing(x) and not is_missing(y)]
    if not pairs:
        raise QAError(
            "no unit was answered by both raters",
            where="cohen_kappa",
            hint="kappa needs units both raters answered",
        )
    if labels is None:
        order = ordered_values([x for pair in pairs for x in pair])
    else:
        order = list(labels)
        if len(set(order)) != len(order):
            raise QAError("labels repeat a value", where="cohen_kappa", hint="list each once")
    index = {label: i for i, label in enumerate(order)}
    unknown = {x for pair in pairs for x in pair if x not in index}
    if unknown:
        shown = ", ".join(sorted(repr(x) for x in unknown)[:5])
        raise QAError(
            f"answers not in labels: {shown}",
            where="cohen_kappa",
            hint="add them to labels, or leave labels out to take every answer given",
        )
    table = np.zeros((len(order), len(order)), dtype=np.float64)
    rows = np.fromiter((index[x] for x, _ in pairs), dtype=np.int64, count=len(pairs))
    cols = np.fromiter((index[y] for _, y in pairs), dtype=np.int64, count=len(pairs))
    np.add.at(table, (rows, cols), 1.0)
    return table, order


def disagreement_weights(size: int, weights: Weights) -> npt.NDArray[np.float64]:
    """W for `size` ordered categories: 1 off the diagonal, |i-j| or (i-j)^2."""
    import numpy as np

    positions = np.arange(size, dtype=np.float64)
    distance = np.abs(positions[:, None] - positions[None, :])
    if weights is None:
        return (distance > 0).astype(np.float64)
    if weights == "linear":
        return distance
    if weights == "quadratic":
        return distance**2
    raise QAError(
        f"unknown weights {weights!r}",
        where="cohen_kappa",
        hint='use None, "linear" or "quadratic"',
    )


def kappa_from_table(table: npt.ArrayLike, weights: Weights = None) -> float:
    """Cohen's kappa of a K x K contingency table (rater a in rows, rater b in columns)."""
    import numpy as np

    observed = np.asarray(table, dtype=np.float64)
    if observed.ndim != 2 or observed.shape[0] != observed.shape[1] or observed.size == 0:
        raise QAError(
            f"a contingency table must be square and non-empty, not {observed.shape}",
            where="cohen_kappa",
        )
    if (observed < 0).any() or not np.isfinite(observed).all():
        raise QAError("a contingency table holds counts >= 0", where="cohen_kappa")
    total = observed.sum()
    if total == 0:
        raise QAError("the contingency table is empty", where="cohen_kappa")
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    w = disagreement_weights(observed.shape[0], weights)
    chance = float((w * expected).sum())
    if chance == 0.0:
        raise QAError(
            "kappa is undefined: both raters gave one and the same answer to every unit "
            "(chance agreement is 1, so kappa is 0/0)",
            where="cohen_kappa",
            hint="report percent agreement (1.0) for such a question",
        )
    return 1.0 - float((w * observed).sum()) / chance


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    weights: Weights = None,
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa between rater `a` and rater `b` (one answer per unit each, None or NaN
    where a rater gave none; such units are left out). `weights`: None, "linear" or
    "quadratic"; `labels` fixes the category order (and so the weights)."""
    table, _ = contingency_table(a, b, labels)
    return kappa_from_table(table, weights)


def _check_raters(per_subject: npt.NDArray[np.float64]) -> int:
    """The common number of ratings per subject (a `QAError` if they differ or are < 2)."""
    if len(per_subject) == 0:
        raise QAError("Fleiss' kappa needs at least one subject", where="fleiss_kappa")
    raters = int(per_subject[0])
    if (per_subject != raters).any():
        raise QAError(
            "every subject must have the same number of ratings "
            f"(found {int(per_subject.min())} to {int(per_subject.max())})",
            where="fleiss_kappa",
            hint="use krippendorff_alpha, which takes missing ratings",
        )
    if raters < 2:
        raise QAError(
            f"Fleiss' kappa needs at least 2 ratings per subject, not {raters}",
            where="fleiss_kappa",
        )
    return raters


def _fleiss_counts(table: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], int]:
    import numpy as np

    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] == 0 or counts.shape[1] == 0:
        raise QAError(
            f"Fleiss' kappa takes a subjects x categories table, not shape {counts.shape}",
            where="fleiss_kappa",
        )
    if (counts < 0).any() or not np.isfinite(counts).all() or (counts != np.round(counts)).any():
        raise QAError("the table must hold whole counts >= 0", where="fleiss_kappa")
    return counts, _check_raters(counts.sum(axis=1))


def fleiss_from_sums(
    per_subject: npt.ArrayLike, squares: npt.ArrayLike, category_totals: npt.ArrayLike
) -> float:
    """Fleiss' kappa from sums, for tables too sparse to hold: each subject's number of
    ratings and sum of squared category counts (sum_j n_ij^2), and each category's total."""
    import numpy as np

    raters = _check_raters(np.asarray(per_subject, dtype=np.float64))
    square_sums = np.asarray(squares, dtype=np.float64)
    subjects = len(square_sums)
    agreement = (square_sums - raters) / (raters * (raters - 1))
    shares = np.asarray(category_totals, dtype=np.float64) / (subjects * raters)
    chance = float((shares**2).sum())
    if chance >= 1.0:
        raise QAError(
            "Fleiss' kappa is undefined: every rating is in one category (chance agreement 1)",
            where="fleiss_kappa",
            hint="report percent agreement (1.0) for such a question",
        )
    return (float(agreement.mean()) - chance) / (1.0 - chance)


def fleiss_kappa(table: npt.ArrayLike) -> float:
    """Fleiss' kappa of a subjects x categories table of counts (equal row sums >= 2)."""
    counts, _ = _fleiss_counts(table)
    return fleiss_from_sums(counts.sum(axis=1), (counts**2).sum(axis=1), counts.sum(axis=0))


def fleiss_category_kappas(table: npt.ArrayLike) -> list[float | None]:
    """Fleiss' kappa of each category (Fleiss 1971, eq. 20-21): None for a category that
    no rating used, or that every rating used (p_j (1 - p_j) = 0, kappa_j undefined)."""
    counts, raters = _fleiss_counts(table)
    subjects = counts.shape[0]
    shares = counts.sum(axis=0) / (subjects * raters)
    disagreeing = (counts * (raters - counts)).sum(axis=0)
    result: list[float | None] = []
    for share, pairs in zip(shares.tolist(), disagreeing.tolist(), strict=True):
        spread = share * (1.0 - share)
        if spread <= 0.0:
            result.append(None)
        else:
            result.append(1.0 - pairs / (subjects * raters * (raters - 1) * spread))
    return result
