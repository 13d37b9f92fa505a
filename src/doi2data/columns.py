"""What the column stores share: a table of distinct values, and a sequence built on access.

Why: a million-file manifest (:class:`~doi2data.filelist.FileList`) and a million per-file
results (:mod:`doi2data.transfer.results`) are kept as columns of small ints into tables of
distinct values, and hand out ordinary objects only when one is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Interner:
    """Value -> small int, shared by the rows that have the same value; ``seed`` takes 0, 1, ..."""

    __slots__ = ("index", "values")

    def __init__(self, *seed: Any) -> None:
        self.index: dict[Any, int] = {}
        self.values: list[Any] = []
        for value in seed:
            self(value)

    def __call__(self, value: Any) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found


class BuiltOnAccess(Sequence[T], Generic[T]):
    """A read-only sequence whose item ``at`` is made by :meth:`_build` when read (never stored);
    a slice is a ``tuple`` or ``list`` (``_slice``) of built items."""

    __slots__ = ()
    _slice: type = tuple
    _what = "index"

    def _build(self, at: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...

    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return self._slice(self._build(i) for i in range(*index.indices(len(self))))  # type: ignore[no-any-return]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"{self._what} out of range")
        return self._build(index)

    def __iter__(self) -> Iterator[T]:
        for at in range(len(self)):
            yield self._build(at)


__all__ = ["BuiltOnAccess", "Interner"]
