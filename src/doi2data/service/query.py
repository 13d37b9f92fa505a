"""The dataset route's query string, parsed and checked once: :class:`Query`.

Its own module (with the subset parameter names) so that :mod:`.dataset`, :mod:`.subsets` and
:mod:`.frames` all import it and none of them imports the others back: imports point one way.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..datasets_select import select_datasets
from ..errors import UsageError
from ..model import Manifest
from ..filelist import FileList
from ..select import FileFilter
from .safety import check_query

if TYPE_CHECKING:
    from .gateway import Gateway

SUBSET_KEYS = ("extract", "list", "dataset", "slice", "where")
MULTI = ("file", "include", "exclude")
SINGLE = ("archive", "format", "mode", "datasets", "page", *SUBSET_KEYS)


@dataclass
class Query:
    file: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    one: dict[str, str] = field(default_factory=dict)
    _chosen: tuple[Manifest, Manifest] | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, request: Request, gw: Gateway) -> Query:
        items = request.query_params.multi_items()
        check_query(request.scope.get("query_string", b""), items, max_bytes=gw.config.max_query_bytes,
                    max_params=gw.config.max_query_params)
        query = cls()
        for key, value in items:
            if key in MULTI:
                getattr(query, key).append(value)
            elif key in SINGLE:
                if key in query.one:
                    raise UsageError(f"query parameter {key!r} given twice")
                query.one[key] = value
            elif not key.startswith("_"):  # "_=123" cache busters are ignored
                raise UsageError(f"unknown query parameter {key!r}; known: {', '.join(MULTI + SINGLE)}")
        return query

    @property
    def page(self) -> int:
        """``page=N`` (1 when absent): which :data:`~.pages.MAX_ROWS` rows the HTML page shows."""
        text = self.one.get("page", "1")
        if not text.isdecimal() or len(text) > 9 or int(text) < 1:
            raise UsageError(f"page must be a whole number from 1, not {text[:20]!r}")
        return int(text)

    @property
    def narrowed(self) -> bool:
        """Whether the query chooses files (globs or ``datasets=``) rather than taking them all."""
        return bool(self.file or self.include or self.exclude) or "datasets" in self.one

    def chosen(self, manifest: Manifest) -> Manifest:
        if not self.narrowed:
            return manifest  # the common case: the whole dataset (and its memoised renderings)
        if self._chosen is None or self._chosen[0] is not manifest:  # computed once, off the loop (below)
            picked = select_datasets(manifest, self.one["datasets"]) if "datasets" in self.one else manifest
            self._chosen = (manifest, _filtered(picked, FileFilter.of(self.file or None),
                                                FileFilter.of(self.include or None, self.exclude or None)))
        return self._chosen[1]


def _filtered(manifest: Manifest, *filters: FileFilter) -> Manifest:
    """:func:`doi2data.select.select` with each filter in turn, as rows of the same list: the
    result shares the manifest's strings and tables (~40 bytes a file kept, where a filter that
    kept a million files copied them into a new list, ~120 MB), and only paths are read (the
    gateway's filters are globs: no size bound, no regex)."""
    active = [f for f in filters if f.active]
    if not active:
        return manifest
    files = FileList.of(manifest.files)
    path = files.path
    rows = array("I", (row for row in range(len(files)) if all(f.keeps(path(row)) for f in active)))
    return replace(manifest, files=files.take(rows))


__all__ = ["MULTI", "SINGLE", "SUBSET_KEYS", "Query"]
