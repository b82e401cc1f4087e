"""The gallery's images as `data:` URIs, so the report needs no network to open.

An item's media `uri` is embedded when it is a local file (a path, absolute or relative to
a source file's directory or the working directory, or a `file://` URI) or an `http(s)`
URL that answers within `timeout` seconds (through `bridge.http`: one attempt, redirects
under its policy). Either way the image must be at most `max_bytes` and be a PNG, JPEG,
GIF, WebP or BMP by its first bytes (never by its name or a server's header: an SVG or
HTML answer is not embedded). Anything else, and any failure, leaves the item on a blank
canvas of its size; `Embedder.failures` counts why.
"""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlparse

from bridge.errors import BridgeError

MAX_IMAGE_BYTES = 4 * 1024 * 1024
TIMEOUT = 5.0


def image_type(head: bytes) -> str | None:
    """The MIME type of an image by its magic bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM"):
        return "image/bmp"
    return None


def data_uri(body: bytes) -> str | None:
    kind = image_type(body[:16])
    if kind is None:
        return None
    return f"data:{kind};base64,{base64.b64encode(body).decode('ascii')}"


class Embedder:
    """Turns media URIs into data: URIs (see the module docstring)."""

    def __init__(
        self,
        base_dirs: list[Path],
        *,
        max_bytes: int = MAX_IMAGE_BYTES,
        timeout: float = TIMEOUT,
        allow_http: bool = True,
    ):
        self.base_dirs = base_dirs
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.allow_http = allow_http
        self.failures: Counter[str] = Counter()
        self.embedded = 0

    def __call__(self, uri: str | None) -> str | None:
        if not uri:
            self.failures["no uri"] += 1
            return None
        parsed = urlparse(uri)
        if parsed.scheme in ("http", "https"):
            body = self._download(uri) if self.allow_http else None
            if not self.allow_http:
                self.failures["http disabled"] += 1
        elif parsed.scheme == "file":
            body = self._read(Path(unquote(parsed.path)))
        elif parsed.scheme and len(parsed.scheme) > 1:  # s3://, gs://, ... (not C:\)
            self.failures["not a local file or http(s) URL"] += 1
            return None
        else:
            body = self._local(uri)
        if body is None:
            return None
        found = data_uri(body)
        if found is None:
            self.failures["not a PNG, JPEG, GIF, WebP or BMP image"] += 1
            return None
        self.embedded += 1
        return found

    def _local(self, uri: str) -> bytes | None:
        path = Path(uri)
        candidates = [path] if path.is_absolute() else [base / path for base in self.base_dirs]
        for candidate in candidates:
            if candidate.is_file():
                return self._read(candidate)
        self.failures["file not found"] += 1
        return None

    def _read(self, path: Path) -> bytes | None:
        try:
            if not path.is_file():
                self.failures["file not found"] += 1
                return None
            if path.stat().st_size > self.max_bytes:
                self.failures["larger than the size cap"] += 1
                return None
            return path.read_bytes()
        except OSError:
            self.failures["file not readable"] += 1
            return None

    def _download(self, url: str) -> bytes | None:
        from bridge.http import HttpClient, HttpLimits, RetryPolicy

        limits = HttpLimits(deadline=self.timeout, max_bytes=self.max_bytes)
        try:
            with HttpClient(
                "",
                tool="the media server",
                timeout=self.timeout,
                retry=RetryPolicy(attempts=1),
                limits=limits,
                headers={"Accept": "image/*"},
            ) as client:
                return client.get(url).content
        except BridgeError:  # unreachable, refused, too large, too slow: a blank canvas
            self.failures["download failed"] += 1
            return None
