"""File bytes as HTTP entities, and :class:`SignedStorage`, the S3-style host several services
(Dataverse, Figshare, Dryad, Mendeley Data) redirect to. Shared by those site modules.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.common import hexid
from ..middleware import site_flags
from ..world import FileSpec, World
from .common import Entity, EntityResponse

_SECRET = b"doi2data-sandbox-presign"


def file_entity(world: World, spec: FileSpec, modified: datetime, scope: Any, *, filename: str | None = None,
                content_type: str | None = None) -> Entity:
    """The Range-capable representation of ``spec``; the ``change`` quirk gives new bytes/ETag/date."""
    variant = 1 if site_flags(scope).change else 0
    stamp = modified + timedelta(days=variant)
    return Entity(size=spec.size, etag=f'"{world.digest(spec, "md5", variant)}"', last_modified=stamp,
                  content_type=content_type or spec.mimetype, filename=filename,
                  chunks=lambda start, end: world.content(spec, start, end, variant))


# -- signed object storage -------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredObject:
    spec: FileSpec
    modified: datetime
    filename: str
    extra: dict[str, str] = field(default_factory=dict)


class SignedStorage:
    """An S3-style host: objects by key, GET only with a valid presigned query (as recorded for
    ``dvn-cloud.s3.amazonaws.com``: 206 for ranges, ETag = md5, and HEAD -> 403 because the
    signature covers GET only). A request without the signature gets S3's XML 403."""

    def __init__(self, world: World, host: str) -> None:
        self.world, self.host = world, host
        self.objects: dict[str, StoredObject] = {}

    def _signature(self, key: str, expires: str) -> str:
        return hmac.new(_SECRET, f"{self.host}/{key}|{expires}".encode(), hashlib.sha256).hexdigest()

    def put(self, key: str, obj: StoredObject) -> None:
        self.objects[key] = obj

    def presign(self, key: str, *, content_type: str | None = None, when: str = "20240101T000000Z") -> str:
        """A presigned GET URL (``response-content-disposition`` carries the name, as Dataverse sends)."""
        obj = self.objects[key]
        expires = "3600"
        query = {"response-content-disposition": f"attachment; filename*=UTF-8''{quote(obj.filename, safe='')}",
                 "response-content-type": content_type or obj.spec.mimetype,
                 "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Date": when, "X-Amz-SignedHeaders": "host",
                 "X-Amz-Expires": expires, "X-Amz-Credential": f"AKIASANDBOX/{when[:8]}/us-east-1/s3/aws4_request",
                 "X-Amz-Signature": self._signature(key, expires)}
        return f"https://{self.host}/{quote(key)}?{urlencode(query, quote_via=quote)}"

    def app(self) -> Router:
        async def get(request: Request) -> Any:
            key = request.path_params["key"]
            sig, expires = request.query_params.get("X-Amz-Signature"), request.query_params.get("X-Amz-Expires", "")
            if request.method == "HEAD":
                return Response(b"", 403, media_type="application/xml")
            if not sig or not hmac.compare_digest(sig, self._signature(key, expires)):
                return _s3_error(403, "SignatureDoesNotMatch" if sig else "AccessDenied",
                                 "The request signature we calculated does not match the signature you provided.")
            obj = self.objects.get(key)
            if obj is None:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            entity = file_entity(self.world, obj.spec, obj.modified, request.scope,
                                 content_type=request.query_params.get("response-content-type"))
            headers = {"content-disposition": request.query_params.get("response-content-disposition", "attachment"),
                       "server": "AmazonS3", "x-amz-request-id": hexid(key, length=16).upper(), **obj.extra}
            return EntityResponse(entity, headers)

        return Router(routes=[Route("/{key:path}", get, methods=["GET", "HEAD"])])


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>SANDBOX</RequestId></Error>")
    return Response(body, status, media_type="application/xml")


__all__ = ["SignedStorage", "StoredObject", "file_entity"]
