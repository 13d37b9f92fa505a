"""A published web folder -> manifest entries: crawl, exact sizes, and the checksum files inside.

Why shared: PSI dataset folders, a typed ``https://host/path/`` and a DOI that lands on a web
folder are the same thing to download - a listing tree (HTML, or WebDAV ``PROPFIND`` first where
the caller asks), possibly carrying checksum files. Two kinds are read:

* PSI's ``__checksum_filename_N__`` sha1 inventory (:mod:`.checksumfile`);
* sidecars as ``md5sum``/``sha256sum`` write them (GNU ``<hex>  <name>`` / ``<hex> *<name>``, BSD
  ``SHA256 (<name>) = <hex>``): ``MD5SUMS``, ``SHA1SUMS``, ``SHA256SUMS``, ``SHA512SUMS`` (names
  relative to the sidecar's folder) and ``<file>.md5`` / ``.sha1`` / ``.sha256`` / ``.sha512``
  (for ``<file>`` next to it; a bare digest is enough).

Every digest found goes into the manifest, so the transfer engine verifies it like any repository
checksum; files no list covers, and list lines naming files that are not there, are reported.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from ...entry import FileEntry, normalize_digest
from ...errors import Doi2DataError
from ...filelist import FileList, FileListBuilder
from ...http import Http, raise_for_status
from .autoindex import HEAD_LIMIT, IndexEntry, ListingLimits, head_size, walk
from .checksumfile import CHECKSUM_FILE, ChecksumList, lookup, parse_checksum_file
from .net import gather_limited, get_text, note

#: Sidecar file names (upper-cased) -> algorithm; and suffixes of per-file sidecars.
SUMS_FILES = {"MD5SUMS": "md5", "MD5SUM": "md5", "SHA1SUMS": "sha1", "SHA1SUM": "sha1", "SHA256SUMS": "sha256",
              "SHA256SUM": "sha256", "SHA512SUMS": "sha512", "SHA512SUM": "sha512"}
SIDECAR_SUFFIXES = {".md5": "md5", ".sha1": "sha1", ".sha256": "sha256", ".sha512": "sha512"}
MAX_SIDECARS = 2000          # sidecar files fetched at most (each is one request)
_SIDECARS_AT_ONCE = 8        # fetched together, then read in order and dropped (not every text of a page at once)
SIDECAR_LIMIT = 64 * 1024 * 1024
_BSD_NAMES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


def sidecar_algorithm(path: str) -> str | None:
    """``data/SHA256SUMS`` -> ``sha256``; ``x.bin.md5`` -> ``md5``; other names -> ``None`` (pure)."""
    name = path.rsplit("/", 1)[-1]
    if name.upper() in SUMS_FILES:
        return SUMS_FILES[name.upper()]
    dot = name.rfind(".")
    return SIDECAR_SUFFIXES.get(name[dot:].lower()) if dot > 0 else None


def _lines(text: str | bytes, chunk: int = 1 << 20) -> Iterator[str]:
    """``text.splitlines()``, one line at a time: no list of every line of a million-line ``MD5SUMS``.

    The text is cut only just after a ``\\n`` (so a ``\\r\\n`` stays whole), where every line
    boundary ``splitlines`` knows is also one: the lines are the same. A body given as ``bytes``
    is decoded (UTF-8, bad bytes replaced) one such slice at a time, never as one whole string:
    a ``\\n`` byte never sits inside a UTF-8 sequence, so the text is the whole decode's."""
    start, n = 0, len(text)
    newline: str | bytes = b"\n" if isinstance(text, bytes) else "\n"
    while start < n:
        cut = text.find(newline, start + chunk)  # type: ignore[arg-type]
        end = n if cut < 0 else cut + 1
        piece = text[start:end]
        yield from (piece.decode("utf-8", errors="replace") if isinstance(piece, bytes) else piece).splitlines()
        start = end


def _sum_lines(text: str | bytes, algorithm: str, single: str | None) -> Iterator[tuple[str, str] | str]:
    """``(name, hex)`` for each good line of ``md5sum``-style text, a problem sentence for each bad one."""
    for number, raw in enumerate(_lines(text), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name: str | None
        head, sep, tail = line.partition(" (")
        if sep and head.upper() in _BSD_NAMES and ") = " in tail:
            name, _, value = tail.rpartition(") = ")
        else:
            value, _, rest = line.partition(" ")
            name = rest[1:] if rest.startswith(("*", " ")) else rest
            if value.startswith("\\"):  # GNU escapes names holding a newline or backslash
                value = value[1:]
            name = name or single
        digest = normalize_digest(algorithm, value)
        if digest is None or len(value.strip()) != len(digest):
            yield f"line {number}: not a {algorithm} digest"
            continue
        if not name:
            yield f"line {number}: no file name"
            continue
        while name.startswith("./"):
            name = name[2:]
        yield name, digest


def parse_sums(text: str, algorithm: str, *, single: str | None = None) -> tuple[dict[str, str], list[str]]:
    """``{name: hex}`` from ``md5sum``-style text (GNU or BSD lines), and problems (pure, linear).

    ``single``: the file a per-file sidecar (``x.bin.md5``) stands for - a bare digest names it.
    """
    found: dict[str, str] = {}
    problems: list[str] = []
    for item in _sum_lines(text, algorithm, single):
        if isinstance(item, str):
            problems.append(item)
        else:
            found.setdefault(*item)
    return found, problems


#: a path's sidecar digest(s): one as ``bytes`` (algorithm number, then the raw digest: 50 bytes for
#: an md5, where ``(algorithm, hex)`` took ~145) or ``(algorithm, hex)`` when the hex is not canonical;
#: several as ``{algorithm: hex}``
_Digest = bytes | tuple[str, str] | dict[str, str]


@dataclass
class _Sums:
    digests: dict[str, _Digest]  # path relative to the crawl root -> its digest(s), first sidecar first
    sources: set[str]
    problems: list[str]
    named: bool = False  # did any sidecar name a file (its digests may all have been taken since)
    algorithms: list[str] = field(default_factory=list)  # the algorithm numbers of the ``bytes`` form

    def _one(self, algorithm: str, digest: str) -> _Digest:
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raw = b""
        if not raw or raw.hex() != digest:
            return (algorithm, digest)
        if algorithm not in self.algorithms:
            if len(self.algorithms) > 255:
                return (algorithm, digest)
            self.algorithms.append(algorithm)
        return bytes((self.algorithms.index(algorithm),)) + raw

    def _pairs(self, have: _Digest) -> dict[str, str]:
        if isinstance(have, bytes):
            return {self.algorithms[have[0]]: have[1:].hex()}
        return {have[0]: have[1]} if isinstance(have, tuple) else have

    def add(self, path: str, algorithm: str, digest: str) -> None:
        """The first digest of each algorithm for ``path`` wins (the usual single one kept compact)."""
        have = self.digests.get(path)
        self.named = True
        if have is None:
            self.digests[path] = self._one(algorithm, digest)
        elif isinstance(have, dict):
            have.setdefault(algorithm, digest)
        else:
            pairs = self._pairs(have)
            if algorithm not in pairs:
                self.digests[path] = {**pairs, algorithm: digest}

    def of(self, path: str, *, take: bool = False) -> Mapping[str, str]:
        """``{algorithm: hex}`` the sidecars give ``path`` (empty when none); ``take``: and forget it."""
        have = self.digests.pop(path, None) if take else self.digests.get(path)
        return {} if have is None else self._pairs(have)


async def _read_sidecars(http: Http, sidecars: list[tuple[IndexEntry, str]], label: str, out: _Sums,
                         gate: asyncio.Semaphore | None = None, where: str | None = None) -> None:
    """Fetch these sidecars (8 at once, and within ``gate``) and add what they say to ``out``
    (``where``: the folder they were listed in, for ``--explain``; default ``label``).

    Each text is read line by line straight into ``out`` (the first digest of a path and
    algorithm wins, as in :func:`parse_sums`), then dropped."""
    note(http, f"{len(sidecars)} checksum sidecar file(s) in {where or label}")

    async def fetch(entry: IndexEntry) -> bytes | Doi2DataError:
        async with gate or contextlib.nullcontext():
            try:
                response = await http.request("GET", entry.url, limit=SIDECAR_LIMIT)
                raise_for_status(response, what="checksum file")
                return response.content  # decoded slice by slice as it is read (_lines): no second copy
            except Doi2DataError as exc:
                return exc

    for start in range(0, len(sidecars), _SIDECARS_AT_ONCE):  # at most 8 texts held (each <= SIDECAR_LIMIT)
        batch = sidecars[start:start + _SIDECARS_AT_ONCE]
        texts: list[bytes | Doi2DataError | None] = list(await gather_limited((fetch(e) for e, _ in batch),
                                                                            _SIDECARS_AT_ONCE))
        for i, (entry, algorithm) in enumerate(batch):
            text, texts[i] = texts[i], None
            if isinstance(text, Doi2DataError):
                out.problems.append(f"{label}: checksum file {entry.path} unreadable: {text}")
                continue
            assert text is not None
            _add_sums(out, label, entry.path, algorithm, text)


def _add_sums(out: _Sums, label: str, where: str, algorithm: str, text: str | bytes) -> None:
    """What the sidecar at ``where`` (relative path) says, into ``out``, line by line."""
    folder, _, name = where.rpartition("/")
    single = None if name.upper() in SUMS_FILES else name[: name.rfind(".")]
    shown = 0
    for item in _sum_lines(text, algorithm, single):
        if isinstance(item, str):
            if shown < 3:
                out.problems.append(f"{label}: {where}: {item}")
                shown += 1
            continue
        rel, digest = item
        if single is not None and rel.rsplit("/", 1)[-1] != single:
            rel = single  # a per-file sidecar names only its own file, whatever path it wrote
        out.add(f"{folder}/{rel}" if folder else rel, algorithm, digest)
    out.sources.add(where)


async def sidecar_checksums(http: Http, files: list[IndexEntry], label: str) -> _Sums:
    """Fetch the ``*SUMS`` and ``*.md5``-style sidecars among ``files`` (at most :data:`MAX_SIDECARS`)."""
    sidecars = [(e, a) for e in files if (a := sidecar_algorithm(e.path))]
    out = _Sums({}, set(), [])
    if not sidecars:
        return out
    if len(sidecars) > MAX_SIDECARS:
        out.problems.append(f"{label}: {len(sidecars)} checksum sidecars; only the first {MAX_SIDECARS} were read")
        sidecars = sidecars[:MAX_SIDECARS]
    await _read_sidecars(http, sidecars, label, out)
    return out


async def folder_checksums(http: Http, found: list[IndexEntry], label: str) -> tuple[ChecksumList, list[str]]:
    """Fetch and merge every ``__checksum_filename_N__`` of a folder (``found``: those entries)."""
    merged = await _psi_checksums(http, found, label)
    return merged, _psi_problems(merged, label)


async def _psi_checksums(http: Http, found: list[IndexEntry], label: str,
                         gate: asyncio.Semaphore | None = None) -> ChecksumList:
    if not found:
        return ChecksumList()
    note(http, f"{len(found)} checksum file(s) in {label}")

    async def fetch(entry: IndexEntry) -> tuple[str, object]:
        async with gate or contextlib.nullcontext():
            return await get_text(http, entry.url, what="checksum file")

    texts = await gather_limited((fetch(e) for e in found), 4)
    merged = ChecksumList()
    for text, _ in texts:
        merged = merged.merged(parse_checksum_file(text))
    return merged


def _psi_problems(merged: ChecksumList, label: str) -> list[str]:
    problems = [f"{label}: checksum file: {p}" for p in merged.problems[:5]]
    if len(merged.problems) > 5:
        problems.append(f"{label}: {len(merged.problems) - 5} more checksum-file problem(s)")
    return problems


class FolderFiles:
    """A web folder's files, made final one listing page at a time, kept compactly.

    Why per page: a tree of a million files must not be held as a million objects (issue 19:
    ~1.1 KB per file when the whole crawl, then every ``FileEntry``, was kept). :meth:`page` takes
    one page of :func:`~.autoindex.walk` and, for its files, asks ``HEAD`` for rounded sizes
    (at most :data:`~.autoindex.HEAD_LIMIT` in all), reads the checksum files on the page, and
    then makes each file final in :meth:`_final` - the one place an entry is complete - straight
    into a :class:`~doi2data.filelist.FileListBuilder` (~100 bytes a file). Nothing is lost by
    not waiting for the whole tree: a sidecar (``MD5SUMS``, ``x.md5``) names only files at or below
    its own folder, PSI's ``__checksum_filename_N__`` sits in the top folder, and the crawl lists
    a folder before any folder below it. Warnings come out in :meth:`finish`, worded and ordered
    as when the tree was processed whole.
    """

    def __init__(self, http: Http, url: str, name: str | None, *, require_checksums: bool = True,
                 concurrency: int = 8, emit: Callable[[FileEntry], None] | None = None) -> None:
        self.http, self.url, self.name, self.require_checksums = http, url, name, require_checksums
        self.emit = emit  # told each entry as it becomes final (:mod:`doi2data.entry_stream`), if given
        self.label = name or url
        self.own = unquote(url.rstrip("/").rsplit("/", 1)[-1])  # some lists name paths from the parent folder
        #: shared with the crawl (:func:`~.autoindex.walk` ``gate``): listing, HEAD and checksum requests together
        self.gate = asyncio.Semaphore(max(1, concurrency))
        self.files = FileListBuilder()
        self.psi = ChecksumList()
        self.side = _Sums({}, set(), [])
        self.sidecars = 0
        self.head_wanted = self.head_asked = self.head_unknown = 0
        self.unverified = 0
        self.first_unverified: str | None = None
        self.twin_dirs: set[str] = set()  # folder paths listed twice (``a%20b/`` and ``a b/``): rare
        self._twins: set[str] = set()  # file paths listed twice on the page being finished

    async def page(self, entries: list[IndexEntry]) -> None:
        """One listing page (paths relative to the folder; directories are skipped)."""
        dirs: set[str] = set()
        for entry in entries:
            if entry.is_dir:
                if entry.path in dirs:
                    self.twin_dirs.add(entry.path)
                dirs.add(entry.path)
        files = [e for e in entries if not e.is_dir]
        if not files:
            return
        folder = files[0].path.rpartition("/")[0]
        where = f"{self.url.rstrip('/')}/{folder}/" if folder else self.url  # for --explain
        files = await self._sized(files, where)
        psi = [e for e in files if CHECKSUM_FILE.match(e.path)]
        if psi:
            self.psi = self.psi.merged(await _psi_checksums(self.http, psi, self.label, self.gate))
        algorithms = [sidecar_algorithm(e.path) for e in files]
        sidecars = [(e, a) for e, a in zip(files, algorithms) if a]
        if sidecars:
            budget = max(0, MAX_SIDECARS - self.sidecars)
            self.sidecars += len(sidecars)
            if budget:
                await _read_sidecars(self.http, sidecars[:budget], self.label, self.side, self.gate, where)
        self._twins = set()
        if self.side.digests:  # a sidecar digest is forgotten once its file is final, unless a twin may want it
            seen: set[str] = set()
            for entry in files:
                if entry.path in seen:
                    self._twins.add(entry.path)
                seen.add(entry.path)
        for entry, algorithm in zip(files, algorithms):
            self._final(entry, algorithm is not None)

    async def _sized(self, files: list[IndexEntry], where: str) -> list[IndexEntry]:
        wanted = [i for i, e in enumerate(files) if e.size is None]
        if not wanted:
            return files
        self.head_wanted += len(wanted)
        ask = wanted[:max(0, HEAD_LIMIT - self.head_asked)]
        if not ask:
            return files
        self.head_asked += len(ask)
        note(self.http, f"HEAD each file whose listed size is rounded or missing ({len(ask)} file(s) in {where})")

        async def sized(entry: IndexEntry) -> IndexEntry:
            async with self.gate:
                return await head_size(self.http, entry)

        out = list(files)
        for i, entry in zip(ask, await gather_limited((sized(files[i]) for i in ask), 8)):
            out[i] = entry
            self.head_unknown += entry.size is None
        return out

    def _final(self, entry: IndexEntry, sidecar: bool) -> None:
        """The one place a file of the folder becomes final (sizes and checksums all known);
        ``sidecar``: the file is itself a checksum sidecar (``MD5SUMS``, ``x.md5``)."""
        checksums = dict(entry.checksums)
        psi = self.psi
        digest = (lookup(psi, entry.path) or lookup(psi, f"{self.own}/{entry.path}")) if psi.digests else None
        if digest:
            checksums.setdefault(psi.algorithm, digest)
        if self.side.digests:
            for algorithm, value in self.side.of(entry.path, take=self._may_take(entry.path)).items():
                checksums.setdefault(algorithm, value)
        if not checksums and not sidecar and not CHECKSUM_FILE.match(entry.path.rsplit("/", 1)[-1]):
            self.unverified += 1
            if self.first_unverified is None:
                self.first_unverified = entry.path
        path = f"{self.name}/{entry.path}" if self.name else entry.path
        final = FileEntry(path, entry.size, checksums, (entry.url,))
        self.files.append(final)
        if self.emit is not None:
            self.emit(final)

    def _may_take(self, path: str) -> bool:
        """Can ``path``'s sidecar digests be forgotten once it is final? Yes unless another row may
        have the same path, or the name ends in blanks (the "not in the folder" check still wants it)."""
        if path in self._twins or path != path.rstrip():
            return False
        if self.twin_dirs:
            parts = path.split("/")
            if any("/".join(parts[:i]) in self.twin_dirs for i in range(1, len(parts))):
                return False
        return True

    def finish(self, crawl_warnings: Iterable[str] = ()) -> tuple[FileList, list[str]]:
        """The files, in crawl order, and every warning (the crawl's first)."""
        label = self.label
        warnings = list(crawl_warnings)
        if self.head_wanted > HEAD_LIMIT:
            warnings.append(f"{self.head_wanted - HEAD_LIMIT} file size(s) unknown: the listing rounds them and only "
                            f"{HEAD_LIMIT} were asked for with HEAD")
        if self.head_unknown:
            warnings.append(f"{self.head_unknown} file size(s) unknown: the listing rounds them (e.g. 4.2M) and HEAD "
                            "did not say")
        warnings += _psi_problems(self.psi, label)
        if self.sidecars > MAX_SIDECARS:
            warnings.append(f"{label}: {self.sidecars} checksum sidecars; only the first {MAX_SIDECARS} were read")
        warnings += self.side.problems
        sums, side = self.psi, self.side
        if not sums.digests and not side.named and self.require_checksums:
            warnings.append(f"{label}: no usable __checksum_filename_N__ file; files are checked by size only")
        if (sums.digests or side.named) and self.unverified:
            warnings.append(f"{label}: {self.unverified} file(s) missing from the checksum file(s), e.g. "
                            f"{self.first_unverified!r}: checked by size only")
        elif self.unverified and not self.require_checksums:
            warnings.append(f"{label}: no checksum file (MD5SUMS, SHA256SUMS, *.md5, ...) covers the "
                            f"{self.unverified} file(s): checked by size only")
        files = self.files.build()
        if any(w.startswith("listing incomplete") for w in warnings) or not (sums.digests or side.digests):
            return files, warnings  # files "missing" from a truncated listing are expected, not news
        prefix = f"{self.name}/" if self.name else ""
        listed = {files.path(row).removeprefix(prefix).rstrip() for row in range(len(files))}
        own = self.own
        missing = [p for p in sums.digests if p.rstrip() not in listed and p.rstrip().removeprefix(own + "/") not in listed]
        missing += [p for p in side.digests if p not in listed]  # those taken were listed (see _may_take)
        if missing:
            warnings.append(f"{label}: {len(missing)} file(s) named in the checksum file(s) are not in the folder, "
                            f"e.g. {missing[0]!r}")
        return files, warnings


async def folder_files(http: Http, url: str, name: str | None, *, require_checksums: bool = True,
                       limits: ListingLimits | None = None, emit: Callable[[FileEntry], None] | None = None
                       ) -> tuple[FileList, list[str]]:
    """Files below the listing at ``url`` (crawled page by page into a compact list), and warnings.

    Raises :class:`~doi2data.errors.RecordNotFound` when the folder is gone and
    :class:`~.autoindex.NotAListing` when ``url`` is not a directory listing.
    """
    folder = FolderFiles(http, url, name, require_checksums=require_checksums, emit=emit)
    warnings: list[str] = []
    await walk(http, url, folder.page, limits=limits, warnings=warnings, gate=folder.gate)
    return folder.finish(warnings)


async def folder_manifest(http: Http, url: str, name: str | None, *, require_checksums: bool = True,
                          limits: ListingLimits | None = None, entries: Iterable[IndexEntry] | None = None,
                          crawl_warnings: Iterable[str] = ()) -> tuple[list[FileEntry], list[str]]:
    """Files below the listing at ``url`` as entries ``<name>/<relative path>`` (``name`` None: no prefix).

    ``entries``: the crawl already done (e.g. over WebDAV); else the HTML listing is crawled.
    Raises :class:`~doi2data.errors.RecordNotFound` when the folder is gone and
    :class:`~.autoindex.NotAListing` when ``url`` is not a directory listing.
    """
    if entries is None:
        files, warnings = await folder_files(http, url, name, require_checksums=require_checksums, limits=limits)
        return list(files), list(crawl_warnings) + warnings
    folder = FolderFiles(http, url, name, require_checksums=require_checksums)
    await folder.page(list(entries))
    files, warnings = folder.finish(crawl_warnings)
    return list(files), warnings


__all__ = ["MAX_SIDECARS", "SIDECAR_SUFFIXES", "SUMS_FILES", "FolderFiles", "folder_checksums", "folder_files",
           "folder_manifest", "parse_sums", "sidecar_algorithm", "sidecar_checksums"]
