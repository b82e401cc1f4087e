"""CVAT's mask encoding <-> the unified mask (COCO RLE over the whole image), crop-locally.

CVAT stores a mask as run lengths over a rectangular *crop* of the image, row-major,
alternating background / foreground and **starting with background** (the first run is 0
when the crop's first pixel is set). The crop is given by its top-left pixel (`left`,
`top`) and its size (`crop_width`, `crop_height`); the REST API writes it as the inclusive
corners `[x1, y1, x2, y2]` after the runs, the XML as `left/top/width/height` attributes.
`cvat_sdk.masks.encode_mask/decode_mask` is the reference implementation.

Both directions work on the crop only: the image around it is background, so its runs are
found by arithmetic on run positions, never by allocating a bitmap of the whole image (a
few bytes of XML can put a small mask on a 50000 x 50000 image). The caller checks the
image size against the pixel budget (`bridge.limits`) first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pycocotools import mask as coco_mask

from bridge.errors import FormatError
from bridge.schema import RLE

CropBox = tuple[int, int, int, int]
"""A crop as (left, top, width, height) in pixels."""


# ------------------------------------------------------------------ COCO counts strings


def coco_counts(rle: RLE, where: str | None) -> np.ndarray:
    """The run lengths of a unified `RLE` (column-major, from background), decoded from
    COCO's compressed string (pycocotools' `rleFrString`, vectorized); a string that is
    not one, or whose runs do not cover `size`, is a FormatError at `where`."""
    height, width = rle.size
    if height < 0 or width < 0:
        raise FormatError(f"mask size {height}x{width} is negative", where=where)
    if not rle.counts.isascii():
        raise FormatError("mask counts are not a COCO RLE string", where=where)
    chars = np.frombuffer(rle.counts.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    if chars.size and (chars.min() < 0 or chars.max() >= 64):
        raise FormatError("mask counts hold a character that is not a COCO RLE one", where=where)
    last = (chars & 0x20) == 0  # the last 5-bit group of each number
    if chars.size and not last[-1]:
        raise FormatError(
            "mask counts end in the middle of a number",
            where=where,
            hint="counts must be a COCO compressed RLE string",
        )
    values = _numbers(chars, np.flatnonzero(last), where) if chars.size else chars
    if values.size > 2:  # from the fourth number on, each is a difference to the one 2 back
        values[1::2] = np.cumsum(values[1::2])
        values[2::2] = np.cumsum(values[2::2])
    if values.size and values.min() < 0:
        raise FormatError("mask counts decode to a negative run", where=where)
    if values.size and values.max() > height * width:
        raise FormatError(
            f"mask counts hold a run of {values.max()} pixels, its size "
            f"{height}x{width} has {height * width}",
            where=where,
        )
    total = int(values.sum())  # no overflow: each run is at most height * width
    if total != height * width:
        raise FormatError(
            f"mask runs cover {total} pixels, its size {height}x{width} has {height * width}",
            where=where,
        )
    return values


def _numbers(chars: np.ndarray, ends: np.ndarray, where: str | None) -> np.ndarray:
    """The signed numbers of COCO's string: 5 bits a character, low bits first, ending at
    `ends` (a character without the 0x20 continuation bit; 0x10 there is the sign)."""
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    lengths = ends - starts + 1
    if lengths.max() > 12:
        raise FormatError("mask counts hold a run longer than any image", where=where)
    group = np.repeat(np.arange(starts.size), lengths)
    shift = 5 * (np.arange(chars.size) - starts[group])
    values = np.add.reduceat((chars & 0x1F) << shift, starts)
    negative = (chars[ends] & 0x10) != 0
    return values - (negative.astype(np.int64) << (5 * lengths))


def rle_from_counts(counts: list[int], height: int, width: int) -> RLE:
    """A unified `RLE` from column-major run lengths (pycocotools compresses them)."""
    encoded = coco_mask.frPyObjects({"counts": counts, "size": [height, width]}, height, width)
    return RLE(size=(height, width), counts=encoded["counts"].decode("ascii"))


# ------------------------------------------------------------------ CVAT -> unified


def check_runs(runs: Sequence[int], crop_width: int, crop_height: int, where: str | None) -> None:
    """Refuse runs that are negative or do not cover the crop exactly (checked on Python
    integers, before numpy could overflow on a huge one)."""
    if runs and min(runs) < 0:
        raise FormatError("negative run length in mask", where=where)
    total = sum(runs)
    if total != crop_width * crop_height:
        raise FormatError(
            f"mask runs cover {total} pixels, the crop has {crop_width * crop_height}", where=where
        )


def _crop_bitmap(runs: Sequence[int], crop_width: int, crop_height: int) -> np.ndarray:
    lengths = np.asarray(runs, dtype=np.int64)
    values = (np.arange(lengths.size) & 1).astype(bool)
    return np.repeat(values, lengths).reshape(crop_height, crop_width)


def cvat_mask_to_rle(
    runs: Sequence[int],
    left: int,
    top: int,
    crop_width: int,
    crop_height: int,
    image_width: int,
    image_height: int,
    *,
    where: str | None = None,
) -> RLE:
    """Decode CVAT crop runs into a unified `RLE` over an image_width x image_height image.

    Raises FormatError at `where` when the runs do not cover the crop exactly or the crop
    leaves the image. Memory is proportional to the crop, not the image."""
    if image_width <= 0 or image_height <= 0:
        raise FormatError(f"invalid image size {image_width}x{image_height}", where=where)
    if crop_width <= 0 or crop_height <= 0:
        raise FormatError(f"invalid mask crop size {crop_width}x{crop_height}", where=where)
    if left < 0 or top < 0 or left + crop_width > image_width or top + crop_height > image_height:
        raise FormatError(
            f"mask crop {crop_width}x{crop_height} at ({left}, {top}) leaves the "
            f"{image_width}x{image_height} image",
            where=where,
        )
    check_runs(runs, crop_width, crop_height, where)
    crop = _crop_bitmap(runs, crop_width, crop_height)
    # Column by column, with a background row below each column so no run crosses one.
    padded = np.zeros((crop_height + 1, crop_width), dtype=np.int8)
    padded[:crop_height] = crop
    flat = padded.ravel(order="F")
    edges = np.flatnonzero(np.diff(flat, prepend=0, append=0))
    starts, ends = edges[0::2], edges[1::2]
    column, row = np.divmod(starts, crop_height + 1)
    full_starts = (left + column) * image_height + top + row
    full_ends = full_starts + (ends - starts)
    if full_starts.size:  # a run reaching a column's end goes on at the next column's top
        touch = full_starts[1:] == full_ends[:-1]
        full_starts, full_ends = full_starts[np.r_[True, ~touch]], full_ends[np.r_[~touch, True]]
    starts = full_starts
    bounds = np.empty(2 * starts.size + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, image_width * image_height
    bounds[1:-1:2], bounds[2:-1:2] = full_starts, full_ends
    counts = np.diff(bounds).tolist()
    if len(counts) > 1 and counts[-1] == 0:
        counts.pop()  # the mask reaches the last pixel: no background run after it
    return rle_from_counts(counts, image_height, image_width)


# ------------------------------------------------------------------ unified -> CVAT


def crop_runs(flat: np.ndarray) -> list[int]:
    """Run lengths of a flat boolean array, alternating from background."""
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    lengths = np.diff(bounds).tolist()
    return [0, *lengths] if flat[0] else lengths


def _foreground(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each foreground run, in column-major pixel order."""
    bounds = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
    return bounds[1:-1:2], bounds[2::2]


def _tight_crop(starts: np.ndarray, ends: np.ndarray, height: int) -> CropBox:
    first_col, last_col = int(starts.min() // height), int((ends.max() - 1) // height)
    one_column = starts // height == (ends - 1) // height
    if not one_column.all():  # a run wraps a column: that column is full height
        return first_col, 0, last_col - first_col + 1, height
    top, bottom = int((starts % height).min()), int(((ends - 1) % height).max())
    return first_col, top, last_col - first_col + 1, bottom - top + 1


def _holds(crop: CropBox, tight: CropBox | None, image: tuple[int, int]) -> bool:
    """True if `crop` lies in the image and holds the mask's tight box (None: empty)."""
    left, top, width, height = crop
    if left < 0 or top < 0 or width <= 0 or height <= 0:
        return False
    if left + width > image[0] or top + height > image[1]:
        return False
    if tight is None:
        return True
    t_left, t_top, t_width, t_height = tight
    return (
        left <= t_left
        and top <= t_top
        and t_left + t_width <= left + width
        and t_top + t_height <= top + height
    )


def rle_to_cvat_mask(
    rle: RLE, crop: CropBox | None = None, *, where: str | None = None
) -> tuple[list[int], int, int, int, int]:
    """Encode a unified `RLE` as CVAT crop runs: (runs, left, top, crop_width, crop_height).

    The crop is the tight box around the mask, or `crop` (left, top, width, height) when
    given and it holds every mask pixel (so a mask read from CVAT is written back with the
    crop it came with). Malformed counts are a FormatError at `where`; memory is
    proportional to the crop."""
    height, width = rle.size
    starts, ends = _foreground(coco_counts(rle, where))
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    tight = _tight_crop(starts, ends, height) if starts.size else None
    if crop is None or not _holds(tuple(crop), tight, (width, height)):  # type: ignore[arg-type]
        crop = tight or (0, 0, 1, 1)  # (0, 0, 1, 1): what cvat_sdk encodes an empty mask as
    left, top, crop_width, crop_height = crop
    # The crop column by column (one row per image column): a run maps to one stretch.
    offsets = (
        ((starts // height - left) * crop_height + starts % height - top) if height else starts
    )
    size = crop_width * crop_height + 1
    marks = np.bincount(offsets, minlength=size) - np.bincount(
        offsets + (ends - starts), minlength=size
    )
    columns = (np.cumsum(marks[:-1]) > 0).reshape(crop_width, crop_height)
    return crop_runs(columns.T.ravel()), left, top, crop_width, crop_height
