"""RO-Crate 1.1 metadata (``ro-crate-metadata.json``) describing the dataset and its files.

Why write the JSON-LD directly: the document is small and fully determined by the manifest, so
no runtime dependency is needed (ro-crate-py is used by the tests to read it back). Shape:

* the metadata descriptor (``conformsTo`` RO-Crate 1.1, ``about`` the root);
* the root ``Dataset`` (``./``): ``name``, ``description``, ``datePublished`` (the publication
  year - all DataCite guarantees), ``identifier`` (the DOI URL), ``license``, ``version``,
  ``author`` (Person entities), ``publisher`` (Organization), ``url`` (landing page) and
  ``hasPart`` every file;
* one ``File`` per file with ``contentSize``, ``encodingFormat``, ``contentUrl`` (the repository
  URL) and ``sha256`` (schema.org) when known.

Complete crates (default) download the files next to the metadata (the engine's safe paths,
URI-encoded as ``@id``) and compute SHA-256 from the local bytes. Holey crates download
nothing; each file is a *web-based data entity* whose ``@id`` is its download URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import UsageError
from ..formats._common import place, uri
from ..model import Dataset, Manifest
from ..transfer.engine import ProgressSink, TransferOptions
from .payload import ExportResult, LocalFile, declared, download_payload, hash_payload

METADATA = "ro-crate-metadata.json"
VERSION = "1.1"
CONTEXT = f"https://w3id.org/ro/crate/{VERSION}/context"
_SPDX = re.compile(r"^[A-Za-z0-9.+-]+$")


def _license(value: str) -> dict[str, Any]:
    """A license contextual entity: SPDX ids become ``https://spdx.org/licenses/<ID>``."""
    if value.startswith(("http://", "https://")):
        return {"@id": value, "@type": "CreativeWork", "name": value}
    if not _SPDX.match(value):
        return {"@id": "#license", "@type": "CreativeWork", "name": value}
    ident = value.upper() if value.lower().startswith("cc") else value  # Zenodo says cc-by-4.0
    return {"@id": f"https://spdx.org/licenses/{ident}", "@type": "CreativeWork", "name": value}


def _root(ds: Dataset, parts: list[str], graph: list[dict[str, Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {"@id": "./", "@type": "Dataset", "name": ds.title or ds.doi or "dataset"}
    root["description"] = ds.title or f"Files of {ds.doi}"
    if ds.year:
        root["datePublished"] = str(ds.year)
    if ds.doi:
        root["identifier"] = f"https://doi.org/{ds.doi}"
    if ds.landing_url:
        root["url"] = ds.landing_url
    if ds.version:
        root["version"] = ds.version
    if ds.license:
        entity = _license(ds.license)
        graph.append(entity)
        root["license"] = {"@id": entity["@id"]}
    if ds.creators:
        people = [{"@id": f"#creator-{i}", "@type": "Person", "name": name} for i, name in enumerate(ds.creators, 1)]
        graph.extend(people)
        root["author"] = [{"@id": p["@id"]} for p in people]
    if ds.publisher or ds.repository:
        graph.append({"@id": "#publisher", "@type": "Organization", "name": ds.publisher or ds.repository})
        root["publisher"] = {"@id": "#publisher"}
    root["hasPart"] = [{"@id": p} for p in parts]
    return root


def _file(f: LocalFile, holey: bool) -> dict[str, Any]:
    entry = f.item.entry
    ident = uri(entry.urls[0]) if holey else quote(f.item.local, safe="/")
    doc: dict[str, Any] = {"@id": ident, "@type": "File", "name": f.item.local.rsplit("/", 1)[-1]}
    if f.size is not None:
        doc["contentSize"] = str(f.size)
    if entry.media_type:
        doc["encodingFormat"] = entry.media_type
    if entry.urls:
        doc["contentUrl"] = uri(entry.urls[0])
    if f.digests.get("sha256"):
        doc["sha256"] = f.digests["sha256"]
    if holey or f.item.local != entry.path:
        doc["alternateName"] = entry.path  # the repository's own name
    return doc


def crate_document(manifest: Manifest, files: Sequence[LocalFile], *, holey: bool) -> dict[str, Any]:
    """The whole JSON-LD document (a dict, ready for ``json.dumps``)."""
    described = [_file(f, holey) for f in sorted(files, key=lambda f: f.item.local)]
    context_entities: list[dict[str, Any]] = []
    root = _root(manifest.dataset, [d["@id"] for d in described], context_entities)
    descriptor = {"@id": METADATA, "@type": "CreativeWork", "conformsTo": {"@id": f"https://w3id.org/ro/crate/{VERSION}"},
                  "about": {"@id": "./"}}
    return {"@context": CONTEXT, "@graph": [descriptor, root, *described, *context_entities]}


def write_ro_crate(
    manifest: Manifest, dest: str | Path, *, holey: bool = False, options: TransferOptions | None = None,
    tokens: Sequence[str] = (), progress: ProgressSink | None = None,
) -> ExportResult:
    """Write ``dest/ro-crate-metadata.json`` (complete: after downloading the files into ``dest``)."""
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    placed, skips = place(manifest, need_url=True, include_restricted=False)
    if any(p.local.casefold() == METADATA for p in placed) and not holey:
        raise UsageError(f"the dataset has its own {METADATA}; write a holey crate or a bag instead")
    if holey:
        files = declared(placed)
    else:
        on_disk, skips = download_payload(manifest, root, options=options, tokens=tokens, progress=progress)
        files = hash_payload(root, on_disk)
    document = crate_document(manifest, files, holey=holey)
    tmp = root / (METADATA + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(root / METADATA)
    if not manifest.dataset.year:
        skips.notes.append("no publication year known: the root dataset has no datePublished")
    exported = skips.export("")
    return ExportResult(root, tuple(files), holey, ("sha256",) if not holey else (), exported.skipped,
                        exported.messages)


__all__ = ["CONTEXT", "METADATA", "VERSION", "crate_document", "write_ro_crate"]
