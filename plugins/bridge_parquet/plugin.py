"""label-bridge plugin: the Parquet format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register: Callable[[Any], Any]) -> None:
    from bridge_parquet.files import ParquetFormat

    register(ParquetFormat())
