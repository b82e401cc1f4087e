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
`rle_to_ls_rle` writes what `label_studio_sdk.converter.brush.mask2rle(mask * 255)` writes,
bit for bit.
"""

from __future__ import annotations

import numpy as np

from bridge.geometry.masks import bitmap_to_rle, rle_to_bitmap
from bridge.schema import RLE

WORD_SIZE = 8
RLE_SIZES = (3, 4, 8, 16)
MAX_RUN = 1 << 16


class _BitReader:
    """Reads unsigned big-endian bit fields from a byte list."""

    def __init__(self, data: list[int]) -> None:
        try:
            raw = bytes(data)
        except (TypeError, ValueError):
            raise ValueError("a brush RLE must be a list of ints 0-255") from None
        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
        self.bits = (bits + ord("0")).tobytes().decode("ascii")
        self.pos = 0

    def read(self, width: int) -> int:
        end = self.pos + width
        if end > len(self.bits):
            raise ValueError("the brush RLE ends in the middle of a block")
        value = int(self.bits[self.pos : end], 2)
        self.pos = end
        return value


def decode_ls_values(rle: list[int]) -> np.ndarray:
    """The flat uint8 RGBA values a Label Studio brush RLE encodes."""
    reader = _BitReader(rle)
    count = reader.read(32)
    word_size = reader.read(5) + 1
    sizes = [reader.read(4) + 1 for _ in range(4)]
    out = np.zeros(count, dtype=np.uint8)
    i = 0
    while i < count:
        repeat = reader.read(1)
        end = i + 1 + reader.read(sizes[reader.read(2)])
        if end > count:
            raise ValueError(f"a brush run goes past the {count} values the header announces")
        if repeat:
            out[i:end] = reader.read(word_size)
        else:
            for k in range(i, end):
                out[k] = reader.read(word_size)
        i = end
    return out


def ls_rle_to_bitmap(rle: list[int], width: int, height: int) -> np.ndarray:
    """Decode a brush RLE to a boolean height x width bitmap (alpha != 0)."""
    values = decode_ls_values(rle)
    if values.size != width * height * 4:
        raise ValueError(
            f"the brush RLE holds {values.size} values, not {width}x{height}x4 = "
            f"{width * height * 4}: original_width/original_height do not match it"
        )
    return values[3::4].reshape(height, width) != 0


def ls_rle_to_rle(rle: list[int], width: int, height: int) -> RLE:
    """A Label Studio brush RLE over a `width` x `height` image as a unified `RLE`."""
    return bitmap_to_rle(ls_rle_to_bitmap(rle, width, height))


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
