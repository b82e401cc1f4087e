"""`bridge qa` on a real tool export, on several sources joined by key, and the gallery's
image embedding (local files, http, refusals)."""

from __future__ import annotations

import base64
import io
import json
import statistics
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from bridge.qa.report.media import Embedder, image_type
from bridge.qa.workflows.run import QaSettings, run_qa
from tests.qa_report.builders import ROOT, aset, box, item, run_cli, write_jsonl

LS_EXPORT = ROOT / "tests" / "fixtures" / "labelstudio" / "real_image_boxes.json"


def test_a_real_label_studio_export(tmp_path):
    """Expected numbers read from the export itself (a Label Studio 1.23.2 snapshot)."""
    tasks = json.loads(LS_EXPORT.read_text())
    annotations = [a for t in tasks for a in t["annotations"]]
    predictions = [p for t in tasks for p in t.get("predictions", []) if isinstance(p, dict)]
    gold = [a for a in annotations if a.get("ground_truth")]
    done = run_cli("qa", str(LS_EXPORT), "--json", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    counts = report["counts"]
    assert counts["items"] == len(tasks)
    assert counts["gold_sets"] == len(gold)  # the server marks imported annotations ground truth
    assert counts["human_sets"] == len(annotations) - len(gold)
    assert counts["prediction_sets"] == len(predictions)
    # --gold naming nobody: every annotation is an annotator's work
    done = run_cli("qa", str(LS_EXPORT), "--gold", "annotator=nobody", "--json", "-")
    report = json.loads(done.stdout)
    assert report["counts"]["human_sets"] == len(annotations)
    assert report["defects"]["statuses"] == {
        "skipped": sum(1 for a in annotations if a["was_cancelled"]),
        "submitted": sum(1 for a in annotations if not a["was_cancelled"]),
    }
    (card,) = report["scorecards"]
    assert card["annotator"] == str(annotations[0]["completed_by"])
    assert card["tool"] == "labelstudio"
    assert card["lead_time_median"] == statistics.median(a["lead_time"] for a in annotations)


def test_two_vendors_on_the_same_items_are_compared(tmp_path):
    """Vendor A's file and vendor B's file hold the same five items (in another order);
    B mislabels one box."""
    a_items = [
        item(f"k{i}", [aset(f"a{i}", "ann@a", [box("r", "cat", 0, 0)], lead_time=10 + i)])
        for i in range(5)
    ]
    b_items = [
        item(
            f"k{i}",
            [aset(f"b{i}", "ann@b", [box("r", "dog" if i == 3 else "cat", 0, 0)], lead_time=4)],
        )
        for i in reversed(range(5))
    ]
    first = write_jsonl(tmp_path / "vendor_a.jsonl", a_items)
    second = write_jsonl(tmp_path / "vendor_b.jsonl", b_items)
    report = run_qa([str(first), str(second)], QaSettings())
    assert report["counts"]["items"] == 5 and report["counts"]["human_sets"] == 10
    (pair,) = report["agreement"]["pairs"]
    assert (pair["a"], pair["b"], pair["items"]) == ("ann@a", "ann@b", 5)
    assert pair["agreement"] == pytest.approx(8 / 10)
    cards = {row["annotator"]: row for row in report["scorecards"]}
    assert cards["ann@a"]["lead_time_median"] == 12.0  # 10..14
    assert cards["ann@b"]["lead_time_median"] == 4.0
    assert report["gallery"][0]["item"] == "k3"


def _png(colour=(0, 200, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def media_server():
    png = _png()
    pages = {
        "/ok.png": (200, png),
        "/page.svg": (
            200,
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        ),
        "/big.png": (200, png + b"\0" * 5000),
        "/gone.png": (404, b"not here"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            status, body = pages.get(self.path, (404, b""))
            self.send_response(status)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", png
    server.shutdown()
    server.server_close()


def test_images_are_embedded_only_when_they_are_small_real_images(tmp_path, media_server):
    base, png = media_server
    (tmp_path / "local.png").write_bytes(png)
    (tmp_path / "fake.png").write_bytes(b"<html>not an image</html>")
    embed = Embedder([tmp_path], max_bytes=1000, timeout=5)
    expected = "data:image/png;base64," + base64.b64encode(png).decode()
    assert embed(f"{base}/ok.png") == expected
    assert embed("local.png") == expected  # relative to a source's directory
    assert embed((tmp_path / "local.png").as_uri()) == expected
    assert embed(f"{base}/page.svg") is None  # never an SVG (it could hold a script)
    assert embed(f"{base}/big.png") is None  # over the size cap
    assert embed(f"{base}/gone.png") is None
    assert embed("fake.png") is None
    assert embed("s3://bucket/x.png") is None
    assert embed(None) is None
    assert embed.embedded == 3
    # the SVG and the HTML file are not images; the big PNG (Content-Length over the cap) and
    # the 404 fail to download
    assert dict(embed.failures) == {
        "not a PNG, JPEG, GIF, WebP or BMP image": 2,
        "download failed": 2,
        "not a local file or http(s) URL": 1,
        "no uri": 1,
    }
    no_http = Embedder([tmp_path], allow_http=False)
    assert no_http(f"{base}/ok.png") is None and no_http.failures["http disabled"] == 1


def test_image_types_by_their_first_bytes():
    assert image_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert image_type(b"GIF89a") == "image/gif"
    assert image_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert image_type(b"<svg") is None and image_type(b"") is None


def test_the_gallery_embeds_an_http_image(tmp_path, media_server):
    base, png = media_server
    items = [
        item(
            "web",
            [aset("a", "a@x", [box("r", "cat", 0, 0)]), aset("b", "b@x", [box("r", "dog", 0, 0)])],
            uri=f"{base}/ok.png",
            width=4,
            height=3,
        )
    ]
    data = write_jsonl(tmp_path / "w.jsonl", items)
    page = tmp_path / "w.html"
    assert run_cli("qa", str(data), "-o", str(page)).returncode == 0
    text = page.read_text()
    assert base64.b64encode(png).decode() in text
    page2 = tmp_path / "w2.html"
    assert run_cli("qa", str(data), "-o", str(page2), "--no-fetch-images").returncode == 0
    assert base64.b64encode(png).decode() not in Path(page2).read_text()


CVAT_JOB = ROOT / "tests" / "fixtures" / "cvat" / "job_export_images.xml"


@pytest.mark.parametrize(
    ("stage", "state", "reviewed", "defective"),
    [("acceptance", "completed", True, False), ("validation", "rejected", True, True)],
)
def test_a_cvat_job_stage_and_state_give_the_verdict(tmp_path, stage, state, reviewed, defective):
    """The real job export (frames 10-14, assignee carol) with a `<stage>`/`<state>` added
    to its `<job>` (CVAT's own job meta has none; the reader takes them when present):
    every set of the job gets the job's verdict."""
    text = CVAT_JOB.read_text().replace(
        "<mode>annotation</mode>",
        f"<mode>annotation</mode><stage>{stage}</stage><state>{state}</state>",
    )
    path = tmp_path / "job.xml"
    path.write_text(text)
    done = run_cli("qa", str(path), "--json", "-")
    assert done.returncode == 0, done.stderr
    defects = json.loads(done.stdout)["defects"]
    frames = 5  # the job covers frames 10..14: one annotation set per frame
    assert defects["sets"] == frames
    assert defects["reviewed"] == (frames if reviewed else 0)
    assert defects["defective"] == (frames if defective else 0)
    assert defects["defect_rate"] == (1.0 if defective else 0.0)
    assert list(defects["by_tool"]) == ["cvat"]
