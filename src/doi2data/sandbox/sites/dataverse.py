"""Dataverse installations (native API): dataverse.harvard.edu and data.unknown-institute.example.

Mirrors the recordings in ``shared/fixtures/recorded/dataverse`` (recorded-fixtures §5):
``/api/datasets/:persistentId/?persistentId=doi:…`` as ``{"status":"OK","data":{…,"latestVersion":
{…,"files":[{label, restricted, directoryLabel?, dataFile:{id, persistentId, pidURL, filename,
contentType, filesize, md5?, checksum{type,value}, original*…}}]}}}`` (RLMYMR/Q5PV4U 2022; the 6.x
shape of the CTQ20N export adds ``datasetType``/``tabularData``/``publicationDate``), ``…/versions/<v>``,
``/api/datasets/<id>``, ``/api/files/:persistentId``, ``/api/info/version`` and errors as
``{"status":"ERROR","message":…}``. ``/api/access/datafile/<id>`` reproduces the ingest trap (a plain
download is a TSV with a header row, neither ``filesize`` nor the md5; only ``?format=original`` is the
upload) and, on Harvard, answers 303 to a presigned ``dvn-cloud`` S3 URL on another host (recorded
2021/2022); the unknown installation serves bytes itself (Harvard 2018). Restricted files are 403
without ``X-Dataverse-key`` (or ``?key=``). ``/citation?persistentId=`` 302s to ``dataset.xhtml``
(or ``file.xhtml`` for a file PID) as recorded for RLMYMR.

Versions: ``…/versions/<v>`` takes the native API's specifiers (``N.M``, ``N`` = the latest ``N.x``,
``:latest-published``, ``:latest``, ``:draft``); an unknown one is the recorded 404 ``Dataset version
1.1 of dataset 23 not found``. ``…/versions`` lists them newest first and honours ``excludeFiles`` /
``excludeMetadataBlocks`` (the Dataverse 6 shape of ``v6-datasets-78-versions-excludeFiles.json``).
Harvard's dataset also has an unpublished :data:`DRAFTS` version (``versionState: DRAFT``, no
numbers, one more file): only a valid ``X-Dataverse-key`` sees it (as ``latestVersion``, in ``:draft``,
``:latest`` and the version list, its new file at ``/api/access/datafile``); a guest asking for ``:draft`` gets 401
``User :guest is not permitted to perform requested action.``

Guestbooks (Dataverse 6.10+, checked 2026-12-06; sources in :mod:`doi2data.adapters.dataverse_guestbook`):
Harvard plays a 6.10 installation, the unknown institute an older one (6.1). On Harvard,
:data:`GUESTBOOK_DATASET` has :data:`GUESTBOOK` (required name and e-mail, two required custom questions,
an optional one, a hidden one): its version JSON carries ``guestbookId``; ``GET /api/guestbooks/<id>``
describes it; a plain ``GET /api/access/datafile/<id>`` is 400 ``You may not download this file without
the required Guestbook response for guestbookID <id>.``; ``POST /api/access/datafile/<id>?signed=true``
with ``Content-Type: application/json`` and ``{"guestbookResponse": {…}}`` records one response
(:data:`RESPONSES`) and answers ``{"data": {"signedUrl": …/api/v1/access/datafile/<id>?gbrecs=true
[&format=original]&gbrids=<n>&until=…&user=guest&method=GET&token=<sha512>}}``, good for
:data:`SIGNED_URL_SECONDS`; a missing required answer is 400 ``… Guestbook Response entry is required but
not present (Name,Email).``, a bad or expired signed URL 401 ``Bad signed URL``. The unknown institute's
dataset has a guestbook too (:data:`OLD_GUESTBOOKS`), which 6.1 neither shows nor asks for; POST there is 405.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.common import hexid, http_stamp
from ..data.dataverse import (DATAVERSE_DATASETS, DATAVERSE_TOKEN, DVN_STORAGE, HARVARD, HARVARD_DATASET,
                              UNKNOWN_DV_DATASET, DvDataset, DvFile, DvVersion)
from ..world import FileSpec, World
from .common import EntityResponse, html_response, json_response, redirect
from .storage import SignedStorage, StoredObject, file_entity

VERSIONS = {"dataverse.harvard.edu": ("6.10", "1712-4e0c2a9"),  # asks for guestbook responses (6.10+)
            "data.unknown-institute.example": ("6.1", "1193-1a9a3b4")}
NOT_AUTHORIZED = ("Not authorized to access this object via this API endpoint. Please check your code for typos, "
                  "or consult our API guide at http://guides.dataverse.org.")
_LICENSE_URIS = {"CC0 1.0": "http://creativecommons.org/publicdomain/zero/1.0",
                 "CC BY 4.0": "http://creativecommons.org/licenses/by/4.0"}
GUEST_REFUSED = "User :guest is not permitted to perform requested action."
#: Unpublished draft versions by dataset DOI (``number``/``minor`` unused: a draft has none).
DRAFTS: dict[str, DvVersion] = {HARVARD_DATASET.doi: DvVersion(0, 0, "2024-09-30", (
    *HARVARD_DATASET.latest.files,
    DvFile(9000131, FileSpec("notes/draft_changes.txt", mimetype="text/plain", seed="dv:sbx0a1:draft",
                             data=b"Draft: respondents re-weighted; not yet published.\n"),
           "", description="Draft notes"),
), id=700199)}
@dataclass(frozen=True)
class GbQuestion:
    id: int
    text: str
    required: bool
    kind: str = "text"                  # text | textarea | options
    options: tuple[str, ...] = ()
    hidden: bool = False


@dataclass(frozen=True)
class DvGuestbook:
    id: int
    name: str
    questions: tuple[GbQuestion, ...] = ()
    name_required: bool = True
    email_required: bool = True
    institution_required: bool = False
    position_required: bool = False
    enabled: bool = True


GUESTBOOK = DvGuestbook(61, "Data use survey", (
    GbQuestion(123, "What will you use the data for?", True, "textarea"),
    GbQuestion(124, "Sector", True, "options", ("Academia", "Government", "Industry")),
    GbQuestion(125, "May we contact you about updates?", False, "options", ("Yes", "No")),
    GbQuestion(126, "Internal routing code", False, hidden=True)))
GUESTBOOK_DATASET = DvDataset(
    HARVARD, "10.7910/DVN/GB7Q2X", 9000301, "Sandbox coastal survey with a guestbook (Dataverse)",
    HARVARD_DATASET.creators, "Harvard Dataverse", landing="dataset.xhtml", shape="6",
    versions=(DvVersion(1, 0, "2025-11-03", (
        DvFile(9000310, FileSpec("README.txt", mimetype="text/plain", seed="dv:gb:readme",
                                 data=b"Coastal survey 2025. Downloads ask for a guestbook response.\n")),
        DvFile(9000311, FileSpec("data/soundings.bin", 3_000_017, "application/octet-stream", seed="dv:gb:big"),
               "10.7910/DVN/GB7Q2X/SND4QZ"),
        DvFile(9000312, FileSpec("data/stations.csv", mimetype="text/csv", seed="dv:gb:stations",
                                 data=b"station,lat,lon\nst01,41.5,-70.6\nst02,41.7,-70.2\n"), tabular=True),
    ), id=700301),))
#: Datasets only this emulator serves (their DOIs are not registered: use the landing URL).
EXTRA_DATASETS = (GUESTBOOK_DATASET,)
#: Guestbooks by dataset DOI on installations that ask for them (6.10+) ...
GUESTBOOKS: dict[str, DvGuestbook] = {GUESTBOOK_DATASET.doi: GUESTBOOK}
#: ... and on an older one (6.1), which neither shows nor asks for them.
OLD_GUESTBOOKS: dict[str, DvGuestbook] = {UNKNOWN_DV_DATASET.doi: DvGuestbook(7, "Visitor log")}
SIGNED_URL_SECONDS = 60.0  # IQSS/dataverse#12341
_SIGNING_SECRET = b"sandbox-dataverse-signing-key"


@dataclass(frozen=True)
class GbResponse:
    id: int
    host: str
    guestbook: int
    file_id: int
    body: dict[str, Any]
    created: float


#: Every guestbook response recorded (tests count them); appended from the sandbox's loop thread.
RESPONSES: list[GbResponse] = []
_RESPONSE_IDS = itertools.count(101)
_RESPONSES_LOCK = threading.Lock()


def asks_for_guestbooks(host: str) -> bool:
    major, _, minor = VERSIONS.get(host, ("6.0", ""))[0].partition(".")
    return (int(major), int(minor or 0)) >= (6, 10)


def guestbook_of(ds: DvDataset) -> DvGuestbook | None:
    """The guestbook this installation enforces for ``ds`` (``None`` before 6.10 or without one)."""
    gb = GUESTBOOKS.get(ds.doi)
    return gb if gb is not None and gb.enabled and asks_for_guestbooks(ds.host) else None


def guestbook_json(gb: DvGuestbook, dataverse_id: int = 1) -> dict[str, Any]:
    """``GET /api/guestbooks/<id>`` (fields as IQSS/dataverse-client-javascript ``Guestbook.ts`` reads them)."""
    return {"id": gb.id, "name": gb.name, "enabled": gb.enabled, "emailRequired": gb.email_required,
            "nameRequired": gb.name_required, "institutionRequired": gb.institution_required,
            "positionRequired": gb.position_required, "createTime": "2025-10-01T09:00:00Z",
            "dataverseId": dataverse_id,
            "customQuestions": [{"id": q.id, "question": q.text, "required": q.required, "displayOrder": n,
                                 "type": q.kind, "hidden": q.hidden,
                                 **({"optionValues": [{"value": o, "displayOrder": i} for i, o in enumerate(q.options)]}
                                    if q.options else {})} for n, q in enumerate(gb.questions)]}


def _sign(text: str) -> str:
    return hashlib.sha512(_SIGNING_SECRET + text.encode()).hexdigest()


def signed_url(host: str, file_id: int, response_id: int, original: bool, now: datetime | None = None) -> str:
    until = ((now or datetime.now(timezone.utc)).replace(tzinfo=None)
             + timedelta(seconds=SIGNED_URL_SECONDS)).isoformat(timespec="milliseconds")
    path = f"/api/v1/access/datafile/{file_id}?gbrecs=true" + ("&format=original" if original else "")
    unsigned = f"{path}&gbrids={response_id}&until={until}&user=guest&method=GET"
    return f"https://{host}{unsigned}&token={_sign(unsigned)}"


def check_signed(path: str, query: str, file_id: int, gb: DvGuestbook) -> bool:
    """A signed URL as :func:`signed_url` makes it: untampered, not expired, naming a recent response
    of ``gb`` for this very file."""
    unsigned, sep, token = query.rpartition("&token=")
    if not sep or _sign(f"{path}?{unsigned}") != token:
        return False
    q = {k: v[0] for k, v in parse_qs(unsigned).items()}
    try:
        until = datetime.fromisoformat(q.get("until", ""))
        rid = int(q.get("gbrids", ""))
    except ValueError:
        return False
    if until < datetime.now(timezone.utc).replace(tzinfo=None):
        return False
    with _RESPONSES_LOCK:
        found = [r for r in RESPONSES if r.id == rid]
    return bool(found) and found[0].guestbook == gb.id and found[0].file_id == file_id and \
        time.time() - found[0].created <= SIGNED_URL_SECONDS


def missing_answers(gb: DvGuestbook, response: Any) -> list[str] | str:
    """What a ``guestbookResponse`` lacks (Dataverse's labels), or why it is malformed."""
    if not isinstance(response, dict):
        return "guestbookResponse is not a JSON object"
    missing = [label for label, needed, key in (("Name", gb.name_required, "name"),
                                                ("Email", gb.email_required, "email"),
                                                ("Institution", gb.institution_required, "institution"),
                                                ("Position", gb.position_required, "position"))
               if needed and not (isinstance(response.get(key), str) and response[key].strip())]
    answers = response.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
        return "answers is not a list of objects"
    given = {a.get("id"): a.get("value") for a in answers}
    for q in gb.questions:
        value = given.get(q.id)
        if q.options and value is not None and value not in q.options:
            return f"'{value}' is not an option of question {q.id}"
        if q.required and not q.hidden and not (isinstance(value, (str, list)) and value):
            missing.append(q.text)
    return missing


_FORMAT_LABELS = {"text/csv": "Comma Separated Values",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "MS Excel Spreadsheet"}


def _error(status: int, message: str) -> Response:
    return json_response({"status": "ERROR", "message": message}, status)


def _ok(data: Any) -> Response:
    return json_response({"status": "OK", "data": data})


def _storage_id(ds: DvDataset, f: DvFile) -> str:
    return hexid("dv-storage", ds.doi, f.id, length=12)


def file_json(world: World, ds: DvDataset, ver: DvVersion, f: DvFile) -> dict[str, Any]:
    """One ``files[]`` item (also the ``data`` of ``/api/files/…``)."""
    tab = f.stored_tab() if f.tabular else None
    df: dict[str, Any] = {"id": f.id, "persistentId": f"doi:{f.pid}" if f.pid else ""}
    if f.pid:
        df["pidURL"] = f"https://doi.org/{f.pid}"
    df.update(filename=f.label, contentType="text/tab-separated-values" if tab else f.spec.mimetype,
              filesize=len(tab) if tab is not None else f.spec.size)
    if f.description:
        df["description"] = f.description
    df["storageIdentifier"] = f"s3://dvn-cloud:{_storage_id(ds, f)}" if ds.redirect else f"file://{_storage_id(ds, f)}"
    if tab is not None:
        df.update(originalFileFormat=f.spec.mimetype, originalFormatLabel=_FORMAT_LABELS.get(f.spec.mimetype, "Data"),
                  originalFileSize=f.spec.size, originalFileName=f.name, UNF=f"UNF:6:{hexid('unf', f.id, length=22)}==")
    df["rootDataFileId"] = -1
    algorithm = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}[f.checksum]
    value = world.digest(f.spec, algorithm)
    if f.checksum == "MD5":
        df["md5"] = value
    df["checksum"] = {"type": f.checksum, "value": value}
    df["creationDate"] = ds.versions[0].released if f in ds.versions[0].files else ver.released
    if ds.shape == "6":
        df.update(tabularData=f.tabular, publicationDate=df["creationDate"], fileAccessRequest=f.restricted)
    item: dict[str, Any] = {"label": f.label, "restricted": f.restricted}
    if f.directory:
        item["directoryLabel"] = f.directory
    if f.description:
        item["description"] = f.description
    item.update(version=1, datasetVersionId=ver.id, dataFile=df)
    return item


def _field(name: str, value: Any, kind: str = "primitive", multiple: bool = False) -> dict[str, Any]:
    return {"typeName": name, "multiple": multiple, "typeClass": kind, "value": value}


def version_json(world: World, ds: DvDataset, ver: DvVersion, *, files: bool = True,
                 blocks: bool = True) -> dict[str, Any]:
    authors = [{"authorName": _field("authorName", c.name), "authorAffiliation": _field("authorAffiliation",
                                                                                           c.affiliation)}
               for c in ds.creators]
    fields = [_field("title", ds.title), _field("author", authors, "compound", True),
              _field("dsDescription", [{"dsDescriptionValue": _field("dsDescriptionValue", f"{ds.title}.")}],
                     "compound", True),
              _field("subject", ["Social Sciences"], "controlledVocabulary", True)]
    stamp = f"{ver.released}T16:04:00Z"
    doc: dict[str, Any] = {
        "id": ver.id, "datasetId": ds.id, "datasetPersistentId": f"doi:{ds.doi}",
        "storageIdentifier": f"s3://{ds.doi}" if ds.redirect else f"file://{ds.doi}",
        "versionNumber": ver.number, "versionMinorNumber": ver.minor, "versionState": "RELEASED",
        "lastUpdateTime": stamp, "releaseTime": stamp, "createTime": f"{ver.released}T16:00:10Z",
        "license": {"name": ds.license, "uri": _LICENSE_URIS.get(ds.license, "")},
        "fileAccessRequest": any(f.restricted for f in ver.files),
        "metadataBlocks": {"citation": {"displayName": "Citation Metadata", "name": "citation", "fields": fields}},
        "files": [file_json(world, ds, ver, f) for f in ver.files],
    }
    if DRAFTS.get(ds.doi) is ver:  # a draft has no numbers and no release time
        for key in ("versionNumber", "versionMinorNumber", "releaseTime"):
            doc.pop(key)
        doc["versionState"] = "DRAFT"
    if not blocks:
        doc.pop("metadataBlocks")
    if not files:
        doc.pop("files")
    if ds.shape == "6":
        doc["latestVersionPublishingState"] = "RELEASED"
    if (gb := guestbook_of(ds)) is not None:  # 6.10+ prints the dataset's guestbook
        doc["guestbookId"] = gb.id
    return doc


def dataset_json(world: World, ds: DvDataset, ver: DvVersion) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": ds.id, "identifier": ds.identifier, "persistentUrl": f"https://doi.org/{ds.doi}",
                           "protocol": "doi", "authority": ds.authority}
    if ds.shape == "6":
        doc.update(separator="/", datasetType="dataset")
    latest = version_json(world, ds, ver)
    doc.update(publisher=ds.publisher, publicationDate=ds.versions[0].released,
               storageIdentifier=latest["storageIdentifier"], metadataLanguage="undefined", latestVersion=latest)
    return doc


def _pick_version(ds: DvDataset, wanted: str, authorized: bool = False) -> DvVersion | None:
    draft = DRAFTS.get(ds.doi) if authorized else None
    if wanted == ":draft":
        return draft
    if wanted == ":latest":
        return draft or ds.latest
    if wanted == ":latest-published":
        return ds.latest
    major, _, minor = wanted.partition(".")
    found = [v for v in ds.versions if str(v.number) == major and (not minor or str(v.minor) == minor)]
    return found[-1] if found else None


def _all_files(ds: DvDataset) -> dict[int, DvFile]:
    """Every file of every version, the draft's included."""
    draft = DRAFTS.get(ds.doi)
    return {**ds.files(), **({f.id: f for f in draft.files} if draft else {})}


def make_app(world: World, host: str, storage: SignedStorage | None) -> Router:
    """One installation: the datasets in :data:`DATAVERSE_DATASETS` whose ``host`` is ``host``."""
    datasets = [d for d in (*DATAVERSE_DATASETS, *EXTRA_DATASETS) if d.host == host]
    by_pid = {f"doi:{d.doi}".lower(): d for d in datasets}
    by_id = {str(d.id): d for d in datasets}
    files = {str(f.id): (d, f) for d in datasets for f in _all_files(d).values()}
    file_pids = {f"doi:{f.pid}".lower(): (d, f) for d, f in files.values() if f.pid}

    def latest_with(ds: DvDataset, f: DvFile) -> DvVersion:
        """The newest version holding ``f`` (the draft for a file only the draft has)."""
        return next((v for v in reversed(ds.versions) if f in v.files), DRAFTS.get(ds.doi, ds.latest))

    def draft_only(ds: DvDataset, f: DvFile) -> bool:
        return not any(f in v.files for v in ds.versions)

    def key_of(request: Request) -> str | None:
        return request.headers.get("x-dataverse-key") or request.query_params.get("key")

    def dataset_doc(request: Request, ds: DvDataset | None, pid: str, rest: list[str]) -> Response:
        if ds is None:
            return _error(404, f"Dataset with Persistent ID {pid} not found.")
        key = key_of(request)
        if key is not None and key != DATAVERSE_TOKEN:
            return _error(401, f"Bad api key '{key}'")
        authorized = key == DATAVERSE_TOKEN
        if not rest:  # latestVersion: the draft for those who may see it, as Dataverse does
            return _ok(dataset_json(world, ds, DRAFTS.get(ds.doi, ds.latest) if authorized else ds.latest))
        if rest == ["versions"]:
            q = request.query_params
            draft = [DRAFTS[ds.doi]] if authorized and ds.doi in DRAFTS else []
            return _ok([version_json(world, ds, v, files=q.get("excludeFiles") != "true",
                                     blocks=q.get("excludeMetadataBlocks") != "true")
                        for v in (*draft, *reversed(ds.versions))])
        if len(rest) == 2 and rest[0] == "versions":
            if rest[1] == ":draft" and not authorized:
                return _error(401, GUEST_REFUSED)
            ver = _pick_version(ds, rest[1], authorized)
            if ver is None:
                return _error(404, f"Dataset version {rest[1]} of dataset {ds.id} not found")
            q = request.query_params
            return _ok(version_json(world, ds, ver, files=q.get("excludeFiles") != "true",
                                    blocks=q.get("excludeMetadataBlocks") != "true"))
        return _error(404, "API endpoint does not exist on this server.")

    def datafile(request: Request, found: tuple[DvDataset, DvFile] | None, ident: str) -> Any:
        if found is None:
            return json_response({"status": "ERROR", "code": 404, "message": f"Datafile {ident}: not found"}, 404)
        ds, f = found
        key = request.headers.get("x-dataverse-key") or request.query_params.get("key")
        if key is not None and key != DATAVERSE_TOKEN:
            return _error(401, f"Bad api key '{key}'")
        if (f.restricted or draft_only(ds, f)) and key != DATAVERSE_TOKEN:
            return json_response({"status": "ERROR", "code": 403, "message": NOT_AUTHORIZED}, 403)
        if (gb := guestbook_of(ds)) is not None:
            query = request.url.query
            if "token=" not in query and "gbrids=" not in query:
                return _error(400, f"You may not download this file without the required Guestbook response for "
                                   f"guestbookID {gb.id}.")
            if not check_signed(request.url.path, query, f.id, gb):
                return _error(401, "Bad signed URL")
        original = not f.tabular or request.query_params.get("format") == "original"
        spec = f.spec if original else f.derived()
        name = f.name if original else f.label
        if storage is not None:
            return redirect(storage.presign(f"{ds.doi}/{_storage_id(ds, f)}" + (".orig" if f.tabular and original
                                                                                 else "")), 303)
        media = spec.mimetype if original else f'text/tab-separated-values; name="{name}";charset=UTF-8'
        modified = http_stamp(latest_with(ds, f).released)
        return EntityResponse(file_entity(world, spec, modified, request.scope, filename=name, content_type=media))

    async def guestbook_response(request: Request, found: tuple[DvDataset, DvFile] | None, ident: str) -> Response:
        """``POST /api/access/datafile/<id>?signed=true``: record one response, answer a signed URL."""
        if not asks_for_guestbooks(host):
            return json_response({"status": "ERROR", "code": 405, "message": "HTTP 405 Method Not Allowed"}, 405)
        if found is None:
            return json_response({"status": "ERROR", "code": 404, "message": f"Datafile {ident}: not found"}, 404)
        ds, f = found
        gb = guestbook_of(ds)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return _error(415, "Content-Type must be application/json")
        raw = await request.body()
        try:
            doc = json.loads(raw) if len(raw) <= 65536 else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or request.query_params.get("signed") != "true":
            return _error(400, "Problem trying download with guestbook response: expected signed=true and a JSON "
                               "body {\"guestbookResponse\": {...}}")
        body = doc.get("guestbookResponse")
        if gb is not None:
            missing = missing_answers(gb, body)
            if isinstance(missing, str) or missing:
                what = missing if isinstance(missing, str) else \
                    f"Guestbook Response entry is required but not present ({','.join(missing)})."
                return _error(400, f"Problem trying download with guestbook response on {f.label} : {what}")
        with _RESPONSES_LOCK:
            rid = next(_RESPONSE_IDS)
            RESPONSES.append(GbResponse(rid, host, gb.id if gb else 0, f.id, body if isinstance(body, dict) else {},
                                        time.time()))
        original = f.tabular and request.query_params.get("format") == "original"
        return _ok({"signedUrl": signed_url(host, f.id, rid, original)})

    async def api(request: Request) -> Any:
        segs = [s for s in request.path_params["rest"].split("/") if s]
        segs = segs[1:] if segs[:1] == ["v1"] else segs
        pid = request.query_params.get("persistentId", "").strip()
        if request.method == "POST":
            if segs[:2] == ["access", "datafile"] and len(segs) == 3:
                found = file_pids.get(pid.lower()) if segs[2] == ":persistentId" else files.get(segs[2])
                return await guestbook_response(request, found, pid or segs[2])
            return json_response({"status": "ERROR", "code": 405, "message": "HTTP 405 Method Not Allowed"}, 405)
        if segs[:1] == ["guestbooks"] and len(segs) == 2 and asks_for_guestbooks(host):
            gb = next((g for g in GUESTBOOKS.values() if str(g.id) == segs[1]), None)
            return _ok(guestbook_json(gb)) if gb else _error(404, f"Guestbook with id {segs[1]} not found.")

        if segs == ["info", "version"]:
            version, build = VERSIONS.get(host, ("6.0", "1"))
            return _ok({"version": version, "build": build})
        if segs[:2] == ["datasets", ":persistentId"]:
            return dataset_doc(request, by_pid.get(pid.lower()), pid, segs[2:])
        if segs[:1] == ["datasets"] and len(segs) >= 2:
            return dataset_doc(request, by_id.get(segs[1]), segs[1], segs[2:])
        if segs[:1] == ["files"] and len(segs) == 2:
            found = file_pids.get(pid.lower()) if segs[1] == ":persistentId" else files.get(segs[1])
            if found is None or (draft_only(*found) and key_of(request) != DATAVERSE_TOKEN):
                return _error(404, f"Datafile with ID {pid or segs[1]} not found.")
            return _ok(file_json(world, found[0], latest_with(*found), found[1]))
        if segs[:2] == ["access", "datafile"] and len(segs) == 3:
            found = file_pids.get(pid.lower()) if segs[2] == ":persistentId" else files.get(segs[2])
            return datafile(request, found, pid or segs[2])
        return json_response({"status": "ERROR", "code": 404,
                              "message": "API endpoint does not exist on this server. Please check your code for "
                                         "typos, or consult our API guide at http://guides.dataverse.org."}, 404)

    def page(title: str, body: str, status: int = 200) -> Response:
        return html_response(f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}"
                             f"</title></head><body>{body}</body></html>", status)

    async def citation(request: Request) -> Response:
        pid = request.query_params.get("persistentId", "")
        target = "dataset.xhtml" if pid.lower() in by_pid else "file.xhtml" if pid.lower() in file_pids else None
        if target is None:
            return page("Page Not Found - Dataverse", "<h1>Page Not Found</h1>", 404)
        return redirect(f"https://{host}/{target}?persistentId={pid}", 302)

    async def dataset_page(request: Request) -> Response:
        pid = request.query_params.get("persistentId", "")
        ds = by_pid.get(pid.lower())
        if ds is None:
            return page("Page Not Found - Dataverse", "<h1>Page Not Found</h1>", 404)
        ver = _pick_version(ds, request.query_params.get("version", ":latest")) or ds.latest
        items = "".join(f"<li>{escape(f.spec.key)}</li>" for f in ver.files)
        return page(f"{ds.title} - {ds.publisher}", f"<h1>{escape(ds.title)}</h1><p>Version {ver.label}</p>"
                                                     f"<p>doi:{ds.doi}</p><ul>{items}</ul>")

    async def file_page(request: Request) -> Response:
        found = file_pids.get(request.query_params.get("persistentId", "").lower())
        if found is None:
            return page("Page Not Found - Dataverse", "<h1>Page Not Found</h1>", 404)
        return page(f"{found[1].label} - {found[0].publisher}", f"<h1>{escape(found[1].label)}</h1>")

    async def home(request: Request) -> Response:
        return page("Dataverse", f"<h1>{escape(host)}</h1>")

    return Router(routes=[Route("/", home, methods=["GET"]), Route("/api/{rest:path}", api, methods=["GET", "POST"]),
                          Route("/citation", citation, methods=["GET"]),
                          Route("/dataset.xhtml", dataset_page, methods=["GET"]),
                          Route("/file.xhtml", file_page, methods=["GET"])])


def make_sites(world: World) -> dict[str, Any]:
    """Both installations and Harvard's storage host."""
    storage = SignedStorage(world, DVN_STORAGE)
    sites: dict[str, Any] = {DVN_STORAGE: storage.app()}
    for ds in (*DATAVERSE_DATASETS, *EXTRA_DATASETS):
        if ds.redirect:
            for f in _all_files(ds).values():
                stamp = http_stamp(ds.versions[0].released)
                base = f"{ds.doi}/{_storage_id(ds, f)}"
                storage.put(base + (".orig" if f.tabular else ""), StoredObject(f.spec, stamp, f.name))
                if f.tabular:
                    storage.put(base, StoredObject(f.derived(), stamp, f.label))
    for host in sorted({d.host for d in DATAVERSE_DATASETS}):
        sites[host] = make_app(world, host, storage if any(d.redirect for d in DATAVERSE_DATASETS
                                                           if d.host == host) else None)
    return sites


HOSTS = tuple(sorted({d.host for d in DATAVERSE_DATASETS}))

__all__ = ["DRAFTS", "EXTRA_DATASETS", "GUESTBOOK", "GUESTBOOKS", "GUESTBOOK_DATASET", "GUEST_REFUSED", "HOSTS",
           "OLD_GUESTBOOKS", "RESPONSES", "SIGNED_URL_SECONDS", "DvGuestbook", "GbQuestion", "GbResponse",
           "asks_for_guestbooks", "check_signed", "dataset_json", "file_json", "guestbook_json", "guestbook_of",
           "make_app", "make_sites", "missing_answers", "signed_url", "version_json"]
