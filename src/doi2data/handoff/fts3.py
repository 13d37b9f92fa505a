"""FTS3 REST: a ``POST /jobs`` document from a manifest, and its submission.

Shape (fts-rest ``docs/api-curl.md``; schema at ``GET /api-docs/schema/submit``)::

    {"files": [{"sources": ["https://zenodo.org/api/records/1/files/a.h5/content"],
                "destinations": ["davs://dcache.example.org/incoming/a.h5"],
                "checksum": "MD5:0a1b…", "filesize": 1048576,
                "metadata": {"doi": "10.5281/zenodo.1", "path": "a.h5"}}, ...],
     "params": {"verify_checksum": "target", "overwrite": false, "retry": 2, "priority": 3,
                "job_metadata": {"tool": "doi2data", "doi": "10.5281/zenodo.1"}}}

Why ``verify_checksum: "target"`` by default: the value comes from the repository, and plain
HTTPS sources (Zenodo, most repositories) cannot compute checksums on request, so "source" or
"both" would fail every file; "target" has FTS compare the destination's checksum with ours.
Algorithm preference is adler32 (what grid storage computes natively), then md5, sha1, sha256.
Each file's mirror URLs become extra ``sources`` (FTS tries them in order).

Submission uses the project's HTTP stack; the bearer token comes from ``--token HOST=TOKEN`` /
``DOI2DATA_TOKENS`` for the FTS host (newer FTS accepts OIDC tokens; X.509 delegation is not
handled here - use ``fts-rest-transfer-submit --json`` with the printed job for that).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from .._version import __version__
from ..errors import AccessDenied, TransferError, UsageError
from ..http import (API_ACCEPT_ENCODING, Credentials, make_sync_client, read_body_sync, send_sync,
                    translate_transport_error)
from ..model import Manifest
from . import Handoff, best_checksum, join_url, select, shell_script

PREFERENCE: tuple[str, ...] = ("adler32", "md5", "sha1", "sha256")
VERIFY = ("target", "source", "both", "none")
BODY_LIMIT = 64 * 1024 * 1024  # a job's status lists every file: generous, but bounded


def build(manifest: Manifest, destination: str, *, verify_checksum: str = "target", overwrite: bool = False,
          retry: int = 2, priority: int = 3, preference: Sequence[str] = PREFERENCE) -> Handoff:
    """The FTS3 job for every open file of ``manifest`` copied under ``destination`` (a URL)."""
    if verify_checksum not in VERIFY:
        raise UsageError(f"verify_checksum must be one of {', '.join(VERIFY)}")
    placed, skips = select(manifest)
    doi = manifest.dataset.doi
    files: list[dict[str, Any]] = []
    unchecked = []
    for item in placed:
        doc: dict[str, Any] = {"sources": list(item.entry.urls), "destinations": [join_url(destination, item.local)]}
        if checksum := best_checksum(item, preference):
            doc["checksum"] = f"{checksum[0].upper()}:{checksum[1]}"  # as the FTS docs write it
        else:
            unchecked.append(item.local)
        if item.entry.size is not None:
            doc["filesize"] = item.entry.size
        doc["metadata"] = {"doi": doi, "path": item.entry.path}
        files.append(doc)
    if unchecked:
        skips.notes.append(f"{len(unchecked)} file(s) have no checksum FTS can verify: {', '.join(unchecked[:5])}")
    params: dict[str, Any] = {"verify_checksum": verify_checksum, "overwrite": overwrite, "retry": retry,
                              "priority": priority, "job_metadata": {"tool": f"doi2data/{__version__}", "doi": doi}}
    job = {"files": files, "params": params}
    exported = skips.export("")
    return Handoff("fts3", json.dumps(job, indent=2, ensure_ascii=False) + "\n", len(files),
                   sum(f.get("filesize", 0) for f in files), payload=job, skipped=exported.skipped,
                   messages=exported.messages)


def as_gfal(job: Handoff, *, copy_mode: str | None = None, binary: str = "gfal-copy") -> Handoff:
    """The job's files as the gfal2 copies an FTS3 server runs for them, to run here (``gfal.run``).

    Why: FTS3's url-copy performs each file with gfal2 (``gfalt_copy_file``: first source, the
    destination, ``checksum`` as the user-defined value, ``verify_checksum`` as the checksum mode,
    ``overwrite``), so running those copies locally proves the submitted document moves and
    verifies the data - tests/test_tpc_xrootd.py runs them as HTTP-TPC copies into XRootD.
    """
    from . import gfal

    if job.payload is None:
        raise UsageError("not an FTS3 job")
    params = job.payload.get("params", {})
    verify = params.get("verify_checksum", "target")
    commands = tuple(gfal.copy_command(doc["sources"][0], doc["destinations"][0],
                                       doc.get("checksum") if verify != "none" else None, copy_mode=copy_mode,
                                       checksum_mode=verify if verify != "none" else "target",
                                       overwrite=bool(params.get("overwrite")), binary=binary)
                     for doc in job.payload["files"])
    text = shell_script(commands, {}, f"FTS3 job as gfal2 copies ({len(commands)} files)")
    return Handoff("gfal", text, len(commands), job.total_size, commands=commands, skipped=job.skipped,
                   messages=job.messages)


def _error(response: httpx.Response) -> str:
    try:
        doc = response.json()
        return str((doc.get("message") if isinstance(doc, dict) else None) or response.text)[:300]
    except (ValueError, RecursionError):
        return response.text.strip()[:300]


def _read(response: httpx.Response, url: str) -> None:
    """The body, bounded like every API answer (``read_body_sync``); the response is closed."""
    try:
        read_body_sync(response, limit=BODY_LIMIT)
    except httpx.TransportError as exc:
        raise translate_transport_error(exc, url) from exc
    finally:
        response.close()


def submit(job: Handoff, server: str, *, tokens: Sequence[str] = ()) -> str:
    """``POST <server>/jobs`` and return the ``job_id``; raise on refusal."""
    if job.payload is None:
        raise UsageError("not an FTS3 job")
    url = server.rstrip("/") + "/jobs"
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "Accept-Encoding": API_ACCEPT_ENCODING, **Credentials.parse(tokens).headers_for(httpx.URL(url))}
    with make_sync_client() as client:
        try:
            request = client.build_request("POST", url, content=json.dumps(job.payload).encode(), headers=headers)
            response = client.send(request, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            raise translate_transport_error(exc, url) from exc
        _read(response, url)
    if response.status_code in (401, 403):
        raise AccessDenied(f"FTS3 refused the credentials at {server} (HTTP {response.status_code}): "
                           f"{_error(response)}; pass --token HOST=TOKEN", url=url)
    if response.status_code >= 400:
        raise TransferError(f"FTS3 refused the job (HTTP {response.status_code}): {_error(response)}", url=url)
    try:
        return str(response.json()["job_id"])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise TransferError(f"unexpected answer from {url}: {response.text[:200]}", url=url) from exc


def status(server: str, job_id: str, *, tokens: Sequence[str] = ()) -> dict[str, Any]:
    """``GET <server>/jobs/<job_id>`` (``job_state``, ``files[].file_state`` and ``reason``)."""
    url = f"{server.rstrip('/')}/jobs/{job_id}"
    with make_sync_client() as client:
        try:  # redirects hop by hop: each hop gets only its own origin's token (custom headers too)
            response = send_sync(client, "GET", url, headers={"Accept": "application/json",
                                                              "Accept-Encoding": API_ACCEPT_ENCODING},
                                 credentials=Credentials.parse(tokens), stream=True)
        except httpx.TransportError as exc:
            raise translate_transport_error(exc, url) from exc
        _read(response, url)
    if response.status_code >= 400:
        raise TransferError(f"FTS3 status failed (HTTP {response.status_code}): {_error(response)}", url=url)
    try:
        result = response.json()
    except (ValueError, RecursionError) as exc:
        raise TransferError(f"unexpected answer from {url}: {response.text[:200]}", url=url) from exc
    if not isinstance(result, dict):
        raise TransferError(f"unexpected answer from {url}: not a JSON object", url=url)
    return result


__all__ = ["PREFERENCE", "VERIFY", "as_gfal", "build", "status", "submit"]
