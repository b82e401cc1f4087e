"""Exported mask PNGs: some behind Labelbox API URLs (need the API key), some behind
signed storage links (must never see it)."""

from __future__ import annotations

from urllib.parse import urlsplit

from bridge_labelbox.client import LabelboxClient


class MaskDownloads(LabelboxClient):
    """Fetching the PNG behind an exported mask URL, sending the key only to Labelbox."""

    def fetch_mask(self, url: str) -> bytes:
        """The PNG behind an exported mask URL. Labelbox API URLs get the API key; any
        other host (a signed storage link) is fetched without it, so the key never leaks."""
        if self._is_labelbox_host(url):
            return self.http.get(url, headers={"Accept": "image/png,*/*"}).content
        return self._read_signed(url)

    def _is_labelbox_host(self, url: str) -> bool:
        """True for the endpoint's own origin, or https on a labelbox.com host."""
        target, own = urlsplit(url), urlsplit(self.endpoint)
        host = (target.hostname or "").lower()
        if (target.scheme, target.netloc.lower()) == (own.scheme, own.netloc.lower()):
            return True
        return target.scheme == "https" and (
            host == "labelbox.com" or host.endswith(".labelbox.com")
        )
