"""The error QA raises when its input has no defined metric."""

from __future__ import annotations

from bridge.errors import BridgeError


class QAError(BridgeError):
    """A QA metric cannot be computed on this input (no raters, an unknown shape kind,
    mixed units with no media size...). `where` and `hint` say which input and what to do."""

    exit_code = 2
