"""PSI (Paul Scherrer Institute): DOIs ``10.16907/<uuid>`` published through doi.psi.ch.

Route (Millar 2022, "How to get data automatically from a DOI"; research notes pan-apis §3):

1. the publication JSON at ``https://doi.psi.ch/oaipmh/Publication/detail/<doi encoded twice>``
   (the oai-provider decodes once more itself), else - that route was removed upstream in
   May 2025 - single encoding, SciCat ``/api/v3/PublishedData/<doi>`` and
   ``/api/v4/publisheddata/<doi>`` at dacat.psi.ch;
2. its ``downloadLink`` page, which holds **one** ``wget -m -np <folder>`` line per dataset
   (all of them are used - Millar's script took only the first); without a page, each dataset's
   ``sourceFolder`` under ``https://doi.psi.ch/datasets``;
3. each folder's nginx autoindex, crawled recursively and never above the folder (``-np``);
4. every ``__checksum_filename_N__`` in a folder: sha1 per file, checked by the transfer engine.

Each dataset folder becomes a top-level directory of the download (``tif/…``), as wget would
make it, and one of the manifest's ``datasets`` (its files name it). The download page says nothing
about the science, so such a dataset has only its name (kind ``other``); when the folders come from
SciCat's dataset documents (no download page), their type, sample, technique and scientific
metadata come along at no extra request. A folder that answers 404 is on tape only: it is listed as ``offline`` with what the
user can do, and the other datasets still download. The landing page comes in two forms
(``/detail/10.16907%2F<uuid>`` and the older ``/detail/10.16907/<uuid>``); both are recognised.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

from ..errors import RecordNotFound, RepositoryError
from ..http import Http
from ..model import Dataset, DatasetInfo, FileEntry, Manifest
from ._pan.folders import folder_manifest
from ._pan.net import gather_limited, get_text, json_or_none, note
from ._pan.scicat_api import Api, Publication, dataset_url, fetch_dataset, fetch_publication, folder_names, \
    parse_publication
from .base import RecordRef, Resolved

PREFIX = "10.16907/"
HOSTS = frozenset({"doi.psi.ch", "doi2.psi.ch"})
OAIPMH = "https://doi.psi.ch/oaipmh/Publication/detail/"
SCICAT = (Api("https://dacat.psi.ch/api/v3", "v3"), Api("https://dacat.psi.ch/api/v4", "v4"))
PUBLISH_BASE = "https://doi.psi.ch/datasets"
RETRIEVAL_HELP = "https://www.psi.ch/en/photon-science-data-services/slsswissfel-data-transfer"
_WGET = re.compile(r"\bwget\s+((?:-{1,2}[A-Za-z][\w-]*\s+)*)(https?://[^\s<>\"']+)"
                   r"(?:\s*\(\s*size\s*:\s*(\d+)\s*,\s*nFiles\s*:\s*(\d+)\s*\))?", re.I)
_TAG = re.compile(r"<[^>]*>")
_DOI_IN_PATH = re.compile(r"/detail/(10\.16907/[^/?#\s]+)$", re.I)


@dataclass(frozen=True)
class DownloadLine:
    """One ``wget -m -np <url> ( size: N , nFiles: M )`` line of a PSI download page."""

    url: str
    size: int | None = None
    files: int | None = None
    #: the dataset's science, when the folder came from its SciCat dataset document
    about: DatasetInfo | None = None


def parse_download_page(text: str) -> list[DownloadLine]:
    """Every dataset folder a PSI download page lists, in page order, without duplicates (pure)."""
    if not isinstance(text, str):
        return []
    plain = html.unescape(_TAG.sub(" ", text))
    lines: dict[str, DownloadLine] = {}
    for match in _WGET.finditer(plain):
        url = match.group(2).rstrip(").,;")
        size, files = (int(g) if g else None for g in match.group(3, 4))
        key = url.rstrip("/")
        if key not in lines:
            lines[key] = DownloadLine(key + "/", size, files)
    return list(lines.values())


def doi_from_landing(url: str) -> str | None:
    """``https://doi.psi.ch/detail/10.16907%2F<uuid>`` (or un-encoded, or encoded twice) -> the DOI."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in HOSTS:
        return None
    path = parts.path
    for _ in range(3):
        path = unquote(path)
    found = _DOI_IN_PATH.search(path)
    return found.group(1) if found else None


def offline_note(url: str) -> str:
    return (f"offline: the dataset folder {url} is not on disk (PSI keeps older data on tape only); ask PSI to "
            f"retrieve it ({RETRIEVAL_HELP}, or scicat-cli datasetRetriever), then run this command again")


class PsiAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for PSI's published data."""

    name = "psi"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        doi = resolved.doi if (resolved.doi or "").lower().startswith(PREFIX) else None
        doi = doi or doi_from_landing(resolved.landing_url or "")
        return RecordRef(self.name, "https://doi.psi.ch", doi, "PSI") if doi else None

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        doi = ref.record_id
        publication, api = await self._publication(http, doi)
        lines = await self._folders(http, publication, api)
        names = folder_names([line.url for line in lines])
        note(http, f"PSI: {len(lines)} dataset folder(s): " + ", ".join(line.url for line in lines))
        parts = await gather_limited((self._folder(http, line, name) for line, name in zip(lines, names)), 4)
        files = [replace(f, dataset=name) for (entries, _), name in zip(parts, names) for f in entries]
        warnings = [w for _, found in parts for w in found]
        infos = tuple(replace(line.about, name=name) if line.about is not None else DatasetInfo(name)
                      for line, name in zip(lines, names))
        dataset = Dataset(
            doi=resolved.doi or publication.doi, title=publication.title, creators=publication.creators,
            publisher=publication.publisher or "Paul Scherrer Institute", year=publication.year,
            resource_type=publication.resource_type, repository="PSI", landing_url=resolved.landing_url,
            record_id=doi)
        if resolved.metadata is not None:
            dataset = dataset.merged(resolved.metadata)
        return Manifest(dataset, tuple(files), tuple(warnings), datasets=infos)

    async def _publication(self, http: Http, doi: str) -> tuple[Publication, Api | None]:
        for encoded in (quote(quote(doi, safe=""), safe=""), quote(doi, safe="")):
            url = OAIPMH + encoded
            response = await http.request("GET", url, headers={"Accept": "application/json"})
            note(http, f"PSI publication JSON {url} -> HTTP {response.status_code}")
            doc = json_or_none(response)
            if doc is not None:
                try:
                    return parse_publication(doc), None
                except RepositoryError:
                    pass
        found = await fetch_publication(http, SCICAT, doi)
        if found is None:
            raise RecordNotFound(f"PSI publication {doi} not found (doi.psi.ch oaipmh, SciCat v3 and v4 at "
                                 "dacat.psi.ch)", identifier=doi)
        return found

    async def _folders(self, http: Http, pub: Publication, api: Api | None) -> list[DownloadLine]:
        if pub.download_link:
            try:
                text, _ = await get_text(http, pub.download_link, what="PSI download page")
            except RepositoryError as exc:  # gone or refused: the datasets' folders are still known
                note(http, f"PSI download page unusable: {exc}")
                text = ""
            if lines := parse_download_page(text):
                return lines
            note(http, f"PSI download page {pub.download_link} lists no wget lines")
        if pub.dataset_pids:
            datasets = []
            for candidate in ([api] if api else list(SCICAT)):
                try:
                    datasets = await gather_limited(
                        (fetch_dataset(http, candidate, pid, with_files=False) for pid in pub.dataset_pids), 8)
                    break
                except RepositoryError as exc:
                    note(http, f"PSI datasets via SciCat {candidate.version}: {exc}")
            base = pub.download_link or PUBLISH_BASE
            lines = [DownloadLine(dataset_url(base, d.source_folder), d.size, d.number_of_files, d.about)
                     for d in datasets if d.source_folder]
            if lines:
                note(http, f"PSI: dataset folders from SciCat sourceFolder under {base}")
                return lines
        if pub.download_link:
            return [DownloadLine(pub.download_link.rstrip("/") + "/", pub.size, None)]
        raise RepositoryError(f"PSI publication {pub.doi} names no download page, dataset or folder")

    async def _folder(self, http: Http, line: DownloadLine, name: str) -> tuple[list[FileEntry], list[str]]:
        try:
            return await folder_manifest(http, line.url, name)
        except RecordNotFound:
            note(http, f"PSI folder {line.url} is gone (HTTP 404): offline")
            entry = FileEntry(name, line.size, access="offline", note=offline_note(line.url))
            return [entry], [f"dataset folder {name} is offline: {offline_note(line.url)}"]


ADAPTER = PsiAdapter()

__all__ = ["ADAPTER", "DownloadLine", "PsiAdapter", "doi_from_landing", "offline_note", "parse_download_page"]
