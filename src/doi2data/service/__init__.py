"""The retrieval gateway: ``GET /{doi}`` answers with the dataset's manifest, files, verified
archives or subsets, content-negotiated and signposted (``doi2data serve``).

Modules: :mod:`.app` (wiring, routes), :mod:`.gateway` (the per-process state the routes share),
:mod:`.dataset` (the dataset route; its query string in :mod:`.query`), :mod:`.negotiate`,
:mod:`.signposting`, :mod:`.represent` (manifest representations), :mod:`.stream`,
:mod:`.origin`, :mod:`.pump` and :mod:`.archive` (origin bytes read on producer threads, zip/tar),
:mod:`.manifests` and :mod:`.cache` (TTL, stale-while-revalidate, SQLite/PostgreSQL),
:mod:`.safety` (no open proxy, no private destinations, per-client limits), :mod:`.pages`
(HTML), :mod:`.openapi`, :mod:`.accesslog`, :mod:`.subsets` (routing of subset requests to
:mod:`.members` for zip/tar members, :mod:`.slices` for HDF5 hyperslabs and :mod:`.frames` for
``where``, over :mod:`doi2data.subset`; shared state in :mod:`.subsetstate`).
"""

from __future__ import annotations

from .config import GatewayConfig

__all__ = ["GatewayConfig", "create_app"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "create_app":  # lazy: importing the package must not pull in Starlette/Jinja2
        from .app import create_app

        return create_app
    raise AttributeError(name)
