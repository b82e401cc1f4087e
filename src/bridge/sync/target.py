"""The sync target interface: what a tool must do so that `bridge push` can keep it in step.

Terms used by every target and by the planner (`bridge.sync.plan`):

* **element**: a workspace object with a stable id (uuid hex) and a content hash: the
  project (one element, id `"project"`), an *item* (`kind="item"`) or an *annotation set*
  (`kind="annotation_set"`).
* **reconciliation key**: what a target stamps on each remote object it creates so that a
  later *scan* can tell which element it belongs to without any local record (Label Studio:
  task meta and the annotation's `import_id`; a file: the written record itself). By default
  the key is the element id; a tool that can only store something shorter maps ids to keys
  with `remote_key` (e.g. a 60-bit integer for Label Studio annotations).
* **remote record** (`RemoteRecord`): one remote object the scan found, or a create/update
  just made: its kind, key, remote id, parent's remote id (the task of an annotation), the
  *fingerprint* of what it holds now (`hash`: a tool-native digest, compared only with
  fingerprints of the same target) and, when the target could stamp it, the content hash of
  the element it was created from (`sent_hash`).
* **push** (`ItemPush`, `SetPush`): one element to create or update, with its content and
  its hash.

A target creates an item together with the annotation sets pushed with it (Label Studio
imports a task with its annotations in one request, which is both the fast path and the
atomic one), so `create_items` returns records for the items *and* their sets.

Every method takes or returns batches; the engine (`bridge.sync.engine`) records the links
of each batch right after the call returns. A run killed between the call and the record is
repaired by the next run's `scan`, which finds the objects by their keys.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bridge.store.types import TargetRef as TargetRef

if TYPE_CHECKING:
    from bridge.losses import LossReport
    from bridge.schema import AnnotationSet, Item, Project

Kind = Literal["project", "item", "annotation_set"]
KINDS: tuple[Kind, ...] = ("project", "item", "annotation_set")
PROJECT_ELEMENT = "project"
"""The element id of the workspace's (merged) project: there is one per workspace."""


@dataclass
class RemoteRecord:
    """One remote object that carries our reconciliation key (see the module docstring)."""

    kind: Kind
    key: str
    remote_id: str
    parent: str | None = None
    hash: str | None = None
    sent_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SetPush:
    """One annotation set to create or update. `item` is its item (media size, data) with
    only this set in `annotation_sets`; `parent` is the remote id of the item it goes on
    (None while the item is being created with it); `remote_id` is set for updates."""

    set_id: str
    item_id: str
    aset: AnnotationSet
    hash: str
    item: Item
    parent: str | None = None
    remote_id: str | None = None
    as_prediction: bool = False


@dataclass
class ItemPush:
    """One item to create (or update, with `remote_id`). `item.annotation_sets` are the sets
    created together with it, described one by one in `sets` (same order)."""

    item_id: str
    item: Item
    hash: str
    sets: list[SetPush] = field(default_factory=list)
    remote_id: str | None = None


class SyncTarget(ABC):
    """A place `bridge push` keeps in step with the workspace: a project on a server or a
    file. One instance per push; `close` releases connections."""

    ref: TargetRef
    key_prefix: str = "bridge"
    batch_size: int = 500
    supports_predictions: bool = False

    def remote_key(self, kind: Kind, element_id: str) -> str:
        """The reconciliation key stamped on the remote object of `element_id` (the id by
        default); `scan` returns records with these keys."""
        return element_id

    @abstractmethod
    def ensure_project(self, project: Project, losses: LossReport, remote_id: str | None) -> str:
        """Create the remote project from `project` (ontology -> the tool's labels) when
        `remote_id` is None, else check/update it; return the remote project id. Idempotent."""

    def use_project(self, remote_id: str) -> None:  # noqa: B027 - optional hook
        """Called before the scan with the remote project id an earlier push recorded (a
        target named without its project, e.g. `labelstudio://HOST` that created one)."""

    def scan_complete(self) -> bool:
        """True when `scan` lists every object we made (an object a link names that the
        scan does not list was deleted on the target); False to trust the links alone."""
        return True

    def matches_links(self, links: dict[Kind, dict[str, Any]]) -> bool:
        """True when the target can tell cheaply (one request: counters) that it holds
        exactly as many of our objects as `links` name: then the push skips the full scan
        and looks only at the objects it is about to change (`fetch`). Default: False."""
        return False

    def scan_recent(self, links: dict[Kind, dict[str, Any]]) -> list[RemoteRecord] | None:
        """When the counters differ from the links only by objects made after the last
        linked one (a run died before recording them), those objects, listed cheaply; None
        when that does not explain the difference (then the full scan). Default: None."""
        return None

    def fetch(self, records: list[RemoteRecord]) -> Iterator[RemoteRecord]:
        """The current state of the linked objects `records` (keys as `scan` gives them).
        Default: the full scan."""
        return self.scan()

    def preview(  # noqa: B027 - optional hook
        self,
        project: Project,
        items: Iterator[Item],
        losses: LossReport,
        as_predictions: bool = False,
    ) -> None:
        """Dry run: convert `items` (those the plan would send, with the sets it would send)
        as a push would, recording what the target cannot hold in `losses`; send nothing."""

    fetch_fingerprints: bool = False
    """True when `scan` lists objects without their content fingerprint (`hash` None) but
    `fetch` can give it object by object (CVAT: a task's job annotations): after a full scan
    the engine fetches the elements changed on the source side, and only those, so edits
    made on the target become conflicts while a no-change run makes no per-object request."""

    workspace_id: str | None = None
    """The pushing workspace's stable identity (`Workspace.workspace_id`), set by the
    engine before it applies a plan: a target that must find what an earlier run of this
    workspace created but did not record (a CVAT project made for `/projects/new`) names
    it with this."""

    def prepare_scan(  # noqa: B027 - optional hook
        self, keys: dict[Kind, dict[str, str]], links: dict[Kind, dict[str, Any]]
    ) -> None:
        """Called before a full `scan` with the reconciliation keys (-> element ids) of every
        element the push may touch (desired or linked) and the recorded links (`LinkState`s):
        a target that cannot list its objects but can look them up by key (Labelbox global
        keys) scans exactly those. Default: nothing."""

    def begin(self, total: int) -> None:  # noqa: B027 - optional hook
        """Called once before the first create/update with the number of planned actions."""

    @abstractmethod
    def scan(self) -> Iterator[RemoteRecord]:
        """Every remote object of the project that carries one of our keys, items and sets
        (one listing of the project, not a request per object)."""

    @abstractmethod
    def create_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        """Create the items of `batch` with their sets; records for items and sets."""

    def update_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        """Change existing items (their data); default: nothing the tool can change."""
        return [RemoteRecord("item", push.item_id, push.remote_id or "") for push in batch]

    @abstractmethod
    def create_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        """Create annotation sets on items that already exist remotely (`parent`)."""

    @abstractmethod
    def update_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        """Replace the content of existing remote sets (`remote_id`)."""

    @abstractmethod
    def delete(self, records: list[RemoteRecord]) -> None:
        """Delete remote objects (sets before items; deleting an item takes its sets)."""

    def finish(self) -> dict[str, Any]:
        """Called once after the last batch; what to add to the result (e.g. a file target
        writes its file here). Default: nothing."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


TargetFactory = Callable[[str, dict[str, Any]], SyncTarget]
"""`factory(url_or_path, options) -> SyncTarget`, registered per URL scheme through the
`register_sync_targets` hook."""


CRASH_AT_ENV = "BRIDGE_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process when `$BRIDGE_TEST_CRASH_AT` is `name` (a target
    calls it at a point a run may die, e.g. "project-created": between creating its
    project remotely and the engine recording it). Does nothing otherwise."""
    import os

    if os.environ.get(CRASH_AT_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
