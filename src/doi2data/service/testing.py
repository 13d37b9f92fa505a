"""Run the gateway in a background thread on a loopback port (tests, benchmarks, notebooks).

Why a thread with its own event loop: tests stay synchronous and drive the gateway with plain
HTTP clients (and a real browser) exactly as users do, through a real socket and uvicorn.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn


class GatewayServer:
    """``with GatewayServer(app) as server: httpx.get(server.url + "/healthz")``."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1") -> None:
        self.app, self.host = app, host
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> GatewayServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on", server_header=False,
                                timeout_graceful_shutdown=2, timeout_keep_alive=30)
        self._server = uvicorn.Server(config)

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # reported to start()
                self._error = exc
                self._ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="doi2data-gateway", daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self._error is not None:
            raise RuntimeError(f"gateway failed to start: {self._error!r}")
        return self

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        task = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        self._ready.set()
        await task

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        self._server = self._thread = None

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


__all__ = ["GatewayServer"]
