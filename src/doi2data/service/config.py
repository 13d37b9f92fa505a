"""Everything an operator can tune about the gateway, in one frozen value.

Why one dataclass: ``doi2data serve`` builds it from flags, tests build it directly, and
multi-worker uvicorn (which imports the app by name in each worker process) gets it back from
one JSON environment variable, so the three can never disagree.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

SingleFileMode = Literal["redirect", "stream"]
ENV_VAR = "DOI2DATA_GATEWAY_CONFIG"

GiB = 1 << 30


@dataclass(frozen=True)
class GatewayConfig:
    """Gateway settings; the defaults suit one public gateway process on a small machine."""

    #: ``None``: SQLite under the user's cache dir; ``sqlite:///path``, a path,
    #: ``postgresql://...`` (shared by several gateway processes) or ``memory:``.
    cache_url: str | None = None
    #: Seconds a manifest is fresh; then it is served stale for ``stale`` more seconds while one
    #: request refreshes it in the background; after that a request waits for a fresh copy.
    ttl: float = 3600.0
    stale: float = 86400.0
    #: How long a "does not exist" answer is remembered (in memory only).
    negative_ttl: float = 60.0
    #: Manifests kept decoded in each process (the store holds all of them), and the files they may
    #: hold together (~200 bytes each: a million-file manifest is ~200 MB); the newest always stays.
    memory_entries: int = 1024
    memory_files: int = 2_000_000
    #: One selected file: answer with a redirect to the origin, or stream it through.
    single_file: SingleFileMode = "redirect"
    #: Origin hosts (exact names or ``*.suffix``) and networks (CIDR) exempt from the
    #: private-address refusal. The tests put the sandbox's hosts here.
    allow_hosts: tuple[str, ...] = ()
    allow_networks: tuple[str, ...] = ()
    #: A host that does not resolve here (only a proxy could resolve it, inside a network the
    #: check cannot see) is refused unless allow-listed (default); ``False`` lets the proxy resolve it.
    strict_dns: bool = True
    #: Per-client request rate (requests per second, burst); 0 switches the limit off.
    rate: float = 20.0
    burst: int = 60
    #: Concurrent streamed responses (files, archives) per client.
    max_streams: int = 4
    #: Largest archive the gateway will build, in bytes, and most members.
    max_archive_size: int = 50 * GiB
    max_archive_members: int = 20000
    #: Request-rate limits towards origins for subset reads (``HOST=N/SECONDS``, ``HOST=0`` for
    #: none), on top of the CLI's defaults (Zenodo's guest limits); for the whole process.
    origin_rates: tuple[str, ...] = ()
    #: Largest HDF5 slab (uncompressed bytes) a ``?dataset=&slice=`` request may read (413 beyond).
    max_slice_bytes: int = 256 << 20
    #: Most files a ``?where=`` request may scan for frame metadata (413 beyond: narrow with file=).
    max_frame_files: int = 5000
    #: Threads for subset work (HDF5 reads, frame scans, tar listings) in each process.
    subset_workers: int = 8
    #: The most one repository API answer may hold once decoded, per request: the gateway resolves
    #: for many callers at once, so it bounds each below the CLI's 256 MiB (a 20,000-file Zenodo
    #: listing is about 15 MB of JSON).
    max_api_body: int = 64 << 20
    #: How far a dataset that is a web folder is listed (``serve --max-depth/--max-pages/--max-entries``,
    #: as for ``ls``): folder levels below the landing folder, listing pages, files and folders
    #: (the defaults are :class:`~doi2data.adapters.webindex.ListingLimits`'s; a test keeps them equal).
    max_depth: int = 32
    max_pages: int = 5000
    max_entries: int = 1_000_000
    #: Query-string limits (bytes, parameters).
    max_query_bytes: int = 16384
    max_query_params: int = 1000
    #: ``item`` links in the Signposting ``Link`` header (the linkset lists every file).
    max_item_links: int = 50
    #: Trust ``X-Forwarded-For`` for the client address (only behind your own reverse proxy).
    trust_forwarded: bool = False
    #: Public base URL when the gateway sits behind a reverse proxy. Without it, links and
    #: redirects use the request's ``Host`` only when it is listed in ``allowed_hosts`` (``name`` or
    #: ``name:port``), else the address the request arrived on (never an arbitrary ``Host``).
    public_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    #: Where JSON access-log lines go: ``-`` stderr, a file path, or ``None`` for none.
    access_log: str | None = "-"
    extra: dict[str, Any] = field(default_factory=dict)
    #: Decompression bounds for zip members and tar.gz/bz2/xz streams (``max_archive_size`` also
    #: caps a tar's *uncompressed* stream and a zip member's declared size): inflated bytes per
    #: compressed byte (past the first 64 MiB), and CPU seconds inflating one stream (``None``: no bound).
    max_inflate_ratio: float = 1100.0
    max_inflate_seconds: float | None = 300.0
    #: HDF5 slices are bounded by what they read, not only by what they return: chunks one slice
    #: may touch, the decompressed size of one chunk, and stored bytes fetched (metadata + data).
    max_slice_chunks: int = 4096
    max_slice_chunk_bytes: int = 128 << 20
    max_slice_read: int = 512 << 20
    #: Most members a ``?list=members`` answer may hold (zip or tar; 413 beyond: use ``ls --inside``).
    max_list_members: int = 100_000
    #: The catalogues ``GET /search`` may query, ``NAME=URL`` (the kind is NAME up to its first dot:
    #: ``panosc`` or ``datacite``; e.g. ``panosc.ess=https://scicat.ess.eu/panosc-api``); the first is the
    #: default, ``()`` switches searching off. Callers pick one by name and never give a URL (no open proxy).
    search_sources: tuple[str, ...] = ("panosc=https://federated.panosc.ess.eu/api",
                                       "datacite=https://api.datacite.org")

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> GatewayConfig:
        raw = (environ if environ is not None else os.environ).get(ENV_VAR)
        if not raw:
            return cls()
        data = json.loads(raw)
        names = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
        return cls(**kwargs)


__all__ = ["ENV_VAR", "GatewayConfig", "SingleFileMode"]
