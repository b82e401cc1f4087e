"""COCO run-length encoding in plain Python: the compressed string form <-> run counts.

A COCO RLE lists run lengths over the mask's pixels in column-major order, starting with
background (`counts[0]` may be 0). Ground-truth crowd regions store the runs as a list of
integers ("uncompressed RLE"); pycocotools' own form compresses them into an ASCII string:
each run, after the third, is stored as the difference from the run two before it, in
5-bit groups (6th bit: more groups follow; 5th bit of the last group: the sign), each
group offset by 48 ('0'). This is the algorithm of cocoapi's `maskApi.c`
(`rleToString`/`rleFrString`); tests check it against pycocotools.
"""

from __future__ import annotations


def counts_to_string(counts: list[int]) -> str:
    """The compressed string of the run lengths `counts`."""
    out: list[str] = []
    for index, run in enumerate(counts):
        value = run - counts[index - 2] if index > 2 else run
        more = True
        while more:
            group = value & 0x1F
            value >>= 5
            more = value != -1 if group & 0x10 else value != 0
            if more:
                group |= 0x20
            out.append(chr(group + 48))
    return "".join(out)


def string_to_counts(text: str) -> list[int]:
    """The run lengths of the compressed string `text` (ValueError if it is not one)."""
    counts: list[int] = []
    position, end = 0, len(text)
    while position < end:
        value = shift = 0
        more = True
        while more:
            if position >= end:
                raise ValueError("the RLE string ends inside a run")
            group = ord(text[position]) - 48
            if not 0 <= group < 64:
                raise ValueError(f"{text[position]!r} is not an RLE character")
            value |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            position += 1
            shift += 5
            if not more and group & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def polygon_area(flat: list[float]) -> float:
    """The area enclosed by the polygon `[x1, y1, x2, y2, ...]` (shoelace formula)."""
    xs, ys = flat[0::2], flat[1::2]
    total = 0.0
    count = len(xs)
    for i in range(count):
        j = (i + 1) % count
        total += xs[i] * ys[j] - xs[j] * ys[i]
    return abs(total) / 2.0
