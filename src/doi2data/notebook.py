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

Progress (:class:`NotebookProgress`): an HTML ``<progress>`` element updated in place through an
IPython display handle. Why not rich's Jupyter mode or ``tqdm.auto``: both need ipywidgets (not
installed with Jupyter, and without it rich warns and tqdm falls back to ``\\r`` text in the cell),
and widget state is not saved in an executed notebook; a display handle needs only IPython, shows
no terminal control codes, and the final state stays in the saved notebook. Display updates are
sent only from the thread that created the bar (the cell's thread: ipykernel routes output by the
executing cell), at most every :data:`REFRESH` seconds; engine threads only record counts.
"""

from __future__ import annotations

import gc
import heapq
import html
import sys
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, groupby
from operator import attrgetter, itemgetter, methodcaller
from urllib.parse import quote
from typing import TYPE_CHECKING, Any

from .display import register
from .sizes import human_size

if TYPE_CHECKING:
    from .model import FileEntry, Manifest
    from .subset.common import SubsetReport
    from .subset.frames import Frame, FrameTable
    from .transfer.engine import DownloadReport, FileResult

SHOWN = 20          # rows visible before the <details> fold
MAX_ROWS = 100      # rows rendered at most per table (the rest counted, not listed)
MAX_TEXT = 200      # characters of any one text cell
MAX_URL = 1000      # longer URLs (signed links) are shown as text, not linked
SERIES_SCAN = 20_000  # file series are looked for among the first this many files
REFRESH = 0.25      # seconds between progress redraws
_STYLE = ("<style>.d2d table{border-collapse:collapse;margin:2px 0}.d2d td,.d2d th{padding:1px 8px;"
          "text-align:left;font-size:90%}.d2d td.n{text-align:right}.d2d summary{cursor:pointer}</style>")


def _t(text: object, limit: int = MAX_TEXT) -> str:
    """Escaped, shortened text."""
    s = "" if text is None else str(text)
    if len(s) > limit:
        s = s[:limit - 1] + "…"
    return html.escape(s, quote=True)


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


# -- progress ---------------------------------------------------------------------------------


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a ZMQ shell: JupyterLab, Notebook, VS Code, Colab), not terminal IPython."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    get_ipython = getattr(sys.modules["IPython"], "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell is not None and any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


def in_cell() -> bool:
    """True in a Jupyter kernel's main thread, where cells run and whose output goes to the running cell.

    Why the thread matters: ipykernel routes output by the executing cell's context; a bar drawn from
    a worker thread (a batch run on a private loop) may land in another cell or nowhere, so none is drawn.
    """
    return threading.current_thread() is threading.main_thread() and in_notebook()


class _Shown:
    """A display object with an HTML and a plain-text form (IPython's ``HTML`` shows its class name as text)."""

    def __init__(self, html_text: str, plain: str) -> None:
        self._html, self._plain = html_text, plain

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._plain


class NotebookProgress:
    """A :class:`~doi2data.transfer.engine.ProgressSink` drawn as an HTML ``<progress>`` bar in the cell."""

    def __init__(self, label: str = "download") -> None:
        self._label = label
        self._lock = threading.Lock()
        self._owner = threading.get_ident()
        self._files = self._done = self._total = self._bytes = self._failed = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._handle: Any = None
        self._closed = False

    # ProgressSink: called from the event loop and engine threads; only the owner thread draws
    def start(self, files: int, total_bytes: int) -> None:
        with self._lock:
            self._files, self._total = files, total_bytes
        self.refresh(force=True)

    def file_started(self, path: str, size: int | None) -> None:
        pass

    def advance(self, path: str, nbytes: int) -> None:
        with self._lock:
            self._bytes += nbytes
        self.refresh()

    def file_done(self, result: FileResult) -> None:
        with self._lock:
            self._done += 1
            self._failed += result.status == "failed"
        self.refresh()

    def html(self) -> str:
        with self._lock:
            files, done, total, got, failed = self._files, self._done, self._total, self._bytes, self._failed
        elapsed = max(time.monotonic() - self._started, 1e-3)
        rate = human_size(int(got / elapsed)) + "/s"
        bar = f'<progress value="{min(got, total)}" max="{total}" style="width:40%"></progress>' if total else \
            f'<progress value="{done}" max="{max(files, 1)}" style="width:40%"></progress>'
        state = "done" if self._closed else rate
        fail = f", <b>{failed} failed</b>" if failed else ""
        return (f'<div class="d2d-progress">{_t(self._label)}: {bar} {done}/{files} files{fail}, '
                f"{_t(human_size(got))}{' of ' + _t(human_size(total)) if total else ''} · {_t(state)}</div>")

    def refresh(self, force: bool = False) -> None:
        """Redraw (from the owner thread only, at most every :data:`REFRESH` s unless ``force``)."""
        if threading.get_ident() != self._owner:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REFRESH:
            return
        self._drawn = now
        from IPython.display import display

        shown = _Shown(self.html(), self.text())
        if self._handle is None:
            self._handle = display(shown, display_id=True)
        else:
            self._handle.update(shown)

    def text(self) -> str:
        """The same state as plain text (what a text-only notebook viewer shows)."""
        with self._lock:
            files, done, total, got, failed = self._files, self._done, self._total, self._bytes, self._failed
        size = human_size(got) + (f" of {human_size(total)}" if total else "")
        fail = f", {failed} failed" if failed else ""
        return f"{self._label}: {done}/{files} files{fail}, {size}{', done' if self._closed else ''}"

    def stop(self) -> None:
        """Final state (called by whoever created the bar)."""
        self._closed = True
        if self._handle is not None or self._files:
            self.refresh(force=True)



class ActivityBar:
    """An indeterminate bar for work whose end is not known in advance (a frame scan): requests and bytes so far.

    :meth:`poll` is called by the caller's thread while the work runs elsewhere (see
    :func:`doi2data.inplace.frames`); like :class:`NotebookProgress` it draws only from its own thread.
    """

    def __init__(self, label: str) -> None:
        self._label = label
        self._owner = threading.get_ident()
        self._handle: Any = None
        self._drawn = 0.0

    def _draw(self, html_text: str, plain: str) -> None:
        if threading.get_ident() != self._owner:
            return
        from IPython.display import display

        shown = _Shown(f'<div class="d2d-progress">{html_text}</div>', plain)
        if self._handle is None:
            self._handle = display(shown, display_id=True)
        else:
            self._handle.update(shown)

    def poll(self, requests: int, nbytes: int) -> None:
        now = time.monotonic()
        if now - self._drawn < REFRESH:
            return
        self._drawn = now
        state = f"{requests:,} requests, {human_size(nbytes)} received"
        bar = '<progress style="width:20%"></progress>'
        self._draw(f"{_t(self._label)}: {bar} {_t(state)}", f"{self._label}: {state}")

    def stop(self, summary: str) -> None:
        self._draw(f"{_t(self._label)}: {_t(summary)}", f"{self._label}: {summary}")


__all__ = ["ActivityBar", "NotebookProgress", "download_html", "frames_html", "in_cell", "in_notebook", "link",
           "manifest_html", "manifest_repr", "subset_html", "summary"]
