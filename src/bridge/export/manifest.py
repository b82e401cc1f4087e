"""The bundle's `manifest.json`: every file with its size and SHA-256, and how it was made.

```json
{
  "format": "label-bridge-bundle", "version": 1,
  "bridge_version": "0.1.0", "created": "2026-12-03T10:00:00+00:00",
  "command": {"source": "...", "format": "voc", "sets": "gold", "split": "train=0.8,val=0.2", "seed": 0, "options": {}},
  "files": [{"path": "data/train.jsonl", "size": 1234, "sha256": "..."}, ...]
}
```
Paths are relative, `/`-separated, sorted; the manifest does not list itself. `verify`
checks a directory against its manifest: a listed file that is missing, a file that is
not listed (extra), and a file whose size or checksum differs (changed). Links are never
followed, neither when hashing nor when verifying (a link where a file was is "changed").
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from bridge.errors import FormatError

MANIFEST = "manifest.json"
FORMAT_TAG = "label-bridge-bundle"
VERSION = 1
CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of the regular file at `path`, read without following a link."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def bundle_files(root: Path) -> list[str]:
    """Every entry under `root` that is not a directory (files, links, others), as sorted
    relative `/` paths, without the manifest itself."""
    found = []
    for directory, subdirs, files in os.walk(root, followlinks=False):
        here = Path(directory)
        # a link to a directory is listed as an entry, never entered
        names = files + [d for d in subdirs if (here / d).is_symlink()]
        for name in names:
            relative = (here / name).relative_to(root).as_posix()
            if relative != MANIFEST:
                found.append(relative)
    return sorted(found)


def build_manifest(
    root: Path, *, command: dict[str, Any], created: datetime, version: str
) -> dict[str, Any]:
    files = []
    for relative in bundle_files(root):
        size, digest = sha256_file(root / relative)
        files.append({"path": relative, "size": size, "sha256": digest})
    return {
        "format": FORMAT_TAG,
        "version": VERSION,
        "bridge_version": version,
        "created": created.isoformat(),
        "command": command,
        "files": files,
    }


@dataclass
class Verification:
    """What `verify` found: paths missing, extra and changed (each sorted)."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed)


def _entries(root: Path) -> list[dict[str, Any]]:
    where = str(root / MANIFEST)
    try:
        with open(root / MANIFEST, "rb") as handle:
            manifest = json.loads(handle.read())
    except FileNotFoundError:
        raise FormatError(
            "no manifest.json", where=str(root), hint="is this a bundle `bridge export` wrote?"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatError(f"manifest.json is not JSON ({error})", where=where) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_TAG:
        raise FormatError(
            "not a label-bridge bundle manifest",
            where=where,
            hint=f'its "format" must be "{FORMAT_TAG}"',
        )
    if manifest.get("version") != VERSION:
        raise FormatError(
            f"manifest version {manifest.get('version')!r} (this label-bridge reads {VERSION})",
            where=where,
            hint="verify it with the label-bridge version that wrote it",
        )
    entries = manifest.get("files")
    if not isinstance(entries, list):
        raise FormatError('"files" is not a list', where=where)
    for entry in entries:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str)
        ):
            raise FormatError(
                f"a files entry is not {{path, size, sha256}}: {entry!r:.200}", where=where
            )
        path = PurePosixPath(entry["path"])
        if (
            path.is_absolute()
            or ".." in path.parts
            or "\\" in entry["path"]
            or "\0" in entry["path"]
        ):
            raise FormatError(
                f"the manifest names a path outside the bundle: {entry['path']!r}",
                where=where,
                hint="a bundle manifest lists relative paths inside the bundle only",
            )
    return entries


def verify(root: Path) -> Verification:
    """Check every file of the bundle at `root` against its manifest."""
    entries = _entries(root)
    result = Verification()
    listed = set()
    for entry in entries:
        relative = entry["path"]
        listed.add(relative)
        path = root / relative
        result.checked += 1
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            result.missing.append(relative)
            continue
        except NotADirectoryError:
            result.missing.append(relative)
            continue
        if not stat.S_ISREG(mode):
            result.changed.append(relative)
            continue
        size, digest = sha256_file(path)
        if size != entry["size"] or digest != entry["sha256"]:
            result.changed.append(relative)
    result.extra = [path for path in bundle_files(root) if path not in listed]
    result.missing.sort()
    result.changed.sort()
    return result
