"""The `<meta>` block of a CVAT XML file: read into a small tree, written back from it.

The meta is kept as a JSON-compatible tree, `[tag, text]` for a leaf and
`[tag, [children...]]` for a container, in document order, so it rides in
`Project.extra["cvat_meta"]` and comes back on a CVAT -> CVAT round trip. The `<labels>`
node is kept as `["labels", null]`: labels live in the unified ontology and are written
back from it (so labels added by another tool reach CVAT).

Vendor terms: a **segment** is a job's frame range within its task (`start`..`stop`,
inclusive; segments overlap by the task's `overlap` frames); `frame_filter` "step=N" keeps
every N-th frame of a video from `start_frame` to `stop_frame`.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.errors import FormatError
from bridge.limits import DEFAULT_MAX_PIXELS, check_pixels
from bridge.schema import Annotator

MetaNode = list  # [tag, str | list[MetaNode] | None]


def node_children(node: MetaNode | None) -> list[MetaNode]:
    return node[1] if node is not None and isinstance(node[1], list) else []


def child(node: MetaNode | None, tag: str) -> MetaNode | None:
    if node is None:
        return None
    for sub in node_children(node):
        if sub[0] == tag:
            return sub
    return None


def text(node: MetaNode | None, tag: str, default: str | None = None) -> str | None:
    sub = child(node, tag)
    if sub is None or not isinstance(sub[1], str):
        return default
    return sub[1]


def _int(value: str | None, default: int | None = None, where: str | None = None) -> int | None:
    """A meta number: empty or missing gives `default`; anything but plain ASCII digits
    (what CVAT writes) is a FormatError."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise FormatError(f"<meta> value {value!r} is not an integer", where=where)
    return int(text)


def person(node: MetaNode | None) -> Annotator | None:
    """`<assignee><username/><email/></assignee>` (or plain text) -> an `Annotator`."""
    if node is None:
        return None
    if isinstance(node[1], str):
        return Annotator(name=node[1].strip()) if node[1].strip() else None
    name, email = text(node, "username"), text(node, "email")
    if not name and not email:
        return None
    return Annotator(name=name or None, email=email or None, id=text(node, "id") or None)


# ------------------------------------------------------------------ labels


def _values(raw: str) -> tuple[list[str], str]:
    """Attribute `<values>`: one per line (CVAT today) or space-separated (older exports)."""
    if not raw:
        return [], "\n"
    if "\n" in raw:
        return raw.split("\n"), "\n"
    parts = raw.split(" ")
    return parts, (" " if len(parts) > 1 else "\n")


def _attribute(node: MetaNode) -> dict[str, Any]:
    values, separator = _values(text(node, "values", "") or "")
    attribute: dict[str, Any] = {"name": text(node, "name", "")}
    mutable = text(node, "mutable")
    attribute["mutable"] = (mutable or "").lower() == "true"
    attribute["input_type"] = text(node, "input_type", "text")
    attribute["default_value"] = text(node, "default_value", "")
    attribute["values"] = values
    if separator != "\n":
        attribute["values_separator"] = separator
    return attribute


LABEL_CHILDREN = {"name", "color", "type", "attributes", "svg", "parent"}


def _label(node: MetaNode) -> dict[str, Any]:
    label: dict[str, Any] = {"name": text(node, "name", "")}
    for key in ("color", "type", "svg"):
        value = text(node, key)
        if value:
            label[key] = value
    label["attributes"] = [_attribute(a) for a in node_children(child(node, "attributes"))]
    for sub in node_children(node):
        if sub[0] not in LABEL_CHILDREN:
            label[f"xml_{sub[0]}"] = sub[1]
    parent = text(node, "parent")
    if parent:
        label["parent"] = parent
    return label


def parse_labels_node(node: MetaNode, where: str) -> list[dict[str, Any]]:
    """`<labels>` -> CVAT label dicts, sublabels (those with `<parent>`) nested."""
    flat = [_label(sub) for sub in node_children(node) if sub[0] == "label"]
    by_name = {label["name"]: label for label in flat}
    top = []
    for label in flat:
        parent = label.pop("parent", None)
        if parent is None:
            top.append(label)
        elif parent in by_name:
            by_name[parent].setdefault("sublabels", []).append(label)
        else:
            raise FormatError(
                f"label {label['name']!r} names an unknown parent {parent!r}", where=where
            )
    return top


def labels_to_nodes(labels: list[dict[str, Any]]) -> list[MetaNode]:
    """CVAT label dicts -> `<label>` nodes (each sublabel after its skeleton)."""
    nodes = []
    for label in labels:
        nodes.append(_label_node(label, None))
        nodes.extend(_label_node(sub, label["name"]) for sub in label.get("sublabels") or [])
    return nodes


def _label_node(label: dict[str, Any], parent: str | None) -> MetaNode:
    children: list[MetaNode] = [["name", label["name"]]]
    for key in ("color", "type"):
        if label.get(key):
            children.append([key, label[key]])
    children.append(["attributes", [_attribute_node(a) for a in label.get("attributes") or []]])
    if label.get("svg"):
        children.append(["svg", label["svg"]])
    children.extend([key[4:], value] for key, value in label.items() if key.startswith("xml_"))
    if parent is not None:
        children.append(["parent", parent])
    return ["label", children]


def _attribute_node(attribute: dict[str, Any]) -> MetaNode:
    separator = attribute.get("values_separator", "\n")
    return [
        "attribute",
        [
            ["name", attribute["name"]],
            ["mutable", "True" if attribute.get("mutable") else "False"],
            ["input_type", attribute.get("input_type", "text")],
            ["default_value", str(attribute.get("default_value", ""))],
            ["values", separator.join(str(v) for v in attribute.get("values") or [])],
        ],
    ]


# ------------------------------------------------------------------ tasks


@dataclass
class Segment:
    """A job's frame range within its task, inclusive, and who it was assigned to."""

    id: str | None
    start: int
    stop: int
    assignee: Annotator | None = None


@dataclass
class TaskInfo:
    """What the meta says about one task."""

    id: str | None
    name: str | None
    subset: str | None = None
    mode: str | None = None
    size: int | None = None
    start_frame: int = 0
    stop_frame: int | None = None
    frame_step: int = 1
    segments: list[Segment] = field(default_factory=list)
    assignee: Annotator | None = None
    owner: Annotator | None = None
    width: int | None = None
    height: int | None = None
    job_id: str | None = None
    """Set for a job export ("Export job dataset"): the id of the job the file holds."""
    stage: str | None = None
    state: str | None = None

    _stops: list[int] | None = field(default=None, init=False, repr=False, compare=False)
    _indexed: bool = field(default=False, init=False, repr=False, compare=False)

    def annotator_for(self, frame: int | None) -> tuple[Annotator | None, Segment | None]:
        """The assignee of the first segment holding `frame` (task-relative index), else
        the task's assignee. With no frame (a video): the first segment assignee set."""
        if frame is None:
            for segment in self.segments:
                if segment.assignee is not None:
                    return segment.assignee, segment
            return self.assignee, None
        segment = self.segment_holding(frame)
        if segment is None:
            return self.assignee, None
        return (segment.assignee if segment.assignee is not None else self.assignee), segment

    def segment_holding(self, frame: int) -> Segment | None:
        """The first segment, in the meta's order, whose range holds `frame`. CVAT lists
        segments in frame order (starts and stops both rising); then that is the first
        segment whose stop is >= frame, found by bisection, because every image asks and
        a task may have thousands of jobs. Other layouts are scanned. `segments` is taken
        as fixed once a lookup has been made."""
        if not self._indexed:
            pairs = zip(self.segments, self.segments[1:], strict=False)
            rising = all(a.start <= b.start and a.stop <= b.stop for a, b in pairs)
            self._stops = [segment.stop for segment in self.segments] if rising else None
            self._indexed = True
        if self._stops is None:
            return next((s for s in self.segments if s.start <= frame <= s.stop), None)
        index = bisect_left(self._stops, frame)
        if index < len(self._stops) and self.segments[index].start <= frame:
            return self.segments[index]
        return None


def _step(frame_filter: str | None, where: str | None) -> int:
    if frame_filter and frame_filter.startswith("step="):
        return _int(frame_filter[5:], 1, where) or 1
    return 1


def _segments(task: MetaNode, where: str | None) -> list[Segment]:
    nodes = node_children(child(task, "segments")) or node_children(child(task, "jobs"))
    return [
        Segment(
            id=text(s, "id"),
            start=_int(text(s, "start"), 0, where),
            stop=_int(text(s, "stop"), 0, where),
            assignee=person(child(s, "assignee")),
        )
        for s in nodes
    ]


def _check_sizes(task: TaskInfo, where: str | None, max_pixels: int) -> None:
    """A task's frame count and media size as the schema holds them: size >= 0, width and
    height > 0 (and within the pixel budget when both are given)."""
    if task.size is not None and task.size < 0:
        raise FormatError(
            f"<size> {task.size} is negative",
            where=where,
            hint="a task's <size> is its number of frames",
        )
    if task.width is not None and task.height is not None:
        check_pixels(task.width, task.height, where=where, max_pixels=max_pixels)
    elif any(side is not None and side <= 0 for side in (task.width, task.height)):
        raise FormatError(
            f"<original_size> {task.width}x{task.height} is not positive",
            where=where,
            hint="CVAT writes a media size of at least 1x1",
        )


def task_info(task: MetaNode, where: str | None = None, size: MetaNode | None = None) -> TaskInfo:
    """A `<task>` (or a job export's `<job>`, whose `<original_size>` sits beside it in
    `<meta>`: `size`) -> TaskInfo."""
    size = child(task, "original_size") if size is None else size
    return TaskInfo(
        id=text(task, "id"),
        name=text(task, "name"),
        subset=text(task, "subset") or None,
        mode=text(task, "mode"),
        size=_int(text(task, "size"), None, where),
        start_frame=_int(text(task, "start_frame"), 0, where),
        stop_frame=_int(text(task, "stop_frame"), None, where),
        frame_step=_step(text(task, "frame_filter"), where),
        segments=_segments(task, where),
        assignee=person(child(task, "assignee")),
        owner=person(child(task, "owner")),
        width=_int(text(size, "width"), None, where),
        height=_int(text(size, "height"), None, where),
    )


def job_info(job: MetaNode, tree: MetaNode, where: str | None) -> TaskInfo:
    """A job export's `<job>` -> TaskInfo of the job's part of its task: its id becomes
    `job_id` (the task id is not in the file), its assignee the annotator of every frame,
    and a `<stage>`/`<state>` (when present) its status."""
    info = task_info(job, where, child(tree, "original_size"))
    info.job_id, info.id = info.id, None
    info.name = info.name or f"job-{info.job_id}"
    info.stage, info.state = text(job, "stage") or None, text(job, "state") or None
    info.segments = [replace(s, assignee=None) for s in info.segments]  # the job's assignee
    return info


@dataclass
class CvatMeta:
    """The parsed `<meta>`: the tree (to write back), labels, project and tasks."""

    tree: MetaNode
    labels: list[dict[str, Any]]
    project_id: str | None
    name: str
    tasks: list[TaskInfo]
    source: str | None = None

    @classmethod
    def from_tree(
        cls,
        tree: MetaNode,
        labels: list[dict[str, Any]],
        where: str,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> CvatMeta:
        project = child(tree, "project")
        if project is not None:
            tasks = [
                task_info(t, where)
                for t in node_children(child(project, "tasks"))
                if t[0] == "task"
            ]
            owner = project
        elif child(tree, "task") is not None:
            owner = child(tree, "task")
            tasks = [task_info(owner, where)]
        elif child(tree, "job") is not None:
            owner = child(tree, "job")
            tasks = [job_info(owner, tree, where)]
        else:
            raise FormatError(
                "<meta> has neither <project>, <task> nor <job>",
                where=where,
                hint="a CVAT export names what it holds in its <meta>",
            )
        for task in tasks:
            _check_sizes(task, where, max_pixels)
        name = text(owner, "name") or (tasks[0].name if tasks else None) or "cvat"
        project_id = text(project, "id") if project is not None else None
        return cls(
            tree=tree,
            labels=labels,
            project_id=project_id,
            name=name,
            tasks=tasks,
            source=text(tree, "source"),
        )

    _by_id: dict[str | None, TaskInfo] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _by_subset: dict[str | None, TaskInfo] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def task(self, task_id: str | None, subset: str | None = None) -> TaskInfo | None:
        """The task an image or track belongs to: the first with its id, else the first
        with its subset, else the only one. Every image asks, and a project may have
        thousands of tasks: both are looked up in dicts built once (`tasks` is fixed)."""
        if self._by_id is None:
            self._by_id = {}
            for task in self.tasks:
                self._by_id.setdefault(task.id, task)
                self._by_subset.setdefault(task.subset, task)
        found = self._by_id.get(task_id) if task_id is not None else None
        if found is None and subset is not None:
            found = self._by_subset.get(subset)
        if found is None and len(self.tasks) == 1:
            found = self.tasks[0]
        return found

    @property
    def is_project(self) -> bool:
        return child(self.tree, "project") is not None
