"""The fake internet: emulated doi.org, Handle, DataCite and Zenodo behind a local TLS proxy.

Tests (and ``doi2data demo``) run the real code paths with no real network: the client keeps
its real URLs and reaches these sites through ``HTTPS_PROXY`` / ``SSL_CERT_FILE``::

    from doi2data.sandbox import FakeInternet, Quirk

    with FakeInternet() as net, net.activated():
        net.add_quirk(Quirk(host="zenodo.org", path="*/content", kind="status", status=429,
                            headers={"Retry-After": "1"}, times=1))
        httpx.get("https://doi.org/api/handles/10.5281/zenodo.1215979")

``python -m doi2data.sandbox`` runs it in the foreground for curl/aria2c.
"""

from __future__ import annotations

from .datasets import DEMO_CONCEPT_DOI, DEMO_DOI, DEMO_HANDLE, DEMO_RECID, MISSING_DOI, UNSUPPORTED_DOI, default_world
from .internet import FakeInternet
from .quirks import KINDS, Quirk
from .traffic import RequestRecord
from .world import Creator, ExternalDataset, FileSpec, Pid, Record, World

__all__ = [
    "DEMO_CONCEPT_DOI",
    "DEMO_DOI",
    "DEMO_HANDLE",
    "DEMO_RECID",
    "KINDS",
    "MISSING_DOI",
    "UNSUPPORTED_DOI",
    "Creator",
    "ExternalDataset",
    "FakeInternet",
    "FileSpec",
    "Pid",
    "Quirk",
    "Record",
    "RequestRecord",
    "World",
    "default_world",
]
