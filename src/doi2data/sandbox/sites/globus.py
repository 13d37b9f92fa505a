"""transfer.api.globus.org: the Transfer API v0.10 endpoints globus-sdk calls to submit a task.

Why: ``doi2data transfer --engine globus`` submits through the real ``globus-sdk``
(``TransferClient.submit_transfer``), which first ``GET /v0.10/submission_id`` and then
``POST /v0.10/transfer``. This site answers both, plus ``GET /v0.10/task/<id>``, and validates
the document the way the service does, answering errors in Globus's shape
(``{"code": "ClientError.BadRequest…", "message": …, "request_id": …, "resource": …}``):

* ``Authorization: Bearer`` :data:`TOKEN` (a static token; the real service wants an OAuth2
  token with the transfer scope) - else 401 ``AuthenticationFailed``;
* ``DATA_TYPE == "transfer"``, a ``submission_id`` this service issued, endpoint ids that are
  UUIDs, a non-empty ``DATA`` of ``transfer_item``\\ s with absolute (``/`` or ``~/``) paths;
* per item, ``external_checksum`` needs a ``checksum_algorithm`` it fits (hex of the right
  length for MD5/SHA1/SHA256/SHA512/ADLER32/CRC32/CRC32C); ``sync_level`` 0-3; booleans are booleans.

Accepted tasks are kept on the app (:attr:`GlobusSite.tasks`) for tests to inspect.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import World
from .common import json_response

HOSTS = ("transfer.api.globus.org",)
TOKEN = "sandbox-globus-token"
HEX_LENGTHS = {"MD5": 32, "SHA1": 40, "SHA256": 64, "SHA512": 128, "ADLER32": 8, "CRC32": 8, "CRC32C": 8}
_BOOLEANS = ("verify_checksum", "preserve_timestamp", "encrypt_data", "skip_source_errors", "fail_on_quota_errors",
             "delete_destination_extra", "notify_on_succeeded", "notify_on_failed", "notify_on_inactive")


class TaskError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _uuid(value: Any, what: str) -> None:
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise TaskError("ClientError.BadRequest", f"Invalid {what}: {value!r} is not a UUID") from None


def validate(doc: Any, issued: set[str]) -> list[dict[str, Any]]:
    """Check a transfer document; return its items or raise :class:`TaskError`."""
    if not isinstance(doc, dict) or doc.get("DATA_TYPE") != "transfer":
        raise TaskError("ClientError.BadRequest", "DATA_TYPE must be 'transfer'")
    if doc.get("submission_id") not in issued:
        raise TaskError("ClientError.BadRequest.InvalidSubmissionId", "Unknown or missing submission_id")
    _uuid(doc.get("source_endpoint"), "source_endpoint")
    _uuid(doc.get("destination_endpoint"), "destination_endpoint")
    for key in _BOOLEANS:
        if key in doc and not isinstance(doc[key], bool):
            raise TaskError("ClientError.BadRequest", f"{key} must be a boolean")
    if "sync_level" in doc and doc["sync_level"] not in (0, 1, 2, 3):
        raise TaskError("ClientError.BadRequest", "sync_level must be 0, 1, 2 or 3")
    items = doc.get("DATA")
    if not isinstance(items, list) or not items:
        raise TaskError("ClientError.BadRequest.NoTransferItems", "A transfer requires at least one item")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("DATA_TYPE") != "transfer_item":
            raise TaskError("ClientError.BadRequest", f"DATA[{i}] must be a transfer_item")
        for key in ("source_path", "destination_path"):
            path = item.get(key)
            if not isinstance(path, str) or not path.startswith(("/", "~/")):
                raise TaskError("ClientError.BadRequest", f"DATA[{i}].{key} must be an absolute path")
        checksum, algorithm = item.get("external_checksum"), item.get("checksum_algorithm")
        if checksum is not None:
            want = HEX_LENGTHS.get(str(algorithm).upper())
            if want is None:
                raise TaskError("ClientError.BadRequest", f"DATA[{i}]: unsupported checksum_algorithm {algorithm!r}")
            if item.get("recursive"):
                raise TaskError("ClientError.BadRequest", f"DATA[{i}]: external_checksum is for files only")
            if len(checksum) != want or not re.fullmatch(r"[0-9a-fA-F]+", checksum):
                raise TaskError("ClientError.BadRequest", f"DATA[{i}]: external_checksum is not a {algorithm} value")
    return items


class GlobusSite:
    """The ASGI app, with issued submission ids and accepted tasks (``task_id -> task``)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.issued: set[str] = set()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.router = Router(routes=[
            Route("/v0.10/submission_id", self.submission_id, methods=["GET"]),
            Route("/v0.10/transfer", self.transfer, methods=["POST"]),
            Route("/v0.10/task/{task_id}", self.task, methods=["GET"]),
        ])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.router(scope, receive, send)

    @staticmethod
    def _error(status: int, code: str, message: str, resource: str) -> Response:
        return json_response({"code": code, "message": message, "request_id": uuid.uuid4().hex[:9],
                              "resource": resource}, status)

    def _denied(self, request: Request) -> Response | None:
        if request.headers.get("authorization", "") != f"Bearer {TOKEN}":
            return self._error(401, "AuthenticationFailed", "Token is not active", request.url.path)
        return None

    async def submission_id(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        value = str(uuid.uuid4())
        self.issued.add(value)
        return json_response({"DATA_TYPE": "submission_id", "value": value})

    async def transfer(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        try:
            doc = await request.json()
            items = validate(doc, self.issued)
        except TaskError as exc:
            return self._error(400, exc.code, str(exc), "/transfer")
        except ValueError:
            return self._error(400, "ClientError.BadRequest", "Invalid JSON", "/transfer")
        task_id = str(uuid.uuid5(uuid.NAMESPACE_URL, doc["submission_id"]))
        self.issued.discard(doc["submission_id"])
        self.tasks[task_id] = {"DATA_TYPE": "task", "task_id": task_id, "status": "ACTIVE", "type": "TRANSFER",
                               "label": doc.get("label"), "files": len(items), "verify_checksum":
                               doc.get("verify_checksum", True), "sync_level": doc.get("sync_level"),
                               "source_endpoint_id": doc["source_endpoint"],
                               "destination_endpoint_id": doc["destination_endpoint"], "document": doc}
        return json_response({
            "DATA_TYPE": "transfer_result", "code": "Accepted",
            "message": "The transfer has been accepted and a task has been created and queued for execution",
            "request_id": uuid.uuid4().hex[:9], "resource": "/transfer", "submission_id": doc["submission_id"],
            "task_id": task_id, "task_link": {"DATA_TYPE": "link", "href": f"task/{task_id}?format=json",
                                              "rel": "related", "resource": "task", "title": "related task"},
        }, 202)

    async def task(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        task = self.tasks.get(request.path_params["task_id"])
        if task is None:
            return self._error(404, "TaskNotFound", "Task not found", request.url.path)
        return json_response({k: v for k, v in task.items() if k != "document"})


def make_app(world: World) -> GlobusSite:
    return GlobusSite(world)


__all__ = ["HOSTS", "TOKEN", "GlobusSite", "TaskError", "make_app", "validate"]
