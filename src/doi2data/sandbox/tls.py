"""The throwaway certificate authority and per-host server certificates.

Why a real CA instead of disabling verification: the client under test must run with
verification on, trusting exactly one extra root through ``SSL_CERT_FILE`` - the same knob a
user behind a corporate TLS-inspecting proxy would turn. Certificates are issued lazily per
host name (so sites added later just work) and cached as ready ``SSLContext`` objects.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import trustme


class SandboxCA:
    """A ``trustme`` CA plus a cache of server-side TLS contexts, one per host name."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name="doi2data sandbox", organization_unit_name="fake internet")
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def write_pem(self, path: Path) -> Path:
        self.ca.cert_pem.write_to_path(str(path))
        return path

    def context_for(self, host: str) -> ssl.SSLContext:
        """A server ``SSLContext`` presenting a certificate for ``host`` (HTTP/1.1 only)."""
        host = host.lower()
        with self._lock:
            ctx = self._contexts.get(host)
            if ctx is None:
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.set_alpn_protocols(["http/1.1"])
                self.ca.issue_cert(host).configure_cert(ctx)
                self._contexts[host] = ctx
            return ctx


__all__ = ["SandboxCA"]
