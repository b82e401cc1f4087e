"""Labelbox mask PNGs <-> the unified mask encoding (COCO RLE).

Labelbox hands masks out as PNG images over the whole media:

* an export's `composite_mask` is one RGB PNG for every mask of a label; an object's pixels
  are those of its `color_rgb`;
* an export's per-object `mask` URL, and an import row's `mask.png` (base64), are binary
  PNGs: grayscale, non-zero pixels belong to the mask. Labelbox's own serializer writes a
  mode "L" PNG whose pixels are 0 or 1, and this module writes the same bytes.

The image size a PNG announces in its header is checked against the pixel budget
(`bridge.limits`, `-O max_pixels`) before a pixel is decoded: a few hundred bytes of PNG
can announce a bitmap of gigabytes. Pillow and numpy are imported when a mask is decoded
(Pillow is the `labelbox` extra's dependency, not the core's).
"""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING

from bridge.errors import FormatError
from bridge.limits import DEFAULT_MAX_PIXELS, check_pixels
from bridge.schema import RLE

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HINT = "a Labelbox mask must be a PNG over the whole image"


def declared_size(png: bytes) -> tuple[int, int] | None:
    """(width, height) from the PNG's IHDR chunk, read without decoding anything; None
    for bytes that do not start as a PNG."""
    if len(png) < 24 or not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk, or a `FormatError` for bytes that are
    not a PNG."""
    size = declared_size(png)
    if size is None:
        raise FormatError("not a PNG image (no PNG signature and IHDR header)", hint=_HINT)
    return size


def _open_png(png: bytes, max_pixels: int) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    width, height = png_size(png)
    check_pixels(width, height, where=None, max_pixels=max_pixels)
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except Image.DecompressionBombError as error:
        raise FormatError(
            f"the mask image is too large to decode ({error})",
            hint="Pillow refuses images above twice its MAX_IMAGE_PIXELS",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        # what Pillow raises for a PNG it cannot decode (truncated, bad CRC, bad chunk)
        raise FormatError(f"not a readable mask image ({error})", hint=_HINT) from None
    return image


def _foreground(image: Image.Image) -> np.ndarray:
    """Pixels that are not background: non-zero gray/colour, and not fully transparent."""
    import numpy as np

    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        return (rgba[..., :3].max(axis=-1) > 0) & (rgba[..., 3] > 0)
    if image.mode in ("1", "L", "I", "I;16", "F"):
        return np.asarray(image) > 0
    return np.asarray(image.convert("RGB")).max(axis=-1) > 0


def png_to_rle(
    png: bytes, color: tuple[int, int, int] | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> RLE:
    """The mask in `png` as a unified RLE.

    With `color` (a composite mask's `color_rgb`) the mask is the pixels of exactly that
    RGB colour; without it, every non-zero (and not transparent) pixel. A PNG announcing
    more than `max_pixels` pixels is refused (`FormatError`) before it is decoded.
    """
    import numpy as np

    from bridge.geometry.masks import bitmap_to_rle

    image = _open_png(png, max_pixels)
    if color is None:
        bitmap = _foreground(image)
    else:
        rgb = np.asarray(image.convert("RGB"))
        bitmap = np.all(rgb == np.asarray(color[:3], dtype=rgb.dtype), axis=-1)
    return bitmap_to_rle(bitmap)


def rle_to_png(rle: RLE, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """The unified RLE as a binary PNG (mode "L", pixels 0 or 1), as Labelbox's import
    serializer writes it. A mask larger than `max_pixels` is refused before allocation."""
    import numpy as np
    from PIL import Image

    from bridge.geometry.masks import rle_to_bitmap

    height, width = rle.size
    check_pixels(width, height, where=None, max_pixels=max_pixels)
    bitmap = rle_to_bitmap(rle).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(bitmap).save(out, format="PNG")
    return out.getvalue()
