"""Pure, vendor-free geometry: every coordinate convention lives here, once.

* `coords`: percent <-> pixels, a box rotated about its top-left corner <-> about its
  centre (the unified convention), box corners. Plain Python, cheap to import.
* `masks`: the unified mask encoding (COCO RLE via pycocotools) <-> numpy bitmaps.

The names below are imported from their module the first time they are used, so that
importing `bridge.geometry` (or `bridge.geometry.coords`) does not import numpy and
pycocotools: most commands never touch a mask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.geometry.coords import (
        bbox_corners,
        bbox_from_top_left_rotation,
        bbox_to_top_left_rotation,
        percent_to_pixels,
        pixels_to_percent,
    )
    from bridge.geometry.masks import bitmap_to_rle, rle_area, rle_bbox, rle_iou, rle_to_bitmap

_HOMES = {
    "bbox_corners": "coords",
    "bbox_from_top_left_rotation": "coords",
    "bbox_to_top_left_rotation": "coords",
    "percent_to_pixels": "coords",
    "pixels_to_percent": "coords",
    "bitmap_to_rle": "masks",
    "rle_area": "masks",
    "rle_bbox": "masks",
    "rle_iou": "masks",
    "rle_to_bitmap": "masks",
}

__all__ = [  # the names of _HOMES
    "bbox_corners",
    "bbox_from_top_left_rotation",
    "bbox_to_top_left_rotation",
    "bitmap_to_rle",
    "percent_to_pixels",
    "pixels_to_percent",
    "rle_area",
    "rle_bbox",
    "rle_iou",
    "rle_to_bitmap",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
