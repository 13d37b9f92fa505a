"""The gateway's per-process state (:class:`Gateway`), shared by every route module.

Its own module so that the route modules (:mod:`.dataset`, :mod:`.search`, :mod:`.stream`, ...)
import it while :mod:`.app` only wires routes: imports point one way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.requests import Request

from ..adapters._pan.autoindex import listing_limits
from ..http import Http, make_client, make_sync_client
from ..identifiers import Identifier
from ..model import Manifest
from ..resolver import build_manifest
from .cache import Store, open_store
from .config import GatewayConfig
from .manifests import ManifestService, Resolve
from .safety import (ClientLimits, DestinationPolicy, Resolver, client_address, dns_resolver, forget_cookies,
                     pin_connections)
from .subsetstate import SubsetState


class Gateway:
    """Per-process state: the upstream client (with the safety hook), cache and limits."""

    def __init__(self, config: GatewayConfig, *, store: Store | None = None, dns: Resolver | None = None,
                 resolve: Resolve | None = None) -> None:
        self.config = config
        self.policy = DestinationPolicy(allow_hosts=config.allow_hosts, allow_networks=config.allow_networks,
                                        resolver=dns or dns_resolver, strict_dns=config.strict_dns)
        self.client: httpx.AsyncClient = make_client(max_connections=64)
        self.client.event_hooks = {"request": [self.policy.hook], "response": []}
        # File bytes are read on worker threads through a blocking client (see .origin): same
        # proxy/CA configuration, the same safety check on every request and redirect hop.
        self.sync_client: httpx.Client = make_sync_client(max_connections=128)
        self.sync_client.event_hooks = {"request": [self.policy.sync_hook], "response": []}
        for shared in (self.client, self.sync_client):
            pin_connections(shared, self.policy)  # connect to the address that was checked (DNS rebinding)
            forget_cookies(shared)  # one caller's cookies never reach another caller's requests
        self._hosts = _HostRule(config.allowed_hosts)
        self.subsets = SubsetState(config)
        self.limits = ClientLimits(rate=config.rate, burst=config.burst, max_streams=config.max_streams)
        self.store = store if store is not None else open_store(config.cache_url)
        self.manifests = ManifestService(self.store, resolve or self._resolve, ttl=config.ttl, stale=config.stale,
                                         negative_ttl=config.negative_ttl, memory_entries=config.memory_entries,
                                         memory_files=config.memory_files)

    async def _resolve(self, ident: Identifier) -> Manifest:
        # No credentials, ever: the gateway serves what anyone may fetch (DOI2DATA_TOKENS is ignored).
        config = self.config
        with listing_limits(config.max_depth, config.max_pages, config.max_entries):
            return await build_manifest(ident, Http(self.client, max_wait=10.0, body_limit=config.max_api_body))

    def client_of(self, scope: Any) -> str:
        return client_address(scope, self.config.trust_forwarded)

    def base(self, request: Request) -> str:
        """The public base URL: configured, else scheme + host + root path, where the host is the
        request's ``Host`` only if allow-listed, else the address the request arrived on."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        scope = request.scope
        scheme = scope.get("scheme", "http")
        scheme = scheme if scheme in ("http", "https") else "http"
        sent = next((v for k, v in scope["headers"] if k == b"host"), b"")
        host = self._hosts.authority(sent, scope.get("server"), scheme)
        return f"{scheme}://{host}{scope.get('root_path', '')}".rstrip("/")

    async def held(self, body: AsyncIterator[bytes], client: str) -> AsyncIterator[bytes]:
        """Pass a streamed body on, releasing the client's stream slot however it ends."""
        try:
            async for chunk in body:
                yield chunk
        finally:
            self.limits.release(client)
            close = getattr(body, "aclose", None)
            if close is not None:
                await close()

    async def aclose(self) -> None:
        await self.manifests.close()
        await self.client.aclose()
        self.sync_client.close()
        self.subsets.close()
        await self.store.close()


def _authority(host: str, port: int | None, scheme: str) -> str:
    host = f"[{host}]" if ":" in host else host
    return host if port is None or port == (443 if scheme == "https" else 80) else f"{host}:{port}"


class _HostRule:
    """Which ``Host`` headers may appear in the gateway's own links and redirects.

    Why: the links of a page or a manifest are memoised per base URL and seen by every later
    caller (and by shared caches); taking them from any ``Host`` lets one request plant links
    to another site and makes the memo grow by one rendering per invented host (150 Hosts held
    250 MB). Accepted: a listed ``name:port``, a listed ``name`` without a port or with the
    listening port, the address the request arrived on, and ``localhost`` on a loopback
    listener. Anything else is replaced by the address the request arrived on.
    """

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = frozenset(h.strip().lower().rstrip(".") for h in allowed if h.strip())
        self._memo: dict[tuple[bytes, Any, str], str] = {}

    def authority(self, sent: bytes, server: Any, scheme: str) -> str:
        key = (sent, server, scheme)
        found = self._memo.get(key)
        if found is None:
            found = self._decide(sent.decode("latin-1").strip().lower(), server, scheme)
            if len(self._memo) >= 1024:  # bounded: keys come from callers
                self._memo.clear()
            self._memo[key] = found
        return found

    def _decide(self, sent: str, server: Any, scheme: str) -> str:
        ok = bool(server) and len(server) == 2 and isinstance(server[1], int)  # a unix socket has no port
        host, port = (str(server[0]), int(server[1])) if ok else ("localhost", None)
        own = _authority(host, port, scheme)
        if not sent or sent == own:
            return own
        name, _, sent_port = sent.rpartition(":") if not sent.endswith("]") else (sent, "", "")
        if not name or "]" in sent_port:
            name, sent_port = sent, ""
        same_port = sent_port == "" or (sent_port.isdigit() and int(sent_port) == port)
        if sent in self.allowed or (name in self.allowed and same_port):
            return sent
        if name == "localhost" and same_port and sent_port and _loopback(host):
            return sent
        return own


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


__all__ = ["Gateway"]
