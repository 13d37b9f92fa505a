"""The adapter contract: recognise a landing page cheaply, then list files into a Manifest.

An adapter never downloads file bytes and never creates its own HTTP client: it is handed an
:class:`~doi2data.http.Http` and the :class:`Resolved` facts the resolver already gathered
(the DOI is resolved once, by the resolver). Parsing lives in pure functions so that tests can
feed recorded JSON straight in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..http import Http
from ..model import Dataset, Manifest


@dataclass(frozen=True)
class Resolved:
    """What the resolver learnt about an identifier before any adapter ran."""

    identifier: str            # the normalised input (DOI, handle or URL)
    doi: str | None            # the DOI, when the input was one (case as given, compare lower())
    landing_url: str           # where the DOI/handle points, or the input URL itself
    metadata: Dataset | None   # DataCite (or other registry) metadata, if the DOI has some


@dataclass(frozen=True)
class RecordRef:
    """A record an adapter recognised: enough to call its API."""

    adapter: str               # adapter name, e.g. "invenio"
    api_base: str              # scheme://host of the repository, e.g. "https://zenodo.org"
    record_id: str
    repository: str            # display name, e.g. "Zenodo"


class Adapter(Protocol):
    """One repository family (InvenioRDM, Dataverse, ...)."""

    name: str

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """Pure, no I/O: is this landing page (or DOI) ours? ``None`` if not."""

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """Fetch the record's API documents and return the manifest (never file bytes)."""
