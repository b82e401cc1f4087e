"""Helpers for fuzzing readers: every path into a JSON value, and a copy of the value with
the thing at one path replaced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Path = tuple[Any, ...]


def json_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path (tuple of keys and indices) into `value`, the empty path first."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from json_paths(child, (*prefix, index))


def replace_at(value: Any, path: Path, new: Any) -> Any:
    """A copy of `value` with the element at `path` replaced by `new` (only the containers
    on the path are copied; `value` is left unchanged)."""
    if not path:
        return new
    copy = value.copy()
    copy[path[0]] = replace_at(value[path[0]], path[1:], new)
    return copy


def value_at(value: Any, path: Path) -> Any:
    """The element of `value` at `path`."""
    for key in path:
        value = value[key]
    return value


def delete_at(value: Any, path: Path) -> Any:
    """A copy of `value` without the key or list element at `path` (not the empty path)."""
    rebuilt = value_at(value, path[:-1]).copy()
    del rebuilt[path[-1]]
    return replace_at(value, path[:-1], rebuilt)


def as_text(value: Any) -> str:
    """A number written as a string ("strings for numbers"), anything else as its JSON."""
    return str(value) if isinstance(value, int | float) else json.dumps(value)
