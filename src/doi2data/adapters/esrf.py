"""ESRF: DOIs ``10.15151/ESRF-ES-<session>`` and ``ESRF-DC-<collection>``, through ICAT+ and IDS.

Route (Millar 2022; research notes pan-apis §5):

1. an anonymous session, ``POST https://icatplus.esrf.fr/session`` -> ``sessionId``, first with the
   documented ``reader`` account (Millar 2022); only if ICAT+ refuses it is the data portal's
   published configuration read (``https://data.esrf.fr/config/api.config.json`` ->
   ``authentication.anonymous``) and its credentials tried. Sent at the same time as step 2, which
   needs no session, so the usual route is 4 requests before the datafile pages (Handle API +
   DataCite, then session | datasets); the configuration costs 2 more only when the account changed.
   Sessions are never cached between runs;
2. ``GET /doi/<doi>/datasets`` (paginated ``limit``/``skip``);
3. per dataset ``GET /catalogue/<session>/datafile?datasetId=…`` page by page (the server may cap
   ``limit``; the dataset's ``__fileCount`` says when the list is complete), and at the same time
   ``GET /ids/<session>/datasets/status`` -> ``ONLINE`` / ``ARCHIVED`` / ``RESTORING``.

ICAT+ versions in the field (checked 2026-12-06; research notes pan-apis §5.3): deployments serve
either the paginated ``/catalogue/<session>/datafile?datasetId=&limit=&skip=`` (read by the OSCARS
PaN-Finder collectors, 2024-25) or only the older, unpaginated
``/catalogue/<session>/dataset/id/<datasetId>/datafile`` (a list of ``{"Datafile": …}`` wrappers),
and other facilities run ICAT+ releases of their own. The first dataset's files are asked for on
the paginated route alone; a 404 there (Express's "Cannot GET") switches to the older route, and
the choice is remembered per ICAT+ host for the run (per :class:`~doi2data.http.Http`), so a
listing costs at most one extra request whatever the version; the other datasets are then listed
concurrently on the route that answered. A host that serves neither is a clear RepositoryError.

Files are placed under their dataset's name, and name it (``FileEntry.dataset``); the manifest's
``datasets`` carry each ICAT+ dataset's type, sample, technique, instrument, dates and parameters
(:func:`dataset_info`) for ``--dataset``. Each file downloads on its own,
``/ids/data/download?datafileIds=<one id>`` (redirected to ``ids.esrf.fr/ids/getData``): one id
gives the raw file, which resumes with ``Range`` and is verified by size on its own - a zip of
several files would do neither, so the engine never sees one.

Archived (tape) datasets are listed ``offline``. :meth:`EsrfAdapter.prepare` (called by
``get`` between listing and transfer) asks IDS to restore them and polls the status with
growing intervals until they are ``ONLINE`` or ``--restore-timeout`` runs out
(:class:`~doi2data.errors.RestoreTimeout`). ``DOI2DATA_RESTORE_POLL`` sets the first poll
interval in seconds (default 5; the sandbox demo uses less).
"""

from __future__ import annotations

import asyncio
import os
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from ..errors import AccessDenied, RecordNotFound, RepositoryError, RestoreTimeout
from ..http import Http, raise_for_status
from ..model import Access, Dataset, DatasetInfo, FileEntry, Manifest, parse_prefixed_checksum
from ._datasets import kind_of, parameter, parameters, text
from ._pan.net import gather_all, gather_limited, json_or_none, note, send_body
from ._pan.scicat_api import folder_names, probe_json
from .base import RecordRef, Resolved

ICATPLUS = "https://icatplus.esrf.fr"
PORTAL_CONFIG = "https://data.esrf.fr/config/api.config.json"
READER = {"plugin": "db", "username": "reader", "password": "reader"}
LANDING_HOSTS = frozenset({"doi.esrf.fr", "data.esrf.fr"})
DATASET_PAGE = 100
DATAFILE_PAGE = 1000
POLL_CAP = 60.0
PAGED, BY_DATASET = "paginated", "by-dataset-id"
#: ICAT+ host -> the datafile route it serves, learnt once per run (one Http per run).
_ROUTES: weakref.WeakKeyDictionary[Http, dict[str, str]] = weakref.WeakKeyDictionary()
_DOI = re.compile(r"10\.15151/ESRF-(?:ES|DC)-\d+", re.I)


def _str(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    text = _str(value)
    return int(text) if text and text.isdecimal() else None


@dataclass(frozen=True)
class EsrfDataset:
    id: str
    name: str
    location: str | None = None
    file_count: int | None = None
    #: what the dataset is (type, sample, technique, instrument, dates, parameters); named by ``name``
    about: DatasetInfo | None = None


def dataset_info(raw: Mapping[str, Any], name: str) -> DatasetInfo:
    """An ICAT+ dataset's science: ``type`` (acquisition -> raw, processed), ``sampleName``,
    ``startDate``/``endDate``, the first of ``techniques`` (else the ``definition`` parameter), the
    investigation's first instrument, and the parameters that are not ICAT+'s own ``__`` counters,
    ``{name, value, units}`` with numeric text read as numbers.

    Why these fields: they are what ``/doi/<doi>/datasets`` already returns for every dataset (no
    extra request). The parameter shape follows ICAT's model (CSMD: a DatasetParameter is a value
    of a ParameterType that has a name and ``units``; icatproject CSMDOverview, checked 2026-12-06);
    a live ICAT+ answer with scientific parameters was not available to check, so ``units`` (or
    ``unit``) is read when present and never required, and values come as text (``"0.9677"``) or numbers.
    """
    found = raw.get("parameters")
    params = [p for p in (found if isinstance(found, list) else []) if isinstance(p, Mapping)]
    techniques = raw.get("techniques")
    technique = next((text(t.get("name")) for t in (techniques if isinstance(techniques, list) else [])
                      if isinstance(t, Mapping) and text(t.get("name"))), None)
    if technique is None:
        technique = next((text(p.get("value")) for p in params if p.get("name") == "definition"), None)
    inv = raw.get("investigation")
    instruments = inv.get("investigationInstruments") if isinstance(inv, Mapping) else None
    instrument = next((text(i["instrument"].get("name")) for i in (instruments if isinstance(instruments, list) else [])
                       if isinstance(i, Mapping) and isinstance(i.get("instrument"), Mapping)), None)
    science = parameters((parameter(p.get("name"), p.get("value"), p.get("units", p.get("unit"))) for p in params
                          if isinstance(p.get("name"), str) and not p["name"].startswith("__")), skip=("definition",))
    return DatasetInfo(name, kind_of(raw.get("type")), text(raw.get("sampleName")), technique, instrument,
                       text(raw.get("startDate")), text(raw.get("endDate")), science)


@dataclass(frozen=True)
class EsrfFile:
    id: str
    name: str
    location: str | None = None
    size: int | None = None
    checksum: str | None = None


def parse_credentials(doc: Any) -> dict[str, str] | None:
    """``authentication.anonymous`` of the portal's ``api.config.json`` (``None`` if absent)."""
    anon = doc.get("authentication", {}).get("anonymous") if isinstance(doc, Mapping) and isinstance(
        doc.get("authentication"), Mapping) else None
    if not isinstance(anon, Mapping):
        return None
    creds = {k: _str(anon.get(k)) for k in ("plugin", "username", "password")}
    return {k: v for k, v in creds.items() if v} if creds["plugin"] and creds["username"] else None


def parse_datasets(doc: Any) -> list[EsrfDataset]:
    if not isinstance(doc, list):
        raise RepositoryError("ICAT+ datasets answer is not a JSON list")
    out = []
    for raw in doc:
        raw = raw.get("Dataset", raw) if isinstance(raw, Mapping) else raw
        if not isinstance(raw, Mapping) or not _str(raw.get("id")):
            raise RepositoryError("ICAT+ dataset without an id")
        found_params = raw.get("parameters")
        params = found_params if isinstance(found_params, list) else []
        count = next((_int(p.get("value")) for p in params
                      if isinstance(p, Mapping) and p.get("name") == "__fileCount"), None)
        name = _str(raw.get("name")) or str(raw["id"])
        out.append(EsrfDataset(str(_str(raw["id"])), name, _str(raw.get("location")), count, dataset_info(raw, name)))
    return out


def parse_datafiles(doc: Any) -> list[EsrfFile]:
    """``[{"Datafile": {id, name, location, fileSize, checksum}}, …]`` (bare objects accepted too)."""
    if not isinstance(doc, list):
        raise RepositoryError("ICAT+ datafile answer is not a JSON list")
    out = []
    for raw in doc:
        raw = raw.get("Datafile", raw) if isinstance(raw, Mapping) else raw
        if not isinstance(raw, Mapping) or not _str(raw.get("id")) or not (_str(raw.get("name")) or
                                                                           _str(raw.get("location"))):
            raise RepositoryError("ICAT+ datafile without an id or name")
        location = _str(raw.get("location"))
        name = _str(raw.get("name")) or (location or "").rsplit("/", 1)[-1]
        out.append(EsrfFile(str(_str(raw["id"])), name, location, _int(raw.get("fileSize")), _str(raw.get("checksum"))))
    return out


def _json(response: Any, url: str) -> Any:
    doc = json_or_none(response)
    if doc is None:
        raise RepositoryError("ICAT+ datafile answer is not JSON", url=url)
    return doc


def relative_path(file: EsrfFile, dataset: EsrfDataset) -> str:
    """The file's path inside its dataset folder (ICAT ``location`` minus the dataset's), normalised."""
    def norm(path: str) -> str:
        return "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))
    loc, base = norm(file.location or ""), norm(dataset.location or "")
    if loc and base and loc.startswith(base + "/"):
        return loc[len(base) + 1:]
    return norm(file.name) or file.id


def download_url(datafile_id: str) -> str:
    return f"{ICATPLUS}/ids/data/download?datafileIds={datafile_id}&inline=false"


def offline_note(status: str, name: str) -> str:
    if status == "RESTORING":
        return f"offline: being restored from tape at ESRF (dataset {name}); `doi2data get` waits for it"
    return (f"offline: archived on tape at ESRF (dataset {name}); `doi2data get` asks ESRF to restore it "
            "(--restore, on by default) and waits up to --restore-timeout")


def _doi(resolved: Resolved) -> str | None:
    if resolved.doi and _DOI.fullmatch(resolved.doi.strip()):
        return resolved.doi.strip()
    try:
        parts = urlsplit(resolved.landing_url or "")
    except ValueError:
        return None
    found = _DOI.search(parts.path) if (parts.hostname or "").lower() in LANDING_HOSTS else None
    return found.group(0) if found else None


class EsrfAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` (and restore hook) for ESRF's ICAT+ catalogue."""

    name = "esrf"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        doi = _doi(resolved)
        return RecordRef(self.name, ICATPLUS, doi.upper(), "ESRF") if doi else None

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        doi = ref.record_id
        session, datasets = await gather_all(self._session(http), self._datasets(http, doi))
        names = folder_names([d.name for d in datasets])
        files, status = await gather_all(self._all_datafiles(http, session, datasets),
                                         self._status(http, session, datasets, strict=False))
        entries: list[FileEntry] = []
        infos: list[DatasetInfo] = []
        for dataset, name, found in zip(datasets, names, files):
            state = status.get(dataset.id, "ONLINE")
            access: Access = "open" if state == "ONLINE" else "offline"
            why = None if state == "ONLINE" else offline_note(state, dataset.name)
            infos.append(replace(dataset.about, name=name) if dataset.about is not None else DatasetInfo(name))
            entries += [FileEntry(f"{name}/{relative_path(f, dataset)}", f.size, parse_prefixed_checksum(f.checksum),
                                  (download_url(f.id),), access=access, note=why, dataset=name) for f in found]
        warnings = [f"dataset {d.name} is {status[d.id].lower()} (on tape at ESRF)"
                    for d in datasets if status.get(d.id, "ONLINE") != "ONLINE"]
        if len(status) < len(datasets):
            warnings.append("ESRF did not say which datasets are online; archived ones will fail to download")
        about = Dataset(doi=resolved.doi or doi, repository="ESRF", publisher="European Synchrotron Radiation "
                        "Facility (ESRF)", landing_url=resolved.landing_url, record_id=doi)
        if resolved.metadata is not None:
            about = about.merged(resolved.metadata)
        return Manifest(about, tuple(entries), tuple(warnings), datasets=tuple(infos))

    async def prepare(self, manifest: Manifest, http: Http, *, restore: bool, timeout: float,
                      progress: Callable[[str], None] | None = None) -> Manifest:
        """Restore the archived datasets the selection needs, polling until ONLINE (or time out)."""
        offline = [f for f in manifest.files if f.access == "offline" and (f.url or "").startswith(ICATPLUS)]
        if not offline or not restore or not manifest.dataset.doi:
            return manifest
        say = progress or (lambda message: None)
        session, datasets = await gather_all(self._session(http), self._datasets(http, manifest.dataset.doi))
        wanted = [(d, n) for d, n in zip(datasets, folder_names([d.name for d in datasets]))
                  if any(f.path.startswith(n + "/") for f in offline)]
        ids = ",".join(d.id for d, _ in wanted)
        status = await self._status(http, session, [d for d, _ in wanted], strict=True)
        archived = [d.id for d, _ in wanted if status.get(d.id) == "ARCHIVED"]
        if archived:
            url = f"{ICATPLUS}/ids/{session}/datasets/restore?datasetIds={','.join(archived)}"
            response = await send_body(http, "POST", url, json_body={"name": "doi2data", "email": ""})
            raise_for_status(response, what="ESRF restore request")
            note(http, f"ESRF: restore requested for dataset(s) {','.join(archived)}")
        loop = asyncio.get_running_loop()
        start = loop.time()
        delay = float(os.environ.get("DOI2DATA_RESTORE_POLL") or 5.0)
        polls = 0
        while pending := [d for d, _ in wanted if status.get(d.id) != "ONLINE"]:
            elapsed = loop.time() - start
            say(f"ESRF: {len(wanted) - len(pending)}/{len(wanted)} dataset(s) online, restoring from tape "
                f"({elapsed:.0f} s elapsed, poll {polls}, timeout {timeout:g} s)")
            if elapsed >= timeout:
                raise RestoreTimeout(
                    f"ESRF is still restoring {len(pending)} dataset(s) from tape after {timeout:g} s "
                    "(--restore-timeout); the restore goes on at ESRF: run the same command again later",
                    identifier=manifest.dataset.doi)
            await asyncio.sleep(max(0.0, min(delay, timeout - elapsed)))
            delay, polls = min(POLL_CAP, delay * 1.6), polls + 1
            status = await self._status(http, session, [d for d, _ in wanted], strict=True)
        say(f"ESRF: {len(wanted)} dataset(s) online ({ids})")
        restored = {f.path for f in offline if any(f.path.startswith(n + "/") for _, n in wanted)}
        stale = tuple(f"dataset {d.name} is " for d, _ in wanted)  # the listing's "is archived" notes
        return replace(manifest, warnings=tuple(w for w in manifest.warnings if not w.startswith(stale)),
                       files=tuple(replace(f, access="open", note=None) if f.access == "offline" and f.path in restored
                                   else f for f in manifest.files))

    async def _session(self, http: Http) -> str:
        """An anonymous ICAT+ session: the documented reader account, else the portal's published credentials.

        Why this order: the reader account works today and costs one request; reading the portal's
        ``api.config.json`` first would put a second round trip before every listing. The portal
        configuration stays the authority when ESRF changes the anonymous account.
        """
        sid = await self._login(http, READER)
        if sid is not None:
            note(http, "ESRF: anonymous session with the documented reader account")
            return sid
        creds = parse_credentials(await probe_json(http, PORTAL_CONFIG))
        if creds is not None and creds != READER:
            sid = await self._login(http, creds)
            if sid is not None:
                note(http, "ESRF: the reader account was refused; anonymous credentials from the data portal's "
                           "api.config.json")
                return sid
        why = "its credentials were refused too" if creds else "the portal publishes no anonymous credentials"
        raise AccessDenied(f"ESRF refused an anonymous ICAT+ session (the reader account; {why})",
                           url=f"{ICATPLUS}/session")

    async def _login(self, http: Http, creds: Mapping[str, str]) -> str | None:
        """``POST /session``: the session id, or ``None`` when ICAT+ refuses these credentials."""
        response = await send_body(http, "POST", f"{ICATPLUS}/session", json_body=dict(creds))
        doc = json_or_none(response)
        if isinstance(doc, Mapping) and _str(doc.get("sessionId")):
            return str(doc["sessionId"])
        if response.status_code not in (400, 401, 403):
            raise_for_status(response, what="ESRF session")
        return None

    async def _datasets(self, http: Http, doi: str) -> list[EsrfDataset]:
        found: list[EsrfDataset] = []
        while True:
            page = await http.get_json(f"{ICATPLUS}/doi/{doi}/datasets", what=f"ESRF datasets of {doi}",
                                       params={"limit": str(DATASET_PAGE), "skip": str(len(found))})
            batch = parse_datasets(page)
            found += batch
            if len(batch) < DATASET_PAGE:
                break
        if not found:
            raise RecordNotFound(f"ESRF has no datasets for {doi}", identifier=doi)
        note(http, f"ESRF: {len(found)} dataset(s) for {doi}")
        return found

    async def _all_datafiles(self, http: Http, session: str, datasets: list[EsrfDataset]) -> list[list[EsrfFile]]:
        """Every dataset's files; the first alone while this host's datafile route is still unknown."""
        if not datasets:
            return []
        first = [] if ICATPLUS in _ROUTES.get(http, {}) else [await self._datafiles(http, session, datasets[0])]
        rest = await gather_limited((self._datafiles(http, session, d) for d in datasets[len(first):]), 4)
        return first + rest

    async def _datafiles(self, http: Http, session: str, dataset: EsrfDataset) -> list[EsrfFile]:
        routes = _ROUTES.setdefault(http, {})
        if routes.get(ICATPLUS) == BY_DATASET:
            return await self._datafiles_by_dataset(http, session, dataset)
        found: list[EsrfFile] = []
        url = f"{ICATPLUS}/catalogue/{session}/datafile"
        while True:
            response = await http.request("GET", url, params={"datasetId": dataset.id, "limit": str(DATAFILE_PAGE),
                                                              "skip": str(len(found))})
            if response.status_code == 404 and ICATPLUS not in routes:
                routes[ICATPLUS] = BY_DATASET
                note(http, "ESRF: this ICAT+ has no paginated datafile route (404); using the older "
                           "/catalogue/<session>/dataset/id/<id>/datafile")
                return await self._datafiles_by_dataset(http, session, dataset)
            raise_for_status(response, what=f"ESRF files of {dataset.name}")
            routes[ICATPLUS] = PAGED
            batch = parse_datafiles(_json(response, url))
            found += batch
            # the server may cap ``limit``: the dataset's __fileCount, when known, says when we have all
            known = dataset.file_count
            complete = len(found) >= known if known is not None else len(batch) < DATAFILE_PAGE
            if not batch or complete:
                return found

    async def _datafiles_by_dataset(self, http: Http, session: str, dataset: EsrfDataset) -> list[EsrfFile]:
        """The older ICAT+ route: every file of one dataset in one unpaginated answer."""
        url = f"{ICATPLUS}/catalogue/{session}/dataset/id/{dataset.id}/datafile"
        response = await http.request("GET", url)
        if response.status_code == 404:
            raise RepositoryError(f"ICAT+ at {ICATPLUS} serves neither datafile route (paginated "
                                  "/catalogue/<session>/datafile nor /dataset/id/<id>/datafile)", url=url)
        raise_for_status(response, what=f"ESRF files of {dataset.name}")
        return parse_datafiles(_json(response, url))

    async def _status(self, http: Http, session: str, datasets: list[EsrfDataset], *, strict: bool) -> dict[str, str]:
        if not datasets:
            return {}
        url = f"{ICATPLUS}/ids/{session}/datasets/status"
        try:
            doc = await http.get_json(url, params={"datasetIds": ",".join(d.id for d in datasets)},
                                      what="ESRF dataset status")
        except RepositoryError:
            if strict:
                raise
            return {}
        if not isinstance(doc, list) or len(doc) != len(datasets):
            if strict:
                raise RepositoryError("ESRF status answer does not match the datasets asked for", url=url)
            return {}
        return {d.id: str(s).strip().upper() for d, s in zip(datasets, doc)}


ADAPTER = EsrfAdapter()

__all__ = ["ADAPTER", "EsrfAdapter", "EsrfDataset", "EsrfFile", "dataset_info", "download_url", "offline_note", "parse_credentials",
           "parse_datafiles", "parse_datasets", "relative_path"]
