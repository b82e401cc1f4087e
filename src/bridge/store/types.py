"""The plain values the workspace API takes and returns.

* `SourceSpec`: a named source pulled into the workspace (a file or a live project).
* `MatchRule`: how items from several sources are recognised as the same item.
* `TargetRef`: a place pushed to (a tool's project on a server, or a file); `links` are
  kept per target.
* `Link`: one workspace element (`element_id`, of a `kind`) and the remote object it
  corresponds to on a target, with the content hash last sent to or seen on that side.
* `StoredItem` / `StoredSet`: what `Workspace.iter_items` streams.
* `PullResult`: what a pull did, counted per kind and action.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bridge.errors import ConfigError
from bridge.losses import LossReport
from bridge.schema import Item
from bridge.secrets import redact

ElementKind = Literal["project", "item", "annotation_set"]
KINDS: tuple[str, ...] = ("project", "item", "annotation_set")
"""The kinds of workspace elements links and tombstones refer to."""

PULL_KINDS: tuple[str, ...] = ("items", "annotation_sets", "labels")
PULL_ACTIONS: tuple[str, ...] = ("created", "matched", "updated", "unchanged", "disappeared")

SECRET_QUERY = re.compile(r"(token|key|secret|password|passwd|auth|signature|sig)", re.I)


def strip_credentials(location: str | None) -> str | None:
    """`location` without `user:password@`, without query parameters that look like
    credentials (token, key, secret, ...) and with every secret the process registered
    (`bridge.secrets.register`), wherever it stands, masked: what the workspace stores."""
    if location is None or "://" not in location:
        return location
    parts = urlsplit(location)
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not SECRET_QUERY.search(k)
        ]
    )
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


@dataclass(frozen=True)
class TargetRef:
    """A target: `tool` ("labelstudio", "cvat", "labelbox", "file"), `instance` (the server,
    e.g. "127.0.0.1:8080"; "" for a file) and `project` (the remote project id, the
    absolute path of a file target, or None before the project exists)."""

    tool: str
    instance: str
    project: str | None = None

    @property
    def key(self) -> str:
        """One string naming the target (what its lock and its links are filed under)."""
        return f"{self.tool}|{self.instance}|{self.project or ''}"


@dataclass
class Link:
    """Workspace element `element_id` (of `kind`) is `remote_id` on a target; `hash` is
    the content hash last sent there or seen there (None: unknown); `extra` holds what
    the target needs to remember about it (remote parent ids, versions, ...)."""

    element_id: str
    kind: str
    remote_id: str
    hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceSpec:
    """A source of the workspace: its `name` (unique in the workspace, what `--name`
    gives), the `tool` it comes from (format or connector name), the server `instance`,
    the `project` id there and the `location` it was read from (file path or URL; stored
    without credentials)."""

    name: str
    tool: str | None = None
    instance: str | None = None
    project: str | None = None
    location: str | None = None


MatchKind = Literal["key", "filename", "uri", "regex"]


@dataclass(frozen=True)
class MatchRule:
    """How an item's *match value* is computed; items of several sources with the same
    value are one workspace item.

    * `key`: the item's key (the default);
    * `filename`: the last path segment of the media uri (without a query string), or of
      the key when the item has no uri;
    * `uri`: the media uri;
    * `regex:PATTERN`: the first group of PATTERN (or the whole match when it has no
      group), searched in the key, then in the media uri.

    `value(item)` is None when the rule gives nothing for the item (no uri, no match):
    the pull records such items as the loss `unmatched` and leaves them out.
    """

    kind: MatchKind = "key"
    pattern: str | None = None

    @classmethod
    def parse(cls, text: str | MatchRule | None) -> MatchRule:
        if text is None:
            return cls()
        if isinstance(text, MatchRule):
            return text
        if text.startswith("regex:"):
            pattern = text[len("regex:") :]
            try:
                re.compile(pattern)
            except re.error as error:
                raise ConfigError(
                    f"--match regex {pattern!r} does not compile: {error}",
                    hint="e.g. --match 'regex:([0-9]+)\\.jpg$'",
                ) from None
            if not pattern:
                raise ConfigError("--match regex: needs a pattern", hint="e.g. regex:(\\d+)")
            return cls("regex", pattern)
        if text in ("key", "filename", "uri"):
            return cls(text)  # type: ignore[arg-type]
        raise ConfigError(
            f"unknown --match rule {text!r}", hint="use key, filename, uri or regex:PATTERN"
        )

    def __str__(self) -> str:
        return f"regex:{self.pattern}" if self.kind == "regex" else self.kind

    def value(self, item: Item) -> str | None:
        uri = item.media.uri
        if self.kind == "key":
            return item.key or None
        if self.kind == "uri":
            return uri or None
        if self.kind == "filename":
            text = uri if uri else item.key
            if not text:
                return None
            path = urlsplit(text).path if "://" in text else text
            name = os.path.basename(path.replace("\\", "/").rstrip("/"))
            return name or None
        assert self.pattern is not None
        compiled = _compiled(self.pattern)
        for candidate in (item.key, uri):
            if not candidate:
                continue
            found = compiled.search(candidate)
            if found:
                return found.group(1) if compiled.groups else found.group(0)
        return None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


@dataclass
class StoredSet:
    """An annotation set as the workspace holds it: its workspace `set_id`, the workspace
    `source` it was pulled from, its content `hash` and whether it disappeared from there."""

    set_id: str
    source: str
    hash: str
    deleted: bool = False


@dataclass
class StoredItem:
    """A workspace item: its workspace `item_id`, the unified `item` with the annotation
    sets of every (selected) source, and one `StoredSet` per set, in the same order as
    `item.annotation_sets`. `match` is its match value, `hash` the content hash of the
    item without its sets, `sources` the workspace sources that hold it."""

    item_id: str
    item: Item
    sets: list[StoredSet]
    match: str = ""
    hash: str = ""
    sources: list[str] = field(default_factory=list)


def _zero() -> dict[str, int]:
    return dict.fromkeys(PULL_KINDS, 0)


@dataclass
class PullResult:
    """What one pull did, per kind ("items", "annotation_sets", "labels"):

    * `created`: new in the workspace (or back after having disappeared);
    * `matched`: items that already existed from another source and now hold this
      source's sets too (items only);
    * `updated`: changed since the last pull (by content hash);
    * `unchanged`: the same as at the last pull, left untouched;
    * `disappeared`: held from this source before, gone from it now (kept as tombstones,
      see `Workspace.deleted`).

    `losses` has the items that could not be taken (e.g. `unmatched`: no match value).
    """

    source: str
    match: str = "key"
    created: dict[str, int] = field(default_factory=_zero)
    matched: dict[str, int] = field(default_factory=_zero)
    updated: dict[str, int] = field(default_factory=_zero)
    unchanged: dict[str, int] = field(default_factory=_zero)
    disappeared: dict[str, int] = field(default_factory=_zero)
    losses: LossReport = field(default_factory=LossReport)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "match": self.match,
            **{action: dict(getattr(self, action)) for action in PULL_ACTIONS},
            "losses": self.losses.as_dict(),
            "seconds": round(self.seconds, 3),
        }
