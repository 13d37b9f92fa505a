"""FAIR Signposting for every dataset response: typed ``Link`` headers and RFC 9264 linksets.

Why: a machine that lands on ``/{doi}`` - whatever representation it asked for - learns from
the headers alone what to cite (``cite-as``), where the metadata is (``describedby``), what kind
of thing this is (``type``), its ``license``, its files (``item``, capped so headers stay
small), and where the complete linkset is (``linkset``). The linkset lists *every* file and
gives each one a ``collection`` back-link, as the Signposting profile's level 2 describes.
Item links point at the gateway's own exact-file URLs (``?file=/path``, glob characters
escaped), which redirect or stream to the origin.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from urllib.parse import quote

from ..identifiers import Identifier
from ..model import Dataset, FileEntry, Manifest

SCHEMA_TYPES = ("https://schema.org/Dataset", "https://schema.org/AboutPage")
_SPDX_CASE = {"mit": "MIT", "apache-2.0": "Apache-2.0", "bsd-2-clause": "BSD-2-Clause",
              "bsd-3-clause": "BSD-3-Clause", "gpl-3.0": "GPL-3.0-only", "gpl-2.0": "GPL-2.0-only",
              "lgpl-3.0": "LGPL-3.0-only", "mpl-2.0": "MPL-2.0", "odbl-1.0": "ODbL-1.0", "isc": "ISC"}
_ESCAPES = {"*": "[*]", "?": "[?]", "[": "?"}
_CC = re.compile(r"^cc-(by(?:-nc)?(?:-nd|-sa)?)-(\d\.\d)$")
_LINK_UNSAFE = re.compile(r'[\x00-\x20<>"\x7f]')


@dataclass(frozen=True)
class Link:
    href: str
    rel: str
    type: str | None = None

    def header(self) -> str:
        href = _LINK_UNSAFE.sub(lambda m: f"%{ord(m[0]):02X}", self.href)  # a '>' would end the target early
        text = f'<{href}>; rel="{self.rel}"'
        return text + (f'; type="{self.type}"' if self.type else "")

    def target(self) -> dict[str, str]:
        return {"href": self.href, **({"type": self.type} if self.type else {})}


def license_url(license: str | None) -> str | None:
    """A license URI: URLs as given, Creative Commons ids to their deeds, others to SPDX."""
    if not license or not license.strip():
        return None
    text = license.strip()
    if text.lower().startswith(("http://", "https://")):
        return text if not any(c <= " " or c == "\x7f" for c in text) else None
    low = text.lower()
    if low in ("cc0-1.0", "cc0"):
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    if match := _CC.match(low):
        return f"https://creativecommons.org/licenses/{match[1]}/{match[2]}/"
    if re.fullmatch(r"[A-Za-z0-9.+-]+", text):
        return f"https://spdx.org/licenses/{_SPDX_CASE.get(low, text)}"
    return None


def glob_escape(path: str) -> str:
    """An exact-path pattern for :mod:`doi2data.select`: anchored, ``*``/``?`` bracketed.

    ``[`` becomes ``?`` (any one character): a bracketed ``[`` would be a nested set to ``re``.
    """
    return "/" + "".join(_ESCAPES.get(c, c) for c in path)


def dataset_path(ident: Identifier) -> str:
    """The gateway path of an identifier: ``/10.5281/zenodo.1`` (handles: ``/hdl:...``)."""
    value = ident.value if ident.is_doi else f"hdl:{ident.value}"
    return "/" + quote(value, safe="/:")


def media_type_of(entry: FileEntry) -> str:
    """The file's media type: the repository's, else guessed from the name, else octet-stream."""
    return entry.media_type or mimetypes.guess_type(entry.path)[0] or "application/octet-stream"


def file_url(anchor: str, entry: FileEntry) -> str:
    return f"{anchor}?file={quote(glob_escape(entry.path), safe='/')}"


def _cite_as(ident: Identifier, dataset: Dataset) -> str:
    return ident.url if ident.scheme != "url" else (dataset.landing_url or ident.url)


def dataset_links(anchor: str, ident: Identifier, manifest: Manifest, *, max_items: int) -> list[Link]:
    """The level-1 links of a dataset response (``anchor`` is the gateway's dataset URL)."""
    ds = manifest.dataset
    links = [Link(_cite_as(ident, ds), "cite-as")]
    links.append(Link(f"{anchor}?format=json", "describedby", "application/json"))
    if ident.is_doi:
        links.append(Link(f"https://api.datacite.org/application/vnd.datacite.datacite+json/{quote(ident.value, safe='/')}",
                          "describedby", "application/vnd.datacite.datacite+json"))
    links.extend(Link(t, "type") for t in SCHEMA_TYPES)
    if lic := license_url(ds.license):
        links.append(Link(lic, "license"))
    links.extend(islice(_item_links(anchor, manifest), max(0, max_items)))  # lazily: only max_items are built
    links.append(Link(f"{anchor}?format=linkset", "linkset", "application/linkset+json"))
    links.append(Link(f"{anchor}?format=linkset-text", "linkset", "application/linkset"))
    return links


def _item_links(anchor: str, manifest: Manifest) -> Iterator[Link]:
    """One ``item`` link per open file with a URL, made as they are taken."""
    return (Link(file_url(anchor, f), "item", media_type_of(f)) for f in manifest.files if f.access == "open" and f.urls)


def file_links(anchor: str, ident: Identifier, dataset: Dataset) -> list[Link]:
    """Links on a file response: back to the dataset, and what to cite."""
    return [Link(anchor, "collection", "text/html"), Link(_cite_as(ident, dataset), "cite-as")]


def header_value(links: Iterable[Link]) -> str:
    return ", ".join(link.header() for link in links)


def linkset(anchor: str, ident: Identifier, manifest: Manifest) -> dict[str, object]:
    """The RFC 9264 JSON linkset: the dataset anchor with every item, and each item's back-link."""
    links = dataset_links(anchor, ident, manifest, max_items=len(manifest.files))
    relations: dict[str, list[dict[str, str]]] = {}
    for link in links:
        if link.rel != "linkset":
            relations.setdefault(link.rel, []).append(link.target())
    context: dict[str, object] = {"anchor": anchor, **relations}
    items = [link for link in links if link.rel == "item"]
    return {"linkset": [context, *({"anchor": i.href, "collection": [{"href": anchor, "type": "text/html"}]}
                                   for i in items)]}


def linkset_json(anchor: str, ident: Identifier, manifest: Manifest) -> bytes:
    """:func:`linkset` as ``json.dumps(..., ensure_ascii=False, indent=1)`` writes it."""
    return "".join(linkset_json_pieces(anchor, ident, manifest)).encode()


def linkset_json_pieces(anchor: str, ident: Identifier, manifest: Manifest, *, batch: int = 500) -> Iterator[str]:
    """:func:`linkset_json`'s text in pieces of ``batch`` items, never the whole document (a
    million-file linkset held a dict per link: gigabytes). Laid out exactly as ``json.dumps`` with
    ``indent=1`` lays out :func:`linkset` (the tests compare the two)."""
    relations: dict[str, list[dict[str, str]]] = {}
    for link in dataset_links(anchor, ident, manifest, max_items=0):
        if link.rel != "linkset":
            relations.setdefault(link.rel, []).append(link.target())
    head = '{\n "linkset": [\n  {\n   "anchor": ' + _quote(anchor)
    yield head + "".join(f",\n   {_quote(rel)}: {_indented(targets, '   ')}" for rel, targets in relations.items())
    shown = 0
    for links in _batches(_item_links(anchor, manifest), batch):
        yield "".join((",\n   \"item\": [" if shown + i == 0 else ",") + "\n    " + _indented(link.target(), "    ")
                      for i, link in enumerate(links))
        shown += len(links)
    yield "\n   ]\n  }" if shown else "\n  }"
    back = {"href": anchor, "type": "text/html"}
    for links in _batches(_item_links(anchor, manifest), batch):
        yield "".join(",\n  " + _indented({"anchor": link.href, "collection": [back]}, "  ") for link in links)
    yield "\n ]\n}"


def linkset_text(anchor: str, ident: Identifier, manifest: Manifest) -> bytes:
    """``application/linkset``: Link-header syntax with explicit anchors, one link per line."""
    return "".join(linkset_text_pieces(anchor, ident, manifest)).encode()


def linkset_text_pieces(anchor: str, ident: Identifier, manifest: Manifest, *, batch: int = 500) -> Iterator[str]:
    """:func:`linkset_text` in pieces of ``batch`` links."""
    tail = f'; anchor="{anchor}"'
    links = chain((link for link in dataset_links(anchor, ident, manifest, max_items=0) if link.rel != "linkset"),
                  _item_links(anchor, manifest))
    first = True
    for group in _batches(links, batch):
        yield ("" if first else ",\n") + ",\n".join(link.header() + tail for link in group)
        first = False
    yield "\n"


def _batches(links: Iterator[Link], size: int) -> Iterator[list[Link]]:
    while group := list(islice(links, size)):
        yield group


_quote = json.encoder.encode_basestring  # json.dumps's string quoting with ensure_ascii=False


def _indented(value: object, pad: str) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=1)`` at indentation ``pad``, for the strings,
    lists and str-keyed dicts a linkset holds (the pure-Python encoder that ``indent`` selects is
    several times slower; a million items made that minutes)."""
    inner = pad + " "
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        return "{\n" + ",\n".join(f"{inner}{_quote(k)}: {_indented(v, inner)}" for k, v in value.items()) + "\n" + pad + "}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(inner + _indented(v, inner) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n" + pad)


__all__ = ["Link", "dataset_links", "dataset_path", "file_links", "file_url", "glob_escape", "header_value",
           "license_url", "linkset", "linkset_json", "linkset_json_pieces", "linkset_text", "linkset_text_pieces",
           "media_type_of"]
