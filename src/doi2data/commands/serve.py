"""``doi2data serve``: run the retrieval gateway (ASGI app under uvicorn).

Why a thin command: everything lives in :mod:`doi2data.service`; this only turns flags into a
:class:`~doi2data.service.config.GatewayConfig` and starts uvicorn, one process or several
workers (which rebuild the same config from one environment variable).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from ..service.config import GatewayConfig as _Defaults  # stdlib only: flag defaults come from here
from ._listing import listing_flags


def _size(value: str) -> int:
    from ..sizes import parse_size

    return parse_size(value)


def _size_text(size: int) -> str:
    """``256 << 20`` -> ``256MiB``: a default that reads like the value a user would type."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _origin_rates(specs: Sequence[str]) -> tuple[str, ...]:
    """Check ``HOST=N/SECONDS`` specs now (exit 2 before listening), kept as text for the config.

    Why text: the config travels to worker processes as JSON and the gateway parses the specs
    itself (:class:`~doi2data.service.subsetstate.SubsetState`) with the same ``parse_rate``.
    """
    from ..errors import UsageError
    from ..transfer.limits import parse_rate

    for spec in specs:
        try:
            parse_rate(spec)
        except UsageError as exc:  # its text names the CLI's --rate, which means something else here
            raise UsageError(f"bad --origin-rate {spec!r}: {str(exc).partition(': ')[2]}") from exc
    return tuple(specs)


def _search_sources(specs: Sequence[str]) -> tuple[str, ...]:
    """``--search-source`` values checked now (exit 2 before listening); none given: the defaults."""
    from ..errors import UsageError
    from ..service.search import parse_sources

    if not specs:
        return _Defaults.search_sources
    if [s.strip().lower() for s in specs] == ["none"]:
        return ()
    try:
        parse_sources(specs)
    except ValueError as exc:
        raise UsageError(f"bad --search-source: {exc}") from exc
    return tuple(specs)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--cache", "cache_url", metavar="URL",
              help="manifest cache: a path or sqlite:///path (default: SQLite in the user cache dir), "
                   "postgresql://... (shared by several gateways), or memory:")
@click.option("--ttl", default=3600.0, show_default=True, type=click.FloatRange(0), help="seconds a manifest is fresh")
@click.option("--stale", default=86400.0, show_default=True, type=click.FloatRange(0),
              help="seconds a manifest may then be served while it is refreshed in the background")
@click.option("--single-file", type=click.Choice(["redirect", "stream"]), default="redirect", show_default=True,
              help="one selected file: redirect to the origin or stream it through")
@click.option("--allow-host", multiple=True, metavar="HOST",
              help="origin host (or *.suffix) allowed even if it resolves to a private address (repeatable)")
@click.option("--allow-network", multiple=True, metavar="CIDR", help="private network allowed anyway (repeatable)")
@click.option("--strict-dns/--proxy-dns", default=True, show_default=True,
              help="refuse origin hosts that do not resolve here unless --allow-host lists them (default), or "
                   "let the proxy resolve them (--proxy-dns: the proxy must then refuse private destinations)")
@click.option("--rate", default=20.0, show_default=True, type=click.FloatRange(0),
              help="requests per second per client (0: no limit)")
@click.option("--burst", default=60, show_default=True, type=click.IntRange(1))
@click.option("--max-streams", default=4, show_default=True, type=click.IntRange(1),
              help="concurrent downloads per client")
@click.option("--max-archive-size", default="50GiB", show_default=True, metavar="SIZE")
@click.option("--origin-rate", multiple=True, metavar="HOST=N/SECONDS",
              help="request-rate limit for the gateway's subset reads from an origin host, for the whole "
                   "process (HOST=0: none; repeatable); Zenodo defaults to its guest limits")
@click.option("--max-slice-size", default=_size_text(_Defaults.max_slice_bytes), show_default=True,
              metavar="SIZE", help="largest HDF5 slab (uncompressed) one ?dataset=&slice= request may read")
@click.option("--max-frame-files", default=_Defaults.max_frame_files, show_default=True, type=click.IntRange(1),
              help="most files one ?where= request may scan for frame metadata")
@click.option("--max-slice-read", default=_size_text(_Defaults.max_slice_read), show_default=True, metavar="SIZE",
              help="most bytes one HDF5 slice or where= request may fetch (metadata included)")
@click.option("--max-slice-chunks", default=_Defaults.max_slice_chunks, show_default=True, type=click.IntRange(1),
              help="most HDF5 chunks one slice may touch")
@click.option("--max-slice-chunk-size", default=_size_text(_Defaults.max_slice_chunk_bytes), show_default=True,
              metavar="SIZE", help="largest decompressed HDF5 chunk a slice may read")
@click.option("--max-inflate-ratio", default=_Defaults.max_inflate_ratio, show_default=True,
              type=click.FloatRange(1, 1e6), help="most an archive member or tar stream may inflate per compressed byte")
@click.option("--max-api-body", default=_size_text(_Defaults.max_api_body), show_default=True, metavar="SIZE",
              help="largest repository API answer (decoded) one resolution may read")
@click.option("--max-list-members", default=_Defaults.max_list_members, show_default=True, type=click.IntRange(1),
              help="most archive members one list=members answer may hold")
@click.option("--subset-workers", default=_Defaults.subset_workers, show_default=True, type=click.IntRange(1, 256),
              help="threads per worker process for subset work (HDF5 reads, frame scans, tar listings)")
@click.option("--search-source", multiple=True, metavar="NAME=URL",
              help="a catalogue GET /search may query (repeatable; replaces the defaults, the PaN federated search "
                   "and DataCite; NAME panosc[.x] or datacite[.x]; 'none' switches searching off)")
@click.option("--public-url", metavar="URL", help="base URL when behind a reverse proxy")
@click.option("--allowed-host", multiple=True, metavar="NAME[:PORT]",
              help="Host header the gateway may use in its links and redirects (repeatable); others get the "
                   "address the request arrived on")
@click.option("--trust-forwarded", is_flag=True, help="take the client address from X-Forwarded-For")
@click.option("--access-log", default="-", show_default=True, metavar="PATH",
              help="JSON-lines access log: - (stderr), a file, or off")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="worker processes")
@listing_flags
def serve_command(host: str, port: int, cache_url: str | None, ttl: float, stale: float, single_file: str,
                  allow_host: Sequence[str], allow_network: Sequence[str], strict_dns: bool, rate: float, burst: int,
                  max_streams: int, max_archive_size: str, origin_rate: Sequence[str], max_slice_size: str,
                  max_frame_files: int, max_slice_read: str, max_slice_chunks: int, max_slice_chunk_size: str,
                  max_inflate_ratio: float, max_api_body: str, max_list_members: int,
                  subset_workers: int, search_source: Sequence[str], public_url: str | None,
                  allowed_host: Sequence[str],
                  trust_forwarded: bool,
                  access_log: str, workers: int, max_depth: int, max_pages: int, max_entries: int) -> None:
    """Serve datasets over HTTP: GET /{doi} gives the manifest (JSON, HTML, Metalink, linkset),
    files (?file=GLOB), verified zip/tar archives (&archive=zip) - see /docs."""
    try:
        import uvicorn

        from ..service.cache import open_store
        from ..service.config import ENV_VAR, GatewayConfig
    except ImportError as exc:  # pragma: no cover - the serve extra is missing
        raise click.ClickException(f"{exc}; install the gateway extra: pip install 'doi2data[serve]'") from exc
    config = GatewayConfig(
        cache_url=cache_url, ttl=ttl, stale=stale, single_file=single_file,  # type: ignore[arg-type]
        allow_hosts=tuple(allow_host), allow_networks=tuple(allow_network), strict_dns=strict_dns, rate=rate,
        burst=burst, max_streams=max_streams, max_archive_size=_size(max_archive_size),
        origin_rates=_origin_rates(origin_rate), max_slice_bytes=_size(max_slice_size),
        max_frame_files=max_frame_files, max_slice_read=_size(max_slice_read), max_slice_chunks=max_slice_chunks,
        max_slice_chunk_bytes=_size(max_slice_chunk_size), max_inflate_ratio=max_inflate_ratio,
        max_list_members=max_list_members, max_api_body=_size(max_api_body), subset_workers=subset_workers,
        public_url=public_url, search_sources=_search_sources(search_source),
        allowed_hosts=tuple(allowed_host),
        trust_forwarded=trust_forwarded, access_log=None if access_log == "off" else access_log,
        max_depth=max_depth, max_pages=max_pages, max_entries=max_entries,
    )
    click.echo(f"doi2data gateway on http://{host}:{port}/  (cache: {open_store(cache_url).description}, "
               f"{workers} worker(s))", err=True)
    common = {"host": host, "port": port, "log_level": "warning", "access_log": False, "server_header": False,
              "proxy_headers": trust_forwarded, "timeout_graceful_shutdown": 5}
    if workers == 1:
        from ..service.app import create_app

        uvicorn.run(create_app(config), **common)  # type: ignore[arg-type]
    else:
        os.environ[ENV_VAR] = config.to_env()
        uvicorn.run("doi2data.service.app:app_from_env", factory=True, workers=workers, **common)  # type: ignore[arg-type]


def register(group: click.Group) -> None:
    group.add_command(serve_command)
