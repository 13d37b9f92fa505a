"""Per-file outcomes of a download or a verify run, stored as columns, built on access.

Why: a 1,000,000-file dataset already on disk gave a million :class:`FileResult` objects (and a
million :class:`VerifyResult` objects for ``verify``), ~300 bytes each with their strings. Here a
result is a manifest row index, a status code and, where they differ from the usual, a few
shared or sparse values: the path comes from the manifest's :class:`~doi2data.filelist.FileList`,
the local name only when it differs from the path, reasons and details through one table of
distinct texts (every "present, md5" file shares one). About 11 bytes per file already present.

:class:`FileResults` and :class:`VerifyResults` are read-only sequences of the same frozen
dataclasses as before (``len``, indexing, slicing, iteration, ``==``), plus counts and filters
that never build the results they skip.
"""

from __future__ import annotations

import copy
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ..columns import BuiltOnAccess, Interner

Status = Literal["downloaded", "present", "skipped", "failed"]
Verdict = Literal["ok", "missing", "mismatch", "unchecked", "skipped"]
STATUSES: tuple[Status, ...] = ("downloaded", "present", "skipped", "failed")
VERDICTS: tuple[Verdict, ...] = ("ok", "missing", "mismatch", "unchecked", "skipped")
_KEPT = (0, 1)  # status codes of "downloaded", "present": files that ended up on disk


@dataclass(frozen=True)
class FileResult:
    """Outcome for one manifest entry. ``present`` = already on disk, no bytes moved."""

    path: str
    local: str | None
    status: Status
    bytes_transferred: int = 0
    reason: str | None = None
    retries: tuple[str, ...] = ()  # transient problems overcome (or not) on the way
    checked: tuple[str, ...] = ()  # algorithms the bytes were verified with (empty: none)

    @property
    def unchecked(self) -> bool:
        """Downloaded or present, but no checksum could be checked (``reason`` says why)."""
        return self.status in ("downloaded", "present") and not self.checked


@dataclass(frozen=True)
class VerifyResult:
    path: str
    local: str | None
    verdict: Verdict
    detail: str | None = None


R = TypeVar("R")


class _Rows(BuiltOnAccess[R]):
    """The columns both kinds share: manifest row, code, local name (sparse), text (shared table)."""

    _names: tuple[str, ...] = ()
    _slice = list
    _what = "result index"

    def __init__(self, paths: Sequence[Any], like: _Rows[R] | None = None) -> None:
        """Rows of ``paths`` (a FileList: a row's path without building its entry); ``like``: another
        store of the same run whose tables this one shares, so it can be appended in one step."""
        path = getattr(paths, "path", None)
        self._path: Callable[[int], str] = path if path is not None else (lambda row: paths[row].path)
        self._rows = array("I")  # a manifest row (a FileList holds far fewer than 2**32)
        self._codes = array("b")
        self._texts = array("I")
        self._text_table = like._text_table if like is not None else Interner(None)
        self._locals: dict[int, str | None] = {}  # only where the local name is not the path itself

    def _add(self, row: int, local: str | None, code: int, text: str | None) -> int:
        at = len(self._rows)
        self._rows.append(row)
        self._codes.append(code)
        self._texts.append(self._text_table(text))
        if local is None or local != self._path(row):
            self._locals[at] = local
        return at

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # mutable while a run adds to it

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} file(s)>"

    def _local(self, at: int) -> str | None:
        local = self._locals.get(at, self)
        return self._path(self._rows[at]) if local is self else local  # type: ignore[return-value]

    def tally(self, value: str) -> int:
        """How many rows have this status (or verdict): one count over a column of small ints."""
        return self._codes.count(self._names.index(value)) if value in self._names else 0

    def where(self, *values: str) -> Iterator[R]:
        """The rows with one of these statuses (verdicts), in order; the others are never built."""
        codes = {self._names.index(v) for v in values if v in self._names}
        for at, code in enumerate(self._codes):
            if code in codes:
                yield self._build(at)


class FileResults(_Rows[FileResult]):
    """A run's :class:`FileResult` rows (see the module docstring)."""

    _names = STATUSES

    def __init__(self, paths: Sequence[Any], like: FileResults | None = None) -> None:
        super().__init__(paths, like)
        self._bytes = array("q")  # up to the last row that moved bytes (the rest moved none): empty when planning
        self._checked = array("H")
        self._checked_table = like._checked_table if like is not None else Interner(())
        self._retries: dict[int, tuple[str, ...]] = {}

    def add(self, row: int, local: str | None, status: Status, bytes_transferred: int = 0, reason: str | None = None,
            retries: tuple[str, ...] = (), checked: tuple[str, ...] = ()) -> None:
        """One more result, for manifest row ``row``."""
        at = self._add(row, local, STATUSES.index(status), reason)
        if bytes_transferred:
            self._pad_bytes(at)
            self._bytes.append(bytes_transferred)
        self._checked.append(self._checked_table(checked))
        if retries:
            self._retries[at] = tuple(retries)

    def add_result(self, row: int, result: FileResult) -> None:
        self.add(row, result.local, result.status, result.bytes_transferred, result.reason, result.retries,
                 result.checked)

    def extend_from(self, other: FileResults) -> None:
        """Append ``other``'s rows (results of a later stage of the same run): whole columns at
        once when it shares this store's tables (``like=``), else row by row."""
        if other._text_table is self._text_table and other._checked_table is self._checked_table:
            offset = len(self._rows)
            if other._bytes:
                self._pad_bytes(offset)
            for mine, theirs in ((self._rows, other._rows), (self._codes, other._codes), (self._texts, other._texts),
                                 (self._bytes, other._bytes), (self._checked, other._checked)):
                mine.extend(theirs)  # type: ignore[attr-defined]
            self._locals.update((offset + at, local) for at, local in other._locals.items())
            self._retries.update((offset + at, retries) for at, retries in other._retries.items())
            return
        for at in range(len(other)):
            self.add(other._rows[at], other._local(at), STATUSES[other._codes[at]], other._moved(at),
                     other._text_table.values[other._texts[at]], other._retries.get(at, ()),
                     other._checked_table.values[other._checked[at]])

    def sorted_by_row(self) -> FileResults:
        """The same results in manifest-row order (a download's files finish in any order),
        sharing this store's tables: columns reordered, no result built."""
        count = len(self._rows)
        order = sorted(range(count), key=self._rows.__getitem__)
        out = copy.copy(self)
        out._rows = array("I", (self._rows[at] for at in order))
        out._codes = array("b", (self._codes[at] for at in order))
        out._texts = array("I", (self._texts[at] for at in order))
        out._checked = array("H", (self._checked[at] for at in order))
        out._bytes = array("q", (self._moved(at) for at in order)) if self._bytes else array("q")
        moved_to = array("I", bytes(4 * count))
        for new, at in enumerate(order):
            moved_to[at] = new
        out._locals = {moved_to[at]: local for at, local in self._locals.items()}
        out._retries = {moved_to[at]: retries for at, retries in self._retries.items()}
        return out

    def _pad_bytes(self, upto: int) -> None:
        if len(self._bytes) < upto:
            self._bytes.extend(array("q", bytes(8 * (upto - len(self._bytes)))))

    def _moved(self, at: int) -> int:
        return self._bytes[at] if at < len(self._bytes) else 0

    def _build(self, at: int) -> FileResult:
        return FileResult(self._path(self._rows[at]), self._local(at), STATUSES[self._codes[at]], self._moved(at),
                          self._text_table.values[self._texts[at]], self._retries.get(at, ()),
                          self._checked_table.values[self._checked[at]])

    # what DownloadReport asks, without building a result per file ---------------------------------
    def bytes_transferred(self) -> int:
        return sum(self._bytes)

    def verified(self) -> int:
        return sum(1 for code, checked in zip(self._codes, self._checked) if checked and code in _KEPT)

    def unchecked(self) -> dict[str, str]:
        texts = self._text_table.values
        return {self._path(self._rows[at]): texts[self._texts[at]] or "not verified"
                for at, (code, checked) in enumerate(zip(self._codes, self._checked)) if not checked and code in _KEPT}

    def failed(self) -> dict[str, str]:
        failed = STATUSES.index("failed")
        texts = self._text_table.values
        return {self._path(self._rows[at]): texts[self._texts[at]] or "failed"
                for at, code in enumerate(self._codes) if code == failed}


class VerifyResults(_Rows[VerifyResult]):
    """A verify run's :class:`VerifyResult` rows, one per manifest entry in order."""

    _names = VERDICTS

    def add(self, row: int, local: str | None, verdict: Verdict, detail: str | None = None) -> None:
        self._add(row, local, VERDICTS.index(verdict), detail)

    def _build(self, at: int) -> VerifyResult:
        return VerifyResult(self._path(self._rows[at]), self._local(at), VERDICTS[self._codes[at]],
                            self._text_table.values[self._texts[at]])


def counted(results: Iterable[Any], value: str, field_name: str) -> int:
    """Rows with ``field_name == value``: a column count for a compact store, a scan for a list."""
    if isinstance(results, _Rows):
        return results.tally(value)
    return sum(1 for r in results if getattr(r, field_name) == value)


__all__ = ["STATUSES", "VERDICTS", "FileResult", "FileResults", "Status", "Verdict", "VerifyResult", "VerifyResults",
           "counted"]
