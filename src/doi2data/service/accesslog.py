"""Structured access logs (one JSON object per line), the last line of error handling, and the
security headers every response carries (``Content-Security-Policy``, ``nosniff``).

Why a raw ASGI middleware: it must see the real status and the real number of body bytes of
streamed responses, notice a body cut short on purpose (a member failed verification), and cost
next to nothing on the cached fast path. Handlers add fields through ``scope["state"]``
(``cache``: hit/stale/miss, ``doi``, ``aborted``).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TextIO

from ..errors import Doi2DataError
from .problems import StreamAborted, from_error, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
errors = logging.getLogger("doi2data.gateway")
#: Every response that does not set its own policy (the gateway's pages do) is sandboxed and may
#: load nothing: a repository's HTML or SVG file streamed through the gateway (``mode=stream``,
#: ``extract=``) then runs no script on the gateway's origin, and cannot be framed.
DEFAULT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; sandbox")
NOSNIFF = (b"x-content-type-options", b"nosniff")
_CSP = DEFAULT_CSP[0]


def secured(headers: Any) -> list[tuple[bytes, bytes]]:
    """The response headers plus :data:`DEFAULT_CSP` (unless a policy is set) and ``nosniff``."""
    out = list(headers or ())
    if not any(name == _CSP for name, _ in out):
        out.append(DEFAULT_CSP)
    out.append(NOSNIFF)
    return out


class LineLog:
    """Appends one line per call to stderr or a file. Why not :mod:`logging`: records, locks and
    formatters cost a third of a cached request; lines from one event loop need none of that."""

    def __init__(self, target: str) -> None:
        self._file: TextIO = sys.stderr if target == "-" else open(target, "a", encoding="utf-8", buffering=1)

    def close(self) -> None:
        if self._file is not sys.stderr:
            self._file.close()

    def info(self, line: str) -> None:
        try:
            self._file.write(line + "\n")
        except (OSError, ValueError):  # a full disk or closed stderr must not fail requests
            pass


def access_logger(target: str | None) -> LineLog | None:
    """JSON lines to stderr (``-``) or a file (line-buffered); ``None`` for no log."""
    return None if target is None else LineLog(target)


def _aborted(exc: BaseException) -> StreamAborted | None:
    if isinstance(exc, StreamAborted):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if found := _aborted(inner):
                return found
    return None


class AccessLog:
    """Wraps the app: logs every HTTP request, turns escaped errors into problem+json."""

    def __init__(self, app: ASGIApp, logger: LineLog | None, client_of: Callable[[Scope], str]) -> None:
        self.app, self.logger, self.client_of = app, logger, client_of

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status, sent, response_started = 0, 0, False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = secured(message.get("headers"))
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:  # noqa: BLE001 - the last line: decide, then log
            aborted = _aborted(exc)
            if aborted is None and not isinstance(exc, Exception):
                state.setdefault("aborted", type(exc).__name__)
                raise  # cancellation and interpreter exits keep propagating
            if response_started:
                # Returning without finishing the body makes the server cut the connection, so a
                # client never takes a short (or unverified) body for a complete one.
                state["aborted"] = str(aborted or exc) or type(exc).__name__
                if aborted is None:
                    errors.error("response failed after it started", exc_info=exc)
            else:
                if isinstance(exc, Doi2DataError):
                    response = from_error(exc, scope.get("path"))
                else:
                    state["error"] = f"{type(exc).__name__}: {exc}"
                    errors.error("unhandled error", exc_info=exc)
                    response = problem(500, "Internal server error", "the gateway failed; see its log")
                await response(scope, receive, send_wrapper)
        finally:
            if self.logger is not None:
                self._log(scope, state, status, sent, started)

    def _log(self, scope: Scope, state: dict[str, Any], status: int, sent: int, started: float) -> None:
        ua = next((v for k, v in scope.get("headers") or () if k == b"user-agent"), b"")
        record: dict[str, Any] = {
            "ts": round(time.time(), 3), "client": self.client_of(scope), "method": scope.get("method"),
            "path": scope.get("path"), "query": scope.get("query_string", b"").decode("latin-1"),
            "status": status, "bytes": sent, "ms": round((time.perf_counter() - started) * 1000, 2),
            "ua": ua.decode("latin-1")[:200],
        }
        for key in ("cache", "doi", "kind", "aborted", "error"):
            if key in state:
                record[key] = state[key]
        assert self.logger is not None
        self.logger.info(json.dumps(record, ensure_ascii=False, separators=(",", ":")))


__all__ = ["DEFAULT_CSP", "AccessLog", "access_logger", "secured"]
