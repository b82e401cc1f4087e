"""label-bridge: one schema and one CLI to move labeled data between labeling tools.

This package exports its version and the names every caller needs to handle a failure:
`BridgeError` (the base of every error raised on purpose, with `where` and `hint`),
`FormatError` and `LossReport`. The Python API is `bridge.api` (`open_dataset`,
`write_dataset`, `convert`, `transfer`, `inspect`), the unified models are `bridge.schema`,
the plugin hooks `bridge.hookspecs`. Importing `bridge` imports nothing heavy (no
pydantic, numpy or HTTP stack), so that `bridge --version` stays fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("label-bridge")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from bridge.errors import BridgeError, FormatError  # noqa: E402
from bridge.losses import LossReport  # noqa: E402

__all__ = ["BridgeError", "FormatError", "LossReport", "__version__"]
