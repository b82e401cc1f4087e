"""The QA report as one self-contained static HTML page.

`render(report, embed)` turns the report dict of `bridge.qa.workflows.run` into a page that
needs no network: its style and its one script are inline, the plots are inline SVG
(`svg`), the gallery's images are `data:` URIs (`media.Embedder`) or blank canvases. A
Content-Security-Policy allows data: images and only the page's own script (by its
SHA-256), so nothing is fetched and no text from the data can run as script; every such
text is escaped anyway (`svg.esc`).

Each plot sits in an element with a `data-plot` name (classes, confusion, agreement, iou,
scorecards, gallery). On load the script writes their page coordinates into the body's
`data-boxes` attribute (JSON: name -> [left, top, width, height]) and sets `data-loaded`;
an uncaught error sets the title to `ERROR: ...`. The browser test reads both.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from importlib import resources
from string import Template
from typing import Any

from bridge.qa.report import svg
from bridge.qa.report.svg import esc

MAX_BARS = 40
MAX_CELLS = 30
"""The most annotators (agreement) or classes (confusion) a heatmap shows: the busiest ones;
the JSON keeps them all."""


def _asset(name: str) -> str:
    return resources.files("bridge.qa.report").joinpath("static", name).read_text("utf-8")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(columns: list[str], rows: list[list[Any]], *, attrs: str = "") -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cls = " class='num'" if numeric or value is None else ""
            cells.append(f"<td{cls}>{esc(_fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _missing(part: dict[str, Any]) -> str:
    return f"<p class='missing'>not measured: {esc(part.get('reason', 'no data'))}</p>"


def _figure(name: str, title: str, content: str, caption: str = "") -> str:
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (
        f"<h2>{esc(title)}</h2><figure class='plot' id='plot-{name}' data-plot='{name}'>"
        f"{content}{cap}</figure>"
    )


# ----------------------------------------------------------------------- sections


def _header(report: dict[str, Any]) -> str:
    counts = report["counts"]
    sources = ", ".join(f"{s['name']} ({s['tool']}, {s['items']} items)" for s in report["sources"])
    rows = [
        ("sources", sources),
        ("items", counts["items"]),
        ("annotation sets", counts["annotation_sets"]),
        (
            "human / gold / prediction sets",
            f"{counts['human_sets']} / {counts['gold_sets']} / {counts['prediction_sets']}",
        ),
        ("annotators", counts["annotators"]),
        ("defect rate", _fmt(report["defects"]["defect_rate"])),
        ("agreement (pooled)", _fmt(report["agreement"].get("overall"))),
        ("gold F1 (micro)", _fmt(report["gold"].get("micro", {}).get("f1"))),
    ]
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<h1>QA report</h1><table class='summary'>{body}</table>"


def _gates(report: dict[str, Any]) -> str:
    gates = report.get("gates") or []
    if not gates:
        return ""
    rows = []
    for gate in gates:
        verdict = "pass" if gate["passed"] else "FAIL"
        rows.append(
            f"<tr><td>{esc(gate['gate'])}</td><td class='num'>{esc(_fmt(gate['value']))}</td>"
            f"<td>{esc(gate['comparison'])} {esc(_fmt(gate['threshold']))}</td>"
            f"<td class='{'pass' if gate['passed'] else 'fail'}'>{verdict}</td></tr>"
        )
    head = "<tr><th>gate</th><th>value</th><th>needs</th><th>result</th></tr>"
    return (
        f"<h2>Quality gates</h2><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _classes(report: dict[str, Any]) -> str:
    imbalance = report["imbalance"]
    counts = list(imbalance["classes"].items())
    shown = counts[:MAX_BARS]
    if len(counts) > MAX_BARS:
        shown.append(
            (f"({len(counts) - MAX_BARS} more classes)", sum(n for _, n in counts[MAX_BARS:]))
        )
    content = svg.bar_chart(shown) if shown else _missing({"reason": "no labeled regions"})
    ratio = imbalance["ratio"]
    under = imbalance["under_threshold"]
    caption = (
        f"imbalance ratio (max/min): {_fmt(ratio, 2)}; under {imbalance['min_per_class']}"
        f" per class: {', '.join(under) if under else 'none'}"
    )
    return _figure("classes", "Class distribution", content, caption)


def _confusion(report: dict[str, Any]) -> str:
    gold = report["gold"]
    if not gold.get("available") or not gold.get("confusion", {}).get("labels"):
        return _figure("confusion", "Confusion matrix (against gold)", _missing(gold))
    confusion = gold["confusion"]
    labels = confusion["labels"]
    matrix = confusion["matrix"]
    if len(labels) > MAX_CELLS:
        weight = [sum(matrix[i]) + sum(row[i] for row in matrix) for i in range(len(labels) - 1)]
        keep = sorted(sorted(range(len(weight)), key=lambda i: -weight[i])[: MAX_CELLS - 1])
        keep.append(len(labels) - 1)  # the background row and column stay
        labels = [labels[i] for i in keep]
        matrix = [[matrix[i][j] for j in keep] for i in keep]
    shares = []
    for row in matrix:
        total = sum(row)
        shares.append([(n / total if total else 0.0) for n in row])
    content = svg.heatmap(
        labels,
        labels,
        [[float(n) for n in row] for row in matrix],
        shares=shares,
        decimals=0,
        row_title="gold",
        column_title="annotators",
    )
    micro = gold.get("micro", {})
    caption = (
        f"rows: gold class, columns: what annotators drew (background: unmatched); "
        f"micro P/R/F1 {_fmt(micro.get('precision'))} / {_fmt(micro.get('recall'))} / "
        f"{_fmt(micro.get('f1'))} at IoU {_fmt(gold.get('iou_threshold'), 2)}"
    )
    return _figure("confusion", "Confusion matrix (against gold)", content, caption)


def _agreement(report: dict[str, Any]) -> str:
    agreement = report["agreement"]
    names = agreement.get("annotators") or []
    if not agreement.get("available") or len(names) < 2:
        return _figure("agreement", "Agreement per annotator pair", _missing(agreement))
    if len(names) > MAX_CELLS:
        busy: dict[str, int] = {}
        for pair in agreement.get("pairs", []):
            for who in (pair["a"], pair["b"]):
                busy[who] = busy.get(who, 0) + pair["items"]
        names = sorted(sorted(names, key=lambda who: -busy.get(who, 0))[:MAX_CELLS])
    index = {name: i for i, name in enumerate(names)}
    values: list[list[float | None]] = [[None] * len(names) for _ in names]
    for pair in agreement.get("pairs", []):
        if pair["a"] in index and pair["b"] in index:
            i, j = index[pair["a"]], index[pair["b"]]
            values[i][j] = values[j][i] = pair["agreement"]
    for i in range(len(names)):
        values[i][i] = 1.0
    content = svg.heatmap(names, names, values, row_title="annotator", column_title="annotator")
    caption = (
        f"pooled agreement {_fmt(agreement.get('overall'))}; mean Cohen's kappa "
        f"{_fmt(agreement.get('kappa'))}; Krippendorff's alpha {_fmt(agreement.get('alpha'))}"
    )
    return _figure("agreement", "Agreement per annotator pair", content, caption)


def _iou(report: dict[str, Any]) -> str:
    agreement = report["agreement"]
    histogram = agreement.get("iou_histogram") or {}
    if not agreement.get("available") or not sum(histogram.get("counts", [])):
        reason = agreement if not agreement.get("available") else {"reason": "no matched regions"}
        return _figure("iou", "IoU of matched regions", _missing(reason))
    content = svg.histogram(histogram["edges"], histogram["counts"])
    caption = f"{sum(histogram['counts'])} matched region pairs between annotators"
    return _figure("iou", "IoU of matched regions", content, caption)


SCORECARD_COLUMNS = [
    ("annotator", "annotator"),
    ("tool", "tool"),
    ("sets", "sets"),
    ("items", "items"),
    ("regions", "regions"),
    ("lead_time_median", "median lead time (s)"),
    ("defect_rate", "defect rate"),
    ("agreement", "agreement with others"),
    ("gold_f1", "F1 vs gold"),
]


def _scorecards(report: dict[str, Any]) -> str:
    rows = [[row.get(key) for key, _ in SCORECARD_COLUMNS] for row in report["scorecards"]]
    table = _table([title for _, title in SCORECARD_COLUMNS], rows)
    return _figure("scorecards", "Annotator scorecards", table)


def _defects(report: dict[str, Any]) -> str:
    defects = report["defects"]
    rows = [
        [
            tool,
            t["sets"],
            t["reviewed"],
            t["defective"],
            t["rejected"],
            t["changed"],
            t["defect_rate"],
        ]
        for tool, t in defects["by_tool"].items()
    ]
    table = _table(
        ["tool", "sets", "reviewed", "defective", "rejected", "changed", "defect rate"], rows
    )
    diff = defects["diff"]
    note = (
        f"<p>submission vs accepted version: {diff['compared']} compared; added {diff['added']}, "
        f"removed {diff['removed']}, relabeled {diff['relabeled']}, moved {diff['moved']}</p>"
        if diff["available"]
        else "<p class='missing'>submission vs accepted diff: not measured (no region matcher)</p>"
    )
    return f"<h2>Defects</h2>{table}{note}"


def _consistency(report: dict[str, Any]) -> str:
    part = report["consistency"]
    dup = part["duplicates"]
    rows = [
        [
            ex["by"],
            ex["value"],
            "; ".join(f"{m['key']}: {', '.join(m['labels'])}" for m in ex["items"]),
        ]
        for ex in dup["examples"]
    ]
    violations = part["ontology_violations"]
    vrows = [
        [
            ex["code"],
            ex.get("source"),
            ex.get("label"),
            ex.get("question"),
            ex.get("value"),
            ex["count"],
        ]
        for ex in violations["examples"]
    ]
    outside = part["outside_media"]
    orows = [[ex["item"], ex["set"], ex["region"], ex["label"]] for ex in outside["examples"]]
    return (
        "<h2>Consistency</h2>"
        f"<p>{dup['conflicting_groups']} groups of identical items labeled differently "
        f"({dup['items_in_conflict']} items)</p>"
        + (_table(["same", "value", "items: labels"], rows) if rows else "")
        + f"<p>{violations['count']} answers or labels outside the ontology</p>"
        + (
            _table(["problem", "source", "class", "question", "value", "count"], vrows)
            if vrows
            else ""
        )
        + f"<p>{outside['count']} regions outside their media ({outside['checked_regions']} checked)</p>"
        + (_table(["item", "set", "region", "label"], orows) if orows else "")
    )


def _lists(report: dict[str, Any]) -> str:
    sample = report["sample"]
    queue = report["queue"]
    qrows = [
        [row["rank"], row["item"], row["priority"], row["uncertainty"], row["disagreement"]]
        for row in queue["queue"][:20]
    ]
    return (
        "<h2>Review sample and labeling queue</h2>"
        f"<p>review sample: {sample['size']} of {sample['population']} sets "
        f"({_fmt(sample['percent'], 1)}%, seed {sample['seed']}, {len(sample['strata'])} strata)</p>"
        f"<p>labeling queue (by {esc(queue['by'])}): {queue['ranked_items']} items ranked; top:</p>"
        + (
            _table(["rank", "item", "priority", "uncertainty", "disagreement"], qrows)
            if qrows
            else ""
        )
    )


def _gallery(report: dict[str, Any], embed: Callable[[str | None], str | None] | None) -> str:
    entries = report["gallery"]
    if not entries:
        reason = (
            report["agreement"]
            if not report["agreement"].get("available")
            else {"reason": "no item with disagreement"}
        )
        return _figure("gallery", "Most-disagreed items", _missing(reason))
    colours = {name: svg.colour(i) for i, name in enumerate(report["annotators"])}
    colours["gold"] = svg.GOLD_COLOUR
    figures = []
    for entry in entries:
        if entry["media"].get("text") is not None and not any(s["regions"] for s in entry["sets"]):
            drawing = _text_item(entry, colours)
        else:
            image = embed(entry["media"].get("uri")) if embed is not None else None
            drawing = svg.item_svg(entry, colours, image)
        legend = "".join(
            f"<span class='who'><span class='swatch' style='background:{colours.get(s['annotator'], svg.GOLD_COLOUR)}'>"
            f"</span>{esc(s['annotator'])} ({len(s['regions']) + len(s.get('spans', []))})</span>"
            for s in entry["sets"]
        )
        figures.append(
            f"<figure class='item' data-item='{esc(entry['item'])}'>{drawing}"
            f"<figcaption><b>{esc(entry['item'])}</b> disagreement {_fmt(entry['disagreement'], 2)}"
            + (f", frame {entry['frame']}" if entry.get("frame") is not None else "")
            + f"<div class='legend'>{legend}</div></figcaption></figure>"
        )
    content = f"<div class='gallery'>{''.join(figures)}</div>"
    return _figure("gallery", "Most-disagreed items", content)


def _text_item(entry: dict[str, Any], colours: dict[str, str]) -> str:
    """A text item: its text, then each set's spans and answers in the annotator's colour."""
    lines = [f"<pre class='text-item'>{esc(entry['media']['text'])}</pre>"]
    for s in entry["sets"]:
        colour = colours.get(s["annotator"], svg.GOLD_COLOUR)
        marks = "".join(
            f"<span class='span-mark' style='border-color:{colour}'>{esc(sp['label'])}: "
            f"{esc(sp['text'] if sp['text'] is not None else (sp['start'], sp['end']))}</span>"
            for sp in s.get("spans", [])
        )
        answers = esc(", ".join(s.get("answers", [])))
        lines.append(
            f"<div class='text-set' style='border-left:4px solid {colour}'>"
            f"{esc(s['annotator'])}: {marks} {answers}</div>"
        )
    return "".join(lines)


def render(report: dict[str, Any], embed: Callable[[str | None], str | None] | None = None) -> str:
    """The report page (see the module docstring); `embed(uri)` gives an image's data: URI."""
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    body = "".join(
        [
            _header(report),
            _gates(report),
            _classes(report),
            _confusion(report),
            _agreement(report),
            _iou(report),
            _scorecards(report),
            _defects(report),
            _consistency(report),
            _lists(report),
            _gallery(report, embed),
        ]
    )
    return Template(_asset("template.html")).substitute(
        title="label-bridge QA report",
        script_hash=f"sha256-{digest}",
        css=_asset("report.css"),
        script=script,
        body=body,
    )
