"""Building blocks shared by the emulated sites: JSON/HTML/redirect responses and byte serving.

Why a hand-written byte response: download clients live or die by ``Range``/``If-Range``/``ETag``
semantics, so those are implemented here once, strictly (single ranges, 206/416, strong ETag
or exact date for ``If-Range``), and streamed in chunks straight from the world's generator, with
the ``no-range`` quirk honoured and generation stopped as soon as the client goes away.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from starlette.responses import HTMLResponse, Response

from ..middleware import site_flags

_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")
UNSATISFIABLE = "unsatisfiable"


def json_response(obj: Any, status: int = 200, *, headers: dict[str, str] | None = None,
                  media_type: str = "application/json", indent: int | None = None) -> Response:
    """JSON as the real services send it (compact unless ``indent``; UTF-8, not ASCII-escaped)."""
    separators = (",", ": ") if indent else (",", ":")
    body = json.dumps(obj, ensure_ascii=False, indent=indent, separators=separators).encode()
    return Response(body, status, headers=headers, media_type=media_type)


def html_response(text: str, status: int = 200, *, headers: dict[str, str] | None = None) -> Response:
    return HTMLResponse(text, status, headers=headers, media_type="text/html; charset=utf-8")


def redirect(url: str, status: int = 302, *, body: str = "", headers: dict[str, str] | None = None) -> Response:
    """A redirect with an absolute ``Location`` and an optional small HTML body."""
    merged = {"location": url, **(headers or {})}
    return Response(body.encode(), status, headers=merged, media_type="text/html;charset=utf-8" if body else None)


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def parse_range(value: str, size: int) -> tuple[int, int] | str | None:
    """``bytes=a-b`` / ``a-`` / ``-n`` -> ``(start, end_exclusive)``; ``UNSATISFIABLE``; or ``None``.

    ``None`` means "ignore the header and send 200": malformed values and multi-range requests,
    which RFC 9110 lets a server answer with the whole representation.
    """
    match = _RANGE.fullmatch(value)
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if not first:
        suffix = int(last)
        return (max(0, size - suffix), size) if suffix > 0 and size > 0 else UNSATISFIABLE
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    return start, size if not last else min(size, int(last) + 1)


def if_range_matches(value: str, etag: str, last_modified: datetime) -> bool:
    """``If-Range`` holds: a strong ETag equal to ours, or exactly our ``Last-Modified`` date."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag and not value.startswith("W/")
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    return when is not None and int(when.timestamp()) == int(last_modified.timestamp())


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name (the key, untouched)."""
    ascii_name = name.encode("ascii", "replace").decode().replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@dataclass(frozen=True)
class Entity:
    """A downloadable representation: metadata plus a ``chunks(start, end)`` generator."""

    size: int
    etag: str
    last_modified: datetime
    content_type: str
    chunks: Callable[[int, int], Iterator[bytes]]
    filename: str | None = None


class EntityResponse:
    """ASGI response serving an :class:`Entity` with full single-range support."""

    def __init__(self, entity: Entity, extra_headers: dict[str, str] | None = None) -> None:
        self.entity, self.extra = entity, extra_headers or {}

    def _plan(self, scope: dict[str, Any]) -> tuple[int, dict[str, str], int, int]:
        ent = self.entity
        req = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        no_range = site_flags(scope).no_range
        headers = {"content-type": ent.content_type, "etag": ent.etag, "last-modified": http_date(ent.last_modified),
                   **self.extra}
        if not no_range:
            headers["accept-ranges"] = "bytes"
        if ent.filename is not None:
            headers["content-disposition"] = content_disposition(ent.filename)
        if (inm := req.get("if-none-match")) and ent.etag in [t.strip() for t in inm.split(",")]:
            return 304, headers, 0, 0
        wanted = req.get("range")
        if wanted and not no_range and ("if-range" not in req or if_range_matches(req["if-range"], ent.etag,
                                                                                  ent.last_modified)):
            planned = parse_range(wanted, ent.size)
            if planned == UNSATISFIABLE:
                headers.update({"content-range": f"bytes */{ent.size}", "content-length": "0"})
                return 416, headers, 0, 0
            if isinstance(planned, tuple):
                start, end = planned
                headers.update({"content-range": f"bytes {start}-{end - 1}/{ent.size}",
                                "content-length": str(end - start)})
                return 206, headers, start, end
        headers["content-length"] = str(ent.size)
        return 200, headers, 0, ent.size

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        status, headers, start, end = self._plan(scope)
        if status == 304:
            headers.pop("content-length", None)
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        if scope["method"] == "HEAD" or start >= end:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            pending: bytes | None = None
            for chunk in self.entity.chunks(start, end):
                if pending is not None:
                    if gone.is_set():
                        return
                    await send({"type": "http.response.body", "body": pending, "more_body": True})
                pending = chunk
            await send({"type": "http.response.body", "body": pending or b"", "more_body": False})
        finally:
            watcher.cancel()


__all__ = ["UNSATISFIABLE", "Entity", "EntityResponse", "content_disposition", "html_response", "http_date",
           "if_range_matches", "json_response", "parse_range", "redirect"]
