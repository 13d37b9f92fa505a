"""Globus Transfer: a checksummed ``TransferData`` from a manifest, submitted through globus-sdk.

Globus moves files between *collections*, not from arbitrary HTTPS URLs, so this engine is for
repositories that also expose their files on a Globus collection (Dataverse Globus stores,
facility archives): ``--source-collection`` names it. Each file's source path is
``--source-root`` + the dataset path when a root is given, else the path of its HTTPS URL (how
Globus Connect Server v5 collections publish files: ``https://<collection domain>/<path>``).
The destination is ``globus://<collection-uuid>/<path>``.

Every item carries ``external_checksum`` + ``checksum_algorithm`` (MD5, SHA1, SHA256, SHA512,
ADLER32 - the strongest the repository gives), with ``verify_checksum`` and
``sync_level="checksum"`` set, so Globus verifies each file against the repository's value and
skips files already identical at the destination.

``globus-sdk`` (optional extra ``globus``) is imported only here. Its HTTP stack is ``requests``,
which ignores ``SSL_CERT_FILE``; to honour the same CA variable as the rest of doi2data, the
transport is given ``SSL_CERT_FILE`` explicitly when it is set (``GLOBUS_SDK_VERIFY_SSL`` wins).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import AccessDenied, TransferError, UsageError
from ..http import Credentials
from ..model import Manifest
from . import Handoff, best_checksum, select

PREFERENCE: tuple[str, ...] = ("sha512", "sha256", "sha1", "md5", "adler32")
BASE_URL = "https://transfer.api.globus.org/"


def parse_destination(destination: str) -> tuple[str, str]:
    """``globus://<uuid>/~/incoming/`` -> (uuid, ``/~/incoming``)."""
    parts = urlsplit(destination)
    if parts.scheme != "globus":
        raise UsageError(f"Globus destinations look like globus://COLLECTION-UUID/path, not {destination!r}")
    try:
        collection = str(uuid.UUID(parts.netloc))
    except ValueError:
        raise UsageError(f"not a collection UUID: {parts.netloc!r}") from None
    path = unquote(parts.path).rstrip("/") or "/"
    return collection, "/~" + path[2:] if path.startswith("/~") else path


def _strip_missing(value: Any) -> Any:
    import globus_sdk

    if isinstance(value, dict):
        return {k: _strip_missing(v) for k, v in value.items() if v is not globus_sdk.MISSING}
    if isinstance(value, list):
        return [_strip_missing(v) for v in value]
    return value


def build(manifest: Manifest, destination: str, *, source_collection: str | None, source_root: str | None = None,
          label: str | None = None, preference: Sequence[str] = PREFERENCE) -> Handoff:
    """A ``TransferData`` for every open file; ``payload`` is its JSON document."""
    import globus_sdk

    if not source_collection:
        raise UsageError("Globus needs --source-collection (the collection that holds the dataset's files)")
    try:
        source = str(uuid.UUID(source_collection))
    except ValueError:
        raise UsageError(f"not a collection UUID: {source_collection!r}") from None
    dest_collection, dest_root = parse_destination(destination)
    placed, skips = select(manifest)
    doi = manifest.dataset.doi
    data = globus_sdk.TransferData(source, dest_collection, label=(label or f"doi2data {doi or 'dataset'}")[:128],
                                   sync_level="checksum", verify_checksum=True)
    unchecked = []
    for item in placed:
        src = (source_root.rstrip("/") + "/" + item.entry.path.lstrip("/")) if source_root else \
            unquote(urlsplit(item.entry.urls[0]).path)
        dst = dest_root.rstrip("/") + "/" + item.local
        checksum = best_checksum(item, preference)
        if checksum:
            data.add_item(src, dst, external_checksum=checksum[1], checksum_algorithm=checksum[0].upper())
        else:
            data.add_item(src, dst)
            unchecked.append(item.local)
    if unchecked:
        skips.notes.append(f"{len(unchecked)} file(s) have no checksum for Globus: {', '.join(unchecked[:5])}")
    document = _strip_missing(dict(data))
    exported = skips.export("")
    return Handoff("globus", json.dumps(document, indent=2, ensure_ascii=False) + "\n", len(placed),
                   sum(p.entry.size or 0 for p in placed), payload=document, skipped=exported.skipped,
                   messages=exported.messages)


def _token(tokens: Sequence[str], base_url: str) -> str:
    """The bearer token for ``base_url``'s origin (host and port, as every token is scoped)."""
    import httpx

    url = httpx.URL(base_url)
    headers = Credentials.parse(tokens).headers_for(url)
    value = headers.get("Authorization", "")
    if not value.startswith("Bearer "):
        where = url.host + (f":{url.port}" if url.port else "")
        raise AccessDenied(f"Globus needs an access token: --token {where}=TOKEN (transfer scope)")
    return value.removeprefix("Bearer ")


def submit(job: Handoff, *, tokens: Sequence[str] = (), base_url: str = BASE_URL) -> str:
    """Submit through ``globus_sdk.TransferClient.submit_transfer``; return the ``task_id``."""
    import globus_sdk
    from globus_sdk.transport import RequestsTransport

    if job.payload is None:
        raise UsageError("not a Globus transfer")
    token = _token(tokens, base_url)
    verify: str | bool | None = None
    if not os.environ.get("GLOBUS_SDK_VERIFY_SSL") and os.environ.get("SSL_CERT_FILE"):
        verify = os.environ["SSL_CERT_FILE"]
    client = globus_sdk.TransferClient(authorizer=globus_sdk.AccessTokenAuthorizer(token), base_url=base_url,
                                       transport=RequestsTransport(verify_ssl=verify))
    document = dict(job.payload)
    document.pop("submission_id", None)  # the SDK fetches a fresh one (idempotent retries)
    try:
        result = client.submit_transfer(document)
    except globus_sdk.GlobusAPIError as exc:
        kind = AccessDenied if exc.http_status in (401, 403) else TransferError
        raise kind(f"Globus refused the transfer (HTTP {exc.http_status} {exc.code}): {exc.message}") from exc
    except globus_sdk.NetworkError as exc:
        raise TransferError(f"cannot reach Globus at {base_url}: {exc}") from exc
    return str(result["task_id"])


__all__ = ["BASE_URL", "PREFERENCE", "build", "parse_destination", "submit"]
