"""``get --hdf5 'scan.h5:/entry/data/data[10:20]'``: a new HDF5 file holding just that slab.

The output mirrors the requested path (``/entry/data/data``), keeps the dataset's attributes and
those of its parent groups (NeXus ``NX_class``, ``signal``...), and records provenance on the root
(``doi2data_doi``, ``doi2data_source``, ``doi2data_dataset``, ``doi2data_selection``). When the
selection is aligned to the chunk grid (always, for per-frame chunks and a frame range or list),
stored chunks are copied **raw** (``write_direct_chunk``): same compression, no decoding, no
plugin needed. Otherwise the values are decoded (:mod:`.hdf5remote`) and written with the
source's creation properties, chunks clamped to the new shape; a virtual dataset is written as a
plain chunked, gzip-compressed dataset.

Reads are bounded (:class:`~.hdf5remote.ReadLimits`: chunks touched, one chunk's decompressed size,
bytes fetched); a raw copy holds at most 256 MiB of stored chunks in memory at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .._version import __version__
from ..errors import UsageError
from ..model import Manifest
from .common import SubsetReport, Written, atomic_path, find_entry
from .hdf5remote import (H5Files, ReadLimits, Resolved, _attrs, _h5py, chunk_batches, chunk_plan, fetch_chunks,
                         read_axes, resolve)
from .ranges import RangeReader
from .spec import describe, parse_dataset, parse_slices, split_spec


def _target(manifest: Manifest, spec: str | None, file: str | None, dataset: str | None) -> tuple[str, str]:
    if spec:
        file, dataset = split_spec(spec, manifest)
    if not file or not dataset:
        raise UsageError("say which file and dataset: 'scan.h5:/entry/data/data[10:20]'")
    return file, dataset


def extract_hdf5(manifest: Manifest, spec: str | None = None, dest: str | Path = ".", *, file: str | None = None,
                 dataset: str | None = None, frames: Sequence[int] | None = None, output: str | None = None,
                 reader: RangeReader | None = None, files: H5Files | None = None,
                 limits: ReadLimits | None = None) -> SubsetReport:
    """Write ``dataset[selection]`` of the remote HDF5 ``file`` into a new file under ``dest``.

    ``spec`` is ``FILE:/path[slices]`` (or give ``file`` and ``dataset``); ``frames`` replaces the
    first axis by a list of indices (frames chosen by ``--where``). ``output`` is the local name
    (default ``<file stem>.<dataset name>.<selection>.h5`` beside the source's folder). ``limits``
    bound what is read (``files`` carry their own); passing one raises
    :class:`~doi2data.errors.LimitExceeded` and leaves no output file.
    """
    name, target = _target(manifest, spec, file, dataset)
    own = reader is None
    rd = reader or RangeReader()
    hf = files or H5Files(manifest, rd, limits=limits or ReadLimits())
    report = SubsetReport(Path(dest))
    before = (rd.requests, rd.bytes_received)
    try:
        entry = find_entry(manifest, name)
        with hf.guard():
            ds_spec = parse_dataset(target)
            found = resolve(hf, entry, ds_spec.path)
            h5py = _h5py()
            if not isinstance(found.obj, h5py.Dataset):
                raise UsageError(f"{ds_spec.path} in {entry.path} is a group, not a dataset")
            ds = found.obj
            axes: list[Sequence[int]] = list(parse_slices(ds_spec.slices, ds.shape))
            if frames is not None:
                chosen = sorted({int(i) for i in frames})
                if not chosen or chosen[0] < 0 or chosen[-1] >= (ds.shape[0] if ds.shape else 0):
                    raise UsageError(f"frame indices out of range for {ds_spec.path} {ds.shape}")
                axes[0] = tuple(chosen)
            chosen_text = "frames" if frames is not None else describe(axes)
            local = output or _default_name(entry.path, ds_spec.path, chosen_text)
            with atomic_path(report.dest, local) as part:
                with h5py.File(part, "w") as out:
                    _write(out, hf, found, ds_spec.path, axes, manifest, entry.path)
            size = Path(report.dest, local).stat().st_size
            report.written.append(Written(entry.path, f"{ds_spec.path}{describe(axes)}", local, size))
    finally:
        report.requests = rd.requests - before[0]
        report.bytes_received = rd.bytes_received - before[1]
        if files is None:
            hf.close()
        if own:
            rd.close()
    return report


def read_hdf5(manifest: Manifest, file: str, dataset: str, *, reader: RangeReader | None = None,
              limits: ReadLimits | None = None) -> Any:
    """``dataset`` (``/path[slices]``) of the remote ``file`` as a numpy array (for the gateway)."""
    own = reader is None
    rd = reader or RangeReader()
    try:
        with H5Files(manifest, rd, limits=limits or ReadLimits()) as hf, hf.guard():
            ds_spec = parse_dataset(dataset)
            found = resolve(hf, find_entry(manifest, file), ds_spec.path)
            if not isinstance(found.obj, _h5py().Dataset):
                raise UsageError(f"{ds_spec.path} is a group, not a dataset")
            axes = parse_slices(ds_spec.slices, found.obj.shape)
            return read_axes(hf, found.file, found.obj, axes)
    finally:
        if own:
            rd.close()


def list_hdf5(manifest: Manifest, file: str, *, reader: RangeReader | None = None, limit: int = 10_000) -> list[
        dict[str, Any]]:
    """Groups, datasets (shape, dtype, chunks, virtual) and links of a remote file, by metadata only.

    External links are listed, not followed (their targets are other files of the dataset).
    """
    h5py = _h5py()
    own = reader is None
    rd = reader or RangeReader()
    rows: list[dict[str, Any]] = []
    try:
        with H5Files(manifest, rd) as hf, hf.guard():
            root = hf.open(find_entry(manifest, file)).h5
            stack = [("", root)]
            while stack and len(rows) < limit:
                prefix, group = stack.pop()
                for name in group:
                    path, link = f"{prefix}/{name}", group.get(name, getlink=True)
                    if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
                        rows.append({"path": path, "kind": "link", "file": getattr(link, "filename", None),
                                     "target": link.path})
                        continue
                    obj = group[name]
                    if isinstance(obj, h5py.Group):
                        rows.append({"path": path, "kind": "group", "nx_class": _text(obj.attrs.get("NX_class"))})
                        stack.append((path, obj))
                    else:
                        rows.append({"path": path, "kind": "dataset", "shape": list(obj.shape), "dtype": str(obj.dtype),
                                     "chunks": list(obj.chunks) if obj.chunks else None, "virtual": obj.is_virtual})
    finally:
        if own:
            rd.close()
    return sorted(rows, key=lambda r: r["path"])


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _default_name(source: str, dataset: str, selection: str) -> str:
    pure = PurePosixPath(source)
    tag = selection.strip("[]").replace(", ", "_").replace(":", "-").replace("{", "").replace("}", "")
    tag = "".join(c if c.isalnum() or c in "-_" else "_" for c in tag)[:60]
    leaf = PurePosixPath(dataset).name or "data"
    return str(pure.with_name(f"{pure.stem}.{leaf}.{tag}.h5"))


def _raw_ok(ds: Any, axes: Sequence[Sequence[int]]) -> bool:
    """True when every touched chunk lies wholly inside the selection (copy stored bytes as they are)."""
    if ds.is_virtual or ds.chunks is None:
        return False
    for d, (axis, c) in enumerate(zip(axes, ds.chunks)):
        if d == 0 and c == 1:
            continue
        if not isinstance(axis, range) or axis.step != 1:
            return False
        if axis.start % c or (axis.stop % c and axis.stop != ds.shape[d]):
            return False
    return True


def _write(out: Any, hf: H5Files, found: Resolved, path: str, axes: Sequence[Sequence[int]], manifest: Manifest,
           source: str) -> None:
    h5py = _h5py()
    ds, shape = found.obj, tuple(len(a) for a in axes)
    for gpath, attrs in found.groups:
        group = out if gpath == "/" else out.require_group(gpath)
        for key, value in attrs.items():
            group.attrs[key] = value
    out.attrs.update({"doi2data_doi": manifest.dataset.doi or "", "doi2data_source": source,
                      "doi2data_dataset": path, "doi2data_selection": describe(axes),
                      "doi2data_version": __version__})
    parent = out.require_group(str(PurePosixPath(path).parent))
    name = PurePosixPath(path).name.encode()
    if _raw_ok(ds, axes):
        plan = chunk_plan(ds, axes, hf.budget)
        maxdims = tuple(h5py.h5s.UNLIMITED if m is None or n < c else n
                        for m, n, c in zip(ds.maxshape, shape, ds.chunks))
        did = h5py.h5d.create(parent.id, name, ds.id.get_type(), h5py.h5s.create_simple(shape, maxdims),
                              dcpl=ds.id.get_create_plist())
        for batch in chunk_batches(plan):  # stored bytes in memory: one batch at a time
            for offset, mask, data in fetch_chunks(hf.reader, found.file, batch, hf.budget):
                did.write_direct_chunk(tuple(_position(a, o) for a, o in zip(axes, offset)), data, mask)
        written = h5py.Dataset(did)
    else:
        values = read_axes(hf, found.file, ds, axes)
        if ds.is_virtual:
            grid = tuple(max(1, min(n, 1 if d == 0 else n)) for d, n in enumerate(shape))
            written = parent.create_dataset(name.decode(), data=values, chunks=grid or None, compression="gzip",
                                            compression_opts=4, shuffle=True)
        else:
            dcpl = ds.id.get_create_plist().copy()
            if ds.chunks is not None:
                dcpl.set_chunk(tuple(max(1, min(c, n)) for c, n in zip(ds.chunks, shape)))
            did = h5py.h5d.create(parent.id, name, ds.id.get_type(), h5py.h5s.create_simple(shape), dcpl=dcpl)
            written = h5py.Dataset(did)
            written[...] = values
    for key, value in _attrs(ds).items():
        written.attrs[key] = value


def _position(axis: Sequence[int], offset: int) -> int:
    """Where source chunk ``offset`` lands along ``axis`` in the output."""
    if isinstance(axis, range):
        return offset - axis.start
    return list(axis).index(offset)


__all__ = ["extract_hdf5", "list_hdf5", "read_hdf5"]
