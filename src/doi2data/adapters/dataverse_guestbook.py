"""Dataverse guestbooks: the response Dataverse 6.10+ requires before a file download, and its signed URL.

What the service does (checked 2026-12-06):

* IQSS/dataverse#12110 (merged 2026-03, in 6.10) made ``GET /api/access/datafile/<id>`` (and the
  dataset/zip forms) require a guestbook response when the dataset has an enabled guestbook: without
  one the answer is ``400 {"status":"ERROR","message":"You may not download this file without the
  required Guestbook response for guestbookID <n>."}`` (text as quoted in IQSS/dataverse#12535, 6.11).
  Guestbooks "at request access" are exempt at download (IQSS/dataverse#12474).
* The documented way (guides.dataverse.org/en/6.10.1 ``api/dataaccess.rst``, "Basic File Access"):
  read the dataset's ``guestbookId`` (in the dataset version JSON; the JS client maps
  ``versionPayload.guestbookId``), ``GET /api/guestbooks/<id>`` for its required fields
  (``nameRequired``, ``emailRequired``, ``institutionRequired``, ``positionRequired``) and
  ``customQuestions[{id, question, required, type: text|textarea|options, hidden, optionValues}]``
  (IQSS/dataverse-client-javascript ``Guestbook.ts``), then ``POST /api/access/datafile/<id>?signed=true``
  with ``Content-Type: application/json`` (IQSS/dataverse#12337) and
  ``{"guestbookResponse": {name, email, institution, position, answers: [{id, value}]}}``. The answer
  is ``{"data": {"signedUrl": …}}`` (``AccessRepository.ts``): ``/api/v1/access/datafile/<id>?gbrecs=true
  [&format=original]&gbrids=<response id>&until=…&user=…&method=GET&token=…`` (IQSS/dataverse#12277).
  A missing required field is ``400 … Guestbook Response entry is required but not present (Name,Email).``
* The signed URL lives about one minute (IQSS/dataverse#12341: "60+ sec: signed url expires"), and
  the numeric file id is used, not ``:persistentId`` (anonymous ``:persistentId`` signed URLs failed
  with 401 "Bad signed URL", IQSS/dataverse#12245).

So each file costs one response, submitted just before its download (:class:`GuestbookSigner`, the
run's :class:`~doi2data.transfer.signing.UrlSigner`): at most one per file per run. The engine fetches
such a file in one request; a retry within the URL's minute reuses it; past it, the file is left for the
next run to resume (one new response then). Older installations print no ``guestbookId``: nothing is
submitted and downloads go as before. Answers come from ``--guestbook KEY=VALUE[,KEY=VALUE]`` or
``--guestbook @FILE`` (JSON object or ``KEY=VALUE`` lines): ``name``, ``email``, ``institution``,
``position``, and per question ``q1``… (display order), ``id:<id>`` or the question's text.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from ..errors import AccessDenied, Doi2DataError, TransferError, UsageError
from ..http import Http
from ..model import FileEntry, Manifest
from ._json import mapping as _map
from ._json import text as _str

SIGNED_URL_LIFETIME = 60.0  # seconds a signed URL works (IQSS/dataverse#12341)
FRESH_MARGIN = 10.0  # a signed URL older than LIFETIME - MARGIN is not sent again
STANDARD_FIELDS = ("name", "email", "institution", "position")
MAX_ANSWERS = 64
MAX_KEY, MAX_VALUE = 500, 4000
ANSWERS_FILE_LIMIT = 64 * 1024
RESPONSE_LIMIT = 64 * 1024  # the POST's JSON answer
SIGN_TIMEOUT = 300.0  # at most this long for one response (the HTTP timeouts are shorter)


class GuestbookRequired(AccessDenied):
    """The dataset's guestbook asks for answers the user did not give (exit 7); ``details`` holds
    one line per field or question still to answer."""

    def __init__(self, message: str, details: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.details = tuple(details)


def _clean(text: str | None, limit: int = 200) -> str:
    """Server text for a terminal: printable, one line, bounded."""
    return " ".join("".join(c for c in (text or "")[:limit] if c.isprintable()).split())


def _norm(key: str) -> str:
    return " ".join(key.split()).casefold()


# -- the user's answers -------------------------------------------------------------------------
def parse_answers(values: Iterable[str] | Mapping[str, Any] | str | None) -> dict[str, str]:
    """``--guestbook`` values (``KEY=VALUE[,KEY=VALUE]`` or ``@FILE``) or a mapping -> ``{key: value}``.

    A comma-separated part without ``=`` continues the previous value (``purpose=teaching, research``).
    Raises :class:`UsageError` before any request.
    """
    if values is None:
        return {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(values, Mapping):
        pairs = list(values.items())
    else:
        for value in [values] if isinstance(values, str) else values:
            pairs.extend(_read_file(value[1:]) if value.startswith("@") else _split_pairs(value))
    if len(pairs) > MAX_ANSWERS:
        raise UsageError(f"--guestbook: more than {MAX_ANSWERS} answers")
    answers: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise UsageError(f"--guestbook: {str(key)[:60]!r} needs a text value")
        key, value = key.strip(), str(value).strip()
        if not key or len(key) > MAX_KEY or len(value) > MAX_VALUE:
            raise UsageError(f"--guestbook: bad answer {key[:60]!r} (empty key, or key over {MAX_KEY} or value "
                             f"over {MAX_VALUE} characters)")
        answers[_norm(key)] = value
    email = answers.get("email")
    if email is not None and ("@" not in email or len(email) > 254):
        raise UsageError(f"--guestbook email={email[:60]!r} is not an e-mail address")
    return answers


def _split_pairs(text: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            pairs.append((key, value))
        elif pairs:
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]},{part}")
        elif part.strip():
            raise UsageError(f"--guestbook {text[:60]!r}: expected KEY=VALUE[,KEY=VALUE] or @FILE")
    return pairs


def _read_file(name: str) -> list[tuple[str, Any]]:
    path = Path(name).expanduser()
    try:
        with path.open("rb") as fh:
            raw = fh.read(ANSWERS_FILE_LIMIT + 1)
    except OSError as exc:
        raise UsageError(f"--guestbook @{name}: cannot read it ({exc.strerror or exc})") from exc
    if len(raw) > ANSWERS_FILE_LIMIT:
        raise UsageError(f"--guestbook @{name}: larger than {ANSWERS_FILE_LIMIT} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--guestbook @{name}: not UTF-8 text") from exc
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--guestbook @{name}: not valid JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise UsageError(f"--guestbook @{name}: expected a JSON object of answers")
        return list(doc.items())
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--guestbook @{name} line {number}: expected KEY=VALUE")
        pairs.append((key, value))
    return pairs


# -- the guestbook ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    id: str
    text: str
    required: bool
    kind: str                     # text | textarea | options
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guestbook:
    id: str
    name: str
    enabled: bool
    required: tuple[str, ...]     # of STANDARD_FIELDS
    questions: tuple[Question, ...]  # visible ones, in display order: q1, q2, ...


def parse_guestbook(doc: Any) -> Guestbook:
    """``GET /api/guestbooks/<id>`` -> :class:`Guestbook` (hidden questions left out; pure)."""
    data = _map(_map(doc).get("data", doc))
    raw = data.get("customQuestions")
    items = sorted((q for q in (raw if isinstance(raw, list) else [])[:200] if isinstance(q, Mapping)),
                   key=lambda q: q.get("displayOrder") if isinstance(q.get("displayOrder"), int) else 0)
    questions = []
    for q in items:
        qid, text = _str(q.get("id")), _str(q.get("question")) or _str(q.get("questionString"))
        if not qid or not text or q.get("hidden") is True:
            continue
        opts = q.get("optionValues")
        options = tuple(v for o in (opts if isinstance(opts, list) else [])[:100]
                        if (v := _str(_map(o).get("value")) or _str(o)))
        questions.append(Question(qid, _clean(text), q.get("required") is True, _str(q.get("type")) or "text",
                                  tuple(_clean(o, 100) for o in options)))
    required = tuple(f for f in STANDARD_FIELDS if data.get(f"{f}Required") is True)
    return Guestbook(_str(data.get("id")) or "?", _clean(_str(data.get("name"))), data.get("enabled") is not False,
                     required, tuple(questions))


def guestbook_id(doc: Any) -> str | None:
    """The ``guestbookId`` of a dataset or version document (6.10+), else ``None``."""
    data = _map(_map(doc).get("data", doc))
    for holder in (data, _map(data.get("latestVersion")), _map(data.get("datasetVersion"))):
        gid = _str(holder.get("guestbookId"))
        if gid and gid.isdecimal() and len(gid) <= 12:
            return gid
    return None


def build_response(book: Guestbook | None, gid: str, answers: Mapping[str, str], what: str) -> dict[str, Any]:
    """The POST body for ``answers`` (from :func:`parse_answers`); :class:`GuestbookRequired` lists
    what is missing, :class:`UsageError` a key or choice the guestbook does not know."""
    fields: dict[str, str] = {}
    given: dict[Question | str, str] = {}
    keys: dict[str, Question] = {}
    for number, q in enumerate(book.questions if book else (), 1):
        keys.update({f"q{number}": q, f"id:{q.id}": q, _norm(q.text): q})
    for key, value in answers.items():
        if key in STANDARD_FIELDS:
            fields[key] = value
        elif key in keys:
            given[keys[key]] = _choice(keys[key], value, key)
        elif book is None and key.startswith("id:") and key[3:].isdecimal():
            given[key[3:]] = value
        else:
            known = ", ".join([*STANDARD_FIELDS, *(f"q{n}" for n in range(1, len(book.questions if book else ()) + 1))])
            raise UsageError(f"--guestbook {key[:60]!r} matches no field or question of {what}'s guestbook "
                             f"(keys: {known}, id:<question id> or the question's text)")
    if book is None:
        if not answers:
            raise GuestbookRequired(
                f"{what} asks for a guestbook response (guestbook {gid}) before any download, and the guestbook "
                "could not be read: pass --guestbook name=…,email=… (id:<question id>=… for its questions)",
                (f"name=… and email=… (guestbook {gid}; its questions could not be listed)",))
    else:
        missing = [f"{f}=…".ljust(16) + " (required)" for f in book.required if f not in fields]
        missing += [f"q{n}=…".ljust(16) + f" (required) {q.text}" + (f" - one of: {', '.join(q.options)}"
                                                                     if q.options else "")
                    for n, q in enumerate(book.questions, 1) if q.required and q not in given]
        if missing:
            label = f' "{book.name}"' if book.name else ""
            raise GuestbookRequired(f"{what} asks for a guestbook response{label} before any download; "
                                    f"answer with --guestbook KEY=VALUE,… or --guestbook @FILE:", missing)
    body_answers = []
    for q, value in given.items():
        qid = q.id if isinstance(q, Question) else q
        body_answers.append({"id": int(qid) if qid.isdecimal() else qid, "value": value})
    return {"guestbookResponse": {**fields, "answers": body_answers}}


def _choice(q: Question, value: str, key: str) -> str:
    if not q.options:
        return value
    for option in q.options:
        if option.casefold() == value.casefold():
            return option
    raise UsageError(f"--guestbook {key}={value[:60]!r}: {q.text[:80]!r} takes one of: {', '.join(q.options)}")


# -- the run's signer ---------------------------------------------------------------------------
def _file_of(url: str) -> tuple[str, str, str] | None:
    """``https://h/api/access/datafile/12?format=original`` -> (origin, "12", "original")."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    segs = [s for s in parts.path.split("/") if s]
    segs = ["api", *segs[2:]] if segs[:2] == ["api", "v1"] else segs
    if len(segs) != 4 or segs[:3] != ["api", "access", "datafile"] or not segs[3].isdecimal():
        return None
    fmt = (parse_qs(parts.query).get("format") or [""])[0]
    return f"{parts.scheme}://{parts.netloc}", segs[3], fmt if fmt == "original" else ""


class GuestbookSigner:
    """The :class:`~doi2data.transfer.signing.UrlSigner` of one Dataverse manifest for one run."""

    def __init__(self, manifest: Manifest, http: Http, answers: Mapping[str, str]) -> None:
        self.http = http
        self.answers = dict(answers)
        self.dataset = manifest.dataset
        found = [(u, f) for e in manifest.files for u in e.urls[:1] if (f := _file_of(u))]
        self.base = found[0][1][0] if found else ""
        self.files = {u: f for u, f in found if f[0] == self.base}
        self.body: dict[str, Any] | None = None  # the response to submit, once a guestbook applies
        self.responses = 0  # POSTs sent this run
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._file_locks: dict[str, threading.Lock] = {}
        self._signed: dict[str, tuple[str, float]] = {}
        self._tried: set[str] = set()

    def covers(self, url: str) -> bool:
        return self.body is not None and url in self.files

    async def prepare(self, entries: Sequence[FileEntry]) -> None:
        """Learn whether the dataset has a guestbook (one request; two with one) and build the
        response from the user's answers, before any byte moves."""
        self._loop = asyncio.get_running_loop()
        if not any(u in self.files for e in entries for u in e.urls[:1]):
            return
        ds = self.dataset
        flags = "excludeFiles=true&excludeMetadataBlocks=true"
        if ds.version and (ds.record_id or "").isdecimal():  # a dataset (version) listing
            spec = ":draft" if ds.version == "DRAFT" else ds.version
            what = f"Dataverse dataset {ds.doi or ds.record_id}"
            url = f"{self.base}/api/datasets/{ds.record_id}/versions/{quote(spec, safe=':')}?{flags}"
        else:  # one file by its PID, minted as <dataset DOI>/<file id>: the dataset is the parent
            parent = (ds.doi or "").rstrip("/").rpartition("/")[0]
            if not self.base or parent.count("/") < 1:
                return
            spec, what = ":latest-published", f"Dataverse dataset {parent}"
            url = (f"{self.base}/api/datasets/:persistentId/versions/:latest-published"
                   f"?persistentId=doi:{quote(parent, safe='/:')}&{flags}")
        try:
            gid = guestbook_id(await self.http.get_json(url, what=f"{what} version {spec}"))
        except Doi2DataError:
            return  # cannot tell: download as before (a guestbook shows as HTTP 400 then)
        if gid is None:
            return
        try:
            book: Guestbook | None = parse_guestbook(await self.http.get_json(f"{self.base}/api/guestbooks/{gid}",
                                                                             what=f"{what} guestbook {gid}"))
        except Doi2DataError:
            book = None
        if book is not None and not book.enabled:
            return
        self.body = build_response(book, gid, self.answers, what)

    def sign(self, url: str) -> str:
        with self._lock:
            lock = self._file_locks.setdefault(url, threading.Lock())
        with lock:
            if url in self._signed:
                signed, at = self._signed[url]
                if time.monotonic() - at < SIGNED_URL_LIFETIME - FRESH_MARGIN:
                    return signed
                raise TransferError("the signed URL Dataverse gave for this file's guestbook response has expired "
                                    "(it works about a minute); re-run to resume (one new response then)", url=url)
            if url in self._tried:
                raise TransferError("Dataverse did not take this file's guestbook response earlier in this run; "
                                    "re-run to try again", url=url)
            self._tried.add(url)
            if self._loop is None:
                raise TransferError("guestbook response not prepared for this run", url=url)
            sent = time.monotonic()
            future = asyncio.run_coroutine_threadsafe(self._submit(url), self._loop)
            try:
                signed = future.result(timeout=SIGN_TIMEOUT)
            except TimeoutError as exc:
                future.cancel()
                raise TransferError("no answer to this file's guestbook response", url=url) from exc
            self._signed[url] = (signed, sent)
            return signed

    async def _submit(self, url: str) -> str:
        """POST the response for one file (never retried: a second try could record a second one)."""
        base, fid, fmt = self.files[url]
        params = {"signed": "true", **({"format": fmt} if fmt else {})}
        self.responses += 1
        try:
            response = await self.http.request("POST", f"{base}/api/access/datafile/{fid}", params=params,
                                               json_body=self.body, headers={"Accept": "application/json"},
                                               attempts=1, limit=RESPONSE_LIMIT)
        except Doi2DataError as exc:
            raise TransferError(f"guestbook response not sent: {exc}", url=url) from exc
        try:
            doc = response.json()
        except ValueError:
            doc = None
        if response.status_code >= 400:
            said = _clean(_str(_map(doc).get("message")), 300)
            raise TransferError(f"Dataverse refused the guestbook response (HTTP {response.status_code}"
                                + (f": {said}" if said else "") + ")", url=url)
        signed = _str(_map(_map(doc).get("data")).get("signedUrl")) or ""
        try:
            parts = urlsplit(signed)
            same = f"{parts.scheme}://{parts.netloc}".lower() == base.lower() and parts.scheme in ("http", "https")
        except ValueError:
            same = False
        if not same or len(signed) > 8192:
            raise TransferError("Dataverse answered the guestbook response without a signed URL on its own host",
                                url=url)
        return signed


def url_signer(manifest: Manifest, http: Http, answers: Mapping[str, str]) -> GuestbookSigner | None:
    """The run's signer for a Dataverse manifest (``None`` when no file goes through the access API)."""
    signer = GuestbookSigner(manifest, http, answers)
    return signer if signer.files else None


__all__ = ["FRESH_MARGIN", "SIGNED_URL_LIFETIME", "Guestbook", "GuestbookRequired", "GuestbookSigner", "Question",
           "build_response", "guestbook_id", "parse_answers", "parse_guestbook", "url_signer"]
