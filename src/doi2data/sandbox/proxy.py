"""The forward proxy every sandboxed request goes through: CONNECT + TLS termination, or plain HTTP.

Why a proxy rather than patching the client: ``HTTPS_PROXY`` and ``SSL_CERT_FILE`` are read by
httpx, curl and aria2c alike, so the code under test keeps its real URLs (``https://doi.org/...``)
and its real network stack. ``CONNECT host:443`` to an emulated host is answered 200, TLS is
terminated with a certificate from :class:`~doi2data.sandbox.tls.SandboxCA`, and the decrypted
HTTP/1.1 stream (keep-alive and all) is pumped to the uvicorn backend. Absolute-form plain HTTP
requests are rewritten to origin form and forwarded, one response per connection. Anything
else - unknown hosts, other ports - gets a 502: nothing is ever passed to the real internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from .tls import SandboxCA
from .traffic import ConnInfo, RequestRecord, TrafficLog

CHUNK = 256 * 1024
HEAD_TIMEOUT = 60.0
_HOP_HEADERS = {"proxy-connection", "proxy-authorization", "connection", "keep-alive", "host", "te", "upgrade"}


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy until EOF or error (errors just end the copy; the caller tears the pair down)."""
    with contextlib.suppress(ConnectionError, OSError, ssl.SSLError, RuntimeError):
        while data := await src.read(CHUNK):
            dst.write(data)
            await dst.drain()


def _unsent(transport: Any) -> int:
    """Bytes still queued in asyncio and in the kernel send queue (Linux ``TIOCOUTQ``)."""
    pending = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(Exception):
        import fcntl
        import termios

        pending += struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    return int(pending)


class Proxy:
    """An asyncio HTTP proxy that only ever talks to the sandbox backend."""

    def __init__(self, *, backend_port: int, is_known: Callable[[str], bool], ca: SandboxCA,
                 conns: dict[int, ConnInfo], log: TrafficLog, port: int = 0) -> None:
        self.backend_port, self.is_known, self.ca, self.conns, self.log = backend_port, is_known, ca, conns, log
        self.port = port
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024,
                                                  limit=256 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        raw = writer.transport
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            first, *lines = head.decode("latin-1").split("\r\n")
            parts = first.split()
            headers = [line for line in lines if line]
            if len(parts) != 3:
                await self._refuse(writer, 400, "malformed request line")
            elif parts[0].upper() == "CONNECT":
                await self._connect(reader, writer, raw, parts[1], headers)
            elif parts[1].lower().startswith(("http://", "https://")):
                await self._forward(reader, writer, raw, parts, headers)
            else:
                await self._refuse(writer, 400, "this is a proxy: send CONNECT or an absolute-form request")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError,
                OSError, ssl.SSLError):
            pass
        except asyncio.CancelledError:  # only stop() cancels us; end quietly (3.11 logs cancelled handlers)
            pass
        finally:
            self._tasks.discard(task)
            await self._close(writer, raw)

    @staticmethod
    async def _close(writer: asyncio.StreamWriter, raw: Any) -> None:
        """Close cleanly (TLS close_notify, FIN), giving up after a second; never raise."""
        writer.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        if not raw.is_closing():
            raw.abort()

    def _refusal(self, method: str, host: str, path: str, headers: list[str], scheme: str) -> None:
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in headers)}
        self.log.append(RequestRecord(method, host, path, "", hdrs, status=502, scheme=scheme))

    async def _refuse(self, writer: asyncio.StreamWriter, status: int, message: str) -> None:
        body = (message + "\n").encode()
        writer.write(f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: text/plain\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        await writer.drain()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: Any,
                       target: str, headers: list[str]) -> None:
        host, _, port = target.rpartition(":")
        host = host.strip("[]").lower()
        if port != "443" or not self.is_known(host):
            self._refusal("CONNECT", host or target, "", headers, "https")
            await self._refuse(writer, 502, f"doi2data sandbox: no emulated site for {target}")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(self.ca.context_for(host), ssl_handshake_timeout=15)
        await self._tunnel(reader, writer, raw, "https", b"")

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: Any,
                       parts: list[str], headers: list[str]) -> None:
        method, target, version = parts
        url = urlsplit(target)
        host = (url.hostname or "").lower()
        if not self.is_known(host):
            self._refusal(method, host, url.path or "/", headers, url.scheme)
            await self._refuse(writer, 502, f"doi2data sandbox: no emulated site for {host}")
            return
        kept = [h for h in headers if h.partition(":")[0].strip().lower() not in _HOP_HEADERS]
        netloc = host + (f":{url.port}" if url.port else "")
        origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
        head = "\r\n".join([f"{method} {origin} {version}", *kept, f"Host: {netloc}", "Connection: close"])
        await self._tunnel(reader, writer, raw, url.scheme, (head + "\r\n\r\n").encode("latin-1"))

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: Any,
                      scheme: str, initial: bytes) -> None:
        """Pump client <-> backend; when the backend ends, end the client as the site asked."""
        backend_reader, backend_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        local_port = backend_writer.get_extra_info("sockname")[1]
        info = self.conns[local_port] = ConnInfo(scheme)
        up = asyncio.create_task(_pipe(reader, backend_writer))
        down = asyncio.create_task(_pipe(backend_reader, writer))
        try:
            if initial:
                backend_writer.write(initial)
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            if down in done and info.action == "reset":
                await self._reset(writer, raw)
        finally:
            up.cancel()
            down.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            self.conns.pop(local_port, None)
            backend_writer.close()

    async def _reset(self, writer: asyncio.StreamWriter, raw: Any) -> None:
        """Let what was already sent reach the client, then abort with a TCP RST."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while loop.time() < deadline and (writer.transport.get_write_buffer_size() or _unsent(raw)):
            await asyncio.sleep(0.005)
        sock = raw.get_extra_info("socket")
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.abort()


__all__ = ["Proxy"]
