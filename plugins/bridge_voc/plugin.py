"""label-bridge plugin: the Pascal VOC format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register: Callable[[Any], Any]) -> None:
    from bridge_voc.files import VocFormat

    register(VocFormat())
