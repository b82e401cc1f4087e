"""What a cvat:// URL names: the server and a task or project (pure: no network).

`cvat://HOST[:PORT]/tasks/ID` and `cvat://HOST/projects/ID` (`/tasks/new`, `/projects/new`
to push into new ones); https unless the scheme is `cvat+http://`. The connector parses the
URL; the pull and push flows take the `CvatTarget` with the `CvatApi` client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.errors import ConfigError
from bridge.secrets import refuse_userinfo

URL_RE = re.compile(
    r"^(?P<scheme>cvat(?:\+http)?)://(?P<host>[^/:?#]+)(?::(?P<port>\d+))?"
    r"/(?P<kind>tasks|projects)/(?P<id>\d+|new)/?$"
)


@dataclass(frozen=True)
class CvatTarget:
    """What a cvat:// URL names: the server's base URL and a task or project (id None for
    `/tasks/new` or `/projects/new`)."""

    base_url: str
    kind: str
    id: int | None


def parse_url(url: str) -> CvatTarget:
    """`cvat://host[:port]/tasks/42` -> CvatTarget("https://host[:port]", "tasks", 42).
    A URL with `user:password@` is refused (tokens come from the environment)."""
    refuse_userinfo(url, hint="drop the part before @; put the token in CVAT_ACCESS_TOKEN")
    match = URL_RE.match(url)
    if match is None:
        raise ConfigError(
            f"not a CVAT URL: {url!r}",
            hint="use cvat://HOST[:PORT]/tasks/ID or cvat://HOST/projects/ID "
            "(/tasks/new or /projects/new to push into new ones; cvat+http:// for plain http)",
        )
    http = "http" if match["scheme"] == "cvat+http" else "https"
    port = f":{match['port']}" if match["port"] else ""
    target_id = None if match["id"] == "new" else int(match["id"])
    return CvatTarget(f"{http}://{match['host']}{port}", match["kind"], target_id)
