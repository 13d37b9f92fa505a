"""ESRF: the data portal's config (data.esrf.fr), DOI landing pages (doi.esrf.fr), ICAT+
(icatplus.esrf.fr) and IDS (ids.esrf.fr), with tape restores that take a few polls.

Wire shapes (research notes pan-apis §5): ``POST /session`` with ``{plugin, username, password}``
-> ``{"sessionId": …}``; ``/doi/<doi>/datasets`` (no session, ``limit``/``skip``) -> dataset objects
with ``type`` (``acquisition`` / ``processed``), ``sampleName``, ``startDate``/``endDate``, ``parameters``
(``__fileCount``, ``__volume``, ``definition`` and scientific ones ``{name, value, units}``, values as text),
``techniques`` and a nested ``investigation`` (``investigationInstruments``);
``/catalogue/<session>/datafile?datasetId=`` -> ``[{"Datafile": {…}}]`` (this server caps
``limit`` at :data:`PAGE_CAP`), or, playing an older ICAT+ (``EsrfState.datafile_routes``), only
``/catalogue/<session>/dataset/id/<datasetId>/datafile`` (unpaginated; the paginated route then
answers Express's 404 ``Cannot GET``); ``/ids/<session>/datasets/status`` -> ``["ONLINE", "ARCHIVED", …]``;
``POST /ids/<session>/datasets/restore``; ``/ids/data/download`` -> 302 to
``ids.esrf.fr/ids/getData`` (one datafile: the raw file with Range; several: a zip whose member
names start with ``/``); data not online -> 404 ``DataNotOnlineException``.

State: an archived dataset becomes ``RESTORING`` on a restore request and ``ONLINE`` after its
``restore_polls`` status polls (never, when ``None``). :func:`state` returns it; tests ``reset()``.
``POST /session`` accepts exactly the anonymous credentials the portal configuration publishes
(``EsrfState.anonymous_credentials``, the documented ``reader`` account unless a test changes it, as
ESRF may one day) and answers 403 ``Authentication failed`` to anything else.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.esrf import ESRF_DOIS
from ..world import World
from .common import Entity, EntityResponse, html_response, json_response, redirect

HOSTS = ("data.esrf.fr", "doi.esrf.fr", "icatplus.esrf.fr", "ids.esrf.fr")
PAGE_CAP = 100
ANONYMOUS = {"plugin": "db", "username": "reader", "password": "reader"}
_STAMP = datetime(2017, 10, 25, 14, 38, tzinfo=timezone.utc)


class EsrfState:
    """Dataset status (the tape robot) and sessions, shared by the ICAT+ and IDS emulators."""

    def __init__(self, dois: Any) -> None:
        self.dois = {d.doi.lower(): d for d in dois}
        self.datasets = {ds.id: ds for d in dois for ds in d.datasets}
        self.files = {ds.file_id(i): (ds, f) for ds in self.datasets.values() for i, f in enumerate(ds.files)}
        self.sessions: set[str] = set()
        self.anonymous = str(uuid.uuid5(uuid.NAMESPACE_URL, "esrf-anonymous"))
        self.reset()

    def reset(self) -> None:
        """Back to the published state: archived datasets archived again, no restore requested."""
        self.status = {i: ds.status for i, ds in self.datasets.items()}
        self.polls_left: dict[int, int | None] = {}
        self.restore_requests = 0
        self.status_polls = 0
        self.anonymous_credentials: dict[str, str] = dict(ANONYMOUS)  # what api.config.json publishes
        self.datafile_routes: set[str] = {"paginated"}  # this deployment's ICAT+: "paginated", "by-dataset-id"

    def poll(self, ids: list[int]) -> list[str]:
        self.status_polls += 1
        for i in ids:
            if self.status.get(i) == "RESTORING":
                left = self.polls_left.get(i)
                if left is not None:
                    self.polls_left[i] = left - 1
                    if left - 1 <= 0:
                        self.status[i] = "ONLINE"
        return [self.status.get(i, "UNKNOWN") for i in ids]

    def restore(self, ids: list[int]) -> None:
        self.restore_requests += 1
        for i in ids:
            if self.status.get(i) == "ARCHIVED":
                self.status[i] = "RESTORING"
                self.polls_left[i] = self.datasets[i].restore_polls


def _ids(text: str | None) -> list[int]:
    return [int(x) for x in (text or "").split(",") if x.strip().isdigit()]


def _dataset_json(doi: Any, ds: Any) -> dict[str, Any]:
    proposal = ds.location.split("/")[3].upper() if ds.location.count("/") > 3 else "MX-1887"
    return {"id": ds.id, "name": ds.name, "location": ds.location, "startDate": _STAMP.isoformat(),
            "endDate": (_STAMP + timedelta(minutes=ds.id % 97)).isoformat(), "type": ds.kind, "sampleName": ds.sample,
            "parameters": [{"name": "__fileCount", "value": str(len(ds.files))},
                           {"name": "__volume", "value": str(sum(f.size for f in ds.files))},
                           {"name": "definition", "value": ds.technique or "MX"},
                           *({"name": n, "value": v, "units": u} for n, v, u in ds.parameters)],
            "techniques": [{"name": ds.technique}] if ds.technique else [], "investigation": {
                "id": 144479045, "name": proposal, "doi": doi.doi,
                "investigationInstruments": [{"instrument": {"id": 1, "name": "ID30A-3"}}]}}


def _forbidden() -> Response:
    return json_response({"message": "Session not found or expired"}, 403)


def make_sites(world: World) -> dict[str, Any]:
    st = state_for(world, ESRF_DOIS)

    async def config(request: Request) -> Response:
        return json_response({"server": {"url": "https://icatplus.esrf.fr"},
                              "authentication": {"anonymous": dict(st.anonymous_credentials),
                                                 "sso": {"enabled": True}}})

    async def landing(request: Request) -> Response:
        doi = st.dois.get(request.path_params["doi"].lower())
        if doi is None:
            return html_response("<h1>Not found</h1>", 404)
        return html_response(f"<!DOCTYPE html><html><head><title>{escape(doi.title)}</title></head><body><h1>DOI > "
                             f"{escape(doi.doi)}</h1><p>Data collection</p><a>Access data</a></body></html>")

    async def session(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        creds = st.anonymous_credentials
        if not isinstance(body, dict) or {k: body.get(k) for k in creds} != creds:
            return json_response({"message": "Authentication failed"}, 403)
        sid = str(uuid.uuid4())
        st.sessions.add(sid)
        user = creds.get("username", "reader")
        return json_response({"sessionId": sid, "name": f"{creds.get('plugin', 'db')}/{user}", "username": user,
                              "fullName": "Anonymous",
                              "lifeTimeMinutes": 719, "isAdministrator": False, "isInstrumentScientist": False})

    async def doi_datasets(request: Request) -> Response:
        doi = st.dois.get(request.path_params["doi"].lower())
        if doi is None:
            return json_response([])
        skip, limit = int(request.query_params.get("skip") or 0), int(request.query_params.get("limit") or 20)
        return json_response([_dataset_json(doi, ds) for ds in doi.datasets[skip:skip + limit]])

    def datafile_json(ds: Any) -> list[dict[str, Any]]:
        return [{"Datafile": {"id": ds.file_id(i), "name": f.key.rsplit("/", 1)[-1],
                              "location": f"{ds.location}/{f.key}", "fileSize": f.size, "createTime": _STAMP.isoformat(),
                              "modTime": _STAMP.isoformat(), "isReleased": True}} for i, f in enumerate(ds.files)]

    def cannot_get(request: Request) -> Response:  # Express's answer for a route this release lacks
        return html_response(f"<pre>Cannot GET {escape(request.url.path)}</pre>", 404)

    async def datafiles(request: Request) -> Response:
        if "paginated" not in st.datafile_routes:
            return cannot_get(request)
        if request.path_params["sid"] not in st.sessions:
            return _forbidden()
        ds = st.datasets.get(int(request.query_params.get("datasetId") or 0))
        if ds is None:
            return json_response([])
        skip = int(request.query_params.get("skip") or 0)
        limit = min(PAGE_CAP, int(request.query_params.get("limit") or PAGE_CAP))
        return json_response(datafile_json(ds)[skip:skip + limit])

    async def datafiles_by_dataset(request: Request) -> Response:
        if "by-dataset-id" not in st.datafile_routes:
            return cannot_get(request)
        if request.path_params["sid"] not in st.sessions:
            return _forbidden()
        found = [ds for i in _ids(request.path_params["ids"]) if (ds := st.datasets.get(i)) is not None]
        return json_response([item for ds in found for item in datafile_json(ds)])

    async def status(request: Request) -> Response:
        if request.path_params["sid"] not in st.sessions:
            return _forbidden()
        return json_response(st.poll(_ids(request.query_params.get("datasetIds"))))

    async def restore(request: Request) -> Response:
        if request.path_params["sid"] not in st.sessions:
            return _forbidden()
        st.restore(_ids(request.query_params.get("datasetIds")))
        return json_response({})

    async def download(request: Request) -> Response:
        q = request.query_params
        kind = "datafileIds" if q.get("datafileIds") else "datasetIds"
        return redirect(f"https://ids.esrf.fr/ids/getData?sessionId={st.anonymous}&{kind}={q.get(kind, '')}"
                        f"&zip={'false' if kind == 'datafileIds' and ',' not in q.get(kind, '') else 'true'}", 302)

    async def get_data(request: Request) -> Any:
        q = request.query_params
        files = [st.files[i] for i in _ids(q.get("datafileIds")) if i in st.files]
        files += [(ds, f) for i in _ids(q.get("datasetIds")) if (ds := st.datasets.get(i)) for f in ds.files]
        if not files:
            return json_response({"code": "NotFoundException", "message": "No datafiles found"}, 404)
        offline = sorted({ds.id for ds, _ in files if st.status.get(ds.id) != "ONLINE"})
        if offline:
            return json_response({"code": "DataNotOnlineException", "message": f"Before getting a datafile, the "
                                  f"dataset(s) {offline} must be restored (status {st.status[offline[0]]})"}, 404)
        if len(files) == 1 and q.get("datafileIds"):
            ds, f = files[0]
            return EntityResponse(Entity(f.size, f'"{world.digest(f, "md5")}"', _STAMP, f.mimetype,
                                         lambda a, b: world.content(f, a, b), f.key.rsplit("/", 1)[-1]))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for ds, f in files:  # member names as IDS writes them: absolute, sometimes with '//'
                archive.writestr(zipfile.ZipInfo(f"/{ds.location}/{f.key}", _STAMP.timetuple()[:6]), world.read(f))
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"content-disposition": 'attachment; filename="data.zip"'})

    async def ping(request: Request) -> Response:
        return Response("IdsOK", media_type="text/plain")

    get, post = ["GET"], ["POST"]
    return {
        "data.esrf.fr": Router(routes=[Route("/config/api.config.json", config, methods=get)]),
        "doi.esrf.fr": Router(routes=[Route("/{doi:path}", landing, methods=get)]),
        "icatplus.esrf.fr": Router(routes=[
            Route("/session", session, methods=post),
            Route("/doi/{doi:path}/datasets", doi_datasets, methods=get),
            Route("/catalogue/{sid}/datafile", datafiles, methods=get),
            Route("/catalogue/{sid}/dataset/id/{ids}/datafile", datafiles_by_dataset, methods=get),
            Route("/ids/{sid}/datasets/status", status, methods=get),
            Route("/ids/{sid}/datasets/restore", restore, methods=post),
            Route("/ids/data/download", download, methods=get)]),
        "ids.esrf.fr": Router(routes=[Route("/ids/getData", get_data, methods=get),
                                      Route("/ids/ping", ping, methods=get)]),
    }


def state_for(world: World, dois: Any) -> EsrfState:
    """The tape state of ``world``'s ESRF emulator (kept on the world, so tests can reset it)."""
    found = getattr(world, "_esrf_state", None)
    if not isinstance(found, EsrfState):
        found = EsrfState(dois)
        world._esrf_state = found  # type: ignore[attr-defined]
    return found


def state(world: World) -> EsrfState:
    return state_for(world, ESRF_DOIS)


__all__ = ["ANONYMOUS", "HOSTS", "PAGE_CAP", "EsrfState", "make_sites", "state"]
