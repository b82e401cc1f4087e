"""Label Studio's brush RLE <-> the unified mask (COCO RLE).

Label Studio stores a brush stroke as a list of bytes (ints 0-255) holding a bit stream:

* a header: 32 bits `num` (the number of values, height * width * 4: one RGBA value per
  channel, rows top to bottom, pixels left to right), 5 bits `word_size - 1` (7: values are
  bytes), four 4-bit `rle_sizes - 1` (3, 4, 8, 16: how many bits a run length may take);
* then blocks, each `flag` (1 bit), `size index` (2 bits), `length - 1` (rle_sizes[index]
  bits): with flag 1 one value follows and repeats `length` times; with flag 0 `length`
  values follow literally;
* zero bits padding up to a whole byte (Label Studio's encoder always adds 1 to 8 of them).

The mask is the alpha channel: a pixel belongs to the stroke when its alpha is not 0.
Decoding never builds the RGBA values (4 bytes a pixel): the header's count is checked
against the image size first, the blocks become runs of stroke pixels, and only the band
of rows the stroke covers is a bitmap. A stroke whose values are not all 0 or 255 per
whole pixel (the editor's anti-aliased edges) is not *binary-exact*: the unified mask
thresholds it, and the reader keeps the original RLE for Label Studio.
`rle_to_ls_rle` writes what `label_studio_sdk.converter.brush.mask2rle(mask * 255)` writes,
bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from bridge.geometry.masks import rle_to_bitmap
from bridge.schema import RLE

WORD_SIZE = 8
RLE_SIZES = (3, 4, 8, 16)
MAX_RUN = 1 << 16


class BrushError(ValueError):
    """A brush RLE that cannot be decoded (the reader reports it as a `FormatError`)."""


class _BitReader:
    """Reads unsigned big-endian bit fields from a byte list."""

    def __init__(self, data: Any) -> None:
        try:
            raw = bytes(data) if isinstance(data, list) else None
        except (TypeError, ValueError):  # an item that is not an int 0-255
            raw = None
        if raw is None:
            raise BrushError("a brush RLE must be a list of ints 0-255")
        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
        self.bits = (bits + ord("0")).tobytes().decode("ascii")
        self.pos = 0

    def read(self, width: int) -> int:
        end = self.pos + width
        if end > len(self.bits):
            raise BrushError("the brush RLE ends in the middle of a block")
        value = int(self.bits[self.pos : end], 2)
        self.pos = end
        return value


def announced_values(rle: Any) -> int:
    """The number of values a brush RLE's header announces (width * height * 4)."""
    return _BitReader(rle[:4] if isinstance(rle, list) else rle).read(32)


def _blocks(reader: _BitReader, count: int):
    """(start, end, value) per repeat block and (start, end, [values]) per literal block."""
    word_size = reader.read(5) + 1
    sizes = [reader.read(4) + 1 for _ in range(4)]
    i = 0
    while i < count:
        repeat = reader.read(1)
        end = i + 1 + reader.read(sizes[reader.read(2)])
        if end > count:
            raise BrushError(f"a brush run goes past the {count} values the header announces")
        if repeat:
            yield i, end, reader.read(word_size)
        else:
            yield i, end, [reader.read(word_size) for _ in range(end - i)]
        i = end


def stroke_runs(rle: Any, width: int, height: int) -> tuple[list[list[int]], bool]:
    """([start, end) pixel runs, row-major, where alpha is not 0; whether the stroke is
    binary-exact). The caller has checked `width * height` against its pixel budget."""
    reader = _BitReader(rle)
    count = reader.read(32)
    if count != width * height * 4:
        raise BrushError(
            f"the brush RLE holds {count} values, not {width}x{height}x4 = "
            f"{width * height * 4}: original_width/original_height do not match it"
        )
    runs: list[list[int]] = []
    exact = True
    for start, end, value in _blocks(reader, count):
        if type(value) is int:
            if (value != 0 and value != 255) or start & 3 or end & 3:
                exact = False
            if value and start >> 2 < end >> 2:  # pixels whose alpha (4p+3) is in the block
                first, last = start >> 2, end >> 2
                if runs and runs[-1][1] == first:
                    runs[-1][1] = last
                else:
                    runs.append([first, last])
            continue
        exact = False
        for k in range(start + (3 - start) % 4, end, 4):
            if value[k - start]:
                pixel = k >> 2
                if runs and runs[-1][1] == pixel:
                    runs[-1][1] = pixel + 1
                else:
                    runs.append([pixel, pixel + 1])
    return runs, exact


def runs_to_rle(runs: list[list[int]], width: int, height: int) -> RLE:
    """The unified (column-major COCO) RLE of row-major pixel runs, built from the band of
    rows and columns the runs cover, never a whole-image bitmap."""
    if not runs:
        counts = [width * height]
    else:
        spans = np.asarray(runs, dtype=np.int64)
        top, bottom = int(spans[0, 0]) // width, int(spans[-1, 1] - 1) // width
        offset = top * width
        band_h = bottom - top + 1
        diff = np.zeros(band_h * width + 1, dtype=np.int8)
        diff[spans[:, 0] - offset] += 1
        diff[spans[:, 1] - offset] -= 1
        band = np.cumsum(diff[:-1], dtype=np.int8).reshape(band_h, width)
        columns = np.flatnonzero(band.any(axis=0))
        left, right = int(columns[0]), int(columns[-1])
        counts = _column_major_counts(band[:, left : right + 1], top, left, width, height)
    encoded = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return RLE(size=(height, width), counts=encoded["counts"].decode("ascii"))


def _column_major_counts(crop: np.ndarray, top: int, left: int, width: int, height: int):
    """COCO counts (zeros first) of an image that is `crop` at (left, top), zero elsewhere:
    the crop's column-major runs, with a padding zero after each column that stands for
    the rows below it and above the next column's crop."""
    crop_h, crop_w = crop.shape
    padded = np.zeros((crop_h + 1, crop_w), dtype=np.uint8)
    padded[:crop_h] = crop
    flat = padded.ravel(order="F")
    bounds = np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size]))
    lengths = np.diff(bounds)
    pads = np.arange(1, crop_w + 1, dtype=np.int64) * (crop_h + 1) - 1
    gaps = np.full(crop_w, height - crop_h - 1, dtype=np.int64)
    gaps[-1] = (height - top - crop_h - 1) + (width - left - crop_w) * height
    np.add.at(lengths, np.searchsorted(bounds, pads, side="right") - 1, gaps)
    values = flat[bounds[:-1]]
    if not lengths.all():  # padding zeros that stand for no rows (the crop reaches an edge)
        kept = lengths > 0
        lengths, values = lengths[kept], values[kept]
        starts = np.concatenate(([0], np.flatnonzero(values[1:] != values[:-1]) + 1))
        lengths, values = np.add.reduceat(lengths, starts), values[starts]
    lead = left * height + top
    if values[0] == 0:
        lengths[0] += lead
        return lengths.tolist()
    return [lead, *lengths.tolist()]


def ls_rle_to_rle(rle: Any, width: int, height: int) -> RLE:
    """A Label Studio brush RLE over a `width` x `height` image as a unified `RLE`."""
    return runs_to_rle(stroke_runs(rle, width, height)[0], width, height)


def ls_rle_to_bitmap(rle: Any, width: int, height: int) -> np.ndarray:
    """Decode a brush RLE to a boolean height x width bitmap (alpha != 0)."""
    return rle_to_bitmap(ls_rle_to_rle(rle, width, height))


def decode_ls_values(rle: Any) -> np.ndarray:
    """The flat uint8 RGBA values a Label Studio brush RLE encodes (tests and tools; the
    reader never builds them)."""
    reader = _BitReader(rle)
    count = reader.read(32)
    out = np.zeros(count, dtype=np.uint8)
    for start, end, value in _blocks(reader, count):
        out[start:end] = value
    return out


def _runs(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run lengths and values of a 1D array."""
    change = np.flatnonzero(flat[1:] != flat[:-1])
    ends = np.append(change, flat.size - 1)
    lengths = np.diff(np.append(-1, ends))
    return lengths, flat[ends]


def _run_bits(length: int, value: int) -> str:
    """The bits of one run, as Label Studio's encoder writes them."""
    word = f"{value:08b}"
    if length == 1:
        return "000000" + word
    if length <= 8:
        return f"100{length - 1:03b}" + word
    if length <= 16:
        return f"101{length - 1:04b}" + word
    if length <= 256:
        return f"110{length - 1:08b}" + word
    parts = []
    while length > MAX_RUN:
        parts.append(f"111{MAX_RUN - 1:016b}" + word)
        length -= MAX_RUN
    parts.append(f"111{length - 1:016b}" + word)
    return "".join(parts)


def bitmap_to_ls_rle(bitmap: np.ndarray) -> list[int]:
    """Encode a height x width bitmap as a Label Studio brush RLE (RGBA all 255 inside)."""
    pixels = np.where(np.asarray(bitmap).ravel() != 0, 255, 0).astype(np.uint8)
    header = f"{pixels.size * 4:032b}{WORD_SIZE - 1:05b}" + "".join(
        f"{size - 1:04b}" for size in RLE_SIZES
    )
    body = []
    if pixels.size:
        lengths, values = _runs(pixels)
        body = [_run_bits(int(n) * 4, int(v)) for n, v in zip(lengths, values, strict=True)]
    bits = header + "".join(body)
    bits += "0" * (8 - len(bits) % 8)
    return list(int(bits, 2).to_bytes(len(bits) // 8, "big"))


def rle_to_ls_rle(rle: RLE) -> list[int]:
    """A unified `RLE` as a Label Studio brush RLE (its size is the RLE's size)."""
    return bitmap_to_ls_rle(rle_to_bitmap(rle))
