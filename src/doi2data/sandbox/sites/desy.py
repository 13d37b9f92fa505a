"""DESY: SciCat at public-data.desy.de (v3 API + landing pages) and the dCache WebDAV door
hifis-storage.desy.de, which redirects downloads (307) to a pool, hifis-pool-01.desy.de.

The door follows the dCache user guide (research notes pan-apis §8): ``GET <dir>/`` with
``Accept: application/metalink4+xml`` or ``?type=metalink`` -> Metalink 4 of the directory's files
only (URLs escape ``-`` as ``%2D``, as dCache does); ``HEAD <dir>/`` -> ``Link: <…?type=metalink>;
rel=describedby``; a plain ``GET <dir>/`` -> an HTML page; ``PROPFIND`` (``Depth`` 0 or 1) ->
``207`` with the requested properties - ``Checksums`` only when asked for by name, and only for
files whose checksums the namespace holds; ``FileLocality`` ``NEARLINE`` for tape-only files;
``HEAD``/``GET`` with ``Want-Digest`` -> ``Digest: adler32=<hex>[,md5=<base64>]`` (a folder set to
``rfc9530`` answers ``Want-Repr-Digest`` with ``Repr-Digest: adler=:<b64>:, md5=:<b64>:`` instead).
"""

from __future__ import annotations

import base64
import uuid
import zlib
from html import escape
from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from ..data.desy import DESY_PUBLICATIONS
from ..world import FileSpec, World
from .common import Entity, EntityResponse, redirect
from .scicat import Pub, ScicatSite, Set
from .webindex import STAMP

DOOR, POOL = "hifis-storage.desy.de", "hifis-pool-01.desy.de"
HOSTS = ("public-data.desy.de", DOOR, POOL)
_NS = ('xmlns:d="DAV:" xmlns:ns1="http://www.dcache.org/2013/webdav" '
       'xmlns:ns2="http://srm.lbl.gov/StorageResourceManager"')


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _href(path: str) -> str:
    return quote(path, safe="/")


class Door:
    """The dCache WebDAV door (and, with ``pool=True``, the pool serving redirected reads)."""

    def __init__(self, world: World, folders: Any, *, pool: bool = False) -> None:
        self.world, self.pool = world, pool
        self._adlers: dict[str, str] = {}
        self.files: dict[str, tuple[FileSpec, Any]] = {}
        self.dirs: dict[str, tuple[set[str], list[str], Any]] = {}
        for folder in folders:
            for spec in folder.files:
                path = f"{folder.source_folder}/{spec.key}"
                self.files[path] = (spec, folder)
                parts = path.split("/")
                for i in range(2, len(parts)):
                    subdirs, names, _ = self.dirs.setdefault("/".join(parts[:i]) + "/", (set(), [], folder))
                    if i < len(parts) - 1:
                        subdirs.add(parts[i])
                self.dirs["/".join(parts[:-1]) + "/"][1].append(parts[-1])

    def _adler(self, spec: FileSpec) -> str:
        """adler32 (what dCache computes on upload), cached per file."""
        if spec.seed not in self._adlers:
            value = 1
            for chunk in self.world.content(spec):
                value = zlib.adler32(chunk, value)
            self._adlers[spec.seed] = f"{value & 0xFFFFFFFF:08x}"
        return self._adlers[spec.seed]

    def _rel(self, path: str) -> tuple[str, Any]:
        spec, folder = self.files[path]
        return path[len(folder.source_folder) + 1:], folder

    def _digests(self, path: str, headers: dict[str, str]) -> dict[str, str]:
        spec, folder = self.files[path]
        rel, _ = self._rel(path)
        sums = {"adler32": self._adler(spec)}
        if rel in folder.md5:
            sums["md5"] = self.world.digest(spec, "md5")
        out = {}
        want = headers.get("want-repr-digest" if folder.rfc9530 else "want-digest", "").lower()
        if folder.rfc9530:
            items = [f"{'adler' if a == 'adler32' else a}=:{_b64(v)}:" for a, v in sums.items()
                     if ("adler" if a == "adler32" else a) in want]
            if items:
                out["repr-digest"] = ", ".join(items)
        else:
            items = [f"{a}={v if a == 'adler32' else _b64(v)}" for a, v in sums.items() if a in want]
            if items:
                out["digest"] = ",".join(items)
        return out

    def _propfind(self, path: str, headers: dict[str, str], body: bytes) -> Response:
        depth = headers.get("depth", "infinity")
        if depth not in ("0", "1"):
            return PlainTextResponse("PROPFIND with Depth: infinity is not allowed", 403)
        text = body.decode("utf-8", "replace")
        named = "prop>" in text and "allprop" not in text
        want_sums, want_where = named and "Checksums" in text, named and "FileLocality" in text
        targets = [path]
        if depth == "1" and path in self.dirs:
            subdirs, names, _ = self.dirs[path]
            targets += [path + c + "/" for c in sorted(subdirs)] + [path + n for n in sorted(names)]
        out = []
        for target in targets:
            props, missing = [f"<d:getlastmodified>{STAMP:%a, %d %b %Y %H:%M:%S GMT}</d:getlastmodified>"], []
            if target.endswith("/"):
                props.append("<d:resourcetype><d:collection/></d:resourcetype>")
            else:
                spec, folder = self.files[target]
                rel, _ = self._rel(target)
                props += ["<d:resourcetype/>", f"<d:getcontentlength>{spec.size}</d:getcontentlength>"]
                if want_sums and rel in folder.dav_checksums:
                    sums = f"adler32={self._adler(spec)}" + (f",md5={_b64(self.world.digest(spec, 'md5'))}"
                                                                if rel in folder.md5 else "")
                    props.append(f"<ns1:Checksums>{sums}</ns1:Checksums>")
                elif want_sums:
                    missing.append("<ns1:Checksums/>")
                if want_where:
                    where = "NEARLINE" if rel in folder.nearline else "ONLINE"
                    props.append(f"<ns2:FileLocality>{where}</ns2:FileLocality>")
            stat = f"<d:propstat><d:prop>{''.join(props)}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
            if missing:
                stat += (f"<d:propstat><d:prop>{''.join(missing)}</d:prop>"
                         "<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>")
            out.append(f"<d:response><d:href>{escape(_href(target))}</d:href>{stat}</d:response>")
        xml = f'<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus {_NS}>{"".join(out)}</d:multistatus>'
        return Response(xml, 207, media_type="application/xml; charset=utf-8")

    def _metalink(self, path: str) -> Response:
        parts = []
        for name in sorted(self.dirs[path][1]):
            spec, folder = self.files[path + name]
            rel, _ = self._rel(path + name)
            hashes = (f'<hash type="sha-1">{self.world.digest(spec, "sha1")}</hash><hash type="md5">'
                      f'{self.world.digest(spec, "md5")}</hash>') if rel in folder.metalink_hashes else ""
            url = f"https://{DOOR}{_href(path + name).replace('-', '%2D')}"
            parts.append(f'<file name="{escape(name)}"><size>{spec.size}</size>{hashes}<url>{escape(url)}</url>'
                         f"<updated>{STAMP:%Y-%m-%dT%H:%M:%S}.000Z</updated></file>")
        return Response(f'<?xml version="1.0" encoding="UTF-8"?><metalink xmlns="urn:ietf:params:xml:ns:metalink">'
                        f'{"".join(parts)}</metalink>', media_type="application/metalink4+xml")

    def _response(self, scope: dict[str, Any], headers: dict[str, str], body: bytes) -> Any:
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        if path + "/" in self.dirs and method in ("GET", "HEAD", "PROPFIND") and not self.pool:
            return redirect(f"https://{DOOR}{_href(path)}/", 301)
        if method == "PROPFIND" and not self.pool and (path in self.dirs or path in self.files):
            return self._propfind(path, headers, body)
        if path in self.dirs and not self.pool and method in ("GET", "HEAD"):
            folder = self.dirs[path][2]
            link = {"link": f'<https://{DOOR}{_href(path)}?type=metalink>; rel=describedby; '
                            'type="application/metalink4+xml"'} if folder.metalink else {}
            if folder.metalink and ("metalink" in headers.get("accept", "") or "type=metalink" in query):
                return self._metalink(path)
            rows = "".join(f'<tr><td><a href="{_href(path + n)}">{escape(n)}</a></td></tr>'
                           for n in sorted(self.dirs[path][0]) + sorted(self.dirs[path][1]))
            return HTMLResponse(f"<html><head><title>dCache.org - {escape(path)}</title></head><body><table>{rows}"
                                "</table></body></html>", headers=link)
        if path not in self.files or method not in ("GET", "HEAD"):
            return PlainTextResponse("Not Found", 404)
        spec, folder = self.files[path]
        rel, _ = self._rel(path)
        extra = self._digests(path, headers)
        if not self.pool and method == "GET":
            if rel in folder.nearline:
                return PlainTextResponse("File is NEARLINE: staging from tape was requested", 503,
                                         headers={"retry-after": "3600"})
            token = uuid.uuid5(uuid.NAMESPACE_URL, path)
            return redirect(f"https://{POOL}{_href(path)}?dcache-http-uuid={token}", 307)
        entity = Entity(spec.size, f'"{self.world.digest(spec, "md5")[:16]}_1706207640"', STAMP, spec.mimetype,
                        lambda a, b: self.world.content(spec, a, b))
        return EntityResponse(entity, extra)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        scope = {**scope, "path": unquote(scope.get("raw_path", b"").decode("latin-1").split("?")[0]) or scope["path"]}
        await self._response(scope, headers, body)(scope, receive, send)


def make_sites(world: World) -> dict[str, Any]:
    folders = [p.folder for p in DESY_PUBLICATIONS]
    pubs = [Pub(p.doi, p.title, p.creators, "DESY", 2024, (p.pid,), p.download_link,
                sum(f.size for f in p.folder.files), len(p.folder.files), versions=frozenset({"v3"}))
            for p in DESY_PUBLICATIONS]
    sets = [Set(p.pid, p.folder.source_folder, p.folder.files, "sha1", name=p.title) for p in DESY_PUBLICATIONS]
    return {"public-data.desy.de": ScicatSite(world, pubs, sets), DOOR: Door(world, folders),
            POOL: Door(world, folders, pool=True)}


__all__ = ["DOOR", "HOSTS", "POOL", "Door", "make_sites"]
