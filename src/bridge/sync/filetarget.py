"""The file target: `bridge push out.json` writes the selected items to a file in the
format its extension names (any writable format; `--to` overrides), atomically.

A file has no objects to update one by one: when the plan holds any change, the whole file
is written again (through `bridge.io.atomic_write`, as every writer does) and the links of
every element written are recorded with their hashes; when nothing changed, the file is not
touched. The scan is replaced by the file's existence: a file that was removed is written
again (every element planned as a create).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import Item, Project
from bridge.sync.target import ItemPush, RemoteRecord, SetPush, SyncTarget, TargetRef

FILE_TOOL = "file"


class FileTarget(SyncTarget):
    """A file written whole from the workspace; see the module docstring."""

    def __init__(
        self, path: str | Path, fmt: str | None = None, options: dict[str, Any] | None = None
    ):
        self.path = Path(path).expanduser().absolute()
        self.ref = TargetRef(FILE_TOOL, "", str(self.path))
        self.fmt = fmt
        self.options = dict(options or {})

    def scan_complete(self) -> bool:
        """A missing file holds nothing (every element is created again); an existing one
        is trusted to hold what its links say (it is only ever written whole)."""
        return not self.path.exists()

    def ensure_project(self, project: Project, losses: LossReport, remote_id: str | None) -> str:
        return str(self.path)

    def scan(self) -> Iterator[RemoteRecord]:
        return iter(())

    def write_all(self, project: Project, items: Iterable[Item], losses: LossReport) -> None:
        """Write `items` (the selected sets of every desired item) to the file, atomically."""
        self._write(self.path, project, items, losses)

    def _write(
        self, path: Path, project: Project, items: Iterable[Item], losses: LossReport
    ) -> None:
        """Write `items` to `path` in the target's format (its own, or the file's)."""
        from bridge.api import _format_for_target, write_dataset

        fmt = self.fmt or _format_for_target(self.path)
        dataset = Dataset(project=project, items=items, origin="workspace", ontology_final=True)
        write_dataset(dataset, path, fmt, losses, **self.options)

    def preview(
        self,
        project: Project,
        items: Iterator[Item],
        losses: LossReport,
        as_predictions: bool = False,
    ) -> None:
        """Dry run: write the items to a temporary file of the same format (then removed)
        for the loss report; the target file is not touched."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bridge-preview-") as folder:
            self._write(Path(folder) / self.path.name, project, items, losses)

    # a file is written whole by `write_all`; these are never called for it
    def create_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        raise NotImplementedError("a file target is written whole")

    def create_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        raise NotImplementedError("a file target is written whole")

    def update_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        raise NotImplementedError("a file target is written whole")

    def delete(self, records: list[RemoteRecord]) -> None:
        raise NotImplementedError("a file target is written whole")
