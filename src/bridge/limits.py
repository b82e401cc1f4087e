"""Limits that keep a hostile or broken input from exhausting memory.

A *pixel budget* bounds every image or mask size a reader is about to allocate for: a
declared media size or mask size above it is refused before any allocation, because a few
bytes of JSON or XML can announce a 50000 x 50000 bitmap. Readers and writers take it from
`-O max_pixels=N` (default one gigapixel).
"""

from __future__ import annotations

from typing import Any

from bridge.errors import FormatError
from bridge.options import integer_option

DEFAULT_MAX_PIXELS = 1_000_000_000


def max_pixels_option(options: dict[str, Any]) -> int:
    """The pixel budget from `-O max_pixels=N` (a positive integer), or the default."""
    return integer_option(options, "max_pixels", DEFAULT_MAX_PIXELS, minimum=1)


def check_pixels(
    width: int, height: int, *, where: str | None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> None:
    """Refuse a size of `width` x `height` pixels that is not positive or above the budget."""
    if width <= 0 or height <= 0:
        raise FormatError(f"size {width}x{height} is not positive", where=where)
    if width * height > max_pixels:
        raise FormatError(
            f"size {width}x{height} ({width * height:,} pixels) is above the limit of "
            f"{max_pixels:,} pixels",
            where=where,
            hint=f"if the file is genuine, raise the limit: -O max_pixels={width * height}",
        )
