"""Human and machine output: manifest tables, download reports, progress displays.

Why rich: maintained, renders tables and multi-bar progress (bytes, rate, ETA) well in
terminals and Jupyter, and degrades to plain text when not a terminal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from .model import DatasetInfo, FileEntry, Manifest
from .sizes import human_size, parse_size  # noqa: F401  (parse_size: its old import path)
from .transfer.engine import DownloadReport, FileResult

UNCHECKED_SHOWN = 20  # unchecked files named one by one in the human report (a whole listing can be)


def _checksum_text(checksums: dict[str, str]) -> str:
    for algo in ("sha256", "md5", "sha1", "sha512", "sha3_256", "blake2b", "adler32", "crc32c"):
        if algo in checksums:
            return f"{algo}:{checksums[algo]}"
    return next((f"{k}:{v}" for k, v in checksums.items()), "-")


def _console(stderr: bool = False) -> Console:
    """Terminal width on a terminal; wide enough for a whole checksum when piped."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=stderr, soft_wrap=True, width=200)
    return console


def dataset_header(info: DatasetInfo, files: list[FileEntry]) -> str:
    """``dataset NAME [kind] sample S, technique T: N file(s), SIZE`` (the ``ls`` group line)."""
    facts = [f"sample {info.sample}" if info.sample else None, f"technique {info.technique}" if info.technique else
             None, f"instrument {info.instrument}" if info.instrument else None]
    known = ", ".join(x for x in facts if x)
    size = human_size(sum(f.size or 0 for f in files)) + ("" if all(f.size is not None for f in files) else "+?")
    return f"dataset {info.name} [{info.kind}]{' ' + known if known else ''}: {len(files)} file(s), {size}"


def dataset_groups(manifest: Manifest) -> list[tuple[str | None, list[FileEntry]]]:
    """The files grouped by their dataset, in the manifest's dataset order, each with its header line.

    Without datasets: one group, no header (the flat table as before). Files naming no listed dataset
    come last under ``(no dataset)``; a dataset without any listed file is not shown.
    """
    if not manifest.datasets:
        return [(None, list(manifest.files))]
    by_name: dict[str | None, list[FileEntry]] = {}
    for f in manifest.files:
        by_name.setdefault(f.dataset, []).append(f)
    groups: list[tuple[str | None, list[FileEntry]]] = []
    for info in manifest.datasets:
        files = by_name.pop(info.name, None)
        if files:
            groups.append((dataset_header(info, files), files))
    rest = [f for files in by_name.values() for f in files]
    if rest:
        groups.append((f"(no dataset): {len(rest)} file(s)", rest))
    return groups


def print_manifest(manifest: Manifest, console: Console | None = None) -> None:
    console = console or _console()
    ds = manifest.dataset
    console.print(f"[bold]{ds.title or '(untitled)'}[/bold]")
    who = "; ".join(ds.creators[:5]) + (" et al." if len(ds.creators) > 5 else "")
    facts = [f"doi:{ds.doi}" if ds.doi else None, ds.repository, str(ds.year) if ds.year else None,
             f"version {ds.version}" if ds.version else None, ds.license]
    if who:
        console.print(who)
    console.print(" | ".join(x for x in facts if x))
    for table in _tables(manifest):
        console.print(table)
    size = human_size(manifest.total_size) + ("" if manifest.sizes_known else " (some sizes unknown)")
    console.print(f"{len(manifest.files)} file(s), {size}"
                  + (f" in {len(manifest.datasets)} dataset(s)" if manifest.datasets else ""))
    for warning in [*manifest.warnings, *manifest.checksum_warnings]:
        console.print(f"[yellow]note:[/yellow] {warning}")


#: Rows per printed table: rich lays a table out whole, so a million-file ``ls`` is printed as
#: consecutive tables of this many rows (one header) instead of one table held in memory.
TABLE_ROWS = 2000


def _tables(manifest: Manifest) -> Iterator[Table]:
    def new(header: bool) -> Table:
        table = Table(show_edge=False, pad_edge=False, header_style="bold", show_header=header)
        table.add_column("path", overflow="fold")
        table.add_column("size", justify="right")
        table.add_column("checksum", overflow="fold", min_width=36)
        table.add_column("access")
        return table

    table, rows = new(True), 0
    for header, files in dataset_groups(manifest):
        if header is not None:
            table.add_section()
            table.add_row(Text(header, style="bold cyan"), "", "", "")
        for f in files:
            if rows >= TABLE_ROWS:
                yield table
                table, rows = new(False), 0
            table.add_row(f.path, human_size(f.size), _checksum_text(dict(f.checksums)), f.access)
            rows += 1
    yield table


_FILES_SLOT = "\x00doi2data-files\x00"
STREAMED_FORMATS = ("json", "ndjson")


def iter_listing(name: str, manifest: Manifest) -> Iterator[str] | None:
    """``ls --format json|ndjson`` as text pieces, the same bytes :func:`doi2data.formats.render`
    makes, without building the document: one file's JSON at a time (a million-file listing
    otherwise held a dict per file plus the whole text). ``None`` for the other formats."""
    if name == "ndjson":
        from .formats.listing import ndjson_line

        doi = manifest.dataset.doi
        return (ndjson_line(doi, f) for f in manifest.files)
    if name != "json" or not manifest.files:
        return None
    return _iter_json(manifest)


def _iter_json(manifest: Manifest) -> Iterator[str]:
    head = replace(manifest, files=()).to_json()
    head.update(total_size=manifest.total_size, file_count=len(manifest.files), files=_FILES_SLOT)
    before, slot, after = json.dumps(head, indent=2, ensure_ascii=False).partition(json.dumps(_FILES_SLOT))
    if not slot:  # pragma: no cover - the slot is always rendered once
        raise AssertionError("files slot not found")
    yield before + "[\n"
    for i, entry in enumerate(manifest.files):
        yield ("" if i == 0 else ",\n") + "    " + _pretty(entry.to_json(), "    ")
    yield "\n  ]" + after + "\n"


_quote = json.encoder.encode_basestring  # the C encoder's string quoting (ensure_ascii=False)


def _pretty(value: Any, pad: str) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)`` at indentation ``pad``, character for
    character. Why: ``indent`` makes ``json`` use its pure-Python encoder, ~25 us per file entry;
    this is ~4x faster, which is most of ``ls --json``'s time at a million files."""
    if isinstance(value, str):
        return _quote(value)
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    inner = pad + "  "
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if not value:
            return "{}"
        return "{\n" + ",\n".join(f"{inner}{_quote(k)}: {_pretty(v, inner)}" for k, v in value.items()) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _pretty(v, inner) for v in value) + "\n" + pad + "]"
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)  # floats, odd keys


def write_listing(name: str, manifest: Manifest, out: IO[str], *, chunk: int = 1 << 16) -> bool:
    """Write :func:`iter_listing` to ``out`` in ~``chunk``-character writes; False when ``name``
    is not a streamed format (the caller renders it whole)."""
    pieces = iter_listing(name, manifest)
    if pieces is None:
        return False
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= chunk:
            out.write("".join(buffer))
            out.flush()
            buffer, size = [], 0
    out.write("".join(buffer))
    out.flush()
    return True


def print_report(report: DownloadReport, console: Console | None = None) -> None:
    console = console or _console(stderr=True)
    for message in report.messages:
        console.print(f"[yellow]note:[/yellow] {message}")
    unchecked = report.unchecked
    for r in report.where("skipped", "downloaded"):  # a million present files are not built to be skipped here
        if r.status == "skipped":
            console.print(f"[yellow]skipped[/yellow] {r.path}: {r.reason}")
        elif r.status == "downloaded" and r.retries:
            console.print(f"[yellow]recovered[/yellow] {r.path}: {'; '.join(r.retries)}")
    for path, reason in list(unchecked.items())[:UNCHECKED_SHOWN]:
        console.print(f"[yellow]unchecked[/yellow] {path}: {reason}")
    if len(unchecked) > UNCHECKED_SHOWN:
        console.print(f"[yellow]unchecked[/yellow] ... and {len(unchecked) - UNCHECKED_SHOWN} more (--json lists each)")
    for path, reason in sorted(report.failed.items()):
        console.print(f"[red]FAILED[/red] {path}: {reason}")
    console.print(
        f"{report.count('downloaded')} downloaded, {report.count('present')} already present; "
        f"{report.verified} verified, {len(unchecked)} unchecked (no usable checksum); "
        f"{report.count('skipped')} skipped, {len(report.failed)} failed; "
        f"{human_size(report.bytes_transferred)} transferred into {report.dest}"
    )


class RichProgress:
    """Overall bar (bytes, rate, ETA, files done/total) plus one bar per active file."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._overall: TaskID | None = None
        self._files: dict[str, TaskID] = {}
        self._done = 0
        self._count = 0

    def start(self, files: int, total_bytes: int) -> None:
        self._count = files
        self._progress.start()
        self._overall = self._progress.add_task(f"0/{files} files", total=total_bytes or None)

    def file_started(self, path: str, size: int | None) -> None:
        name = path if len(path) <= 40 else "…" + path[-39:]
        self._files[path] = self._progress.add_task(f"  {name}", total=size)

    def advance(self, path: str, nbytes: int) -> None:
        if path in self._files:
            self._progress.advance(self._files[path], nbytes)
        if self._overall is not None:
            self._progress.advance(self._overall, nbytes)

    def file_done(self, result: FileResult) -> None:
        task = self._files.pop(result.local or result.path, None)
        if task is not None:
            self._progress.remove_task(task)
        self._done += 1
        if self._overall is not None:
            self._progress.update(self._overall, description=f"{self._done}/{self._count} files")

    def stop(self) -> None:
        self._progress.stop()


class JsonLinesProgress:
    """One JSON object per line for scripts (``get --json``); byte events are throttled."""

    def __init__(self, stream: IO[str], interval: float = 0.5) -> None:
        self._stream = stream
        self._interval = interval
        self._last = 0.0
        self._bytes = 0

    def _emit(self, event: str, **data: Any) -> None:
        self._stream.write(json.dumps({"event": event, "time": round(time.time(), 3), **data}) + "\n")
        self._stream.flush()

    def start(self, files: int, total_bytes: int) -> None:
        self._emit("start", files=files, bytes=total_bytes)

    def file_started(self, path: str, size: int | None) -> None:
        self._emit("file_start", path=path, size=size)

    def advance(self, path: str, nbytes: int) -> None:
        self._bytes += nbytes
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._emit("progress", bytes=self._bytes)

    def file_done(self, result: FileResult) -> None:
        self._emit("file_done", path=result.path, local=result.local, status=result.status,
                   bytes=result.bytes_transferred, reason=result.reason, retries=list(result.retries),
                   checked=list(result.checked), verified=bool(result.checked))

    def summary(self, report: DownloadReport) -> None:
        self._emit(
            "summary", dest=str(report.dest), downloaded=report.count("downloaded"),
            present=report.count("present"), verified=report.verified, unchecked=len(report.unchecked),
            unchecked_files=report.unchecked, skipped=report.count("skipped"), failed=report.failed,
            bytes=report.bytes_transferred, messages=report.messages,
        )


def choose_progress(progress: Any) -> tuple[Any, bool]:
    """``(sink or None, created here)`` for the API's ``progress=`` argument.

    A sink object is used as given; ``False``: no display; ``None`` (the default): a notebook bar
    inside Jupyter (from the cell's thread only), nothing elsewhere (scripts stay quiet, as before);
    ``True``: the notebook bar in Jupyter, else the rich terminal bars. Never the terminal bars in a notebook: their cursor
    control codes would be printed into the cell (see :mod:`doi2data.notebook`).
    """
    if progress is None or progress is True or progress is False:
        from .notebook_progress import NotebookProgress, in_cell, in_notebook

        if progress is False or (progress is None and not in_cell()):
            return None, False
        if in_notebook():  # never rich's terminal bars in a kernel; a bar only from the cell's thread
            return (NotebookProgress(), True) if in_cell() else (None, False)
        return RichProgress(), True
    return progress, False


def finish_progress(sink: Any) -> None:
    """Draw the final state of a display :func:`choose_progress` created."""
    stop = getattr(sink, "stop", None)
    if stop is not None:
        stop()


__all__ = ["JsonLinesProgress", "RichProgress", "choose_progress", "dataset_groups", "dataset_header",
           "finish_progress", "human_size", "parse_size",
           "print_manifest", "print_report"]
