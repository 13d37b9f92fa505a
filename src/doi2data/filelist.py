"""Compact storage of a manifest's files: columns, not a million objects.

Why: a :class:`~doi2data.model.FileEntry` with its checksum dict, mapping proxy, URL tuple and
instance dict costs about 1 KB, so a 1,000,000-file dataset needed gigabytes just to be listed
(issue 19: 3.6 KB per file at peak). :class:`FileList` keeps one row per file in columns:

* ``path``: the string (the only per-file object besides the digests);
* ``size``: ``array('q')``, ``-1`` for unknown;
* checksums: the canonical hex digests packed as raw bytes (one ``bytes`` per row, 16 bytes for
  an md5) plus the index of the row's algorithm tuple in a shared table;
* URLs: each URL is split around the file's path (``A + path + B``, the path raw or %-quoted), so
  the ``(A, B, quoting)`` templates are shared by every file of a record; a row stores the index
  of its tuple of templates (a URL that does not contain the path is kept as is);
* every other field (``media_type``, ``access``, ``note``, and whatever fields the model gains)
  as one interned tuple per distinct combination, indexed per row.

A row that does not fit (malformed checksums, unknown algorithms) keeps its whole
``FileEntry``. Entries are rebuilt on access, equal to the ones stored: ``FileList`` is a
read-only ``Sequence[FileEntry]`` (``len``, indexing, slicing, iteration, ``==`` with any sequence
of entries). About 150 bytes per file instead of ~1 KB.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from itertools import pairwise
from operator import attrgetter
from types import MappingProxyType
from typing import Any

# at module level: an import inside ``_entry`` cost ~3 us a row (a third of rebuilding an entry)
from .columns import BuiltOnAccess, Interner
from .entry import _HEX_LENGTHS, _NONE, FileEntry
from .urlquote import quote

_QUOTINGS: tuple[Any, ...] = (  # deterministic, so A + quoting(path) + B rebuilds the URL exactly
    lambda p: p,
    lambda p: quote(p, "/"),
    lambda p: quote(p, "/!$&'()*+,;=:@~"),
    lambda p: quote(p, ""),
)
#: what planning a download or checking a file needs of a row: ``(size, checksums, access, has URLs,
#: bad_checksums)`` (:meth:`FileList.facts`); building the whole entry, URLs included, cost twice as much
RowFacts = tuple[int | None, dict[str, str], str, bool, Mapping[str, str]]
#: a URL as ``A + quoting(path) + B``: ``(A, B, index into _QUOTINGS)``
Template = tuple[str, str, int]
_CORE = ("path", "size", "checksums", "urls", "bad_checksums")


class FileListBuilder:
    """Append entries one at a time (an adapter's loop), then :meth:`build` the :class:`FileList`."""

    def __init__(self) -> None:
        self._attr_names = tuple(f.name for f in fields(FileEntry) if f.name not in _CORE)
        self.access_at = self._attr_names.index("access")
        names = self._attr_names  # their tuple per entry, made in C (attrgetter of one name gives no tuple)
        self._attrs_of = attrgetter(*names) if len(names) > 1 else lambda entry: (getattr(entry, names[0]),)
        self.paths: list[str] = []
        self.sizes = array("q")
        self.digests: list[bytes | None] = []
        self.algos = array("I")
        self.url_rows = array("I")
        self.attrs = array("I")
        self.algo_table = Interner()
        self.url_table = Interner(())  # row 0: no URLs
        self.template_table = Interner()
        self.attr_table = Interner()
        self.raw_urls: dict[int, tuple[str, ...]] = {}
        self._last_urls: tuple[int, tuple[Template, ...]] = (0, ())
        self.whole: dict[int, FileEntry] = {}
        self.algo_table(())  # index 0: no checksums

    def __len__(self) -> int:
        return len(self.paths)

    def _template(self, url: str, path: str) -> Template | None:
        for mode, quoting in enumerate(_QUOTINGS):
            try:
                needle = quoting(path)
            except (UnicodeError, ValueError):  # a name no quoting takes: the URL is kept as given
                continue
            at = url.rfind(needle) if needle else -1
            if at >= 0:
                return self.template_table.values[self.template_table((url[:at], url[at + len(needle):], mode))]
        return None

    def _url_row(self, urls: tuple[str, ...], path: str) -> int | None:
        """The ``url_table`` row holding the templates of ``urls`` (None: a URL does not contain the path).

        The previous row's templates are tried first: the files of a record share them, and
        checking one is a fraction of searching the URL for each quoting of the path."""
        last, templates = self._last_urls
        try:
            if len(templates) == len(urls) and (
                    urls[0] == templates[0][0] + _QUOTINGS[templates[0][2]](path) + templates[0][1] if len(urls) == 1
                    else all(url == a + _QUOTINGS[mode](path) + z for url, (a, z, mode) in zip(urls, templates))):
                return last
        except (UnicodeError, ValueError):
            pass
        found = tuple(self._template(url, path) for url in urls)
        if None in found:
            return None
        self._last_urls = (self.url_table(found), found)
        return self._last_urls[0]

    def append(self, entry: FileEntry) -> None:
        row = len(self.paths)
        self.paths.append(entry.path)
        size = entry.size
        odd_size = size is not None and not 0 <= size < 1 << 63  # not for the column: the row is kept whole
        self.sizes.append(-1 if size is None or odd_size else size)
        sums = entry.checksums
        packed: bytes | None = None
        algos = 0
        if entry.bad_checksums or odd_size:
            self.whole[row] = entry
        elif len(sums) == 1:  # the usual case, one algorithm: no generator per row
            ((name, value),) = sums.items()
            try:
                packed = bytes.fromhex(value) if len(value) == _hex_width(name) else None
            except ValueError:
                packed = None
            if packed is None or packed.hex() != value:  # unknown algorithm or not canonical hex: kept whole
                self.whole[row] = entry
                packed = None
            else:
                algos = self.algo_table((name,))
        elif sums:
            names = tuple(sums)
            try:
                if any(len(sums[name]) != _hex_width(name) for name in names):
                    raise ValueError("not a digest of a known algorithm")
                packed = b"".join(bytes.fromhex(sums[name]) for name in names)
                algos = self.algo_table(names)
                if packed.hex() != "".join(sums[name] for name in names):
                    raise ValueError("not canonical hex")
            except ValueError:  # an algorithm the model does not know (kept as given): store the row whole
                self.whole[row] = entry
                packed, algos = None, 0
        self.digests.append(packed)
        self.algos.append(algos)
        url_row = self._url_row(entry.urls, entry.path)
        if url_row is None:
            self.raw_urls[row] = entry.urls
            self.url_rows.append(0)
        else:
            self.url_rows.append(url_row)
        self.attrs.append(self.attr_table(self._attrs_of(entry)))

    def extend(self, entries: Iterable[FileEntry]) -> FileListBuilder:
        for entry in entries:
            self.append(entry)
        return self

    def build(self) -> FileList:
        return FileList._from_builder(self)


class FileList(BuiltOnAccess["FileEntry"]):
    """A manifest's files, stored compactly (see the module docstring); a read-only sequence."""

    __slots__ = ("_b", "_hash")

    def __init__(self, entries: Iterable[FileEntry] = ()) -> None:
        if isinstance(entries, FileList):
            self._b: FileListBuilder = entries._b
        else:
            self._b = FileListBuilder().extend(entries)
        self._hash: int | None = None

    @classmethod
    def _from_builder(cls, builder: FileListBuilder) -> FileList:
        out = cls.__new__(cls)
        out._b, out._hash = builder, None
        return out

    @classmethod
    def of(cls, entries: Iterable[FileEntry]) -> FileList:
        """``entries`` as a FileList (the same object when it already is one)."""
        return entries if isinstance(entries, FileList) else cls(entries)

    def __len__(self) -> int:
        return len(self._b.paths)

    def path(self, row: int) -> str:
        """The path of row ``row`` without building the entry (sorting, dedup, filters)."""
        return self._b.paths[row]

    _what = "FileList index"

    def _entry(self, row: int) -> FileEntry:
        b = self._b
        whole = b.whole.get(row)
        if whole is not None:
            return whole
        path = b.paths[row]
        size = b.sizes[row]
        sums = self._checksums(row)
        raw = b.raw_urls.get(row)
        if raw is not None:
            urls = raw
        else:
            urls = tuple(a + _QUOTINGS[mode](path) + z for a, z, mode in b.url_table.values[b.url_rows[row]])
        entry = object.__new__(FileEntry)
        set_ = object.__setattr__
        set_(entry, "path", path)
        set_(entry, "size", None if size < 0 else size)
        set_(entry, "checksums", MappingProxyType(sums))
        set_(entry, "urls", urls)
        set_(entry, "bad_checksums", _none())
        for name, value in zip(b._attr_names, b.attr_table.values[b.attrs[row]]):
            set_(entry, name, value)
        return entry

    def _checksums(self, row: int) -> dict[str, str]:
        b = self._b
        names = b.algo_table.values[b.algos[row]]
        packed = b.digests[row]
        if not names or packed is None:
            return {}
        if len(names) == 1:
            return {names[0]: packed.hex()}
        hexed, sums, at = packed.hex(), {}, 0
        for name in names:
            width = _hex_width(name)
            sums[name] = hexed[at:at + width]
            at += width
        return sums

    def facts(self, row: int) -> RowFacts:
        """What planning and checking row ``row`` need, without building its entry (:data:`RowFacts`)."""
        b = self._b
        whole = b.whole.get(row)
        if whole is not None:
            return entry_facts(whole)
        size = b.sizes[row]
        return (None if size < 0 else size, self._checksums(row), b.attr_table.values[b.attrs[row]][b.access_at],
                b.url_rows[row] != 0 or row in b.raw_urls, _NONE)

    def _build(self, row: int) -> FileEntry:
        return self._entry(row)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)) or len(other) != len(self):
            return NotImplemented if not isinstance(other, Sequence) else False
        return all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self))
        return self._hash

    def __add__(self, other: Iterable[FileEntry]) -> tuple[FileEntry, ...]:
        return (*self, *other)

    def __radd__(self, other: Iterable[FileEntry]) -> tuple[FileEntry, ...]:
        return (*other, *self)

    def __repr__(self) -> str:
        return f"<FileList of {len(self)} file(s)>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FileList, (tuple(self),))

    def distinct(self, name: str) -> set[Any]:
        """The values field ``name`` (``access``, ``media_type``, ``dataset``, ...; not a core field)
        takes across the rows, without building an entry (one pass over an int column)."""
        b = self._b
        at = b._attr_names.index(name)
        found = {b.attr_table.values[i][at] for i in set(b.attrs)}
        found.update(getattr(entry, name) for entry in b.whole.values())
        return found

    def total_size(self) -> int:
        """Sum of the known sizes (from the size column; rows kept whole add their own)."""
        whole = self._b.whole.values()
        return sum(size for size in self._b.sizes if size > 0) + sum(
            e.size for e in whole if e.size is not None and not 0 <= e.size < 1 << 63)

    def sizes_known(self) -> bool:
        b = self._b
        return -1 not in b.sizes or all(b.whole.get(r) is not None and b.whole[r].size is not None
                                        for r, size in enumerate(b.sizes) if size == -1)

    def irregular(self) -> list[FileEntry]:
        """The rows stored whole (malformed or unknown checksums), in order."""
        return [self._b.whole[row] for row in sorted(self._b.whole)]

    def sorted_by_path(self) -> FileList:
        """The same rows ordered by path (columns reordered; no entry is built)."""
        paths = self._b.paths
        if all(a <= b for a, b in pairwise(paths)):  # already in order (most listings): no index list to build
            return self
        return self.take(sorted(range(len(self)), key=paths.__getitem__))

    def take(self, order: Sequence[int]) -> FileList:
        """The rows ``order`` (in that order) sharing this list's strings, digests and tables: ~40
        bytes per row and no entry built (a filter's result over a million files, a sort)."""
        src, out = self._b, FileListBuilder()
        out.algo_table, out.url_table, out.template_table, out.attr_table = (
            src.algo_table, src.url_table, src.template_table, src.attr_table)
        out.paths = [src.paths[r] for r in order]
        out.sizes = array("q", (src.sizes[r] for r in order))
        out.digests = [src.digests[r] for r in order]
        out.algos = array("I", (src.algos[r] for r in order))
        out.url_rows = array("I", (src.url_rows[r] for r in order))
        out.attrs = array("I", (src.attrs[r] for r in order))
        out.raw_urls = {i: src.raw_urls[r] for i, r in enumerate(order) if r in src.raw_urls}
        out.whole = {i: src.whole[r] for i, r in enumerate(order) if r in src.whole}
        return out.build()


def entry_facts(entry: FileEntry) -> RowFacts:
    """:meth:`FileList.facts` of an entry."""
    return entry.size, dict(entry.checksums), entry.access, bool(entry.urls), entry.bad_checksums


def facts_of(files: Sequence[FileEntry]) -> Callable[[int], RowFacts]:
    """``row -> RowFacts`` for any sequence of entries: from the columns of a :class:`FileList`."""
    if isinstance(files, FileList):
        return files.facts
    return lambda row: entry_facts(files[row])


def _hex_width(name: str) -> int:
    return _HEX_LENGTHS.get(name, 0)


def _none() -> Any:
    return _NONE


__all__ = ["FileList", "FileListBuilder", "RowFacts", "entry_facts", "facts_of"]
