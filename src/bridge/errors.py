"""One exception family for everything a user can get wrong or a server can refuse.

A `BridgeError` says *where* (a file and line, a task id, an HTTP request without secrets)
and *what to do* (a hint). The CLI prints it in one or two lines and exits non-zero; no
traceback is shown for these errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class BridgeError(Exception):
    """Base of every error label-bridge raises on purpose.

    `where` locates the problem ("export.json:12", "task 42", "GET /api/projects/7");
    `hint` tells the user what to do next.
    """

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class FormatError(BridgeError):
    """An input file (or a vendor response body) is malformed or not what it claims to be."""

    exit_code = 2


class ConfigError(BridgeError):
    """A command line option, configuration file or label map is invalid or incomplete."""

    exit_code = 2


class UnknownFormatError(ConfigError):
    """No registered plugin handles the requested format or URL scheme."""


class AuthError(BridgeError):
    """The remote tool refused our credentials (HTTP 401/403, GraphQL AUTHENTICATION_ERROR)."""

    exit_code = 3


class NotFoundError(BridgeError):
    """A remote object (project, task, data row) does not exist or is not visible to us."""

    exit_code = 4


class RemoteError(BridgeError):
    """The remote tool failed (5xx after retries, a failed background job, a conflict)."""

    exit_code = 5


def describe_validation_error(error: ValidationError) -> str:
    """The first problem pydantic found, as `field.path: message` (and how many more), for
    the message of the `FormatError` a reader raises where it validates."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "(line)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{location}: {first['msg']}{more}"


class ResourceError(BridgeError):
    """The machine ran out of something a run needs: disk space, a quota, memory."""

    exit_code = 5
