"""Exported mask PNGs: some behind Labelbox API URLs (need the API key), some behind
signed storage links (must never see it). Both downloads are capped in bytes, and the
image size a PNG declares in its header is checked against the pixel budget before the
bytes are handed on to be decoded (a small PNG can inflate to gigabytes)."""

from __future__ import annotations

from urllib.parse import urlsplit

from bridge.limits import check_pixels
from bridge_labelbox.client import LabelboxClient
from bridge_labelbox.png_masks import declared_size
from bridge_labelbox.signed_urls import signed_url_where


def fetch_mask(client: LabelboxClient, url: str) -> bytes:
    """The PNG behind an exported mask URL. Labelbox API URLs get the API key; any
    other host (a signed storage link) is fetched without it, so the key never leaks."""
    if _is_labelbox_host(client, url):
        png = client.http.get(url, headers={"Accept": "image/png,*/*"}).content
    else:
        png = client._read_signed(url)
    check_png_size(png, where=f"mask {signed_url_where(url)}", max_pixels=client.max_pixels)
    return png


def _is_labelbox_host(client: LabelboxClient, url: str) -> bool:
    """True for the endpoint's own origin, or https on a labelbox.com host."""
    target, own = urlsplit(url), urlsplit(client.endpoint)
    host = (target.hostname or "").lower()
    if (target.scheme, target.netloc.lower()) == (own.scheme, own.netloc.lower()):
        return True
    return target.scheme == "https" and (host == "labelbox.com" or host.endswith(".labelbox.com"))


def check_png_size(png: bytes, *, where: str, max_pixels: int) -> None:
    """Refuse a PNG whose header (IHDR) declares more pixels than `max_pixels` (a
    `FormatError`). Bytes that are not a PNG are left to the decoder to refuse."""
    size = declared_size(png)
    if size is not None:
        check_pixels(*size, where=where, max_pixels=max_pixels)
