"""fts3-pilot.cern.ch: a strict emulation of the FTS3 REST job API (submit, status, cancel).

Why: ``doi2data transfer --engine fts3`` must produce jobs a real FTS3 accepts, so this site
checks submissions the way fts-rest does (``docs/api-curl.md``, ``GET /api-docs/schema/submit``)
and refuses anything else with FTS's error shape, ``{"status": "400 Bad Request", "message": …}``:

* ``POST /jobs`` needs ``Authorization: Bearer`` :data:`TOKEN` (FTS also takes X.509 + delegation;
  tokens are what newer FTS deployments use) and a JSON body ``{"files": [...], "params": {...}}``;
  each file needs ``sources`` and ``destinations`` (non-empty lists of absolute URLs of the same
  length, or one source), optional ``checksum`` ``"ALG:hex"`` (adler32, md5, sha1, crc32c,
  sha256), optional integer ``filesize``, optional ``metadata``; ``params.verify_checksum`` is a
  boolean or ``none|source|target|both``.
* The job then "runs" at once against the world: a source that names a world file (Zenodo
  content URLs) finishes when the declared size and checksum match its bytes and fails with a
  reason otherwise - the check a real FTS does after the copy. ``GET /jobs/<id>`` reports it.

Submitted jobs are kept on the app (:attr:`Fts3Site.jobs`) for tests to inspect.
"""

from __future__ import annotations

import re
import uuid
import zlib
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import FileSpec, World
from .common import json_response

HOSTS = ("fts3-pilot.cern.ch",)
TOKEN = "sandbox-fts3-token"
CHECKSUM_ALGORITHMS = {"adler32": ("adler32", 8), "md5": ("md5", 32), "sha1": ("sha1", 40),
                       "crc32c": ("crc32c", 8), "sha256": ("sha256", 64)}
VERIFY_VALUES = (True, False, "none", "source", "target", "both", "s", "t", "b", "n")
_CONTENT = re.compile(r"^/(?:api/)?records/(\d+)/files/(.+?)(?:/content)?$")


class JobError(ValueError):
    """A submission FTS would refuse (HTTP 400)."""


def world_file(world: World, url: str) -> FileSpec | None:
    """The world file a Zenodo-style URL names, or None."""
    parts = urlsplit(url)
    match = _CONTENT.match(unquote(parts.path))
    if parts.hostname != "zenodo.org" or not match:
        return None
    rec = world.record(match.group(1))
    return rec.file(match.group(2)) if rec is not None and rec.access == "open" else None


def _absolute_urls(value: Any, what: str, index: int) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise JobError(f"files[{index}].{what} must be a non-empty list of URLs")
    for url in value:
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc or " " in url:
            raise JobError(f"files[{index}].{what}: {url!r} is not an absolute URL")
    return value


def validate(body: Any) -> list[dict[str, Any]]:
    """Check a submission like fts-rest does; return the files, or raise :class:`JobError`."""
    if not isinstance(body, dict) or not isinstance(body.get("files"), list) or not body["files"]:
        raise JobError("No transfers or namespace operation specified")
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise JobError("params must be an object")
    if params.get("verify_checksum", False) not in VERIFY_VALUES:
        raise JobError(f"Invalid value for verify_checksum: {params.get('verify_checksum')!r}")
    for key in ("retry", "priority"):
        if key in params and not isinstance(params[key], int):
            raise JobError(f"params.{key} must be an integer")
    for i, item in enumerate(body["files"]):
        if not isinstance(item, dict):
            raise JobError(f"files[{i}] must be an object")
        sources = _absolute_urls(item.get("sources"), "sources", i)
        dests = _absolute_urls(item.get("destinations"), "destinations", i)
        if len(sources) != len(dests) and len(sources) != 1 and len(dests) != 1:
            raise JobError(f"files[{i}]: sources and destinations do not pair up")
        checksum = item.get("checksum")
        if checksum is not None:
            alg, sep, value = str(checksum).partition(":")
            spec = CHECKSUM_ALGORITHMS.get(alg.lower())
            if not sep or spec is None or len(value) != spec[1] or not re.fullmatch(r"[0-9a-fA-F]+", value):
                raise JobError(f"files[{i}]: invalid checksum {checksum!r} (expected ALGORITHM:hex)")
        size = item.get("filesize")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise JobError(f"files[{i}]: filesize must be a non-negative integer")
        if "metadata" in item and not isinstance(item["metadata"], (dict, str)):
            raise JobError(f"files[{i}]: metadata must be an object or a string")
    return list(body["files"])


def _digest(world: World, spec: FileSpec, algorithm: str) -> str | None:
    if algorithm == "adler32":
        value = 1
        for chunk in world.content(spec):
            value = zlib.adler32(chunk, value)
        return f"{value & 0xFFFFFFFF:08x}"
    return world.digest(spec, algorithm) if algorithm in ("md5", "sha1", "sha256") else None


def _run_file(world: World, item: dict[str, Any], verify: Any) -> dict[str, Any]:
    source, dest = item["sources"][0], item["destinations"][0]
    state, reason = "FINISHED", ""
    spec = world_file(world, source)
    if spec is None:
        state, reason = "FAILED", "SOURCE [2] Result HTTP 404 : File not found after 1 attempts"
    elif item.get("filesize") is not None and item["filesize"] != spec.size:
        state, reason = "FAILED", f"SOURCE size mismatch: user-defined {item['filesize']} != {spec.size}"
    elif item.get("checksum") and verify not in (False, "none", "n"):
        alg, _, value = item["checksum"].partition(":")
        actual = _digest(world, spec, alg.lower())
        if actual is not None and actual != value.lower():
            state, reason = "FAILED", f"DESTINATION checksum mismatch: user-defined {value} != {actual}"
    return {"file_state": state, "reason": reason, "source_surl": source, "dest_surl": dest,
            "checksum": item.get("checksum"), "filesize": item.get("filesize") if spec is None else spec.size,
            "file_metadata": item.get("metadata"), "throughput": 0.0}


class Fts3Site:
    """The ASGI app, with the jobs it has accepted (``job_id -> job``)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.jobs: dict[str, dict[str, Any]] = {}
        self.router = Router(routes=[
            Route("/whoami", self.whoami, methods=["GET"]),
            Route("/jobs", self.submit, methods=["POST"]),
            Route("/jobs/{job_id}", self.status, methods=["GET", "DELETE"]),
            Route("/jobs/{job_id}/files", self.files, methods=["GET"]),
        ])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.router(scope, receive, send)

    @staticmethod
    def _error(status: int, message: str) -> Response:
        phrase = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
        return json_response({"status": f"{status} {phrase}", "message": message}, status)

    @staticmethod
    def _authorized(request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {TOKEN}"

    async def whoami(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, "Authentication required")
        return json_response({"user_dn": "/DC=org/DC=sandbox/CN=doi2data", "method": "oauth2",
                              "delegation_id": "0" * 16, "vos": ["sandbox"]})

    async def submit(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, "Authentication required")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "Badly formatted JSON request")
        try:
            files = validate(body)
        except JobError as exc:
            return self._error(400, str(exc))
        job_id = str(uuid.uuid4())
        params = body.get("params", {})
        ran = [_run_file(self.world, f, params.get("verify_checksum", False)) for f in files]
        failed = sum(f["file_state"] == "FAILED" for f in ran)
        state = "FINISHED" if not failed else ("FAILED" if failed == len(ran) else "FINISHEDDIRTY")
        self.jobs[job_id] = {"job_id": job_id, "job_state": state, "submit_time": datetime.now(timezone.utc)
                             .strftime("%Y-%m-%dT%H:%M:%S"), "verify_checksum": params.get("verify_checksum", False),
                             "job_metadata": params.get("job_metadata"), "params": params, "files": ran,
                             "request": body}
        return json_response({"job_id": job_id})

    async def status(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, "Authentication required")
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return self._error(404, f"No job with the id \"{request.path_params['job_id']}\" has been found")
        if request.method == "DELETE" and job["job_state"] not in ("FINISHED", "FAILED", "FINISHEDDIRTY"):
            job["job_state"] = "CANCELED"
        return json_response({k: v for k, v in job.items() if k != "request"})

    async def files(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, "Authentication required")
        job = self.jobs.get(request.path_params["job_id"])
        return json_response(job["files"]) if job else self._error(404, "No such job")


def make_app(world: World) -> Fts3Site:
    return Fts3Site(world)


__all__ = ["HOSTS", "TOKEN", "Fts3Site", "JobError", "make_app", "validate", "world_file"]
