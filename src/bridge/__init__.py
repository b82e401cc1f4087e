"""label-bridge: one schema, one CLI and one QA/export layer for Label Studio, CVAT and Labelbox.

The stable Python API is re-exported here: the unified models (`bridge.schema`), the loss
report, the error family, and `open_dataset` / `write_dataset` to read and write any
registered format or live source.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("label-bridge")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from bridge.errors import BridgeError, FormatError  # noqa: E402
from bridge.losses import LossReport  # noqa: E402

__all__ = ["BridgeError", "FormatError", "LossReport", "__version__"]
