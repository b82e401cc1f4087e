"""QA metrics on the unified model: the same numbers whichever tool the labels came from.

One module per concern (`bridge.qa` is not imported when the CLI starts):

| module | what it holds |
|---|---|
| `bridge.qa.errors` | `QAError`: the data cannot give a metric (degenerate input), exit code 2 |
| `bridge.qa.values` | missing values (None/NaN) and the one total order of answer values |
| `bridge.qa.kappa` | Cohen's kappa (unweighted, linear, quadratic) and Fleiss' kappa |
| `bridge.qa.alpha` | Krippendorff's alpha (nominal, ordinal, interval, ratio), streaming forms |
| `bridge.qa.categorical` | `Ratings` from unified items: answers per unit per annotator; pairwise, overall, per class and per annotator agreement |
| `bridge.qa.consensus` | majority vote and Dawid-Skene for categorical answers; consensus annotation sets |
| `bridge.qa.matching` | region matching between annotation sets (IoU + optimal assignment, OKS) |
| `bridge.qa.regions` | region agreement per item and annotator pair |
| `bridge.qa.spans` | text span agreement (exact/overlap, boundary trimming, span P/R/F1) |
| `bridge.qa.tracks` | track agreement (per-frame IoU over interpolated tracks, identity switches) |
| `bridge.qa.gold` | scores against gold: P/R/F1 per class, micro/macro, confusion matrix |
| `bridge.qa.fusion` | geometric consensus: cluster regions by IoU, vote labels, fuse shapes |

Re-exported here: the names in `__all__` (kappas, alpha, the categorical views and the
categorical consensus). The matching, region, span, track, gold and fusion modules are
imported from their own modules. Importing `bridge.qa` loads pydantic (the schema) but not
numpy: the re-exported modules import numpy inside the functions that use it; the matching,
region, span, track, gold and fusion modules import numpy (and scipy) when they are imported.
"""

from __future__ import annotations

from bridge.qa.alpha import alpha_from_coincidences, krippendorff_alpha
from bridge.qa.categorical import (
    Agreement,
    ClassificationRatings,
    Ratings,
    RegionRatings,
    Score,
    agreement,
    annotator_of,
    classification_ratings,
)
from bridge.qa.consensus import (
    DawidSkeneResult,
    Vote,
    consensus_set,
    dawid_skene,
    dawid_skene_columns,
    majority_vote,
    with_consensus,
)
from bridge.qa.errors import QAError
from bridge.qa.kappa import cohen_kappa, fleiss_category_kappas, fleiss_kappa

__all__ = [
    "Agreement",
    "ClassificationRatings",
    "DawidSkeneResult",
    "QAError",
    "Ratings",
    "RegionRatings",
    "Score",
    "Vote",
    "agreement",
    "alpha_from_coincidences",
    "annotator_of",
    "classification_ratings",
    "cohen_kappa",
    "consensus_set",
    "dawid_skene",
    "dawid_skene_columns",
    "fleiss_category_kappas",
    "fleiss_kappa",
    "krippendorff_alpha",
    "majority_vote",
    "with_consensus",
]
