"""Frames by metadata (seed 001's ManifestMaker + FrameGetter): a frame table, a query, the frames.

:func:`frame_table` lists every frame of a dataset - one row per CBF file, one per frame of each
NeXus/HDF5 image stack - with generic datanames (:mod:`.framescan`), reading only headers and
metadata, each file once (then from the SQLite cache, :mod:`.framecache`). :func:`fetch_frames`
evaluates a ``--where`` expression (:mod:`.where`) over the table and fetches only the matching
frames: whole files through the verified transfer engine for one-frame-per-file formats, an HDF5
file holding just the chosen frames (raw chunk copies) for multi-frame files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..display import render
from ..errors import Doi2DataError
from ..model import FileEntry, Manifest
from ..select import FileFilter
from .common import SubsetReport, Written, entry_url, sibling
from .framecache import FrameCache, default_cache_path, file_key
from .framescan import DATANAMES, Scanned, kind_of, scan_cbf, scan_hdf5
from .hdf5remote import H5Files
from .ranges import RangeReader
from .where import Where, parse_where

KEYS = ("file", "frame", "dataset")


@dataclass(frozen=True)
class Frame:
    """One frame: its file, index in that file (0 for CBF), image dataset (HDF5) and datanames."""

    file: str
    frame: int
    dataset: str | None
    values: Mapping[str, Any]

    def row(self) -> dict[str, Any]:
        return {"file": self.file, "frame": self.frame, "dataset": self.dataset, **self.values}


@dataclass
class FrameTable:
    """Every frame of a dataset, plus what building the table cost."""

    doi: str | None
    frames: list[Frame] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0
    scanned: int = 0
    cached: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Datanames present in at least one frame (plus ``file``, ``frame``, ``dataset``)."""
        seen = {k for f in self.frames for k in f.values}
        return [*KEYS, *[n for n in DATANAMES if n in seen], *sorted(seen - set(DATANAMES))]

    def query(self, where: str | Where | None) -> list[Frame]:
        if where is None or (isinstance(where, str) and not where.strip()):
            return list(self.frames)
        parsed = where if isinstance(where, Where) else parse_where(where, set(self.names) | set(DATANAMES))
        return [f for f in self.frames if parsed(f.row())]

    def to_json(self, frames: Sequence[Frame] | None = None) -> dict[str, Any]:
        chosen = self.frames if frames is None else frames
        return {"doi": self.doi, "datanames": self.names, "frame_count": len(chosen),
                "frames": [f.row() for f in chosen], "files_scanned": self.scanned, "files_cached": self.cached,
                "requests": self.requests, "bytes_received": self.bytes_received, "messages": self.messages}

    def select(self, where: str | Where | None) -> FrameTable:
        """A table of just the frames matching ``where`` (same cost counters and notes)."""
        return replace(self, frames=self.query(where), messages=list(self.messages))

    def __repr__(self) -> str:
        return f"<FrameTable {self.doi}: {len(self.frames)} frames, {self.requests} requests>"

    def _repr_html_(self) -> str:
        return render("frames_html", self)

    def to_pandas(self) -> Any:
        """One row per frame, one typed column per dataname (``pip install 'doi2data[pandas]'``)."""
        return render("frames_frame", self)


def _open_cache(cache: str | Path | bool | None) -> FrameCache:
    if cache is False:
        return FrameCache(None)
    return FrameCache(default_cache_path() if cache in (None, True) else Path(cache))  # type: ignore[arg-type]


def frame_table(manifest: Manifest, *, reader: RangeReader | None = None, cache: str | Path | bool | None = None,
                refresh: bool = False, filters: FileFilter | None = None) -> FrameTable:
    """The frame table of ``manifest`` (CBF and NeXus/HDF5 files; others are ignored).

    ``cache``: a path, ``None``/``True`` for the default cache, ``False`` for none; ``refresh``
    rescans every file. ``filters`` narrows the files considered (the manifest filter rules).
    """
    own = reader is None
    rd = reader or RangeReader()
    table = FrameTable(manifest.dataset.doi)
    before = (rd.requests, rd.bytes_received)
    candidates = [e for e in manifest.files if kind_of(e.path) and e.access == "open" and e.url
                  and (filters is None or filters(e))]
    results: dict[str, Scanned] = {}
    try:
        with _open_cache(cache) as store:
            todo = []
            for entry in candidates:
                hit = None if refresh else store.get(file_key(entry))
                if hit is not None:
                    results[entry.path] = hit
                    table.cached += 1
                else:
                    todo.append(entry)
            cbfs = [e for e in todo if kind_of(e.path) == "cbf"]
            for entry, scanned in zip(cbfs, rd.map(lambda e: _safe(lambda: scan_cbf(rd, e, entry_url(e)), e), cbfs)):
                results[entry.path] = scanned
            with H5Files(manifest, rd) as files:
                for entry in (e for e in todo if kind_of(e.path) == "hdf5"):
                    results[entry.path] = _safe(lambda: scan_hdf5(files, entry), entry)  # noqa: B023
            for entry in todo:
                if entry.path in results and not any("failed" in m for m in results[entry.path].messages):
                    store.put(file_key(entry), manifest.dataset.doi, entry, kind_of(entry.path) or "",
                              results[entry.path])
            table.scanned = len(todo)
    finally:
        table.requests = rd.requests - before[0]
        table.bytes_received = rd.bytes_received - before[1]
        if own:
            rd.close()
    linked = set()
    for entry in candidates:
        for target in results.get(entry.path, Scanned()).targets:
            try:
                linked.add(sibling(manifest, entry, target).path)
            except Doi2DataError:
                table.messages.append(f"{entry.path} links to {target}, which is not in the dataset")
    for entry in candidates:
        scanned = results.get(entry.path, Scanned())
        table.messages += scanned.messages
        if entry.path in linked:
            continue  # its frames are counted through the file that links to it
        table.frames += [Frame(entry.path, frame, dataset, values) for frame, dataset, values in scanned.rows]
    return table


def _safe(scan: Any, entry: FileEntry) -> Scanned:
    """Scan one file; a failure becomes a note (the table is still useful without that file)."""
    try:
        return scan()  # type: ignore[no-any-return]
    except (Doi2DataError, OSError, KeyError, ValueError, IndexError, TypeError, RuntimeError) as exc:
        return Scanned(messages=[f"{entry.path}: scan failed: {exc}"])


def fetch_frames(manifest: Manifest, where: str | Where | None, dest: str | Path, *,
                 reader: RangeReader | None = None, cache: str | Path | bool | None = None,
                 table: FrameTable | None = None, options: Any = None, tokens: Sequence[str] = ()) -> SubsetReport:
    """Fetch only the frames matching ``where`` into ``dest``.

    CBF frames: the whole files, through the transfer engine (verified, resumable; ``options``
    are its :class:`~doi2data.transfer.engine.TransferOptions`). HDF5 frames: one new file per
    source file with just those frames (``<stem>.<dataset>.frames.h5``, see :mod:`.hdf5extract`).
    """
    from ..api import download
    from .hdf5extract import extract_hdf5

    own = reader is None
    rd = reader or RangeReader()
    report = SubsetReport(Path(dest))
    try:
        table = table or frame_table(manifest, reader=rd, cache=cache)
        chosen = table.query(where)
        report.requests, report.bytes_received = table.requests, table.bytes_received
        report.messages += table.messages
        whole = sorted({f.file for f in chosen if f.dataset is None})
        stacks: dict[tuple[str, str], list[int]] = {}
        for f in chosen:
            if f.dataset is not None:
                stacks.setdefault((f.file, f.dataset), []).append(f.frame)
        if whole:
            wanted = [e for e in manifest.files if e.path in set(whole)]
            got = download(manifest.with_files(wanted), dest, options=options, raise_on_failure=False, tokens=tokens)
            report.bytes_received += got.bytes_transferred
            report.requests += sum(1 for r in got.results if r.status == "downloaded")
            report.failed.update(got.failed)
            sizes = {e.path: e.size or 0 for e in wanted}
            report.written += [Written(r.path, "", r.local or r.path, sizes.get(r.path, 0))
                               for r in got.results if r.status in ("downloaded", "present")]
        with H5Files(manifest, rd) as files:
            for (file, dataset), frames in sorted(stacks.items()):
                report.merge(extract_hdf5(manifest, dest=dest, file=file, dataset=dataset, frames=frames, reader=rd,
                                          files=files))
    finally:
        if own:
            rd.close()
    return report


__all__ = ["Frame", "FrameTable", "fetch_frames", "frame_table"]
