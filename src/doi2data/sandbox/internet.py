"""``FakeInternet``: the proxy, the CA and the uvicorn-served sites, run in one background thread.

Why one thread with one event loop: the proxy and the sites share the connection side channel
(:class:`~doi2data.sandbox.traffic.ConnInfo`) without locks, the test thread stays free to run
synchronous or asynchronous clients, and start/stop are deterministic. Everything the client
needs is in :attr:`FakeInternet.env` - the same variables a user would export.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import uvicorn

from .datasets import default_world
from .middleware import TrafficMiddleware, quiet_uvicorn
from .proxy import Proxy
from .quirks import Quirk, QuirkRegistry
from .sites import ASGIApp, HostRouter, default_sites
from .tls import SandboxCA
from .traffic import ConnInfo, RequestRecord, TrafficLog
from .world import World

START_TIMEOUT = 20.0


class FakeInternet:
    """A local stand-in for doi.org, hdl.handle.net, api.datacite.org and zenodo.org.

    ``with FakeInternet() as net, net.activated(): httpx.get("https://doi.org/...")`` reaches the
    emulated sites through ``HTTPS_PROXY`` with TLS verified against ``SSL_CERT_FILE``.
    """

    def __init__(self, world: World | None = None, *, sites: dict[str, ASGIApp] | None = None,
                 proxy_port: int = 0) -> None:
        self.world = world if world is not None else default_world()
        self.sites: dict[str, ASGIApp] = default_sites(self.world)
        self.sites.update(sites or {})
        self._quirks = QuirkRegistry()
        self._log = TrafficLog()
        self._conns: dict[int, ConnInfo] = {}
        self._requested_port = proxy_port
        self._proxy_port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tmp: Path | None = None
        self._ca: SandboxCA | None = None
        self.backend_port = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeInternet:
        if self._thread is not None:
            return self
        quiet_uvicorn()
        self._tmp = Path(tempfile.mkdtemp(prefix="doi2data-sandbox-"))
        self._ca = SandboxCA()
        self._ca.write_pem(self._tmp / "sandbox-ca.pem")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="doi2data-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self._error is not None:
            error = self._error
            self.stop()
            raise RuntimeError(f"sandbox failed to start: {error!r}") from error
        return self

    def stop(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is not None and loop is not None and stop is not None and thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(15)
        self._thread = self._loop = self._stop = None
        self._proxy_port = 0
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> FakeInternet:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._ready.set()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        app = TrafficMiddleware(HostRouter(self.sites), self._quirks, self._log, self._conns)
        # IPPROTO_TCP explicitly: asyncio disables Nagle only on sockets created with it; without
        # it every small response waited ~40 ms for a delayed ACK (measured: 45 ms -> 1.6 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.backend_port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", http="h11", ws="none",
                                proxy_headers=False, server_header=False, timeout_keep_alive=120,
                                timeout_graceful_shutdown=1, backlog=1024)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                serving.result()
                raise RuntimeError("uvicorn exited during startup")
            await asyncio.sleep(0.01)
        assert self._ca is not None
        proxy = Proxy(backend_port=self.backend_port, is_known=lambda h: h in self.sites, ca=self._ca,
                      conns=self._conns, log=self._log, port=self._requested_port)
        self._proxy_port = await proxy.start()
        self._ready.set()
        await self._stop.wait()
        await proxy.stop()
        server.should_exit = server.force_exit = True
        await asyncio.wait_for(serving, 10)

    # -- what clients need -------------------------------------------------------------------
    @property
    def proxy_url(self) -> str:
        if not self._proxy_port:
            raise RuntimeError("the sandbox is not running")
        return f"http://127.0.0.1:{self._proxy_port}"

    @property
    def ca_file(self) -> str:
        if self._tmp is None:
            raise RuntimeError("the sandbox is not running")
        return str(self._tmp / "sandbox-ca.pem")

    @property
    def env(self) -> dict[str, str]:
        """Environment that routes HTTP(S) through the sandbox and trusts its CA."""
        proxy = self.proxy_url
        return {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
                "SSL_CERT_FILE": self.ca_file, "NO_PROXY": "", "no_proxy": ""}

    @contextmanager
    def activated(self) -> Iterator[FakeInternet]:
        """Put :attr:`env` into ``os.environ``; restore the previous values afterwards."""
        env = self.env
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield self
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @property
    def hosts(self) -> list[str]:
        return sorted(self.sites)

    def add_site(self, host: str, app: ASGIApp) -> None:
        """Serve ``app`` for ``host`` too (works while running: certificates are issued lazily)."""
        self.sites[host.lower()] = app

    # -- quirks and log ------------------------------------------------------------------------
    def add_quirk(self, quirk: Quirk) -> int:
        return self._quirks.add(quirk)

    def remove_quirk(self, handle: int) -> bool:
        return self._quirks.remove(handle)

    def clear_quirks(self) -> None:
        self._quirks.clear()

    @property
    def quirks(self) -> list[Quirk]:
        """Quirks that can still fire."""
        return self._quirks.active()

    @property
    def log(self) -> list[RequestRecord]:
        """Requests seen so far, in arrival order (a snapshot copy)."""
        return self._log.snapshot()

    def clear_log(self) -> None:
        self._log.clear()

    def __repr__(self) -> str:
        state = f"proxy {self.proxy_url}" if self._proxy_port else "stopped"
        return f"<FakeInternet {state}, {len(self.sites)} hosts>"


__all__ = ["FakeInternet"]
