"""CVAT's mask encoding <-> the unified mask (COCO RLE over the whole image).

CVAT stores a mask as run lengths over a rectangular *crop* of the image, row-major,
alternating background / foreground and **starting with background** (the first run is 0
when the crop's first pixel is set). The crop is given by its top-left pixel (`left`,
`top`) and its size (`crop_width`, `crop_height`); the REST API writes it as the inclusive
corners `[x1, y1, x2, y2]` after the runs, the XML as `left/top/width/height` attributes.
`cvat_sdk.masks.encode_mask/decode_mask` is the reference implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bridge.geometry.masks import bitmap_to_rle, rle_to_bitmap
from bridge.schema import RLE

CropBox = tuple[int, int, int, int]
"""A crop as (left, top, width, height) in pixels."""


def cvat_mask_to_rle(runs: Sequence[int], left: int, top: int, crop_width: int,
                     crop_height: int, image_width: int, image_height: int) -> RLE:  # fmt: skip
    """Decode CVAT crop runs into a unified `RLE` over an image_width x image_height image.

    Raises ValueError when the runs do not cover the crop exactly or the crop leaves the
    image (the callers turn it into a FormatError with a location)."""
    if image_width <= 0 or image_height <= 0:
        raise ValueError(f"invalid image size {image_width}x{image_height}")
    if crop_width <= 0 or crop_height <= 0:
        raise ValueError(f"invalid mask crop size {crop_width}x{crop_height}")
    if left < 0 or top < 0 or left + crop_width > image_width or top + crop_height > image_height:
        raise ValueError(
            f"mask crop {crop_width}x{crop_height} at ({left}, {top}) leaves the "
            f"{image_width}x{image_height} image"
        )
    lengths = np.asarray(runs, dtype=np.int64)
    if lengths.size and lengths.min() < 0:
        raise ValueError("negative run length in mask")
    if int(lengths.sum()) != crop_width * crop_height:
        raise ValueError(
            f"mask runs cover {int(lengths.sum())} pixels, the crop has {crop_width * crop_height}"
        )
    values = (np.arange(lengths.size) & 1).astype(bool)
    crop = np.repeat(values, lengths).reshape(crop_height, crop_width)
    bitmap = np.zeros((image_height, image_width), dtype=bool)
    bitmap[top : top + crop_height, left : left + crop_width] = crop
    return bitmap_to_rle(bitmap)


def _tight_crop(bitmap: np.ndarray) -> CropBox:
    ys, xs = bitmap.nonzero()
    if xs.size == 0:
        return 0, 0, 1, 1  # what cvat_sdk.masks.encode_mask does for an empty mask
    left, top = int(xs.min()), int(ys.min())
    return left, top, int(xs.max()) - left + 1, int(ys.max()) - top + 1


def _crop_holds_mask(bitmap: np.ndarray, crop: CropBox) -> bool:
    left, top, width, height = crop
    img_h, img_w = bitmap.shape
    if left < 0 or top < 0 or width <= 0 or height <= 0:
        return False
    if left + width > img_w or top + height > img_h:
        return False
    inside = int(bitmap[top : top + height, left : left + width].sum())
    return inside == int(bitmap.sum())


def crop_runs(flat: np.ndarray) -> list[int]:
    """Run lengths of a flat boolean array, alternating from background."""
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    lengths = np.diff(bounds).tolist()
    return [0, *lengths] if flat[0] else lengths


def rle_to_cvat_mask(rle: RLE, crop: CropBox | None = None) -> tuple[list[int], int, int, int, int]:
    """Encode a unified `RLE` as CVAT crop runs: (runs, left, top, crop_width, crop_height).

    The crop is the tight box around the mask, or `crop` (left, top, width, height) when
    given and it holds every mask pixel (so a mask read from CVAT is written back with the
    crop it came with)."""
    bitmap = rle_to_bitmap(rle)
    if crop is None or not _crop_holds_mask(bitmap, crop):
        crop = _tight_crop(bitmap)
    left, top, width, height = crop
    flat = bitmap[top : top + height, left : left + width].ravel()
    return crop_runs(flat), left, top, width, height
