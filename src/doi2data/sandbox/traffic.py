"""What went over the wire: the request log, and the proxy<->site side channel.

Why a side channel: the TLS-terminating proxy and the sites share one event loop. A site can
only end an HTTP response; it cannot choose *how* the client's TCP connection ends. So the site
(through the traffic middleware) marks the backend connection, identified by the proxy's local
port that uvicorn reports as ``scope["client"]``, and the proxy then closes the client side
cleanly (``truncate``) or with a TCP reset (``reset``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class RequestRecord:
    """One request as the emulated site saw it (``status`` is ``None`` until the response starts)."""

    method: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None = None
    bytes_sent: int = 0
    scheme: str = "https"
    time: float = field(default_factory=time.time)


class TrafficLog:
    """Thread-safe, append-only request log (``snapshot`` copies for the test thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records = []


@dataclass
class ConnInfo:
    """The proxy's view of one backend connection: scheme seen by the client, how to end it."""

    scheme: str = "https"
    action: str | None = None  # "reset" | "truncate" once a quirk cut the response short


__all__ = ["ConnInfo", "RequestRecord", "TrafficLog"]
