"""CVAT issues as unified reviews (pure: no network).

Vendor terms: an **issue** is a reviewer's remark pinned to one **frame** of a **job** at a
**position** (a flat list of x, y pixel coordinates: a point or a box); it has an **owner**
(who raised it), a `resolved` flag and a thread of **comments** (IssueRead carries only
their count; CommentRead, listed per job, carries `issue`, `owner` and `message`).

An issue becomes a `Review` of the annotation set of that job on that frame: status
"rejected" while it is open, "fixed" once resolved; the comment is the thread's first
message; the reviewer is the issue's owner; `extra` keeps the issue id, frame and position
(`cvat_issue_id`, `cvat_frame`, `cvat_position`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bridge.errors import FormatError
from bridge.schema import Annotator, Review, SourceRef


def malformed(what: str, where: str) -> FormatError:
    """The error for a CVAT answer that breaks its documented shape (pull.py uses it too)."""
    return FormatError(
        f"malformed CVAT answer: {what}",
        where=where,
        hint="the server sent something this CVAT version should not; check its version",
    )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def user_annotator(user: Any) -> Annotator | None:
    """A CVAT user object (id, username, first and last name) as an Annotator."""
    if not isinstance(user, dict):
        return None
    full_name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    return Annotator(
        id=str(user["id"]) if user.get("id") is not None else None,
        name=user.get("username") or full_name or None,
    )


def fields(
    data: Any,
    what: str,
    where: str,
    ints: tuple[str, ...] = (),
    optional_ints: tuple[str, ...] = (),
    texts: tuple[str, ...] = (),
    objects: tuple[str, ...] = (),
    lists: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`data` as an object whose `ints` are integers and whose other named fields, when
    present and not null, have the type their group says."""
    if not isinstance(data, dict):
        raise malformed(f"{what} is {type(data).__name__}, not an object", where)
    for key in ints:
        if not is_int(data.get(key)):
            raise malformed(f"{what} '{key}' is {data.get(key)!r}, not an integer", where)
    checks = (
        (optional_ints, is_int, "an integer"),
        (texts, lambda v: isinstance(v, str), "text"),
        (objects, lambda v: isinstance(v, dict), "an object"),
        (lists, lambda v: isinstance(v, list), "a list"),
    )
    for keys, check, kind in checks:
        for key in keys:
            if data.get(key) is not None and not check(data[key]):
                raise malformed(f"{what} '{key}' is {data[key]!r}, not {kind}", where)
    return data


def checked_user(user: Any, what: str, where: str) -> None:
    """A user object (or null): integer id, text names."""
    if user is not None:
        fields(
            user, what, where, optional_ints=("id",), texts=("username", "first_name", "last_name")
        )


def checked_issue(issue: Any, where: str) -> dict[str, Any]:
    """An IssueRead: integer id and frame, boolean `resolved`, a list of numbers as
    position, an owner object, a text creation date."""
    issue = fields(issue, "issue", where, ints=("id", "frame"))
    if not isinstance(issue.get("resolved"), bool):
        raise malformed(f"issue {issue['id']} 'resolved' is {issue.get('resolved')!r}", where)
    position = issue.get("position")
    if position is not None and not (isinstance(position, list) and all(map(_is_number, position))):
        raise malformed(f"issue {issue['id']} 'position' is {position!r}, not numbers", where)
    if issue.get("created_date") is not None and not isinstance(issue["created_date"], str):
        raise malformed(f"issue {issue['id']} 'created_date' is not text", where)
    checked_user(issue.get("owner"), "issue owner", where)
    return issue


def checked_comment(comment: Any, where: str) -> dict[str, Any]:
    """A CommentRead: integer id and issue, text message and creation date."""
    comment = fields(comment, "comment", where, ints=("id", "issue"))
    for key in ("message", "created_date"):
        if comment.get(key) is not None and not isinstance(comment[key], str):
            raise malformed(f"comment {comment['id']} '{key}' is not text", where)
    return comment


def first_messages(comments: Iterable[dict[str, Any]]) -> dict[int, str]:
    """Each issue's first comment message (earliest `created_date`, then lowest id)."""
    first: dict[int, tuple[str, int, str]] = {}
    for comment in comments:
        if comment.get("message") is None:
            continue
        key = (comment.get("created_date") or "", comment["id"], comment["message"])
        known = first.get(comment["issue"])
        if known is None or key[:2] < known[:2]:
            first[comment["issue"]] = key
    return {issue: key[2] for issue, key in first.items()}


def issue_review(
    issue: dict[str, Any], message: str | None, frame: int | None, source: SourceRef
) -> Review:
    """The review an issue stands for; `frame` is the frame in unified numbering."""
    return Review(
        reviewer=user_annotator(issue.get("owner")),
        status="fixed" if issue["resolved"] else "rejected",
        comment=message,
        created_at=issue.get("created_date"),
        source=source,
        extra={
            "cvat_issue_id": issue["id"],
            "cvat_frame": frame,
            "cvat_position": list(issue.get("position") or []),
        },
    )
