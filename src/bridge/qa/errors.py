"""The error the QA metrics raise when the data cannot give a metric.

`QAError` is a `BridgeError` with exit code 2 (the input is not fit for the question asked,
like `FormatError`/`ConfigError`): no unit rated by two raters, a single value everywhere
(agreement undefined, 0/0), unequal numbers of ratings where Fleiss' kappa needs equal ones.
Every metric raises it where it checks its input, with a hint; none returns NaN.
"""

from __future__ import annotations

from bridge.errors import BridgeError


class QAError(BridgeError):
    """The ratings cannot give the requested metric (degenerate or mismatched input)."""

    exit_code = 2
