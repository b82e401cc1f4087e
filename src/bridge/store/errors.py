"""The workspace's own errors.

`WorkspaceError`: the workspace cannot be opened or used as asked (a file that is not a
workspace, a workspace written by a newer label-bridge, an unreachable database); the
message is one line, the hint says what to do, and nothing was changed.
`WorkspaceBusy`: another process holds what we asked for (a target's lock) longer than
we were willing to wait; the message names the holder (pid, host, since when).
"""

from __future__ import annotations

from bridge.errors import BridgeError


class WorkspaceError(BridgeError):
    """The workspace cannot be opened or used; nothing was changed."""

    exit_code = 7


class WorkspaceBusy(WorkspaceError):
    """Another process holds a lock we waited for until our timeout."""

    exit_code = 8
