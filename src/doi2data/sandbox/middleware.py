"""Traffic middleware: logs every request and applies the active quirks around the sites.

Why at the ASGI level: here the request is already parsed (host, decoded path, headers) and the
response is a sequence of ASGI messages, so delaying, replacing, corrupting, throttling and
cutting bodies is exact to the byte and independent of which site answers. Cutting a body short
raises :class:`_Cut` inside ``send``; the middleware then returns with the response incomplete
(uvicorn closes the backend connection) after telling the proxy, through
:class:`~doi2data.sandbox.traffic.ConnInfo`, whether the client should see a reset or a clean close.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from collections.abc import Mapping
from typing import Any

from .quirks import Quirk, QuirkEntry, QuirkRegistry
from .traffic import ConnInfo, RequestRecord, TrafficLog

Scope = dict[str, Any]
Message = dict[str, Any]
SCOPE_KEY = "doi2data.sandbox"


@dataclass
class SiteFlags:
    """Request-level quirks a site must honour itself (put in ``scope[SCOPE_KEY]``)."""

    no_range: bool = False
    change: bool = False
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)


def site_flags(scope: Mapping[str, Any]) -> SiteFlags:
    flags = scope.get(SCOPE_KEY)
    return flags if isinstance(flags, SiteFlags) else SiteFlags()


class _Cut(Exception):
    """Stop the response here; ``action`` says how the proxy ends the client connection."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class _QuietCuts(logging.Filter):
    """Hide uvicorn's complaint about the responses we cut short on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def quiet_uvicorn() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietCuts) for f in logger.filters):
        logger.addFilter(_QuietCuts())


def _request_headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_key, raw_value in scope.get("headers", []):
        key, value = raw_key.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _host(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value.partition("]")[0] + "]"
    return value.rpartition(":")[0] if ":" in value else value


class TrafficMiddleware:
    """ASGI middleware in front of the host router: request log + quirks."""

    def __init__(self, app: Any, quirks: QuirkRegistry, log: TrafficLog, conns: dict[int, ConnInfo]) -> None:
        self.app, self.quirks, self.log, self.conns = app, quirks, log, conns

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        conn = self.conns.get(client[1]) if client else None
        scheme = conn.scheme if conn else scope.get("scheme", "http")
        headers = _request_headers(scope)
        host, method, path = _host(headers.get("host", "")), scope["method"], scope["path"]
        record = RequestRecord(method, host, path, scope.get("query_string", b"").decode("latin-1"), headers,
                               scheme=scheme)
        self.log.append(record)
        request_quirks, candidates = self.quirks.match(host, path, method)
        flags = SiteFlags(no_range=any(q.kind == "no-range" for q in request_quirks),
                          change=any(q.kind == "change" for q in request_quirks))
        scope = {**scope, "scheme": scheme, SCOPE_KEY: flags}

        async def receive_watched() -> Message:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                flags.disconnected.set()
            return message

        shaper = _Shaper(send, record, candidates, self.quirks, flags)
        try:
            delay = sum(q.seconds for q in request_quirks if q.kind == "latency")
            if delay:
                await shaper.wait(delay)
            status = next((q for q in request_quirks if q.kind == "status"), None)
            if status is not None:
                await _status_response(status, method, shaper.send)
            else:
                await self.app(scope, receive_watched, shaper.send)
        except _Cut as cut:
            if conn is not None and cut.action in ("reset", "truncate"):
                conn.action = cut.action


async def _status_response(quirk: Quirk, method: str, send: Any) -> None:
    phrase = HTTPStatus(quirk.status).phrase if quirk.status in HTTPStatus._value2member_map_ else "Error"
    body = b"" if quirk.status in (204, 304) else json.dumps({"status": quirk.status, "message": phrase}).encode()
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    headers.update({k.lower(): str(v) for k, v in quirk.headers.items()})
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": quirk.status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body, "more_body": False})


class _Shaper:
    """Wraps ``send``: records status/bytes and applies the body-level quirks that take effect."""

    def __init__(self, send: Any, record: RequestRecord, candidates: list[QuirkEntry],
                 registry: QuirkRegistry, flags: SiteFlags) -> None:
        self._send, self.record, self.candidates, self.registry, self.flags = send, record, candidates, registry, flags
        self.sent = 0
        self.corrupt: list[int] = []
        self.cuts: list[Quirk] = []
        self.extra = 0  # bytes sent after the body (``extra``)
        self.rate: float | None = None
        self.paced_from: float | None = None
        self.paced_bytes = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.record.status = message["status"]
            self._arm(message["status"], {k.decode("latin-1").lower(): v.decode("latin-1")
                                          for k, v in message.get("headers", [])})
            if self.extra:  # a longer body than announced: no length at all (chunked)
                message = {**message, "headers": [(k, v) for k, v in message.get("headers", [])
                                                  if k.lower() != b"content-length"]}
            await self._send(message)
        elif message["type"] == "http.response.body":
            await self._body(message.get("body", b""), message.get("more_body", False))
        else:
            await self._send(message)

    def _arm(self, status: int, headers: dict[str, str]) -> None:
        """Decide which body quirks really alter this response, and count only those."""
        if self.record.method == "HEAD" or not 200 <= status < 300:
            return
        base = 0
        if headers.get("content-range", "").startswith("bytes "):
            first = headers["content-range"][6:].partition("-")[0]
            base = int(first) if first.isdigit() else 0
        length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
        for entry in self.candidates:
            q = entry.quirk
            if q.kind == "corrupt":
                target = q.offset - base if q.offset >= 0 else self.registry.offset(entry, length) if length else 0
                if 0 <= target and (length is None or target < length) and self.registry.consume(entry):
                    self.corrupt.append(target)
            elif q.kind == "slow":
                if length != 0 and self.registry.consume(entry):
                    self.rate = min(self.rate or q.rate, q.rate)
            elif q.kind == "extra":
                if q.after_bytes > 0 and self.registry.consume(entry):
                    self.extra += q.after_bytes
            elif (length is None or q.after_bytes < length) and self.registry.consume(entry):
                self.cuts.append(q)
        self.cuts.sort(key=lambda q: q.after_bytes)

    async def _body(self, body: bytes, more: bool) -> None:
        while self.cuts and self.cuts[0].after_bytes < self.sent + len(body):
            quirk = self.cuts.pop(0)
            head = max(0, quirk.after_bytes - self.sent)
            if head:
                await self._emit(body[:head], True)
                body = body[head:]
            if quirk.kind == "stall":
                await self.wait(quirk.seconds)
            else:
                raise _Cut(quirk.kind)
        if more or not self.extra:
            await self._emit(body, more)
            return
        await self._emit(body, True)
        while self.extra:  # the bytes past the end, in pieces, until sent or the client goes away
            piece = min(self.extra, 1 << 16)
            self.extra -= piece
            await self._emit(b"\xa5" * piece, bool(self.extra))

    async def _emit(self, data: bytes, more: bool) -> None:
        if data and self.corrupt:
            hits = [t - self.sent for t in self.corrupt if self.sent <= t < self.sent + len(data)]
            if hits:
                buf = bytearray(data)
                for i in hits:
                    buf[i] ^= 0xFF
                data = bytes(buf)
        if not (self.rate and data):
            await self._send_body(data, more)
            return
        # Paced to a schedule (byte n leaves at start + n/rate), not "sleep len/rate per piece":
        # time spent sending then counts, and a 25 MB/s cap delivers 25 MB/s, not ~21.
        loop = asyncio.get_running_loop()
        if self.paced_from is None:
            self.paced_from, self.paced_bytes = loop.time(), 0
        step = max(1, int(self.rate / 20))
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            self.paced_bytes += len(piece)
            due = self.paced_from + self.paced_bytes / self.rate - loop.time()
            if due > 0:
                await self.wait(due)
            await self._send_body(piece, more or i + step < len(data))

    async def _send_body(self, data: bytes, more: bool) -> None:
        if self.flags.disconnected.is_set():
            raise _Cut("gone")
        await self._send({"type": "http.response.body", "body": data, "more_body": more})
        self.sent += len(data)
        if self.record.method != "HEAD":
            self.record.bytes_sent += len(data)

    async def wait(self, seconds: float) -> None:
        """Sleep, but stop early (and abandon the response) if the client went away."""
        try:
            await asyncio.wait_for(self.flags.disconnected.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise _Cut("gone")


__all__ = ["SCOPE_KEY", "SiteFlags", "TrafficMiddleware", "quiet_uvicorn", "site_flags"]
