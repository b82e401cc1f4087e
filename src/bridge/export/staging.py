"""Directory outputs: staged beside their target and renamed into place, with safe names.

A *directory output* (a Pascal VOC layout, a delivery bundle) is never written in place.
`staged_directory(target)` makes a hidden temporary directory beside `target`
(`.NAME.XXXXXXXX.label-bridge.stage`), the writer fills it, and only when the block ends
without an exception is it renamed to `target`: nobody ever sees half a layout. On failure
(or an interrupt) the stage is removed. The target itself is checked first:

* a symbolic link at the target is refused, never followed (writing through it could put
  the files anywhere);
* an existing file that is not a directory is refused;
* an existing non-empty directory is refused unless `replace=True`; then it is moved aside,
  the stage renamed in, and the old directory removed.

*Safe names*: file names inside the stage come from `safe_stem(key)`, which keeps the last
path component of an item key (so `../../etc/passwd`, `/abs/x.jpg` or `C:\\x.jpg` become
plain names), replaces every character outside letters and digits (of any script), `_`,
`-` and `.` (NUL, separators, controls, undecodable bytes) with `_`, never starts with a
dot and keeps at most 200 UTF-8 bytes. `create_exclusive(dir, name)`
opens a new file with `O_EXCL | O_NOFOLLOW`: an existing file or a link is never written
through, so a repeated name is noticed, not overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from bridge.errors import ConfigError

STAGE_SUFFIX = ".label-bridge.stage"
_UNSAFE = re.compile(r"[^\w.-]")
MAX_STEM_BYTES = 200
"""The longest stem in UTF-8 bytes: room for a hash and a suffix within NAME_MAX (255)."""


def safe_stem(key: str, *, keep_suffix: bool = False) -> str:
    """A file name stem for an item `key` that cannot leave its directory: the key's last
    path component (`/` or `\\` separated), its extension removed unless `keep_suffix`,
    unsafe characters replaced by `_`, no leading dot, at most `MAX_STEM_BYTES` bytes, never
    empty (`item`)."""
    last = re.split(r"[/\\]", key)[-1]
    if not keep_suffix:
        stem, dot, _suffix = last.rpartition(".")
        last = stem if dot and stem else last
    name = _UNSAFE.sub("_", last).lstrip(".")
    return _cut(name, MAX_STEM_BYTES) or "item"


def _cut(name: str, limit: int) -> str:
    """`name` cut to at most `limit` UTF-8 bytes, never inside a character."""
    return name.encode()[:limit].decode(errors="ignore")


def hashed_stem(key: str) -> str:
    """`safe_stem(key)` with 8 hex digits of the key's SHA-1: distinct keys that share a
    stem (`a/x.jpg`, `b/x.jpg`) get distinct names, the same on every export."""
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{_cut(safe_stem(key), MAX_STEM_BYTES - 9)}_{digest}"


def check_name(name: str, *, what: str) -> str:
    """`name` if it is one safe path component (a split or subset name used in a file
    name); else a `ConfigError` naming `what`."""
    if not name or name.startswith(".") or _UNSAFE.search(name):
        raise ConfigError(
            f"{what} {name!r} cannot be used in a file name",
            hint="use letters, digits, '_', '-' and '.', not starting with a dot",
        )
    return name


def create_exclusive(directory: Path, name: str) -> IO[bytes]:
    """Open the new file `directory/name` for binary writing (never through a link, never
    over a file); `FileExistsError` if the name is taken. `name` must be one path component
    (`safe_stem` output)."""
    if name != Path(name).name or name in (".", ".."):
        raise ValueError(f"not a single path component: {name!r}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(directory / name, flags, 0o666)
    return os.fdopen(fd, "wb")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_target(target: Path, *, replace: bool) -> None:
    """Refuse a link at `target`, a file that is not a directory, and a non-empty directory
    unless `replace`."""
    if target.is_symlink():
        raise ConfigError(
            f"{target} is a symbolic link: it is not followed",
            hint="give the real directory, or remove the link",
        )
    if target.exists() and not target.is_dir():
        raise ConfigError(
            f"{target} exists and is not a directory", hint="choose a new output directory"
        )
    if target.is_dir() and any(target.iterdir()) and not replace:
        raise ConfigError(
            f"{target} exists and is not empty",
            hint="choose a new output directory, or pass --force to replace it",
        )


@contextlib.contextmanager
def staged_directory(target: str | os.PathLike[str], *, replace: bool = False) -> Iterator[Path]:
    """Yield a fresh empty directory beside `target`; rename it to `target` when the block
    ends without an exception, remove it otherwise (see the module's docstring)."""
    target = Path(target)
    check_target(target, replace=replace)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(
            tempfile.mkdtemp(prefix=f".{target.name[:100]}.", suffix=STAGE_SUFFIX, dir=parent)
        )
    except OSError as error:
        raise ConfigError(
            f"cannot write {target}: {error.strerror or error}",
            hint="choose an output directory in a place you can write to",
        ) from None
    try:
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes it private
        yield stage
        check_target(target, replace=replace)  # the world may have changed meanwhile
        _move_into_place(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _move_into_place(stage: Path, target: Path) -> None:
    if target.is_dir() and any(target.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{target.name[:100]}.", dir=target.parent))
        os.rename(target, old / "old")
        try:
            os.rename(stage, target)
        except BaseException:
            os.rename(old / "old", target)  # put the old one back
            shutil.rmtree(old, ignore_errors=True)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    if target.is_dir():
        target.rmdir()  # empty: replaced by the stage
    os.rename(stage, target)
