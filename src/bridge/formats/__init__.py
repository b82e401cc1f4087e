"""What every file format and connector declares and returns.

* `Capabilities`: what a format or connector can hold (media kinds, region kinds, tracks,
  relations) and do (read, write, live API).
* `Dataset`: a project plus a stream of items. Readers may discover labels while
  streaming, so `project` is complete only once `items` has been exhausted.
* `FileFormat`: reads and writes one kind of file; registered through `register_formats`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
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


@dataclass
class Dataset:
    """A project and its items, streamed. `project` is final once `items` is exhausted."""

    project: Project
    items: Iterable[Item]
    origin: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

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
