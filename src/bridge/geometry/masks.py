"""The unified mask encoding: COCO RLE over the whole media, via pycocotools.

A `bitmap` here is a 2D numpy array (height x width) whose non-zero pixels belong to the
mask. COCO RLE stores column-major run lengths, starting with background, compressed into
an ASCII string; `RLE.size` is (height, width).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pycocotools import mask as coco_mask

from bridge.schema import RLE


def bitmap_to_rle(bitmap: npt.NDArray[Any]) -> RLE:
    """Encode a height x width bitmap as a unified `RLE`."""
    if bitmap.ndim != 2:
        raise ValueError(f"a mask bitmap must be 2D, got shape {bitmap.shape}")
    encoded = coco_mask.encode(np.asfortranarray(bitmap.astype(np.uint8, copy=False)))
    return RLE(
        size=(int(encoded["size"][0]), int(encoded["size"][1])),
        counts=encoded["counts"].decode("ascii"),
    )


def _coco(rle: RLE) -> dict[str, Any]:
    return {"size": [rle.size[0], rle.size[1]], "counts": rle.counts.encode("ascii")}


def rle_to_bitmap(rle: RLE) -> npt.NDArray[np.bool_]:
    """Decode a unified `RLE` to a boolean height x width bitmap."""
    bitmap: npt.NDArray[np.bool_] = coco_mask.decode(_coco(rle)).astype(bool)
    return bitmap


def rle_area(rle: RLE) -> int:
    """Number of mask pixels."""
    return int(coco_mask.area(_coco(rle)))


def rle_bbox(rle: RLE) -> tuple[float, float, float, float]:
    """Tight axis-aligned box around the mask as (x, y, width, height) in pixels."""
    x, y, w, h = coco_mask.toBbox(_coco(rle)).tolist()
    return x, y, w, h


def rle_iou(a: RLE, b: RLE) -> float:
    """Intersection over union of two masks of the same size (0.0 when both are empty)."""
    return float(coco_mask.iou([_coco(a)], [_coco(b)], [0])[0][0])
