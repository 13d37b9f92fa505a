"""SciCat backends (v3 and v4 API) and landing pages, for any instance: PSI, DESY, generic ones.

Wire shapes follow scicat-backend-next (research notes pan-apis §4): v3 ``PublishedData`` in the
"obsolete" shape (``creator[]``, ``publisher``, ``pidArray``, ``downloadLink``), shown to anonymous
users only when ``status`` is ``registered``; v4 ``publisheddata`` with ``datasetPids`` and the
former top-level fields under ``metadata`` (anonymous: public/registered/amended); v3
``Datasets/<pid>`` and ``Datasets/<pid>/origdatablocks``; v4 ``datasets/public/<pid>`` with
``?include=origdatablocks``. Routes match case-insensitively (Express does), ids arrive
``%2F``-encoded and are split on the raw path. The frontend serves ``/assets/config.json`` with
``lbBaseURL`` and ``/detail/<doi>`` landing pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from ..data.scicat import SCICAT_PUBLICATIONS
from ..world import FileSpec, World
from .common import html_response, json_response

_V3_VISIBLE = {"registered"}
_V4_VISIBLE = {"public", "registered", "amended"}


@dataclass(frozen=True)
class Pub:
    """A publication as the emulated backend stores it (rendered in v3 or v4 shape on request)."""

    doi: str
    title: str
    creators: tuple[str, ...]
    publisher: str
    year: int
    pids: tuple[str, ...]
    download_link: str | None = None
    size: int = 0
    files: int = 0
    status: str = "registered"
    abstract: str = ""
    versions: frozenset[str] = frozenset({"v3", "v4"})


@dataclass(frozen=True)
class Set:
    """A dataset: pid, sourceFolder and its origdatablock files."""

    pid: str
    source_folder: str
    files: tuple[FileSpec, ...] = ()
    chk_alg: str = "sha256"
    absolute: bool = False
    name: str = ""
    science: tuple[tuple[str, Any], ...] = ()


def v3_doc(pub: Pub) -> dict[str, Any]:
    doc: dict[str, Any] = {"doi": pub.doi, "_id": pub.doi, "affiliation": pub.publisher, "creator": list(pub.creators),
                           "publisher": pub.publisher, "publicationYear": pub.year, "title": pub.title, "url": "",
                           "abstract": pub.abstract, "dataDescription": "", "resourceType": "raw",
                           "numberOfFiles": pub.files, "sizeOfArchive": pub.size, "pidArray": list(pub.pids),
                           "authors": list(pub.creators), "registeredTime": "2021-01-16T13:46:43.339Z",
                           "status": pub.status, "scicatUser": "ingestor",
                           "thumbnail": "data:image/png;base64,iVBORw0KGgo=",
                           "createdAt": "2021-06-29T16:08:13.822Z", "updatedAt": "2021-06-29T16:08:13.824Z"}
    if pub.download_link:
        doc["downloadLink"] = pub.download_link
    return doc


def v4_doc(pub: Pub) -> dict[str, Any]:
    meta: dict[str, Any] = {"publisher": {"name": pub.publisher}, "publicationYear": pub.year,
                            "creators": [{"name": c, "affiliation": [{"name": pub.publisher}]} for c in pub.creators],
                            "resourceType": "raw", "dataDescription": ""}
    if pub.download_link:
        meta["downloadLink"] = pub.download_link
    return {"pid": pub.doi, "doi": pub.doi, "title": pub.title, "abstract": pub.abstract, "datasetPids": list(pub.pids),
            "numberOfFiles": pub.files, "sizeOfArchive": pub.size, "status": pub.status,
            "registeredTime": "2024-05-01T12:00:00.000Z", "metadata": meta}


def blocks_doc(world: World, ds: Set) -> list[dict[str, Any]]:
    algo = {"sha256": "sha256", "md5": "md5", "sha1": "sha1"}.get(ds.chk_alg, "sha256")
    prefix = ds.source_folder.rstrip("/") + "/" if ds.absolute else ""
    files = [{"path": prefix + f.key, "size": f.size, "time": "2024-01-25T18:34:00.000Z",
              "chk": world.digest(f, algo), "uid": "e1234", "gid": "p16628", "perm": "-rw-r--r--"} for f in ds.files]
    half = max(1, len(files) // 2)  # two blocks when there is more than one file, as big datasets have
    chunks = [files[:half], files[half:]] if len(files) > 1 else [files]
    return [{"_id": f"{ds.pid}-block-{i}", "datasetId": ds.pid, "size": sum(x["size"] for x in chunk),
             "chkAlg": ds.chk_alg, "dataFileList": chunk} for i, chunk in enumerate(chunks)]


def dataset_doc(ds: Set) -> dict[str, Any]:
    return {"pid": ds.pid, "datasetName": ds.name or ds.source_folder.rsplit("/", 1)[-1], "type": "raw",
            "sourceFolder": ds.source_folder, "sourceFolderHost": "", "size": sum(f.size for f in ds.files),
            "numberOfFiles": len(ds.files), "isPublished": True, "ownerGroup": "p16628", "owner": "ingestor",
            "creationTime": "2024-01-25T18:34:00.000Z", **dict(ds.science)}


def _not_found(what: str) -> Response:
    return json_response({"error": "Not Found", "statusCode": 404, "message": f"{what} not found"}, 404)


@dataclass
class ScicatSite:
    """One SciCat host: the API (``/api/v3``, ``/api/v4``), and optionally a frontend (config + landing)."""

    world: World
    pubs: Iterable[Pub] = ()
    sets: Iterable[Set] = ()
    lb_base: str | None = None          # serve /assets/config.json naming this backend
    landing: bool = True
    api: bool = True
    _pubs: dict[str, Pub] = field(default_factory=dict)
    _sets: dict[str, Set] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pubs = {p.doi.lower(): p for p in self.pubs}
        self._sets = {s.pid: s for s in self.sets}

    def _api(self, version: str, segs: list[str], query: Mapping[str, str]) -> Response:
        kind = segs[0].lower() if segs else ""
        if kind == "publisheddata" and len(segs) >= 2:
            pub = self._pubs.get("/".join(segs[1:]).lower())
            visible = _V3_VISIBLE if version == "v3" else _V4_VISIBLE
            if pub is None or version not in pub.versions or pub.status not in visible:
                return _not_found("PublishedData")
            return json_response(v3_doc(pub) if version == "v3" else v4_doc(pub))
        if kind == "datasets" and version == "v4" and len(segs) >= 3 and segs[1] == "public":
            ds = self._sets.get("/".join(segs[2:]))
            if ds is None:
                return _not_found("Dataset")
            doc = dataset_doc(ds)
            if "origdatablocks" in query.get("include", ""):
                doc["origdatablocks"] = blocks_doc(self.world, ds)
            return json_response(doc)
        if kind == "datasets" and version == "v3" and len(segs) >= 2:
            blocks = segs[-1].lower() == "origdatablocks" and len(segs) >= 3
            ds = self._sets.get("/".join(segs[1:-1] if blocks else segs[1:]))
            if ds is None:
                return _not_found("Dataset")
            return json_response(blocks_doc(self.world, ds) if blocks else dataset_doc(ds))
        return _not_found("route")

    def _landing(self, doi: str) -> Response:
        pub = self._pubs.get(doi.lower())
        if pub is None:
            return html_response("<!DOCTYPE html><html><body><h1>Not found</h1></body></html>", 404)
        return html_response(f"<!DOCTYPE html><html><head><title>{escape(pub.title)}</title>"
                             f'<meta name="citation_doi" content="{escape(pub.doi)}"></head><body><app-root>'
                             f"<h1>{escape(pub.title)}</h1><p>DOI {escape(pub.doi)}</p></app-root></body></html>")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        segs = [unquote(s) for s in raw.split("?", 1)[0].split("/") if s]
        query = {k: unquote(v) for k, _, v in (p.partition("=") for p in
                                                scope.get("query_string", b"").decode("latin-1").split("&") if p)}
        low = [s.lower() for s in segs]
        response: Response
        if self.api and len(low) >= 2 and low[0] == "api" and low[1] in ("v3", "v4"):
            response = self._api(low[1], segs[2:], query)
        elif self.lb_base and low == ["assets", "config.json"]:
            response = json_response({"lbBaseURL": self.lb_base, "landingPage": "", "jobsEnabled": False,
                                      "fileserverBaseURL": ""})
        elif self.landing and low and low[0] == "detail" and len(segs) >= 2:
            response = self._landing("/".join(segs[1:]))
        else:
            response = _not_found("route")
        await response(scope, receive, send)


def make_sites(world: World) -> dict[str, Any]:
    """The generic instances of :data:`~doi2data.sandbox.data.scicat.SCICAT_PUBLICATIONS`."""
    sites: dict[str, Any] = {}
    for p in SCICAT_PUBLICATIONS:
        sets = [Set(d.pid, d.source_folder, d.files, d.chk_alg, d.absolute, science=d.science) for d in p.datasets]
        pub = Pub(p.doi, p.title, ("Ada Example",), "Example Facility", 2024, tuple(d.pid for d in p.datasets),
                  p.download_link, sum(f.size for d in p.datasets for f in d.files),
                  sum(len(d.files) for d in p.datasets), "public" if "v3" not in p.versions else "registered",
                  versions=p.versions)
        if p.frontend == p.backend:
            sites[p.frontend] = ScicatSite(world, [pub], sets)
        else:
            sites[p.frontend] = ScicatSite(world, [pub], (), lb_base=f"https://{p.backend}", api=False)
            sites[p.backend] = ScicatSite(world, [pub], sets, landing=False)
    return sites


__all__ = ["Pub", "ScicatSite", "Set", "blocks_doc", "dataset_doc", "make_sites", "v3_doc", "v4_doc"]
