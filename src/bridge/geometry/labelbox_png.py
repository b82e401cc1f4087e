"""Labelbox mask PNGs <-> the unified mask encoding (COCO RLE).

Labelbox hands masks out as PNG images over the whole media:

* an export's `composite_mask` is one RGB PNG for every mask of a label; an object's pixels
  are those of its `color_rgb`;
* an export's per-object `mask` URL, and an import row's `mask.png` (base64), are binary
  PNGs: grayscale, non-zero pixels belong to the mask. Labelbox's own serializer writes a
  mode "L" PNG whose pixels are 0 or 1, and this module writes the same bytes.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from bridge.errors import FormatError
from bridge.geometry.masks import bitmap_to_rle, rle_to_bitmap
from bridge.schema import RLE


def _open_png(png: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise FormatError(
            f"not a readable mask image ({error})",
            hint="a Labelbox mask must be a PNG over the whole image",
        ) from None
    return image


def _foreground(image: Image.Image) -> np.ndarray:
    """Pixels that are not background: non-zero gray/colour, and not fully transparent."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        return (rgba[..., :3].max(axis=-1) > 0) & (rgba[..., 3] > 0)
    if image.mode in ("1", "L", "I", "I;16", "F"):
        return np.asarray(image) > 0
    return np.asarray(image.convert("RGB")).max(axis=-1) > 0


def png_to_rle(png: bytes, color: tuple[int, int, int] | None = None) -> RLE:
    """The mask in `png` as a unified RLE.

    With `color` (a composite mask's `color_rgb`) the mask is the pixels of exactly that
    RGB colour; without it, every non-zero (and not transparent) pixel.
    """
    image = _open_png(png)
    if color is None:
        bitmap = _foreground(image)
    else:
        rgb = np.asarray(image.convert("RGB"))
        bitmap = np.all(rgb == np.asarray(color[:3], dtype=rgb.dtype), axis=-1)
    return bitmap_to_rle(bitmap)


def rle_to_png(rle: RLE) -> bytes:
    """The unified RLE as a binary PNG (mode "L", pixels 0 or 1), as Labelbox's import
    serializer writes it."""
    bitmap = rle_to_bitmap(rle).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(bitmap).save(out, format="PNG")
    return out.getvalue()
