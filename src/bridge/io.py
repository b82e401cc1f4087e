"""Safe file output: atomic writes, output paths, and JSON that any input can be dumped to.

`atomic_write(path)` is how every writer opens its output:

* a regular file (or a new one) is written to a hidden temporary file beside it,
  `.NAME.XXXXXXXX.label-bridge.tmp`, renamed over `path` only when the block ends without an
  exception: readers never see a half-written file. An overwritten file keeps its mode (and
  owner and group where the process may set them); a new file gets the mode the umask
  gives. Directories that do not exist are created, and removed again if the write fails.
* `-` is standard output, and a path that exists but is not a regular file (a FIFO, a
  character device such as `/dev/null`, `/dev/stdout`) is written through, as a stream: it
  is never replaced by a regular file.

The temporary file is removed when the block fails, when the process is interrupted
(SIGINT, and SIGTERM/SIGHUP once the CLI has turned them into exceptions) and on a full
disk. Only a process killed outright (SIGKILL, a power cut) leaves it behind; the next
write into the same directory removes such leftovers once they are an hour old and no
process holds them (the writer holds an advisory lock on its temporary file).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from bridge.errors import ConfigError, FormatError, ResourceError
from bridge.text import printable

try:  # advisory locks tell a live writer's temporary file from a leftover
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

STDOUT = "-"
"""The output path that means standard output."""
TEMP_SUFFIX = ".label-bridge.tmp"
"""How every temporary output file's name ends (with a leading dot and the target's name
before it): the marker that lets a later run remove what a killed run left."""
STALE_AFTER = 3600.0
"""Seconds after which an unlocked temporary output file is a leftover."""
FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


_FD_PATH = re.compile(r"^/(?:dev/fd|proc/self/fd)/(\d+)$")
_STD_PATHS = {"/dev/stdout": 1, "/dev/stderr": 2}


def _descriptor(path: str) -> int | None:
    """The file descriptor `path` names: `-` and `/dev/stdout` 1, `/dev/stderr` 2,
    `/dev/fd/N` and `/proc/self/fd/N` N; None for any other path."""
    if path == STDOUT:
        return 1
    match = _FD_PATH.match(path)
    return int(match.group(1)) if match else _STD_PATHS.get(path)


def is_stream_target(path: str | os.PathLike[str]) -> bool:
    """True for `-`, for a path naming one of our file descriptors (`/dev/stdout`), for
    anything under `/dev` or `/proc`, and for an existing path that is not a regular file
    or a directory (a FIFO, a device): written through as a stream, never replaced."""
    text = os.fspath(path)
    if _descriptor(text) is not None or text.startswith(("/dev/", "/proc/")):
        return True
    try:
        mode = os.stat(text).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open `path` for writing: a temporary file renamed over `path` only if the block ends
    without an exception (see the module's docstring for `-`, devices and FIFOs)."""
    descriptor = _descriptor(os.fspath(path))
    if descriptor is not None:  # written where the descriptor points, as it was opened
        name = "standard output" if descriptor == 1 else os.fspath(path)
        with _full_disk_is_an_error(name):
            yield from _descriptor_stream(descriptor, mode)
        return
    target = Path(path)
    if is_stream_target(target):
        with _full_disk_is_an_error(target):
            yield from _write_through(target, mode)
        return
    if target.is_symlink():  # write the file the link points to, keep the link
        real = Path(os.path.realpath(target))
        if not is_stream_target(real):
            target = real
    try:
        created = _make_directories(target.parent)
    except OSError as error:
        raise _unwritable(target, error) from None
    try:
        with _full_disk_is_an_error(target):
            yield from _atomic(target, mode)
    except BaseException:
        _remove_directories(created)
        raise


def _atomic(target: Path, mode: str) -> Iterator[IO[Any]]:
    remove_stale_temporaries(target.parent)
    prefix = f".{target.name[:120]}."  # the random part and the suffix must fit in NAME_MAX
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    except OSError as error:
        raise _unwritable(target, error) from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as error:
        raise _unwritable(target, error) from None
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without locks
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            _keep_mode(handle.fileno(), old)
            try:
                os.replace(tmp_name, target)  # before closing: the lock is held until then
            except OSError as error:
                if error.errno in FULL_DISK:
                    raise
                raise _unwritable(target, error) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _keep_mode(fd: int, old: os.stat_result | None) -> None:
    """Give the new file the overwritten file's mode, owner and group (as far as this
    process may), or the mode the umask gives a new file."""
    if old is None:
        os.fchmod(fd, 0o666 & ~_umask())
        return
    if hasattr(os, "fchown"):
        uid = old.st_uid if os.geteuid() == 0 else -1
        with contextlib.suppress(PermissionError):  # not a member of that group
            os.fchown(fd, uid, old.st_gid)
    os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after chown, which clears set-id bits


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _descriptor_stream(descriptor: int, mode: str) -> Iterator[IO[Any]]:
    """Standard output (or another open descriptor) as a file that is never closed or
    truncated (`>> log` stays an append)."""
    if descriptor == 1:
        stream = sys.stdout.buffer if "b" in mode else sys.stdout
        yield stream
        stream.flush()
        return
    yield from _write_through(descriptor, mode)


def _write_through(target: Path | int, mode: str) -> Iterator[IO[Any]]:
    """`target` (a path, or a descriptor: left open) opened for writing as it is."""
    try:
        handle = open(  # noqa: SIM115
            target,
            mode,
            closefd=isinstance(target, Path),
            encoding=None if "b" in mode else "utf-8",
        )
    except OSError as error:
        shown = target if isinstance(target, Path) else Path(f"/dev/fd/{target}")
        raise _unwritable(shown, error) from None
    with handle:
        yield handle


@contextlib.contextmanager
def _full_disk_is_an_error(target: Path | str) -> Iterator[None]:
    """A full disk, a quota or a file size limit met while writing `target` (or a spool
    beside it) is a one-line error with exit code 5, not a traceback."""
    try:
        yield
    except OSError as error:
        if error.errno not in FULL_DISK:
            raise
        raise ResourceError(
            f"cannot write {target}: {os.strerror(error.errno)}",
            hint="free some space (or raise the quota or file size limit) and run again; "
            "nothing was written",
        ) from None


def _make_directories(directory: Path) -> list[Path]:
    """Create `directory` and its missing parents; return the ones created, deepest last."""
    missing = []
    for candidate in (directory, *directory.parents):
        if candidate.exists() or candidate.is_symlink():
            break
        missing.append(candidate)
    created = []
    for candidate in reversed(missing):
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        created.append(candidate)
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
    return created


def _remove_directories(created: list[Path]) -> None:
    for directory in reversed(created):
        with contextlib.suppress(OSError):  # not empty any more: someone else uses it
            directory.rmdir()


def remove_stale_temporaries(directory: Path, *, older_than: float = STALE_AFTER) -> int:
    """Remove the temporary output files a killed run left in `directory`: hidden files
    ending in `TEMP_SUFFIX`, not modified for `older_than` seconds, that no process holds
    locked. Return how many were removed; never fails."""
    if fcntl is None:  # pragma: no cover  (not on Windows)
        return 0  # type: ignore[unreachable]  # mypy checks for POSIX, where fcntl exists
    removed = 0
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
                continue
            with contextlib.suppress(OSError):
                if not entry.is_file(follow_symlinks=False):
                    continue
                if now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                    continue
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: a live writer
                    os.unlink(entry.path)
                    removed += 1
                finally:
                    os.close(fd)
    return removed


def spool_beside(path: str | os.PathLike[str] | None) -> IO[bytes]:
    """An anonymous temporary file for a writer's body, on the output's file system when
    there is one (the output's directory, or its nearest existing parent), else in the
    system's temporary directory (for `-`, a device, a FIFO, or no path: a remote target)."""
    directory: Path | None = None
    if path is not None and not is_stream_target(path):
        for candidate in (Path(path).parent, *Path(path).parent.parents):
            if candidate.is_dir():
                directory = candidate
                break
    try:
        return tempfile.TemporaryFile(dir=directory)
    except OSError as error:
        raise _unwritable(Path(path or tempfile.gettempdir()), error) from None


def check_output_paths(
    source: str | os.PathLike[str] | None,
    output: str | os.PathLike[str] | None,
    report: str | os.PathLike[str] | None,
) -> None:
    """Refuse a loss report path that is the input or the output (it would overwrite it),
    and standard output named twice."""
    if report is None:
        return
    if os.fspath(report) == STDOUT and output is not None and os.fspath(output) == STDOUT:
        raise ConfigError(
            "the output and the loss report cannot both go to standard output",
            hint="give --report a file name",
        )
    for role, other in (("input", source), ("output", output)):
        if other is not None and _same_file(report, other):
            raise ConfigError(
                f"--report {report} is the {role}: writing the report would overwrite it",
                hint="give the loss report a file name of its own, e.g. --report losses.json",
            )


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    if STDOUT in (os.fspath(a), os.fspath(b)):
        return False
    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        pass
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def _unwritable(target: Path, error: OSError) -> ConfigError:
    return ConfigError(
        f"cannot write {target}: {error.strerror or error}",
        hint="choose an output path in a directory you can write to (not an existing directory)",
    )


# -- JSON output ------------------------------------------------------------------------

MAX_DEPTH = 254
"""The deepest nesting of arrays and objects the writers write (orjson's own limit; no
labeling tool writes data nested this deeply)."""

Where = str | Callable[[], str] | None


def dump_json(value: Any, *, where: Where = None, option: int = 0) -> bytes:
    """`orjson.dumps(value, option=option)` for output data, safe for any input: integers
    beyond 64 bits are written exactly (by the standard library's encoder), and nesting
    deeper than `MAX_DEPTH` or text that is not UTF-8 (a file name in another encoding,
    kept by `surrogateescape`) is a `FormatError` located at `where` (a string, or a
    function giving one: called only then) and the JSON path. Other values orjson cannot
    dump are our bug and raise as they do."""
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:
        pass
    data = json.dumps(
        _checked(value, where),
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
        sort_keys=bool(option & orjson.OPT_SORT_KEYS),
        default=_orjson_value,
    ).encode()
    return data + b"\n" if option & orjson.OPT_APPEND_NEWLINE else data


def dump_model(model: Any, *, where: Where = None, **dump_options: Any) -> bytes:
    """`model.model_dump_json(**dump_options)` as bytes, with the same refusals as
    `dump_json` (pydantic writes big integers itself)."""
    from pydantic_core import PydanticSerializationError

    try:
        dumped: str = model.model_dump_json(**dump_options)
        return dumped.encode()
    except PydanticSerializationError as error:
        if "depth" in str(error):
            raise _too_deep(where, None) from None
        if "surrogates" not in str(error):
            raise
    return dump_json(model.model_dump(mode="python", **dump_options), where=where)


def _orjson_value(value: Any) -> Any:
    """What orjson writes for a value the standard library's encoder does not know."""
    return orjson.loads(orjson.dumps(value))


def _checked(value: Any, where: Where) -> Any:
    """A copy of `value` the standard library's encoder writes as orjson would (NaN and
    infinities as null), refusing nesting beyond `MAX_DEPTH` and non-UTF-8 text."""
    path: list[str | int] = []

    def copy(node: Any, depth: int) -> Any:
        if isinstance(node, str):
            return _utf8(node, where, path)
        if isinstance(node, float):
            return node if math.isfinite(node) else None
        if isinstance(node, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise _too_deep(where, path)
            if isinstance(node, dict):
                result = {}
                for key, child in node.items():
                    if not isinstance(key, str):
                        raise TypeError(f"Dict key must be str, not {type(key).__name__}")
                    path.append(_utf8(key, where, path))
                    result[key] = copy(child, depth + 1)
                    path.pop()
                return result
            items = []
            for index, child in enumerate(node):
                path.append(index)
                items.append(copy(child, depth + 1))
                path.pop()
            return items
        return node

    return copy(value, 0)


def _utf8(text: str, where: Where, path: list[str | int]) -> str:
    try:
        text.encode()
    except UnicodeEncodeError:
        raise FormatError(
            f"text that is not UTF-8 at {_json_path(path)}: '{printable(text)}'",
            where=_where(where),
            hint="it comes from a file name in another encoding: rename the file "
            "(e.g. with convmv) and convert again",
        ) from None
    return text


def _too_deep(where: Where, path: list[str | int] | None) -> FormatError:
    at = f" at {_json_path(path[:8])}…" if path else ""
    return FormatError(
        f"data nested more than {MAX_DEPTH} levels deep{at} cannot be written",
        where=_where(where),
        hint="no labeling tool writes data nested this deeply: remove or flatten that value",
    )


def _where(where: Where) -> str | None:
    return where() if callable(where) else where


def _json_path(path: list[str | int]) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.lstrip(".") or "(top level)"
