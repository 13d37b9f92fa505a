"""Dryad (``datadryad.org``, API v2, HAL+JSON).

Listing takes a chain: ``/api/v2/datasets/<doi:…, fully percent-encoded>`` gives the latest
version link (``_links["stash:version"]``), and ``<version>/files`` pages through
``_embedded["stash:files"]`` by ``_links.next``. Each file has ``path``, ``size``, ``digest`` and
``digestType`` (md5 or sha-256, sometimes missing) and a ``stash:download`` link; the current docs
use ``/api/v2/downloads/<id>``, older clients ``/api/v2/files/<id>/download``, so the second is kept
as a mirror. Digests that are not real hex (the official examples use placeholders) are dropped
rather than trusted. Files a version marks ``deleted`` are not part of it and are left out.

``RecordRef.version`` (``--version N``) walks the dataset's ``stash:versions`` list (HAL, paged by
``_links.next``) to the version whose ``versionNumber`` is N and lists its ``stash:files``: one more
request than the latest; a missing N is reported with the numbers the list holds.

Access as of 2026 (checked 2026-12-06; sources: the API docs at https://datadryad.org/api/v2/docs,
"Anonymous users of the API are limited to 30 requests per minute, and are not allowed to download
data files", API accounts "up to 240 requests per minute"; datadryad/dryad-app
``documentation/apis/api_accounts.md``: tokens from ``POST /oauth/token`` with client credentials,
"Currently our tokens last 10 hours"; ``retrying_expired.md``: an expired token gets 401, renew and
retry a limited number of times; ``config/initializers/rack_attack.rb``: per-IP throttles for
``/api`` with and without ``Authorization``, 429 with ``RateLimit-Reset``):

* listing is anonymous (at the guest rate in :mod:`doi2data.transfer.limits`); with an account
  its token is sent too (higher rate, unpublished datasets of the account's community);
* the account is given as ``datadryad.org=CLIENT_ID:SECRET`` (``--token``, ``DOI2DATA_TOKENS`` or
  the tokens file, :mod:`doi2data.tokenfile`) and exchanged, renewed and, when refused, dropped
  by :class:`doi2data.oauth.ClientCredentials`, so a refused or expired token never breaks the
  anonymous listing; a ready-made token (``datadryad.org=TOKEN``) is sent as it is;
* downloads need the account: :meth:`DryadAdapter.prepare` (run before any transfer) raises
  :class:`AccessDenied` (exit 7) with what to do when no account is configured or Dryad refuses it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx

from ..errors import AccessDenied, NetworkError, RepositoryError
from ..http import Credentials, Http
from ..model import HASH_ALGORITHMS, Access, Dataset, FileEntry, Manifest, normalize_algorithm, normalize_digest
from ._versions import version_missing, version_number
from .base import RecordRef, Resolved
from ._json import mapping as _map
from ._json import text as _str
from ._json import size as _size

DRYAD = "https://datadryad.org"
HOSTS = frozenset({"datadryad.org", "www.datadryad.org", "sandbox.datadryad.org"})
MAX_PAGES = 10_000
_DRYAD_DOI = re.compile(r"^10\.5061/dryad\.[0-9a-z]+$", re.IGNORECASE)
_ANY_DOI = re.compile(r"^10\.\d{4,9}/[^\s/?#]+$")
_FILE_SELF = re.compile(r"/api/v2/files/(\d+)/?$")
NO_ACCOUNT = ("Dryad lets only API accounts download files (anonymous users may list them): create one "
              "on https://datadryad.org/account (My account -> API) and give it as --token "
              "{host}=CLIENT_ID:SECRET (or in DOI2DATA_TOKENS, or in ~/.config/doi2data/tokens)")





def _href(links: Any, rel: str, api_base: str) -> str | None:
    """Absolute URL of ``_links[rel].href`` (HAL hrefs are site-relative)."""
    href = _str(_map(_map(links).get(rel)).get("href"))
    if not href:
        return None
    url = urljoin(api_base.rstrip("/") + "/", href)
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def dataset_url(api_base: str, doi: str) -> str:
    """``/api/v2/datasets/doi%3A10.5061%2Fdryad.x``: the ``doi:`` prefix and slashes encoded too."""
    return f"{api_base.rstrip('/')}/api/v2/datasets/{quote('doi:' + doi, safe='')}"


def _creators(value: Any) -> tuple[str, ...]:
    names = []
    for author in value if isinstance(value, list) else []:
        first, last = _str(_map(author).get("firstName")), _str(_map(author).get("lastName"))
        if name := (f"{last}, {first}" if first and last else last or first):
            names.append(name)
    return tuple(names)


def _access(doc: Mapping[str, Any]) -> tuple[Access, str | None]:
    status = (_str(doc.get("curationStatus")) or "").lower()
    if status == "embargoed":
        until = _str(doc.get("publicationDate"))
        return "embargoed", f"embargoed until {until}" if until else "embargoed"
    if (_str(doc.get("visibility")) or "public").lower() != "public":
        return "restricted", "not public: the dataset is not (yet) published"
    return "open", None


def parse_dataset(doc: Any, api_base: str = DRYAD) -> tuple[Dataset, str]:
    """A dataset document -> (metadata, URL of the latest version's file listing). Pure."""
    try:
        return _dataset(doc, api_base)
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:
        raise RepositoryError(f"unexpected Dryad dataset shape ({type(exc).__name__}: {exc})") from exc


def _dataset(doc: Any, api_base: str) -> tuple[Dataset, str]:
    if not isinstance(doc, Mapping):
        raise RepositoryError("Dryad answer is not a JSON object")
    version = _href(doc.get("_links"), "stash:version", api_base)
    if not version:
        raise RepositoryError("Dryad dataset has no 'stash:version' link (no published version)")
    ident = _str(doc.get("identifier")) or ""
    doi = ident[4:] if ident.lower().startswith("doi:") else ident or None
    year = re.match(r"^\d{4}", _str(doc.get("publicationDate")) or "")
    access, note = _access(doc)
    ds = Dataset(
        doi=doi, title=_str(doc.get("title")), creators=_creators(doc.get("authors")), publisher="Dryad",
        year=int(year.group()) if year else None, version=_str(doc.get("versionNumber")),
        license=_str(doc.get("license")),
        resource_type="Dataset", repository="Dryad",
        landing_url=f"{api_base.rstrip('/')}/dataset/doi:{doi}" if doi else _str(doc.get("sharingLink")),
        record_id=_str(doc.get("id")), version_doi=doi, access=access, note=note,
    )
    return ds, version.rstrip("/") + "/files"


def parse_versions(doc: Any, api_base: str = DRYAD) -> tuple[list[tuple[int, str, str | None]], str | None]:
    """A ``/versions`` page -> ([(versionNumber, files URL, date)], next page URL). Pure."""
    if not isinstance(doc, Mapping):
        raise RepositoryError("Dryad version listing is not a JSON object")
    raw = _map(doc.get("_embedded")).get("stash:versions", [])
    if not isinstance(raw, list):
        raise RepositoryError("Dryad '_embedded.stash:versions' is not a list")
    out = []
    for ver in raw:
        ver = _map(ver)
        number, links = ver.get("versionNumber"), ver.get("_links")
        files = _href(links, "stash:files", api_base)
        if files is None and (own := _href(links, "self", api_base)):
            files = own.rstrip("/") + "/files"
        if isinstance(number, int) and not isinstance(number, bool) and files:
            out.append((number, files, _str(ver.get("publicationDate")) or _str(ver.get("lastModificationDate"))))
    return out, _href(doc.get("_links"), "next", api_base)


def _checksums(raw: Mapping[str, Any]) -> dict[str, str]:
    kind, digest = _str(raw.get("digestType")), _str(raw.get("digest"))
    if not kind or not digest:
        return {}
    algo = normalize_algorithm(kind)  # an unknown or malformed one is kept for FileEntry to report
    return {algo: (normalize_digest(algo, digest) if algo in HASH_ALGORITHMS else None) or digest}


def _file_entry(raw: Any, api_base: str, access: Access, note: str | None) -> FileEntry | None:
    if not isinstance(raw, Mapping):
        raise RepositoryError("Dryad file entry is not a JSON object")
    path = _str(raw.get("path"))
    if not path:
        raise RepositoryError("Dryad file entry has no path")
    if (_str(raw.get("status")) or "").lower() == "deleted":
        return None
    links = raw.get("_links")
    urls = [u for u in (_href(links, "stash:download", api_base),) if u]
    if (own := _href(links, "self", api_base)) and (m := _FILE_SELF.search(urlsplit(own).path)):
        legacy = f"{api_base.rstrip('/')}/api/v2/files/{m.group(1)}/download"
        urls += [legacy] if legacy not in urls else []
    return FileEntry(path=path, size=_size(raw.get("size")), checksums=_checksums(raw), urls=tuple(urls),
                     media_type=_str(raw.get("mimeType")), access=access, note=note)


def parse_files_page(doc: Any, api_base: str = DRYAD, *, access: Access = "open",
                     note: str | None = None) -> tuple[list[FileEntry], str | None, int]:
    """One ``/versions/<id>/files`` page -> (entries, next page URL, count of deleted entries). Pure."""
    try:
        if not isinstance(doc, Mapping):
            raise RepositoryError("Dryad file listing is not a JSON object")
        raw = _map(doc.get("_embedded")).get("stash:files", [])
        if not isinstance(raw, list):
            raise RepositoryError("Dryad '_embedded.stash:files' is not a list")
        entries = [_file_entry(f, api_base, access, note) for f in raw]
        kept = [e for e in entries if e is not None]
        return kept, _href(doc.get("_links"), "next", api_base), len(entries) - len(kept)
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:
        raise RepositoryError(f"unexpected Dryad file listing ({type(exc).__name__}: {exc})") from exc


def assemble(dataset: Dataset, pages: list[tuple[list[FileEntry], str | None, int]]) -> Manifest:
    """Parsed pages -> one manifest (deduplicated, sorted, with warnings)."""
    seen: dict[str, FileEntry] = {}
    warnings = []
    for entries, _, _ in pages:
        for entry in entries:
            if entry.path in seen:
                warnings.append(f"duplicate file path {entry.path!r} listed twice; kept the first")
                continue
            seen[entry.path] = entry
    deleted = sum(d for _, _, d in pages)
    if deleted:
        warnings.append(f"{deleted} file(s) deleted in this version were left out")
    if not seen and dataset.access != "open":
        warnings.append(f"dataset is {dataset.access}: no files are listed publicly ({dataset.note})")
    return Manifest(dataset, tuple(sorted(seen.values(), key=lambda f: f.path)), tuple(warnings))


def _ref_from_url(url: str) -> RecordRef | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or host not in HOSTS:
        return None
    path = unquote(parts.path)
    match = re.search(r"/(?:stash/)?(?:dataset|resource|api/v2/datasets)/doi:(10\.\d{4,9}/[^\s/?#]+)", path)
    if not match or not _ANY_DOI.match(match.group(1)):
        return None
    base = f"https://{host.removeprefix('www.')}"
    return RecordRef(adapter="dryad", api_base=base, record_id=match.group(1), repository="Dryad")


async def _account_token(credentials: Credentials, url: httpx.URL) -> str | None:
    """The header value the account gives for ``url`` (exchanged off the event loop), or None."""
    headers = await asyncio.to_thread(credentials.headers_for, url)
    return next(iter(headers.values()), None)


class DryadAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for Dryad."""

    name = "dryad"
    supports_versions = True  # --version N: the dataset's stash:versions list
    prepare_always = True     # downloads need an API account: checked before any transfer starts

    async def prepare(self, manifest: Manifest, http: Http, *, restore: bool, timeout: float,
                      progress: Callable[[str], None] | None = None) -> Manifest:
        """Refuse, before anything is written, to download Dryad files without a usable API account."""
        urls = [httpx.URL(u) for f in manifest.files if f.access == "open" for u in f.urls[:1]
                if (urlsplit(u).hostname or "").lower() in HOSTS]
        if not urls:
            return manifest
        url = urls[0]
        host = (url.host or "datadryad.org").lower()
        if await _account_token(http.credentials, url) is not None:
            return manifest
        cred = http.credentials.credential_for(url)
        source = cred.source if cred is not None else None
        if source is None:
            raise AccessDenied(NO_ACCOUNT.format(host=host), url=str(url))
        if failure := getattr(source, "failure", None):
            raise AccessDenied(f"{failure}: check the CLIENT_ID:SECRET given for {host} (Dryad account page, API "
                               "section); downloads need a working API account", url=str(url))
        raise NetworkError(getattr(source, "error", None) or f"no token from {host} for the API account", url=str(url))

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """``datadryad.org/[stash/]dataset/doi:…`` (and classic ``/resource/``), or a ``10.5061/dryad.*`` DOI."""
        if ref := _ref_from_url(resolved.landing_url or ""):
            return ref
        doi = (resolved.doi or "").strip()
        if _DRYAD_DOI.match(doi):
            return RecordRef(adapter=self.name, api_base=DRYAD, record_id=doi.lower(), repository="Dryad")
        return None

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """Dataset -> latest version's ``/files``, following ``_links.next``."""
        base, what = ref.api_base.rstrip("/"), f"Dryad dataset {ref.record_id}"
        number = version_number(ref.version, ref.repository) if ref.version is not None else None
        await _account_token(http.credentials, httpx.URL(base + "/"))  # an account's first exchange: off the loop
        doc = await http.get_json(dataset_url(base, ref.record_id), what=what)
        dataset, url = parse_dataset(doc, base)
        if number is not None:
            url = await _version_files(doc, base, ref.record_id, number, http)
            dataset = replace(dataset, version=str(number))
        pages: list[tuple[list[FileEntry], str | None, int]] = []
        seen: set[str] = set()
        next_url: str | None = url
        while next_url and next_url not in seen:
            if len(seen) >= MAX_PAGES:
                raise RepositoryError(f"{what}: more than {MAX_PAGES} pages of files")
            seen.add(next_url)
            page = parse_files_page(await http.get_json(next_url, what=f"{what} files"), base,
                                    access=dataset.access, note=dataset.note)
            pages.append(page)
            next_url = page[1]
        manifest = assemble(dataset, pages)
        ds = manifest.dataset
        if resolved.metadata is not None:
            ds = ds.merged(resolved.metadata)
        return replace(manifest, dataset=replace(ds, doi=resolved.doi or ds.doi, repository=ref.repository))


async def _version_files(doc: Any, base: str, doi: str, number: int, http: Http) -> str:
    """The ``/files`` URL of version ``number`` from the dataset's ``stash:versions`` pages."""
    what = f"Dryad dataset {doi}"
    next_url: str | None = _href(_map(doc).get("_links"), "stash:versions", base) or \
        f"{dataset_url(base, doi)}/versions"
    found: list[int] = []
    seen: set[str] = set()
    while next_url and next_url not in seen and len(seen) < MAX_PAGES:
        seen.add(next_url)
        versions, next_url = parse_versions(await http.get_json(next_url, what=f"{what} versions"), base)
        for n, files, _ in versions:
            if n == number:
                return files
            found.append(n)
    raise version_missing(what, str(number), (str(n) for n in sorted(set(found))))


ADAPTER = DryadAdapter()

__all__ = ["ADAPTER", "DRYAD", "DryadAdapter", "assemble", "dataset_url", "parse_dataset", "parse_files_page",
           "parse_versions"]
