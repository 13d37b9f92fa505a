"""The benchmark's datasets as a sandbox :class:`~doi2data.sandbox.World`, and the server process.

Why a separate process: the client under test (doi2data is Python too) and the emulated
internet must not share a GIL, or each would slow the other down and the numbers would say
nothing about either. ``benchmarks/transfer.py`` starts ``python benchmarks/_bench_world.py``,
reads one JSON line with the proxy environment, and then steers the server over stdin/stdout with
one JSON command per line (set the latency/bandwidth profile, clear the log, read counters).

File bytes are never stored: the world generates them from seeds (see ``doi2data.sandbox.world``).
Digests are computed once at start-up (``prewarm``) so that no tool pays for the server's first
md5 of a 2 GiB file.

Records (``layout(scale)`` shrinks them; ``--scale 1`` is the issue's full size):

========  ===========  =================================  ==========================
scenario  record       files                              DOI
========  ===========  =================================  ==========================
a         8000001      2,000 x 1 MiB  (``a-00001.bin``)   10.5281/zenodo.8000001
b, d, t   8000002      1 x 2 GiB      (``big.bin``)       10.5281/zenodo.8000002
c         8000003      20,000 x 10 KiB (``c-00001.bin``)  10.5281/zenodo.8000003
========  ===========  =================================  ==========================

Manual use (e.g. to poke at it with curl)::

    python benchmarks/_bench_world.py --scale 0.01      # prints {"env": ...}; then reads commands
    {"cmd": "profile", "latency": 0.02, "rate": 25000000}
    {"cmd": "stats"}
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
import types
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from doi2data.sandbox import FakeInternet, FileSpec, Quirk, Record, World
from doi2data.sandbox import internet as _internet
from doi2data.sandbox.sites import zenodo as zenodo_site

MiB = 1 << 20
KiB = 1 << 10
GiB = 1 << 30

RECID_A, RECID_BIG, RECID_C = "8000001", "8000002", "8000003"
CONTENT_PATH = "*/content"  # where latency and bandwidth quirks apply (file bytes, not the API)
_CONTENT = re.compile(r"^/api/records/(?P<recid>[^/]+)/files/(?P<key>.+)/content$")


@dataclass(frozen=True)
class Layout:
    """Sizes of every scenario's dataset at one ``scale`` (1.0 = the issue's full size)."""

    scale: float = 1.0

    @property
    def a_count(self) -> int:
        return max(2, round(2000 * self.scale))

    a_size: int = 1 * MiB

    @property
    def c_count(self) -> int:
        return max(4, round(20000 * self.scale))

    c_size: int = 10 * KiB

    @property
    def big_size(self) -> int:
        return max(1 * MiB, int(2 * GiB * self.scale))

    def doi(self, recid: str) -> str:
        return f"10.5281/zenodo.{recid}"

    def describe(self) -> dict[str, str]:
        return {
            "a": f"{self.a_count:,} x {self.a_size / MiB:g} MiB",
            "b": f"1 x {self.big_size / MiB:,.0f} MiB" if self.big_size < GiB else f"1 x {self.big_size / GiB:g} GiB",
            "c": f"{self.c_count:,} x {self.c_size / KiB:g} KiB",
        }


def build_world(layout: Layout) -> World:
    """Zenodo-style records with many generated files (content is a function of the seed)."""
    def record(recid: str, title: str, files: tuple[FileSpec, ...]) -> Record:
        return Record(recid, str(int(recid) + 100), title, files=files, publication_date="2025-01-15",
                      description="<p>Generated for benchmarks/transfer.py</p>")

    return World(records=[
        record(RECID_A, "Benchmark (a): many 1 MiB files",
               tuple(FileSpec(f"a-{i:05d}.bin", layout.a_size) for i in range(1, layout.a_count + 1))),
        record(RECID_BIG, "Benchmark (b/d/t): one large file", (FileSpec("big.bin", layout.big_size),)),
        record(RECID_C, "Benchmark (c): many 10 KiB files",
               tuple(FileSpec(f"c-{i:05d}.bin", layout.c_size) for i in range(1, layout.c_count + 1))),
    ])


class ZenodoFront:
    """zenodo.org as the benchmark serves it: two deliberate differences from the plain sandbox.

    * **Rate-limit headers off by default** (switchable at run time). The emulator counts every
      ``/api/`` request (file content included) against 133/minute and answers
      ``X-RateLimit-Remaining: 0`` after that; doi2data then politely pauses until the reset, while
      aria2c, curl and wget ignore the headers. For a like-for-like engine comparison they are off;
      the "default limits" note turns them on.
    * **Landing-page signposting capped**: the sandbox lists every file as a ``rel="item"`` link in
      the landing page's ``Link`` header, which for 2,000 files is a ~200 KB header line that
      Python's http.client, h11 and curl all refuse (so zenodo_get and datahugger, which follow the
      DOI to the landing page, could not even start). Above ``LINK_LIMIT`` bytes the item links are
      dropped, as signposting level 1 allows (Dataverse caps them with ``level1-item-limit``).
    """

    LINK_LIMIT = 8 * 1024

    def __init__(self, world: World) -> None:
        self.with_headers = zenodo_site.make_app(world)  # RateLimitHeaders(router)
        self.without = self.with_headers.app
        self.rate_headers = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.with_headers if self.rate_headers else self.without
        if scope.get("type") != "http" or scope.get("path", "").startswith("/api/"):
            await app(scope, receive, send)
            return

        async def capped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for key, value in message.get("headers", []):
                    if key.lower() == b"link" and len(value) > self.LINK_LIMIT:
                        value = b" , ".join(p for p in value.split(b" , ") if b'rel="item"' not in p)
                    headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, capped)


def _tcp_socket(family: int = socket.AF_INET, type: int = socket.SOCK_STREAM, proto: int = 0,
                fileno: int | None = None) -> socket.socket:
    if not proto and type == socket.SOCK_STREAM and family in (socket.AF_INET, socket.AF_INET6):
        proto = socket.IPPROTO_TCP
    return socket.socket(family, type, proto, fileno)


def nodelay_backend() -> bool:
    """Work around a sandbox bug: the uvicorn backend socket is made with ``proto=0``.

    asyncio turns Nagle off (``TCP_NODELAY``) only for sockets whose ``proto`` is
    ``IPPROTO_TCP``, so every small response (headers, then body, in two writes) waited for the
    client's delayed ACK: about 40 ms per request (measured: 45 ms -> 1.6 ms for a 10 KiB file
    with this fix). Real servers do not do that, and it would swamp every small-file scenario.
    The proper fix is one line in ``doi2data/sandbox/internet.py`` (create the socket with
    ``socket.IPPROTO_TCP``); until it lands, the benchmark's server process patches the module.
    Returns True when the patch was applied.
    """
    if getattr(_internet, "socket", None) is not socket:
        return False
    shim = types.SimpleNamespace(**{k: getattr(socket, k) for k in dir(socket) if not k.startswith("__")})
    shim.socket = _tcp_socket
    _internet.socket = shim  # type: ignore[assignment]
    return True


def prewarm(world: World) -> float:
    """Compute (and cache) every file's md5, as the API listing and ETags need; returns seconds."""
    started = time.perf_counter()
    for rec in world.records:
        for spec in rec.files:
            world.digest(spec, "md5")
    return time.perf_counter() - started


class Server:
    """The sandbox plus the command loop the benchmark driver talks to."""

    def __init__(self, layout: Layout, rate_headers: bool = False, nodelay: bool = True) -> None:
        self.nodelay_patched = nodelay_backend() if nodelay else False
        self.layout = layout
        self.world = build_world(layout)
        self.sizes = {(r.recid, f.key): f.size for r in self.world.records for f in r.files}
        self.front = ZenodoFront(self.world)
        self.front.rate_headers = rate_headers
        self.net = FakeInternet(world=self.world, sites={"zenodo.org": self.front})

    def start(self) -> dict[str, Any]:
        warm = prewarm(self.world)
        self.net.start()
        env = dict(self.net.env)
        env.update(CURL_CA_BUNDLE=self.net.ca_file, REQUESTS_CA_BUNDLE=self.net.ca_file)
        return {"env": env, "ca_file": self.net.ca_file, "proxy": self.net.proxy_url, "prewarm_s": round(warm, 2),
                "nodelay_patched": self.nodelay_patched,
                "layout": self.layout.describe(), "scale": self.layout.scale}

    # commands --------------------------------------------------------------------------------
    def profile(self, latency: float = 0.0, rate: float | None = None) -> dict[str, Any]:
        """Replace the quirks: ``latency`` seconds before, ``rate`` bytes/s during each file body."""
        self.net.clear_quirks()
        if latency > 0:
            self.net.add_quirk(Quirk(host="zenodo.org", path=CONTENT_PATH, kind="latency", seconds=latency))
        if rate:
            self.net.add_quirk(Quirk(host="zenodo.org", path=CONTENT_PATH, kind="slow", rate=float(rate)))
        return {"quirks": [f"{q.kind}:{q.seconds if q.kind == 'latency' else q.rate}" for q in self.net.quirks]}

    def stats(self, detail: bool = False) -> dict[str, Any]:
        """Counters over the request log since the last ``clear``.

        ``content_bytes``: body bytes the sites handed to the server for file content (what left
        the server, including what was still in socket buffers when a client was killed);
        ``files_complete``: distinct files whose bytes were sent at least once in full (summed
        over requests, so segmented downloads count too).
        """
        log = self.net.log
        per_file: dict[tuple[str, str], int] = {}
        out: dict[str, Any] = {"requests": len(log), "content_requests": 0, "content_bytes": 0, "api_requests": 0,
                               "other_bytes": 0, "statuses": {}, "ranged": 0}
        ranges: list[list[Any]] = []
        t0 = log[0].time if log else 0.0
        for rec in log:
            status = str(rec.status)
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
            match = _CONTENT.match(rec.path) if rec.host == "zenodo.org" else None
            if match is None:
                out["api_requests"] += 1
                out["other_bytes"] += rec.bytes_sent
                continue
            out["content_requests"] += 1
            out["content_bytes"] += rec.bytes_sent
            if "range" in rec.headers:
                out["ranged"] += 1
            key = (match["recid"], unquote(match["key"]))
            per_file[key] = per_file.get(key, 0) + rec.bytes_sent
            if detail:
                ranges.append([round(rec.time - t0, 3), rec.method, rec.status, rec.headers.get("range"), rec.bytes_sent])
        out["files_touched"] = len(per_file)
        out["files_complete"] = sum(1 for k, n in per_file.items() if n >= self.sizes.get(k, 1 << 62))
        if detail:
            out["ranges"] = ranges
        return out

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        name = command.get("cmd")
        if name == "profile":
            return self.profile(float(command.get("latency") or 0), command.get("rate"))
        if name == "clear":
            self.net.clear_log()
            return {"ok": True}
        if name == "stats":
            return self.stats(bool(command.get("detail")))
        if name == "rate_headers":
            self.front.rate_headers = bool(command.get("on"))
            return {"ok": True, "rate_headers": self.front.rate_headers}
        if name == "md5":
            return {"md5": self.world.checksum(command["recid"], command["key"])}
        if name == "ping":
            return {"ok": True}
        return {"error": f"unknown command {name!r}"}

    def loop(self) -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                command = json.loads(line)
                if command.get("cmd") == "quit":
                    break
                reply = self.handle(command)
            except Exception as exc:  # report, keep serving: the driver decides what to do
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rate-headers", action="store_true", help="keep the emulated X-RateLimit-* headers")
    parser.add_argument("--no-nodelay-fix", action="store_true",
                        help="serve with the sandbox as it is (Nagle on the backend: ~40 ms per small response)")
    args = parser.parse_args(argv)
    server = Server(Layout(args.scale), rate_headers=args.rate_headers, nodelay=not args.no_nodelay_fix)
    hello = server.start()
    sys.stdout.write(json.dumps(hello) + "\n")
    sys.stdout.flush()
    # stdin closing (driver gone, even if it was killed) ends the server
    watchdog = threading.Thread(target=server.loop, daemon=True)
    watchdog.start()
    try:
        watchdog.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.net.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
