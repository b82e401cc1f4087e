"""What every file format and connector declares and returns.

* `Capabilities`: what a format or connector can hold (media kinds, region kinds, tracks,
  relations) and do (read, write, live API).
* `Dataset`: a project plus a stream of items. Readers may discover labels while
  streaming, so `project` is complete only once `items` has been exhausted (unless
  `ontology_final` says it is from the start).
* `ItemRecords`: a stream of items a reader can also hand out as *records* (plain JSON
  data), so that a writer that only serializes can skip pydantic.
* `FileFormat`: reads and writes one kind of file; registered through `register_formats`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from bridge.losses import LossReport
from bridge.schema import Item, MediaKind, Project, RegionKind


class Capabilities(BaseModel):
    """What a format or connector can hold and do."""

    media: list[MediaKind] = Field(default_factory=list)
    regions: list[RegionKind] = Field(default_factory=list)
    tracks: bool = False
    relations: bool = False
    read: bool = True
    write: bool = True
    live: bool = False
    extensions: list[str] = Field(default_factory=list)
    directory: bool = False
    """The format is a directory layout (Pascal VOC's Annotations/ and ImageSets/), not one
    file: its writer creates the directory at the output path and its reader takes one."""
    subsets: bool = False
    """The format keeps each item's subset (split) itself (VOC's ImageSets lists): a
    delivery bundle writes it once instead of once per split."""
    output_suffix: str | None = None
    """The suffix of an output file when `extensions` is left empty on purpose (a format
    whose usual suffix, such as `.json`, would make every such output path this format):
    what a delivery bundle names its files with."""
    needs_final_ontology: bool = False
    """The writer needs the whole ontology before its first item (e.g. to write a label
    config or create a project): `bridge.api.write_dataset` spools the stream first
    (`bridge.formats.spool`) so that the project it sees is final."""


ItemRecord = dict[str, Any]
"""An item as plain JSON data: the dict `Item.model_validate` takes (fields equal to their
defaults may be left out)."""


class ItemRecords:
    """Items that a reader can stream either as validated `Item`s or as *records*.

    Building pydantic models and dumping them again is more than half of what converting a
    file into the unified JSONL costs; a writer that only serializes (the JSONL writer)
    asks for `records()` and writes them as they are. `produce(validate)` starts the
    stream: with `validate=True` it yields `Item`s (each record validated, a bad value
    reported where it is in the source), with `False` records (dicts) or, where the reader
    built a model anyway, `Item`s. Iterating an `ItemRecords` gives `Item`s.

    Like a generator, the stream runs once: `next()` and
    iterating again go on where it stopped, and asking for the other kind once it has
    started is an error.

    A reader offers records only when they are valid by construction (typed while parsed,
    every check done by the reader itself). Its tests hold it to that: on the fixtures
    and on fuzzed files, the records written as JSONL read back as exactly the validated
    items, and input the validated stream rejects is rejected by the record stream too.
    """

    def __init__(self, produce: Callable[[bool], Iterator[Item | ItemRecord]]):
        self.produce = produce
        self._started: tuple[bool, Iterator[Any]] | None = None

    def _stream(self, validate: bool) -> Iterator[Any]:
        if self._started is None:
            self._started = (validate, self.produce(validate))
        elif self._started[0] != validate:
            started = "items" if self._started[0] else "records"
            raise RuntimeError(f"this stream has already started as {started}")
        return self._started[1]

    def __iter__(self) -> Iterator[Item]:
        return self._stream(True)

    def __next__(self) -> Item:
        item: Item = next(self._stream(True))
        return item

    def records(self) -> Iterator[Item | ItemRecord]:
        """The stream as records (and `Item`s where the reader built models)."""
        return self._stream(False)

    def wrapped(self, wrap: Callable[[Iterator[Any]], Iterator[Any]]) -> ItemRecords:
        """The same stream passed through `wrap` (e.g. counting), whichever way it runs."""
        produce = self.produce
        return ItemRecords(lambda validate: wrap(produce(validate)))


@dataclass
class Dataset:
    """A project and its items, streamed. `project` is final once `items` is exhausted.
    `items` may be an `ItemRecords`, which iterates as `Item`s like any other iterable."""

    project: Project
    items: Iterable[Item]
    origin: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    ontology_final: bool = False
    """True when `project` is final before `items` is read (a reader that knows the whole
    ontology up front, a spooled stream): no need to spool for a writer that needs it."""

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)


class FileFormat(ABC):
    """A file format plugin. Subclasses set `name`, `description`, `capabilities` and
    implement `read` and/or `write`; `sniff` enables auto-detection."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the file at `path`, whose first bytes are `head`, is in this format."""
        return False

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        raise NotImplementedError(f"format {self.name!r} cannot be read")

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        raise NotImplementedError(f"format {self.name!r} cannot be written")


class Connector(ABC):
    """A live connection to a labeling tool, opened from a URL such as
    `labelstudio://127.0.0.1:8080/projects/7`. Subclasses set `name` (the URL scheme),
    `description` and `capabilities`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities(live=True)

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, **options: Any) -> Connector:
        """Open the tool named by `url`; credentials come from the environment."""

    def read(self, losses: LossReport, **options: Any) -> Dataset:
        """Pull the project the URL names."""
        raise NotImplementedError(f"connector {self.name!r} cannot pull")

    def write(self, dataset: Dataset, losses: LossReport, **options: Any) -> dict[str, Any]:
        """Push `dataset` to the tool; return what was created (remote ids)."""
        raise NotImplementedError(f"connector {self.name!r} cannot push")

    def list_projects(self) -> list[dict[str, Any]]:
        raise NotImplementedError(f"connector {self.name!r} cannot list projects")

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release network resources."""
