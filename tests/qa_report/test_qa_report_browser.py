"""The HTML report: self-contained, escaped, and it opens in headless Chromium without
errors, with every plot drawn and the gallery's regions all there.

The browser is Debian's `chromium` (`.ci/run` installs it). Under CI (`CI` set) a missing
browser fails the test; elsewhere the test is skipped with a message saying how to get it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.qa_report.builders import aset, box, item, project, run_cli, write_jsonl

XSS_LABEL = "<script>alert(1)</script>"
XSS_NAME = '"><img src=x onerror=alert(2)>'
IMAGE_COLOUR = (255, 140, 0)
PLOTS = ("classes", "confusion", "agreement", "iou", "scorecards", "gallery")


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing under CI: .ci/run installs Debian's chromium")
        pytest.skip("chromium not installed (apt-get install -y chromium) - browser test skipped")
    return found


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def gallery_dataset(directory: Path) -> tuple[Path, int]:
    """Three items on a 200 x 150 orange image; on each, gold draws 1 box, a@x 2 (one of them
    extra), the annotator with a hostile name 1 with a hostile label. Returns the file and
    how many regions the gallery must draw."""
    Image.new("RGB", (200, 150), IMAGE_COLOUR).save(directory / "photo.png")
    items = []
    for i in range(3):
        items.append(
            item(
                f"img<{i}>",
                [
                    aset(f"g{i}", "lead@x", [box("g", "cat", 20, 20, 60, 60)], kind="gold"),
                    aset(
                        f"a{i}",
                        "a@x",
                        [box("a1", "cat", 22, 20, 60, 60), box("a2", "dog", 120, 80, 40, 40)],
                    ),
                    aset(f"x{i}", XSS_NAME, [box("x1", XSS_LABEL, 20, 22, 60, 60)]),
                ],
                uri="photo.png",
                width=200,
                height=150,
            )
        )
    path = write_jsonl(directory / "data.jsonl", items, project(["cat", "dog"]))
    return path, 3 * (1 + 2 + 1)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    directory = tmp_path_factory.mktemp("report")
    data, regions = gallery_dataset(directory)
    page = directory / "report.html"
    done = run_cli("qa", str(data), "-o", str(page), "--json", str(directory / "r.json"))
    assert done.returncode == 0, done.stderr
    return page, regions, json.loads((directory / "r.json").read_text())


def test_the_page_is_self_contained_and_escapes_every_text(report_page):
    page, _, report = report_page
    text = page.read_text()
    assert XSS_LABEL not in text and XSS_NAME not in text
    assert html.escape(XSS_LABEL) in text and html.escape(XSS_NAME) in text
    assert text.count("<script") == 1  # the page's own script, nothing from the data
    # nothing to fetch: the only URL is the SVG namespace; the image is a data: URI
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s'\"<>]*", text))
    assert urls <= {"http://www.w3.org/2000/svg"}
    assert "href='data:image/png;base64," in text
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    # the JSON holds the hostile texts as they are
    assert XSS_LABEL in report["imbalance"]["classes"] or XSS_LABEL in json.dumps(report)


def test_the_page_opens_in_chromium_with_every_plot_drawn(report_page, tmp_path):
    page, regions, report = report_page
    dumped = browse(page, tmp_path / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    title = re.search(r"<title>(.*?)</title>", dom).group(1)
    assert not title.startswith("ERROR"), title
    assert 'data-loaded="yes"' in dom
    console = [line for line in dumped.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "Uncaught" in line or "Refused" in line], console
    assert 'class="missing"' not in dom  # every plot has data on this dataset
    # the gallery draws every region of every shown item, and no injected element exists
    assert len(report["gallery"]) == 3
    assert dom.count('<g class="region"') == regions
    assert "<img" not in dom and dom.count("<script") == 1
    boxes = json.loads(html.unescape(re.search(r'data-boxes="([^"]*)"', dom).group(1)))
    assert set(boxes) == set(PLOTS)
    bottom = max(top + height for _, top, _, height in boxes.values())

    shot = tmp_path / "page.png"
    taken = browse(
        page,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        f"--window-size=1400,{bottom + 50}",
        "--hide-scrollbars",
    )
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    for name in PLOTS:
        left, top, width, height = boxes[name]
        area = image.crop((left + 2, top + 2, left + width - 2, top + height - 2))
        colours = area.getcolors(maxcolors=1 << 20)
        ink = sum(n for n, c in colours if c != (255, 255, 255))
        assert ink > 0.02 * width * height, f"plot {name} is blank"
        assert len(colours) > 3, f"plot {name} has almost no drawing"
    # the real image is under the gallery's regions
    left, top, width, height = boxes["gallery"]
    gallery = image.crop((left, top, left + width, top + height))
    orange = sum(n for n, c in gallery.getcolors(1 << 20) if _near(c, IMAGE_COLOUR))
    assert orange > 3 * 1000  # three thumbnails of mostly orange image


def _near(colour: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(colour, target, strict=True))


def test_an_item_without_its_image_is_drawn_on_a_blank_canvas(tmp_path):
    items = [
        item(
            "lost",
            [
                aset("a", "a@x", [box("r1", "cat", 0, 0)]),
                aset("b", "b@x", [box("r1", "dog", 0, 0), box("r2", "dog", 50, 50)]),
            ],
            uri="missing.png",
            width=300,
            height=100,
        )
    ]
    data = write_jsonl(tmp_path / "d.jsonl", items)
    page = tmp_path / "r.html"
    done = run_cli("qa", str(data), "-o", str(page))
    assert done.returncode == 0, done.stderr
    assert "1 file not found" in done.stderr
    text = page.read_text()
    assert "<image" not in text
    assert "viewBox='0 0 300 100'" in text  # the canvas has the item's size
    assert text.count("<g class='region'") == 3


def test_a_heatmap_shows_at_most_30_annotators(tmp_path):
    from bridge.qa.report.html import MAX_CELLS, render
    from bridge.qa.workflows.run import QaSettings, run_qa

    # 35 annotators on item 0; only the first 30 also on item 1: they are the busiest
    sets0 = [aset(f"s{i}", f"p{i:02d}@x", [box("r", "cat", 0, 0)]) for i in range(35)]
    sets1 = [aset(f"t{i}", f"p{i:02d}@x", [box("r", "cat", 0, 0)]) for i in range(30)]
    data = write_jsonl(tmp_path / "many.jsonl", [item("i0", sets0), item("i1", sets1)])
    report = run_qa([str(data)], QaSettings(gallery_size=0))
    assert len(report["agreement"]["annotators"]) == 35  # the JSON keeps every one
    page = render(report)
    figure = page.split("data-plot='agreement'>")[1].split("</figure>")[0]
    assert figure.count("<rect") == MAX_CELLS * MAX_CELLS == 900
    assert "p29@x" in figure and "p30@x" not in figure
