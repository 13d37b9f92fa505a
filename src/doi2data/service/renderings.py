"""A large manifest's representations made as they are sent: a few hundred files a piece, never whole.

Why: rendered whole, 100,000 files took the gateway to 476 MB for a Metalink (the list of placed
entries, the element tree, the text and its bytes), 378 MB for a linkset and 193 MB for an aria2
list, and each stayed memoised on the cache entry; a million files would need gigabytes. Each
function here yields, in pieces, exactly the text of its whole counterpart
(:func:`doi2data.formats.render`, :func:`.manifests.encode`, :func:`.signposting.linkset_json`,
:func:`.signposting.linkset_text`): the tests compare them byte for byte. Placement (safe local
names, clash renames) runs once over the whole manifest in order, as the whole renderings do.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from .._version import __version__
from ..formats import render
from ..formats._common import Placer
from ..formats.aria2 import aria2_entry, url_line
from ..formats.checksums import TOOLS, checked_algorithm, checksum_entry
from ..formats.listing import ndjson_line
from ..formats.metalink import NAMESPACE, _add, _file, published_stamp
from ..identifiers import Identifier
from ..model import FileEntry, Manifest
from .manifests import manifest_json_pieces
from .signposting import linkset_json_pieces, linkset_text_pieces

#: Files per piece: small enough that one piece is a few milliseconds of work (the GIL is handed
#: back between pieces), large enough that the per-piece overhead does not show.
BATCH = 500
#: The representations :func:`pieces` makes (everything a manifest can be shown as but HTML, which
#: shows at most :data:`.pages.MAX_ROWS` rows and is rendered whole).
STREAMED = ("json", "linkset", "linkset-text", "ndjson", "csv", "metalink", "urls", "aria2", *TOOLS.values())


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (a repository's ``"\\ud800"``) becomes U+FFFD, as in
    the JSON (:func:`.manifests.encoded`), instead of failing half-way through a response."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def pieces(name: str, manifest: Manifest, ident: Identifier, anchor: str) -> Iterator[bytes]:
    """The representation ``name`` of ``manifest`` as UTF-8 pieces of about :data:`BATCH` files."""
    if name == "json":
        texts: Iterable[str] = manifest_json_pieces(manifest)
    elif name == "linkset":
        texts = linkset_json_pieces(anchor, ident, manifest, batch=BATCH)
    elif name == "linkset-text":
        texts = linkset_text_pieces(anchor, ident, manifest, batch=BATCH)
    elif name == "metalink":
        texts = _metalink(manifest)
    elif name == "csv":
        texts = _csv(manifest)
    elif name in ("ndjson", "urls", "aria2", *TOOLS.values()):
        texts = _batched(_lines(name, manifest))
    else:  # pragma: no cover - every format the gateway offers is above
        texts = iter([render(name, manifest).text])
    for text in texts:
        if text:
            yield utf8(text)


def _batched(texts: Iterable[str | None]) -> Iterator[str]:
    batch: list[str] = []
    for text in texts:
        if text:
            batch.append(text)
            if len(batch) >= BATCH:
                yield "".join(batch)
                batch.clear()
    yield "".join(batch)


def _lines(name: str, manifest: Manifest) -> Iterator[str | None]:
    """Each file's text in a per-file format (what ``build_*`` join), placed as those place."""
    if name == "ndjson":
        doi = manifest.dataset.doi
        yield from (ndjson_line(doi, f) for f in manifest.files)
        return
    hand_off = name in ("urls", "aria2")
    placer = Placer(need_url=hand_off, include_restricted=not hand_off)
    if name == "urls":
        line: Callable[..., str | None] = url_line
    elif name == "aria2":
        line = lambda item: aria2_entry(item)[0]  # noqa: E731
    else:
        algorithm = checked_algorithm(name)
        line = lambda item: checksum_entry(item, algorithm, placer.skips)  # noqa: E731
    for entry in manifest.files:
        item = placer(entry)
        yield None if item is None else line(item)


def _csv(manifest: Manifest) -> Iterator[str]:
    """CSV in batches: each batch rendered by the CSV format itself, its header kept only once."""
    for at in range(0, max(1, len(manifest.files)), BATCH):
        text = render("csv", _part(manifest, manifest.files[at : at + BATCH])).text
        yield text if at == 0 else text.split("\r\n", 1)[1]


def _part(manifest: Manifest, files: tuple[FileEntry, ...]) -> Manifest:
    return replace(manifest, files=files, datasets=())


def _metalink(manifest: Manifest) -> Iterator[str]:
    """Metalink 4 as :func:`doi2data.formats.metalink.build_metalink` writes it, one ``<file>`` at a time."""
    root = ET.Element("metalink", xmlns=NAMESPACE)
    _add(root, "generator", f"doi2data/{__version__}")
    if stamp := published_stamp(manifest.dataset):
        _add(root, "published", stamp)
    ET.indent(root, space="  ")
    head = ET.tostring(root, encoding="unicode")
    end = "\n</metalink>"
    if not head.endswith(end):  # pragma: no cover - ElementTree always closes the root this way
        raise AssertionError("unexpected Metalink head")
    yield '<?xml version="1.0" encoding="UTF-8"?>\n' + head[: -len(end)]
    placer = Placer(need_url=True, include_restricted=False)
    dataset = manifest.dataset
    batch: list[str] = []
    for entry in manifest.files:
        item = placer(entry)
        if item is None:
            continue
        holder = ET.Element("metalink")
        _file(holder, dataset, item)
        element = holder[0]
        ET.indent(element, space="  ", level=1)
        batch.append("\n  " + ET.tostring(element, encoding="unicode"))
        if len(batch) >= BATCH:
            yield "".join(batch)
            batch.clear()
    yield "".join(batch) + end + "\n"


__all__ = ["BATCH", "STREAMED", "pieces", "utf8"]
