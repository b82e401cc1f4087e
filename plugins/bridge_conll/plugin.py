"""label-bridge plugin: the Conll format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register: Callable[[Any], Any]) -> None:
    from bridge_conll.files import ConllFormat

    register(ConllFormat())
