"""Read parts of remote HDF5 files: metadata through libhdf5, data by exact chunk ranges.

Why this way (research §7): h5py over a read-ahead file object moved 100x the bytes of one
chunk; external links through a Python file object silently read the *parent* file; virtual
datasets through one crashed the process. So:

1. Each file is opened by h5py over a :class:`~.ranges.RangeFile` for **metadata only** (object
   headers, attributes, the chunk index): small page-aligned reads, nothing read ahead.
2. For a chunked dataset the chunk index gives, per needed chunk, ``(byte_offset, size,
   filter_mask)`` (``get_chunk_info_by_coord``); those ranges are fetched (coalesced) and either
   copied raw into the output (``write_direct_chunk``: no decompression, any filter) or decoded
   by libhdf5 itself in an in-memory scratch dataset with the same creation properties.
   Contiguous data become computed byte runs; compact data are already in the header.
3. Links are walked by metadata (``getlink=True``). An external link or a virtual-dataset source
   names a file; that name is resolved **against the dataset's manifest** (same folder, see
   :func:`~.common.sibling`) and opened as its own remote file. ``ds[...]`` is never called on a
   link or a VDS, and a VDS source missing from the manifest is an error, never fill values.

h5py and numpy are imported lazily (the ``subsets`` extra); ``hdf5plugin`` is imported when a
dataset uses a filter libhdf5 does not ship (EIGER's bitshuffle/LZ4).

Bounded by what they read (issue 16), not only by what they return: ``slice=:,0,0`` on a
1000x256x256 stack read 65.8 MB for a 1 KB answer, and one 512 MiB gzip chunk cost 525 MiB of
RSS. Every :class:`H5Files` carries a :class:`ReadBudget` (:class:`ReadLimits`): chunks touched
(counted before the chunk index is walked), the decompressed size of one chunk (its shape times
the item size, checked before it is fetched), and stored bytes fetched - metadata pages through
the :class:`~.rangefile.RangeFile` and data ranges alike, charged before each request. Passing
one raises :class:`~doi2data.errors.LimitExceeded` (also when libhdf5 was the caller and turned
it into an ``OSError``: :meth:`H5Files.guard`).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import LimitExceeded, TransferError, UsageError
from ..model import FileEntry, Manifest
from .common import entry_url, sibling
from .rangefile import RangeFile
from .ranges import RangeReader, coalesce

Axis = Sequence[int]  # increasing indices along one dimension (a range or a tuple)
MAX_HOPS = 16
_BUILTIN_FILTERS = {1, 2, 3, 4, 5, 6, 32000}  # deflate, shuffle, fletcher32, szip, nbit, scaleoffset, lzf
_scratch_names = itertools.count()


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - the extra is installed in tests
        raise UsageError("HDF5 subsets need h5py: pip install 'doi2data[subsets]'") from exc
    return h5py


@dataclass(frozen=True)
class ReadLimits:
    """What one HDF5 request may read. The defaults suit the CLI (a user asking for their data);
    the gateway passes tighter ones from its config (``max_slice_chunks``, ``max_slice_chunk_bytes``,
    ``max_slice_read``)."""

    max_chunks: int = 100_000  # chunks touched, over every dataset and VDS source of the request
    max_chunk_bytes: int = 256 << 20  # decompressed size of one chunk (chunk shape x item size)
    max_read: int | None = 16 << 30  # stored bytes fetched: metadata and data (None: no bound)


class ReadBudget:
    """What one request has read so far, against its :class:`ReadLimits` (thread-safe: chunk
    ranges are fetched on reader threads). The first refusal is kept in ``exceeded``."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.read = 0
        self.chunks = 0
        self.exceeded: LimitExceeded | None = None
        self._lock = threading.Lock()

    def charge(self, nbytes: int, what: str = "metadata") -> None:
        """Count ``nbytes`` about to be fetched; refuse when the total would pass ``max_read``."""
        with self._lock:
            self.read += nbytes
            total = self.read
        cap = self.limits.max_read
        if cap is not None and total > cap:
            self._fail(f"reading {what} would bring the bytes fetched to {total:,}, over the limit of {cap:,} "
                       "(ask for a smaller selection)")

    def touch(self, name: str, chunks: int, chunk_bytes: int) -> None:
        """Count ``chunks`` chunks of ``chunk_bytes`` (decompressed) each, before their index is read."""
        if chunk_bytes > self.limits.max_chunk_bytes:
            self._fail(f"{name}: one chunk is {chunk_bytes:,} bytes decompressed, over the limit of "
                       f"{self.limits.max_chunk_bytes:,}")
        with self._lock:
            self.chunks += chunks
            total = self.chunks
        if total > self.limits.max_chunks:
            self._fail(f"{name}: the selection touches {total:,} chunks, over the limit of "
                       f"{self.limits.max_chunks:,} (ask for a smaller selection)")

    def _fail(self, message: str) -> None:
        exc = LimitExceeded(message)
        if self.exceeded is None:
            self.exceeded = exc
        raise exc


@dataclass
class RemoteFile:
    """One remote HDF5 file: its manifest entry, the metadata reader and the h5py handle."""

    entry: FileEntry
    url: str
    raw: RangeFile
    h5: Any


@dataclass
class H5Files:
    """The HDF5 files of one dataset, opened lazily (once each) for metadata over one reader."""

    manifest: Manifest
    reader: RangeReader
    page: int = 8192
    first: int = 16384
    opened: dict[str, RemoteFile] = field(default_factory=dict)
    limits: ReadLimits = field(default_factory=ReadLimits)
    budget: ReadBudget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = ReadBudget(self.limits)

    def open(self, entry: FileEntry) -> RemoteFile:
        if entry.path not in self.opened:
            h5py = _h5py()
            url = entry_url(entry)
            size = entry.size if entry.size is not None else self.reader.tail(url, 1)[1]
            raw = RangeFile(self.reader, url, size, page=self.page, charge=self.budget.charge)
            raw.prefetch(0, self.first)  # superblock, root group and usually the top-level objects
            try:
                handle = h5py.File(raw, "r")
            except OSError as exc:
                if self.budget.exceeded is not None:
                    raise self.budget.exceeded from exc
                raise TransferError(f"{entry.path} is not a readable HDF5 file: {exc}", url=url) from exc
            self.opened[entry.path] = RemoteFile(entry, url, raw, handle)
        return self.opened[entry.path]

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Re-raise a refused read as :class:`~doi2data.errors.LimitExceeded` when libhdf5 (which
        made the read through the file object) reported it as an ``OSError`` or worse."""
        try:
            yield
        except Exception as exc:
            if self.budget.exceeded is not None and exc is not self.budget.exceeded:
                raise self.budget.exceeded from exc
            raise

    def close(self) -> None:
        for remote in self.opened.values():
            remote.h5.close()
            remote.raw.close()
        self.opened.clear()

    def __enter__(self) -> H5Files:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Resolved:
    """Where a path led: the file holding the object, the object, the groups walked (with attrs)."""

    file: RemoteFile
    obj: Any
    groups: tuple[tuple[str, dict[str, Any]], ...]


def resolve(files: H5Files, entry: FileEntry, path: str) -> Resolved:
    """Follow ``path`` from ``entry``'s root through hard, soft and external links (by metadata)."""
    h5py = _h5py()
    remote = files.open(entry)
    parts = [p for p in path.split("/") if p]
    node, walked, groups, hops = remote.h5["/"], "", [("/", _attrs(remote.h5["/"]))], 0
    start = remote
    while parts:
        name = parts.pop(0)
        link = node.get(name, getlink=True)
        if link is None:
            raise UsageError(f"no {walked}/{name} in {remote.entry.path}")
        hops += isinstance(link, (h5py.ExternalLink, h5py.SoftLink))
        if hops > MAX_HOPS:
            raise UsageError(f"more than {MAX_HOPS} links while resolving {path} in {entry.path}")
        if isinstance(link, h5py.ExternalLink):
            remote = files.open(sibling(files.manifest, remote.entry, link.filename))
            parts = [p for p in link.path.split("/") if p] + parts
            node, walked = remote.h5["/"], ""
            continue
        if isinstance(link, h5py.SoftLink):
            target = link.path if link.path.startswith("/") else f"{walked}/{link.path}"
            parts = [p for p in target.split("/") if p] + parts
            node, walked = remote.h5["/"], ""
            continue
        node, walked = node[name], f"{walked}/{name}"
        if isinstance(node, h5py.Group) and remote is start and not hops:  # groups of the path as asked
            groups.append((walked, _attrs(node)))
    return Resolved(remote, node, tuple(groups))


def _attrs(obj: Any) -> dict[str, Any]:
    out = {}
    for key in obj.attrs:
        try:
            out[key] = obj.attrs[key]
        except (OSError, TypeError, ValueError):  # references and exotic types are not copied
            continue
    return out


def read_axes(files: H5Files, remote: RemoteFile, ds: Any, axes: Sequence[Axis], depth: int = 0) -> Any:
    """The values of ``ds`` at the cartesian product of ``axes``, as a numpy array."""
    np = _numpy()
    if depth > MAX_HOPS:
        raise UsageError("virtual dataset sources nest too deeply")
    if ds.is_virtual:
        return _virtual(files, remote, ds, axes, depth)
    dcpl = ds.id.get_create_plist()
    layout = dcpl.get_layout()
    h5py = _h5py()
    if dcpl.get_external_count():
        raise UsageError(f"{ds.name} keeps its data in external raw files: not supported (would read as fill)")
    if layout == h5py.h5d.CHUNKED:
        return _chunked(files.reader, remote, ds, axes, files.budget)
    if layout == h5py.h5d.CONTIGUOUS and ds.dtype.kind in "biufc" and ds.dtype.fields is None:
        return _contiguous(files.reader, remote, ds, axes, files.budget)
    return np.asarray(_take(ds, axes))  # compact (already in the header) or exotic types


def _numpy() -> Any:
    import numpy

    return numpy


def _runs(axis: Axis) -> list[tuple[int, int, int]]:
    """``(first index, stop index, position in axis)`` for each run of consecutive indices."""
    runs: list[tuple[int, int, int]] = []
    for pos, i in enumerate(axis):
        if runs and i == runs[-1][1]:
            runs[-1] = (runs[-1][0], i + 1, runs[-1][2])
        else:
            runs.append((i, i + 1, pos))
    return runs


def _take(ds: Any, axes: Sequence[Axis]) -> Any:
    """``ds`` (an h5py dataset that can be read directly) at ``axes``: one box read per dim-0 run."""
    np = _numpy()
    out = np.empty(tuple(len(a) for a in axes), dtype=ds.dtype)
    if out.ndim == 0:
        return ds[()]
    lows = [min(a) for a in axes[1:]]
    box = tuple(slice(lo, max(a) + 1) for lo, a in zip(lows, axes[1:]))
    dense = all(len(a) == max(a) - min(a) + 1 for a in axes[1:])
    inner = () if dense else np.ix_(*[np.asarray(a) - lo for lo, a in zip(lows, axes[1:])])
    for first, stop, pos in _runs(axes[0]):
        block = ds[(slice(first, stop), *box)]
        out[pos:pos + stop - first] = block[(slice(None), *inner)] if inner else block
    return out


def _fetch(reader: RangeReader, url: str, spans: list[tuple[int, int]], gap: int = 4096,
           budget: ReadBudget | None = None) -> dict[int, bytes]:
    """Bytes for each ``(offset, end)`` span, fetched as coalesced ranges in parallel (charged first)."""
    merged = coalesce(spans, gap)
    if budget is not None:
        budget.charge(sum(hi - lo for lo, hi in merged), "the data")
    blobs = dict(zip(merged, reader.map(lambda r: reader.read(url, r[0], r[1]), merged)))
    out: dict[int, bytes] = {}
    for start, end in spans:
        lo, hi = next(m for m in merged if m[0] <= start and end <= m[1])
        out[start] = blobs[(lo, hi)][start - lo:end - lo]
    return out


def chunk_plan(ds: Any, axes: Sequence[Axis], budget: ReadBudget | None = None) -> list[
        tuple[tuple[int, ...], Any]]:
    """``(chunk offset, StoreInfo or None)`` for every chunk the selection touches.

    With a ``budget``, the chunk count and one chunk's decompressed size are checked before the
    chunk index is read.
    """
    chunk = ds.chunks
    touched = [sorted({i // c for i in a}) for a, c in zip(axes, chunk)]
    if budget is not None:
        budget.touch(ds.name or "dataset", math.prod(len(t) for t in touched),
                     math.prod(chunk) * ds.dtype.itemsize)
    plan = []
    for index in itertools.product(*touched):
        offset = tuple(i * c for i, c in zip(index, chunk))
        info = ds.id.get_chunk_info_by_coord(offset)
        plan.append((offset, info if info.byte_offset is not None else None))
    return plan


def fetch_chunks(reader: RangeReader, remote: RemoteFile, plan: list[tuple[tuple[int, ...], Any]],
                 budget: ReadBudget | None = None) -> list[tuple[tuple[int, ...], int, bytes]]:
    """``(offset, filter_mask, stored bytes)`` for the allocated chunks of ``plan``."""
    stored = [(off, info) for off, info in plan if info is not None]
    blobs = _fetch(reader, remote.url, [(i.byte_offset, i.byte_offset + i.size) for _, i in stored], budget=budget)
    return [(off, info.filter_mask, blobs[info.byte_offset]) for off, info in stored]


def chunk_batches(plan: list[tuple[tuple[int, ...], Any]], limit: int = 256 << 20) -> Iterator[
        list[tuple[tuple[int, ...], Any]]]:
    """``plan`` in pieces of at most ``limit`` stored bytes (at least one chunk each), so a raw copy
    holds one piece in memory at a time, not the whole selection."""
    batch: list[tuple[tuple[int, ...], Any]] = []
    held = 0
    for item in plan:
        size = item[1].size if item[1] is not None else 0
        if batch and held + size > limit:
            yield batch
            batch, held = [], 0
        batch.append(item)
        held += size
    if batch:
        yield batch


def _chunked(reader: RangeReader, remote: RemoteFile, ds: Any, axes: Sequence[Axis],
             budget: ReadBudget | None = None) -> Any:
    h5py = _h5py()
    chunks = fetch_chunks(reader, remote, chunk_plan(ds, axes, budget), budget)
    _plugins(ds)
    scratch = h5py.File(f"doi2data-scratch-{next(_scratch_names)}.h5", "w", driver="core", backing_store=False)
    try:
        maxdims = tuple(h5py.h5s.UNLIMITED if m is None else m for m in ds.maxshape)
        space = h5py.h5s.create_simple(ds.shape, maxdims)
        dcpl = ds.id.get_create_plist().copy()
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_INCR)  # never allocate the whole (maybe huge) shape in memory
        sid = h5py.h5d.create(scratch.id, b"d", ds.id.get_type(), space, dcpl=dcpl)
        for offset, mask, data in chunks:
            sid.write_direct_chunk(offset, data, mask)
        try:
            return _take(h5py.Dataset(sid), axes)
        except OSError as exc:
            raise TransferError(f"cannot decode {ds.name} of {remote.entry.path}: {exc} (a filter plugin may be "
                                "missing: pip install hdf5plugin)") from exc
    finally:
        scratch.close()


def _plugins(ds: Any) -> None:
    dcpl = ds.id.get_create_plist()
    if any(dcpl.get_filter(i)[0] not in _BUILTIN_FILTERS for i in range(dcpl.get_nfilters())):
        try:
            import hdf5plugin  # noqa: F401  (registers bitshuffle, LZ4, Blosc, ... with libhdf5)
        except ImportError:
            pass


def _contiguous(reader: RangeReader, remote: RemoteFile, ds: Any, axes: Sequence[Axis],
                budget: ReadBudget | None = None) -> Any:
    """Byte runs of a contiguous dataset: trailing whole dimensions make each run longer."""
    np = _numpy()
    shape, item = ds.shape, ds.dtype.itemsize
    out = np.full(tuple(len(a) for a in axes), ds.fillvalue, dtype=ds.dtype)
    base = ds.id.get_offset()
    if base is None or out.size == 0:
        return out
    if not shape:  # a scalar: one tiny range
        data = _fetch(reader, remote.url, [(base, base + item)], budget=budget)[base]
        return np.frombuffer(data, dtype=ds.dtype).reshape(())
    k = len(shape) - 1
    while k > 0 and len(axes[k]) == shape[k]:
        k -= 1
    tail = int(np.prod(shape[k + 1:], dtype=np.int64)) if k + 1 < len(shape) else 1
    strides = [int(np.prod(shape[j + 1:], dtype=np.int64)) for j in range(len(shape))]
    pieces = []
    for lead in itertools.product(*[list(enumerate(a)) for a in axes[:k]]):
        flat = sum(i * strides[j] for j, (_, i) in enumerate(lead))
        for first, stop, pos in _runs(axes[k]):
            start = base + (flat + first * strides[k]) * item
            pieces.append((tuple(p for p, _ in lead), pos, stop - first, start, start + (stop - first) * tail * item))
    blobs = _fetch(reader, remote.url, [(s, e) for *_, s, e in pieces], gap=64 * 1024, budget=budget)
    for lead_pos, pos, count, start, _ in pieces:
        block = np.frombuffer(blobs[start], dtype=ds.dtype).reshape((count, *shape[k + 1:]))
        out[(*lead_pos, slice(pos, pos + count))] = block
    return out


def _virtual(files: H5Files, remote: RemoteFile, ds: Any, axes: Sequence[Axis], depth: int) -> Any:
    """Assemble a VDS selection from its sources, each resolved in the manifest and read remotely."""
    np, h5py = _numpy(), _h5py()
    out = np.full(tuple(len(a) for a in axes), ds.fillvalue, dtype=ds.dtype)
    for source in ds.virtual_sources():
        vbox = _box(source.vspace, ds.shape)
        picks = [[(p, i - lo) for p, i in enumerate(a) if lo <= i < hi] for a, (lo, hi) in zip(axes, vbox)]
        if not all(picks):
            continue
        found = resolve(files, sibling(files.manifest, remote.entry, source.file_name), source.dset_name)
        if not isinstance(found.obj, h5py.Dataset):
            raise UsageError(f"VDS source {source.dset_name} in {source.file_name} is not a dataset")
        sbox = _box(source.src_space, found.obj.shape)
        src_axes = [tuple(slo + i for _, i in pk) for pk, (slo, _) in zip(picks, sbox)]
        part = read_axes(files, found.file, found.obj, src_axes, depth + 1)
        out[np.ix_(*[[p for p, _ in pk] for pk in picks])] = part
    return out


def _box(space: Any, shape: Sequence[int]) -> list[tuple[int, int]]:
    """A VDS selection as one box ``[(lo, hi), ...]``; anything else is refused, not guessed."""
    h5py = _h5py()
    kind = space.get_select_type()
    if kind == h5py.h5s.SEL_ALL:
        return [(0, n) for n in shape]
    if kind == h5py.h5s.SEL_HYPERSLABS and space.is_regular_hyperslab():
        start, stride, count, block = space.get_regular_hyperslab()
        box = []
        for s, st, c, b in zip(start, stride, count, block):
            if c != 1 and st != b:
                raise UsageError("virtual dataset with strided mappings is not supported")
            if c >= h5py.h5s.UNLIMITED:
                raise UsageError("virtual dataset with unlimited mappings is not supported")
            box.append((s, s + c * b))
        return box
    raise UsageError("virtual dataset with irregular mappings is not supported")


__all__ = ["H5Files", "ReadBudget", "ReadLimits", "RemoteFile", "Resolved", "chunk_batches", "chunk_plan",
           "fetch_chunks", "read_axes", "resolve"]
