"""A DataCite collection whose HasPart DOIs are facility datasets (issue 14); the DataCite site
(:mod:`doi2data.sandbox.sites.datacite`) merges its attributes in.
"""

from __future__ import annotations

from typing import Any

from .esrf import ESRF_SESSION_DOI
from .scicat import SCICAT_V4_DOI


#: A DataCite collection (issue 14): its landing page lists no files; its record's HasPart DOIs are
#: a SciCat publication, an ESRF session, the Zenodo demo record and one DOI that does not resolve.
COLLECTION_DOI = "10.5072/pan-collection-0001"
COLLECTION_MISSING_PART = "10.5072/pan-collection-0001-lost"
COLLECTION_PARTS = (SCICAT_V4_DOI, ESRF_SESSION_DOI, "10.5281/zenodo.1215979", COLLECTION_MISSING_PART)
#: DataCite attributes that differ from the emulator's defaults (the DataCite site merges them in).
DATACITE_ATTRIBUTES: dict[str, dict[str, Any]] = {COLLECTION_DOI: {
    "relatedIdentifiers": [{"relationType": "HasPart", "relatedIdentifier": doi, "relatedIdentifierType": "DOI"}
                           for doi in COLLECTION_PARTS]
    + [{"relationType": "IsCitedBy", "relatedIdentifier": "10.1000/paper.1", "relatedIdentifierType": "DOI"},
       {"relationType": "HasPart", "relatedIdentifier": "https://example.org/x", "relatedIdentifierType": "URL"}],
    "partCount": len(COLLECTION_PARTS), "types": {"resourceTypeGeneral": "Collection", "resourceType": "Experiment"}}}
