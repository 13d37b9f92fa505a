"""Errors as ``application/problem+json`` (RFC 9457), mapped from the one error tree.

Why here: every failure the gateway answers with is a :class:`~doi2data.errors.Doi2DataError`
and its ``http_status`` decides the status code, exactly as its ``exit_code`` decides the CLI's.
The gateway-only failures below (refused destination, rate limit, not acceptable, ...) join the
same tree instead of inventing a second one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import Response

from ..errors import Doi2DataError, UsageError

PROBLEM_TYPE = "application/problem+json"
_TYPE_BASE = "https://github.com/doi2data/doi2data/blob/main/README.md#gateway-errors"


class GatewayError(Doi2DataError):
    """Root of the failures only the gateway can meet (the CLI never raises these)."""

    http_status = 400
    headers: dict[str, str] = {}

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers = dict(headers or {})


class DestinationRefused(GatewayError):
    """An origin URL points at a private, loopback or link-local address (not allow-listed)."""

    http_status = 403


class NotAcceptable(GatewayError):
    http_status = 406


class TooManyRequests(GatewayError):
    http_status = 429


class TooLarge(GatewayError):
    http_status = 413


class QueryTooLong(GatewayError):
    http_status = 414


class NotFound(GatewayError):
    http_status = 404


class NotImplementedYet(GatewayError):
    http_status = 501


class SubsetError(GatewayError, UsageError):
    """A subset request that cannot be answered as asked (400; the CLI's usage error, exit 2).

    ``problem_title`` names what was wrong, so clients can tell a bad slice from a bad filter
    without parsing the detail text.
    """

    http_status = 400
    problem_title = "Bad subset request"


class InvalidSlice(SubsetError):
    problem_title = "Invalid slice"


class DatasetPathNotFound(SubsetError):
    problem_title = "HDF5 dataset not found"


class NotHdf5(SubsetError):
    problem_title = "Not an HDF5 file"


class InvalidWhere(SubsetError):
    problem_title = "Invalid where expression"


class NotAnArchive(SubsetError):
    problem_title = "Not an archive"


class MemberNotFound(SubsetError):
    problem_title = "Archive member not found"


class StreamAborted(GatewayError):
    """Raised inside a response body after the headers left: the connection must be cut."""

    http_status = 502


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(status: int, title: str, detail: str | None = None, *, kind: str | None = None,
            instance: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """A problem+json response; ``kind`` names the error class (becomes ``type``'s fragment)."""
    body: dict[str, Any] = {"type": f"{_TYPE_BASE}-{kind}" if kind else "about:blank", "title": title,
                            "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=PROBLEM_TYPE,
                    headers=headers)


async def http_problem(request: Any, exc: Any) -> Response:
    """Starlette's own errors (no such route: a path with a newline; a method not allowed) as problems too."""
    status = int(getattr(exc, "status_code", 500))
    title = "Not found" if status == 404 else "Method not allowed" if status == 405 else "HTTP error"
    headers = dict(getattr(exc, "headers", None) or {})
    return problem(status, title, str(getattr(exc, "detail", "") or title), instance=request.url.path,
                   headers=headers or None)


def from_error(exc: Doi2DataError, instance: str | None = None) -> Response:
    """Translate one error of the tree: status from ``http_status``, title from the class."""
    kind = _slug(type(exc).__name__)
    extra: dict[str, Any] = {"error": type(exc).__name__, "exit_code": exc.exit_code}
    if exc.identifier:
        extra["identifier"] = exc.identifier
    headers = getattr(exc, "headers", None) or None
    title = getattr(exc, "problem_title", None) or kind.replace("-", " ").capitalize()
    return problem(exc.http_status, title, str(exc), kind=kind, instance=instance, headers=headers, **extra)


__all__ = [
    "PROBLEM_TYPE",
    "DatasetPathNotFound",
    "DestinationRefused",
    "GatewayError",
    "InvalidSlice",
    "InvalidWhere",
    "MemberNotFound",
    "NotAcceptable",
    "NotAnArchive",
    "NotFound",
    "NotHdf5",
    "NotImplementedYet",
    "QueryTooLong",
    "StreamAborted",
    "SubsetError",
    "TooLarge",
    "TooManyRequests",
    "from_error",
    "http_problem",
    "problem",
]
