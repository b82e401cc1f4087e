"""Inline SVG plots drawn by hand (no plotting library, nothing fetched): a bar chart, a
heatmap, a histogram and an item with its regions.

Every function returns SVG markup as a string. Every text that comes from the data goes
through `esc` (HTML/XML escaping, quotes included), so a label `<script>` is drawn as
text and never becomes markup. Numbers are written with `num` (finite, short).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

FONT = "font-family='sans-serif' font-size='12'"
PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#9a6324",
    "#469990",
    "#800000",
    "#808000",
    "#000075",
)
GOLD_COLOUR = "#000000"
BAR_COLOUR = "#4363d8"


def esc(text: object) -> str:
    """`text` escaped for HTML and SVG text and attribute values."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A finite number, short ("12.5", "3")."""
    if not math.isfinite(value):
        return "0"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _truncate(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def bar_chart(counts: Sequence[tuple[str, int]], *, width: int = 640) -> str:
    """Horizontal bars, one per `(label, count)`, longest first as given."""
    row, left, right = 20, 180, 60
    height = max(row * len(counts) + 10, 40)
    top = max((count for _, count in counts), default=0) or 1
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='plot-svg' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' {FONT}>"
    ]
    for index, (label, count) in enumerate(counts):
        y = 5 + index * row
        length = (width - left - right) * count / top
        parts.append(
            f"<text x='{left - 6}' y='{y + 14}' text-anchor='end'>"
            f"<title>{esc(label)}</title>{esc(_truncate(label))}</text>"
            f"<rect x='{left}' y='{y + 2}' width='{num(max(length, 1))}' height='{row - 4}' "
            f"fill='{BAR_COLOUR}'><title>{esc(label)}: {count}</title></rect>"
            f"<text x='{num(left + length + 4)}' y='{y + 14}'>{count}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _heat(share: float) -> str:
    """White (0) to dark blue (1)."""
    share = min(max(share, 0.0), 1.0)
    r = round(255 - 188 * share)
    g = round(255 - 156 * share)
    b = round(255 - 39 * share)
    return f"rgb({r},{g},{b})"


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    shares: Sequence[Sequence[float | None]] | None = None,
    decimals: int = 2,
    row_title: str = "",
    column_title: str = "",
) -> str:
    """A grid of cells coloured by `shares` (0..1; `values` themselves when None) and
    labeled with `values`; a None value is a grey cell marked "-"."""
    cell, left, top = 44, 170, 120
    width = left + cell * len(columns) + 10
    height = top + cell * len(rows) + 10
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='plot-svg' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' {FONT}>",
        f"<text x='4' y='14' font-weight='bold'>{esc(row_title)}</text>",
        f"<text x='{left}' y='14' font-weight='bold'>{esc(column_title)}</text>",
    ]
    for j, name in enumerate(columns):
        x = left + j * cell + cell / 2
        parts.append(
            f"<text transform='translate({num(x + 4)},{top - 6}) rotate(-60)'>"
            f"<title>{esc(name)}</title>{esc(_truncate(name, 16))}</text>"
        )
    for i, name in enumerate(rows):
        y = top + i * cell
        parts.append(
            f"<text x='{left - 6}' y='{num(y + cell / 2 + 4)}' text-anchor='end'>"
            f"<title>{esc(name)}</title>{esc(_truncate(name, 24))}</text>"
        )
        for j, value in enumerate(values[i]):
            x = left + j * cell
            share = shares[i][j] if shares is not None else value
            fill = "#dddddd" if value is None or share is None else _heat(share)
            text = "-" if value is None else f"{value:.{decimals}f}"
            dark = share is not None and value is not None and share > 0.6
            parts.append(
                f"<rect x='{x}' y='{y}' width='{cell - 1}' height='{cell - 1}' fill='{fill}'>"
                f"<title>{esc(name)} / {esc(columns[j])}: {esc(text)}</title></rect>"
                f"<text x='{num(x + cell / 2)}' y='{num(y + cell / 2 + 4)}' text-anchor='middle' "
                f"fill='{'#ffffff' if dark else '#000000'}'>{esc(text)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def histogram(edges: Sequence[float], counts: Sequence[int], *, width: int = 640) -> str:
    """Bars over the bins `edges[i]..edges[i+1]` with `counts[i]` in each."""
    height, left, bottom, top_pad = 220, 40, 30, 10
    plot_w = width - left - 10
    plot_h = height - bottom - top_pad
    top = max(counts, default=0) or 1
    bar = plot_w / max(len(counts), 1)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='plot-svg' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' {FONT}>",
        f"<line x1='{left}' y1='{top_pad + plot_h}' x2='{width - 10}' y2='{top_pad + plot_h}' "
        "stroke='#000'/>",
        f"<text x='4' y='{top_pad + 10}'>{top}</text>",
    ]
    for index, count in enumerate(counts):
        h = plot_h * count / top
        x = left + index * bar
        parts.append(
            f"<rect x='{num(x + 1)}' y='{num(top_pad + plot_h - h)}' width='{num(bar - 2)}' "
            f"height='{num(h)}' fill='{BAR_COLOUR}'><title>{num(edges[index])}-"
            f"{num(edges[index + 1])}: {count}</title></rect>"
        )
    for index in range(0, len(edges), max(1, len(edges) // 5)):
        x = left + index * bar
        parts.append(
            f"<text x='{num(x)}' y='{height - 10}' text-anchor='middle'>{num(edges[index])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------- gallery


def _scale(shape: dict[str, Any], width: float, height: float) -> tuple[float, float]:
    """The factors that take the shape's units to the canvas's pixels."""
    if shape.get("units") == "percent":
        return width / 100.0, height / 100.0
    return 1.0, 1.0


def region_svg(
    shape: dict[str, Any], label: str | None, stroke: str, width: float, height: float
) -> str:
    """One region as an SVG group `<g class='region'>` (its label as the tooltip)."""
    sx, sy = _scale(shape, width, height)
    kind = shape.get("type")
    style = f"fill='none' stroke='{stroke}' stroke-width='2' vector-effect='non-scaling-stroke'"
    body = ""
    if kind == "bbox":
        x, y = shape["x"] * sx, shape["y"] * sy
        w, h = shape["width"] * sx, shape["height"] * sy
        turn = ""
        if shape.get("rotation"):
            turn = (
                f" transform='rotate({num(shape['rotation'])} {num(x + w / 2)} {num(y + h / 2)})'"
            )
        body = f"<rect x='{num(x)}' y='{num(y)}' width='{num(w)}' height='{num(h)}' {style}{turn}/>"
    elif kind in ("polygon", "polyline", "cuboid"):
        points = " ".join(f"{num(px * sx)},{num(py * sy)}" for px, py in shape["points"])
        tag = "polygon" if kind != "polyline" else "polyline"
        body = f"<{tag} points='{points}' {style}/>"
    elif kind in ("points", "skeleton"):
        body = "".join(
            f"<circle cx='{num(p['x'] * sx)}' cy='{num(p['y'] * sy)}' r='3' fill='{stroke}'/>"
            for p in shape["points"]
            if p.get("visibility") != "absent"
        )
    elif kind == "ellipse":
        cx, cy = shape["cx"] * sx, shape["cy"] * sy
        body = (
            f"<ellipse cx='{num(cx)}' cy='{num(cy)}' rx='{num(shape['rx'] * sx)}' "
            f"ry='{num(shape['ry'] * sy)}' {style} "
            f"transform='rotate({num(shape.get('rotation', 0.0))} {num(cx)} {num(cy)})'/>"
        )
    elif kind == "mask":
        body = _mask_box(shape, style)
    title = f"<title>{esc(label if label is not None else '(no label)')}</title>"
    return f"<g class='region' data-kind='{esc(kind)}'>{title}{body}</g>"


def _mask_box(shape: dict[str, Any], style: str) -> str:
    """A mask drawn as its bounding box, dashed."""
    from bridge.geometry import rle_bbox
    from bridge.schema import RLE

    x, y, w, h = rle_bbox(RLE.model_validate(shape["rle"]))
    return (
        f"<rect x='{num(x)}' y='{num(y)}' width='{num(w)}' height='{num(h)}' {style} "
        "stroke-dasharray='6 3'/>"
    )


def item_svg(
    snapshot: dict[str, Any],
    colours: dict[str, str],
    image: str | None,
    *,
    display_width: int = 320,
) -> str:
    """An item's canvas (the image as a data: URI, else a blank canvas of the item's size)
    with every set's regions in its annotator's colour."""
    media = snapshot["media"]
    width = float(media.get("width") or 0)
    height = float(media.get("height") or 0)
    if width <= 0 or height <= 0:
        width, height = _extent(snapshot)
    display_height = max(1, round(display_width * height / width))
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='item-svg' width='{display_width}' "
        f"height='{display_height}' viewBox='0 0 {num(width)} {num(height)}' "
        "preserveAspectRatio='none'>",
        f"<rect class='canvas' x='0' y='0' width='{num(width)}' height='{num(height)}' "
        "fill='#f2f2f2'/>",
    ]
    if image is not None:
        parts.append(
            f"<image href='{esc(image)}' x='0' y='0' width='{num(width)}' "
            f"height='{num(height)}' preserveAspectRatio='none'/>"
        )
    for entry in snapshot["sets"]:
        stroke = colours.get(entry["annotator"], GOLD_COLOUR)
        for region in entry["regions"]:
            parts.append(region_svg(region["shape"], region["label"], stroke, width, height))
    parts.append("</svg>")
    return "".join(parts)


def _extent(snapshot: dict[str, Any]) -> tuple[float, float]:
    """A canvas size for an item of unknown size: 100 x 100 for percent shapes, else the
    farthest pixel point any region reaches (at least 100)."""
    from pydantic import TypeAdapter

    from bridge.qa.workflows.shapes import outline
    from bridge.schema import AnyShape

    shapes: TypeAdapter[Any] = TypeAdapter(AnyShape)
    far_x, far_y = 100.0, 100.0
    for entry in snapshot["sets"]:
        for region in entry["regions"]:
            shape = region["shape"]
            if shape.get("units") == "percent" or shape.get("type") == "mask":
                continue
            for x, y in outline(shapes.validate_python(shape)) or []:
                far_x, far_y = max(far_x, x), max(far_y, y)
    return far_x, far_y
