"""Plain web directory listings (nginx, Apache, lighttpd autoindex) as a repository of their own.

Why: much facility data is simply a folder on a web server - what ``wget -m -np`` is pointed at.
``doi2data ls https://host/path/`` lists such a folder recursively (never above it), with sizes
from the listing when exact and from ``HEAD`` when the listing rounds them (``7.6M``), and with
sha1 checksums when the folder carries PSI-style ``__checksum_filename_N__`` files.

Recognition is pure, so it is deliberately narrow and this adapter is registered **last**: it
claims only a URL the user typed themselves whose path ends with ``/`` (a directory). DOIs and
other URLs are left to the detection layers (Signposting, schema.org, ...), which a greedy claim
here would shadow. When the page turns out not to be a directory listing, the answer is
:class:`~doi2data.errors.UnsupportedRepository` (exit 5).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..errors import UnsupportedRepository
from ..http import Http
from ..model import Dataset, Manifest
from ._pan.autoindex import NotAListing
from ._pan.folders import folder_manifest
from ._pan.net import generic_fallback, note
from .base import RecordRef, Resolved


class WebIndexAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for server-generated directory listings."""

    name = "webindex"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        url = (resolved.landing_url or "").strip()
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
            return None
        typed = resolved.doi is None and resolved.identifier.strip() == url
        if not typed or not parts.path.endswith("/"):
            return None
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"
        return RecordRef(self.name, origin, url, host)

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        url = ref.record_id
        note(http, f"web directory listing at {url}")
        try:
            files, warnings = await folder_manifest(http, url, None, require_checksums=False)
        except NotAListing as exc:
            found = await generic_fallback(resolved, http)  # a landing page after all: Signposting, JSON-LD
            if found is not None:
                return found
            raise UnsupportedRepository(f"no adapter supports {url}: {exc}", identifier=resolved.identifier,
                                        url=url) from exc
        path = unquote(urlsplit(url).path)
        dataset = Dataset(doi=resolved.doi, title=f"Index of {path}", repository=ref.repository,
                          landing_url=url, record_id=url)
        if resolved.metadata is not None:
            dataset = resolved.metadata.merged(dataset)
        return Manifest(dataset, tuple(sorted(files, key=lambda f: f.path)), tuple(warnings))


ADAPTER = WebIndexAdapter()

__all__ = ["ADAPTER", "WebIndexAdapter"]
