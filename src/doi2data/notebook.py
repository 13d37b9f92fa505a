"""Jupyter display: compact HTML for manifests, frame tables and reports, and a notebook progress bar.

Pure functions (object -> HTML string) that the model classes call from one-line ``_repr_html_``
methods. Everything a repository sent (titles, names, URLs, licences) is hostile text: it is
escaped with :func:`html.escape`, cut to :data:`MAX_TEXT` characters, and a URL becomes a link
only when it is ``http(s)://`` and at most :data:`MAX_URL` long (never ``javascript:``).

Bounded output: a manifest of 1,000,000 files renders aggregates (by folder, by dataset inside the
DOI, by file series, by access and checksum kind: C-level passes over the entries, or a compact
file list's own columns; no regex) and only the first :data:`SHOWN` rows of each table, the rest
behind ``<details>`` up to :data:`MAX_ROWS` rows; so the HTML stays under ~200 KB (measured: 33 KB)
whatever the manifest holds.

The notebook progress bars live in :mod:`doi2data.notebook_progress`.
"""

from __future__ import annotations

import gc
import heapq
import html
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, groupby
from operator import attrgetter, itemgetter, methodcaller
from urllib.parse import quote
from typing import TYPE_CHECKING, Any

from .display import register
from .notebook_progress import MAX_TEXT, _t  # noqa: F401 - MAX_TEXT: the cut named in the docstring
from .notebook_progress import ActivityBar, NotebookProgress, in_cell, in_notebook  # noqa: F401 - where they were
from .sizes import human_size

if TYPE_CHECKING:
    from .model import FileEntry, Manifest
    from .subset.common import SubsetReport
    from .subset.frames import Frame, FrameTable
    from .transfer.engine import DownloadReport, FileResult

SHOWN = 20          # rows visible before the <details> fold
MAX_ROWS = 100      # rows rendered at most per table (the rest counted, not listed)
MAX_URL = 1000      # longer URLs (signed links) are shown as text, not linked
SERIES_SCAN = 20_000  # file series are looked for among the first this many files
_STYLE = ("<style>.d2d table{border-collapse:collapse;margin:2px 0}.d2d td,.d2d th{padding:1px 8px;"
          "text-align:left;font-size:90%}.d2d td.n{text-align:right}.d2d summary{cursor:pointer}</style>")


def link(url: str | None, label: object = None) -> str:
    """``<a>`` for an http(s) URL of sane length; anything else is escaped text only."""
    if not url:
        return _t(label) if label is not None else ""
    shown = _t(url if label is None else label)
    lowered = url[:8].lower()
    if len(url) <= MAX_URL and lowered.startswith(("http://", "https://")) and not any(c in url for c in "\r\n\t"):
        return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    return shown


def doi_url(doi: str) -> str:
    """``https://doi.org/<doi>``, percent-encoded (a DOI may hold ``#``, ``?``, ``"`` or spaces)."""
    return "https://doi.org/" + quote(doi, safe="/:;()._-")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], total: int, what: str) -> str:
    """A table of pre-escaped cells: :data:`SHOWN` rows open, up to :data:`MAX_ROWS` folded, the rest counted."""
    head = "<tr>" + "".join(f"<th>{_t(h)}</th>" for h in header) + "</tr>"
    body: list[str] = []
    for i, row in enumerate(rows):
        if i >= MAX_ROWS:
            break
        body.append("<tr>" + "".join(row) + "</tr>")
    first, rest = body[:SHOWN], body[SHOWN:]
    out = f"<table>{head}{''.join(first)}</table>"
    if rest:
        out += (f"<details><summary>{len(rest)} more {_t(what)}</summary><table>{head}{''.join(rest)}</table>"
                "</details>")
    if total > len(body):
        out += f"<div>… and {total - len(body):,} more {_t(what)} not shown</div>"
    return out


def _n(value: object) -> str:
    return f'<td class="n">{_t(value)}</td>'


def _c(value: str) -> str:
    return f"<td>{value}</td>"


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{_t(k)}: {v:,}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _series_key(path: str) -> tuple[str, str]:
    """``images/lyso_1_0001.cbf`` -> (``images/lyso_1_####.cbf``, ``0001``): the trailing digits of the stem."""
    folder, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    base = stem.rstrip("0123456789")
    digits = len(stem) - len(base)
    if not digits:
        return path, ""
    return f"{folder}/{base}{'#' * digits}{dot}{ext}" if folder else f"{base}{'#' * digits}{dot}{ext}", stem[len(base):]


def _checksum_cell(entry: FileEntry) -> str:
    for algo in ("sha256", "md5", "sha1", "sha512"):
        if algo in entry.checksums:
            return f"{algo}:{entry.checksums[algo][:12]}…"
    first = next(iter(entry.checksums.items()), None)
    return f"{first[0]}:{first[1][:12]}…" if first else "none"


def _series(paths: Iterable[str], sizes: Iterable[int]) -> dict[str, list[Any]]:
    """File series (``lyso_1_####.cbf``): key -> [files, bytes, lowest number, highest number]."""
    series: dict[str, list[Any]] = {}
    for path, size in zip(paths, sizes):
        key, number = _series_key(path)
        if number:
            grp = series.get(key)
            if grp is None:
                series[key] = [1, size, number, number]
            else:
                grp[0] += 1
                grp[1] += size
                if number < grp[2]:
                    grp[2] = number
                elif number > grp[3]:
                    grp[3] = number
    return series


@dataclass
class Summary:
    """What a manifest's display needs, computed once per manifest (exact, whatever its size)."""

    total: int
    unknown: int
    folders: dict[str, list[int]]
    access: dict[str, int]
    kinds: dict[str, int]
    malformed: int
    series: dict[str, list[Any]]
    #: files per dataset inside the DOI (``FileEntry.dataset``): name -> [files, bytes]; empty when none say
    datasets: dict[str, list[int]]


@dataclass
class _Columns:
    """The per-file values a summary reads, one sequence per field."""

    paths: Sequence[str]
    sizes: list[int]                     # 0 where unknown
    unknown: int
    access: Counter[str]
    kinds: Counter[tuple[str, ...]]      # algorithm tuples
    malformed: int
    datasets: Iterable[str | None] | None


_SUMMARIES: dict[int, tuple[weakref.ref[Any], Summary]] = {}


def _runs(keys: Iterable[Any], prefix: Sequence[int]) -> dict[Any, list[int]]:
    """key -> [files, bytes] over ``keys`` (one per file), a Python step per run of equal keys only;
    ``prefix`` holds the running byte totals."""
    out: dict[Any, list[int]] = {}
    pos = 0
    for key, run in groupby(keys):
        n = len(list(run))
        size = prefix[pos + n] - prefix[pos]
        pos += n
        agg = out.get(key)
        if agg is None:
            out[key] = [n, size]
        else:
            agg[0] += n
            agg[1] += size
    return out


def _entry_columns(files: Sequence[FileEntry]) -> _Columns:
    """Columns of entries held as objects: C-level ``map``/``attrgetter``/``Counter`` passes."""
    sizes = list(map(attrgetter("size"), files))
    unknown = sizes.count(None)
    if unknown:
        sizes = [s or 0 for s in sizes]
    named = bool(files) and "dataset" in getattr(type(files[0]), "__dataclass_fields__", {})
    return _Columns(list(map(attrgetter("path"), files)), sizes, unknown, Counter(map(attrgetter("access"), files)),
                    Counter(map(tuple, map(attrgetter("checksums"), files))),
                    sum(map(bool, map(attrgetter("bad_checksums"), files))),
                    map(attrgetter("dataset"), files) if named else None)


def _filelist_columns(store: Any) -> _Columns:
    """Columns of a :class:`~doi2data.filelist.FileList` read from its own columns (no entry is built:
    building a million entries takes seconds). Its rows kept whole (odd checksums) are counted from
    their entries."""
    attr_names = tuple(store._attr_names)
    values = store.attr_table.values
    at = attr_names.index("access")
    sizes = [0 if s < 0 else s for s in store.sizes]
    unknown = store.sizes.count(-1)
    by_attrs = Counter(store.attrs)
    access: Counter[str] = Counter()
    for index, count in by_attrs.items():
        access[values[index][at]] += count
    algo_values = store.algo_table.values
    kinds: Counter[tuple[str, ...]] = Counter({algo_values[i]: n for i, n in Counter(store.algos).items()})
    malformed = 0
    for row, entry in store.whole.items():
        kinds[algo_values[store.algos[row]]] -= 1
        kinds[tuple(entry.checksums)] += 1
        malformed += bool(entry.bad_checksums)
    datasets = None
    if "dataset" in attr_names:
        ds = attr_names.index("dataset")
        datasets = (values[i][ds] for i in store.attrs)
    if len(store.paths) != len(sizes) or len(store.attrs) != len(sizes):
        raise ValueError("columns of different lengths")
    return _Columns(store.paths, sizes, unknown, access, +kinds, malformed, datasets)


def _columns(files: Sequence[FileEntry]) -> _Columns:
    store = getattr(files, "_b", None)
    if store is not None:
        try:
            return _filelist_columns(store)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            pass  # a FileList whose insides changed: read its entries instead (slower, same result)
    return _entry_columns(files if isinstance(files, tuple | list) else tuple(files))


def summary(manifest: Manifest) -> Summary:
    """Aggregates of ``manifest`` (cached while it lives: Jupyter asks for text and HTML in turn).

    Per-file work is C-level (``map``/``attrgetter``/``Counter``/``accumulate``, or the compact file
    list's own columns); Python steps run once per run of files in one folder (listings come grouped by
    folder), and for file series over the first :data:`SERIES_SCAN` files. The garbage collector is paused
    meanwhile: a collection would walk every ``FileEntry`` for nothing.
    """
    cached = _SUMMARIES.get(id(manifest))
    if cached is not None and cached[0]() is manifest:
        return cached[1]
    gc_was = gc.isenabled()
    gc.disable()
    try:
        cols = _columns(manifest.files)
        prefix = list(accumulate(cols.sizes, initial=0))
        folders = _runs(map(itemgetter(0), map(methodcaller("rpartition", "/"), cols.paths)), prefix)
        datasets = _runs(cols.datasets, prefix) if cols.datasets is not None else {}
        datasets.pop(None, None)  # type: ignore[call-overload]
        series = _series(cols.paths[:SERIES_SCAN], cols.sizes[:SERIES_SCAN])
    finally:
        if gc_was:
            gc.enable()
    kinds: dict[str, int] = {}
    for algos, count in cols.kinds.items():
        label = "+".join(sorted(algos)) or "none"
        kinds[label] = kinds.get(label, 0) + count
    result = Summary(prefix[-1], cols.unknown, folders, dict(cols.access), kinds, cols.malformed, series, datasets)
    key = id(manifest)
    _SUMMARIES[key] = (weakref.ref(manifest, lambda _: _SUMMARIES.pop(key, None)), result)
    return result


@register("manifest_html")
def manifest_html(manifest: Manifest) -> str:
    """Title, DOI link, licence, size; files by folder, by series, by access and checksum kind; first rows."""
    ds = manifest.dataset
    files = manifest.files
    agg = summary(manifest)
    folders, series, access, kinds = agg.folders, agg.series, agg.access, agg.kinds
    total, unknown, malformed = agg.total, agg.unknown, agg.malformed
    doi = ds.doi
    title = _t(ds.title or "(untitled)")
    facts = []
    if doi:
        facts.append("DOI " + link(doi_url(doi), doi))
    who = "; ".join(ds.creators[:5]) + (" et al." if len(ds.creators) > 5 else "")
    for label, value in (("by", who), ("repository", ds.repository or ds.publisher), ("year", ds.year),
                         ("version", ds.version)):
        if value:
            facts.append(f"{label} {_t(value)}")
    facts.append("licence " + (link(ds.license) if ds.license else "not stated"))
    if ds.landing_url:
        facts.append(link(ds.landing_url, "landing page"))
    size = human_size(total) + (f" ({unknown:,} sizes unknown)" if unknown else "")
    parts = [_STYLE, '<div class="d2d">', f"<b>{title}</b><br>", " · ".join(facts), "<br>",
             f"<b>{len(files):,} files, {_t(size)}</b> · access: {_counts(access) or '-'}"
             f" · checksums: {_counts(kinds) or '-'}" + (f" · <b>{malformed:,} malformed</b>" if malformed else "")]
    if ds.access != "open":
        parts.append(f"<br>dataset access: {_t(ds.access)}" + (f" ({_t(ds.note)})" if ds.note else ""))
    if len(folders) > 1:
        rows = ((_c(_t(name or "(top)")), _n(f"{n:,}"), _n(human_size(s)))
                for name, (n, s) in heapq.nsmallest(MAX_ROWS, folders.items(), key=lambda kv: (-kv[1][1], kv[0])))
        parts.append(f"<details open><summary>by folder ({len(folders):,})</summary>"
                     f"{_table(('folder', 'files', 'size'), rows, len(folders), 'folders')}</details>")
    if agg.datasets:
        info = {d.name: d for d in getattr(manifest, "datasets", ())}
        rows = ((_c(_t(name)), _c(_t(getattr(info.get(name), "kind", "") or "")),
                 _c(_t(getattr(info.get(name), "sample", "") or "")),
                 _c(_t(getattr(info.get(name), "technique", "") or "")), _n(f"{n:,}"), _n(human_size(s)))
                for name, (n, s) in heapq.nsmallest(MAX_ROWS, agg.datasets.items(),
                                                    key=lambda kv: (-kv[1][1], kv[0])))
        header = ("dataset", "kind", "sample", "technique", "files", "size")
        parts.append(f"<details open><summary>by dataset ({len(agg.datasets):,})</summary>"
                     f"{_table(header, rows, len(agg.datasets), 'datasets')}</details>")
    groups = [(k, v) for k, v in series.items() if v[0] > 1]
    if groups:
        rows = ((_c(_t(key)), _n(f"{n:,}"), _n(human_size(s)), _c(f"{_t(lo)} … {_t(hi)}"))
                for key, (n, s, lo, hi) in heapq.nsmallest(MAX_ROWS, groups, key=lambda kv: (-kv[1][1], kv[0])))
        scope = f", among the first {SERIES_SCAN:,} files" if len(files) > SERIES_SCAN else ""
        parts.append(f"<details open><summary>by file series ({len(groups):,}{scope})</summary>"
                     f"{_table(('series', 'files', 'size', 'numbers'), rows, len(groups), 'series')}</details>")
    rows = ((_c(link(f.url, f.path) if f.access == "open" else _t(f.path)), _n(human_size(f.size)),
             _c(_t(_checksum_cell(f))), _c(_t(f.access))) for f in files)
    parts.append(f"<details open><summary>files</summary>"
                 f"{_table(('path', 'size', 'checksum', 'access'), rows, len(files), 'files')}</details>")
    notes = [*manifest.warnings]
    if notes:
        shown = "".join(f"<li>{_t(w)}</li>" for w in notes[:SHOWN])
        more = f"<li>… and {len(notes) - SHOWN:,} more</li>" if len(notes) > SHOWN else ""
        parts.append(f"<details><summary>{len(notes):,} notes</summary><ul>{shown}{more}</ul></details>")
    parts.append("</div>")
    return "".join(parts)


@register("manifest_repr")
def manifest_repr(manifest: Manifest) -> str:
    """``<Manifest 10.5281/zenodo.1 'title': 20,000 files, 1.2 GiB>``: one line, whatever the size."""
    ds = manifest.dataset
    title = ds.title or ""
    if len(title) > 60:
        title = title[:59] + "…"
    size = human_size(summary(manifest).total)
    return f"<Manifest {ds.doi or ds.landing_url or '?'} {title!r}: {len(manifest.files):,} files, {size}>"


def _ranges(frames: Sequence[Frame], names: Sequence[str]) -> list[tuple[str, str, str, int]]:
    """(dataname, min, max, count) for every dataname with at least one value among ``frames``."""
    out = []
    for name in names:
        values = [v for v in (f.values.get(name) for f in frames) if v is not None]
        if not values:
            continue
        numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numeric) == len(values):
            out.append((name, f"{min(numeric):g}", f"{max(numeric):g}", len(values)))
        else:
            distinct = sorted({str(v) for v in values})
            out.append((name, distinct[0], distinct[-1] if len(distinct) > 1 else distinct[0], len(values)))
    return out


@register("frames_html")
def frames_html(table: FrameTable) -> str:
    """Frame count, cost, dataname ranges, frames per file/dataset, and the first rows."""
    frames = table.frames
    names = [n for n in table.names if n not in ("file", "frame", "dataset")]
    per: dict[tuple[str, str], int] = {}
    for fr in frames:
        key = (fr.file, fr.dataset or "")
        per[key] = per.get(key, 0) + 1
    head = (f"<b>{len(frames):,} frames</b> of {link(doi_url(table.doi), table.doi) if table.doi else '?'}"
            f" in {len(per):,} files/datasets · scanned {table.scanned:,} files, {table.cached:,} from cache · "
            f"{table.requests:,} requests, {_t(human_size(table.bytes_received))} received")
    ranges = _ranges(frames, names)
    rng = ((_c(_t(n)), _n(lo), _n(hi), _n(f"{c:,}")) for n, lo, hi, c in ranges)
    groups = ((_c(_t(f)), _c(_t(d or "-")), _n(f"{c:,}")) for (f, d), c in sorted(per.items()))
    cols = ["file", "frame", "dataset", *names[:12]]
    rows = ([_c(_t(fr.file)), _n(fr.frame), _c(_t(fr.dataset or "-")),
             *[_n(_fmt(fr.values.get(n))) for n in names[:12]]] for fr in frames)
    parts = [_STYLE, '<div class="d2d">', head,
             "<details open><summary>dataname ranges</summary>"
             f"{_table(('dataname', 'min', 'max', 'frames'), rng, len(ranges), 'datanames')}</details>",
             f"<details><summary>by file and dataset ({len(per):,})</summary>"
             f"{_table(('file', 'dataset', 'frames'), groups, len(per), 'files')}</details>",
             f"<details><summary>frames</summary>{_table(cols, rows, len(frames), 'frames')}</details>"]
    if table.messages:
        parts.append(f"<details><summary>{len(table.messages):,} notes</summary><ul>"
                     + "".join(f"<li>{_t(m)}</li>" for m in table.messages[:SHOWN]) + "</ul></details>")
    parts.append("</div>")
    return "".join(parts)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


@register("download_html")
def download_html(report: DownloadReport) -> str:
    """Counts (downloaded, present, verified, unchecked, skipped, failed), bytes, and the files that need a look."""
    unchecked = report.unchecked
    failed = report.failed
    head = (f"<b>{report.count('downloaded'):,} downloaded, {report.count('present'):,} already present</b>; "
            f"{report.verified:,} verified, {len(unchecked):,} unchecked, {report.count('skipped'):,} skipped, "
            f"<b>{len(failed):,} failed</b>; {_t(human_size(report.bytes_transferred))} into "
            f"<code>{_t(report.dest)}</code>")
    parts = [_STYLE, '<div class="d2d">', head]
    if failed:
        rows = ((_c(_t(p)), _c(_t(why))) for p, why in sorted(failed.items()))
        parts.append(f"<details open><summary>failed</summary>{_table(('file', 'why'), rows, len(failed), 'failed')}"
                     "</details>")
    if unchecked:
        rows = ((_c(_t(p)), _c(_t(why))) for p, why in unchecked.items())
        parts.append(f"<details><summary>unchecked (no usable checksum)</summary>"
                     f"{_table(('file', 'why'), rows, len(unchecked), 'unchecked')}</details>")
    rows = (_result_row(r) for r in report.results)
    parts.append(f"<details><summary>files</summary>"
                 f"{_table(('file', 'status', 'bytes', 'checked'), rows, len(report.results), 'files')}</details>")
    parts += _messages(report.messages)
    parts.append("</div>")
    return "".join(parts)


def _result_row(r: FileResult) -> list[str]:
    checked = ", ".join(r.checked) or ("-" if r.status in ("failed", "skipped") else "unchecked")
    return [_c(_t(r.local or r.path)), _c(_t(r.status)), _n(human_size(r.bytes_transferred)), _c(_t(checked))]


def _messages(messages: Sequence[str]) -> list[str]:
    if not messages:
        return []
    items = "".join(f"<li>{_t(m)}</li>" for m in messages[:SHOWN])
    more = f"<li>… and {len(messages) - SHOWN:,} more</li>" if len(messages) > SHOWN else ""
    return [f"<details><summary>{len(messages):,} notes</summary><ul>{items}{more}</ul></details>"]


@register("subset_html")
def subset_html(report: SubsetReport) -> str:
    """What a subset run wrote (and from where), what failed, and what it cost on the wire."""
    head = (f"<b>{len(report.written):,} files written</b> to <code>{_t(report.dest)}</code>, "
            f"{_t(human_size(report.bytes_written))}; received {_t(human_size(report.bytes_received))} in "
            f"{report.requests:,} requests; <b>{len(report.failed):,} failed</b>")
    parts = [_STYLE, '<div class="d2d">', head]
    if report.failed:
        rows = ((_c(_t(p)), _c(_t(why))) for p, why in sorted(report.failed.items()))
        parts.append(f"<details open><summary>failed</summary>"
                     f"{_table(('source', 'why'), rows, len(report.failed), 'failed')}</details>")
    rows = ((_c(_t(w.local)), _c(_t(w.source)), _c(_t(w.part or "-")), _n(human_size(w.size))) for w in report.written)
    parts.append(f"<details open><summary>written</summary>"
                 f"{_table(('file', 'from', 'part', 'size'), rows, len(report.written), 'files')}</details>")
    parts += _messages(report.messages)
    parts.append("</div>")
    return "".join(parts)


__all__ = ["download_html", "frames_html", "link", "manifest_html", "manifest_repr", "subset_html", "summary"]
