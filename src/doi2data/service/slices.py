"""HDF5 hyperslabs: ``?file=X.h5&dataset=/entry/data/data&slice=10:20,:,::2``.

The slab is read the way ``get --hdf5`` reads it (:mod:`doi2data.subset.hdf5remote`): metadata
through libhdf5 over small ranged reads, then exactly the chunks the selection touches; external
links and virtual datasets are followed within the dataset's own files. Slice syntax is the
CLI's (:func:`doi2data.subset.spec.parse_slices`): numpy-like, an integer keeps its axis, missing
trailing axes are whole; ``slice`` may also be written in brackets after ``dataset``.

Formats (``?format=`` wins over ``Accept``; the default is ``.npy``):

=======  ========================  =============================================================
npy      ``application/x-npy``     ``numpy.load`` reads it; shape, dtype and byte order travel in
                                   its header; the smallest faithful answer for any numeric slab
hdf5     ``application/x-hdf5``    a small HDF5 file: the dataset at its own path with its
                                   attributes and parent-group attributes (NeXus), chunks copied
                                   raw when aligned, provenance on the root (``get --hdf5``'s file)
json     ``application/json``      ``{"shape", "dtype", "data"}`` for small slabs in browsers and
                                   scripts without numpy (at most :data:`JSON_ELEMENTS` values)
=======  ========================  =============================================================

Every answer has an exact ``Content-Length`` and ``X-Doi2data-Shape``/``-Dtype``/``-Selection``.

A slab is bounded by what it *reads*, not only by its size (``max_slice_bytes``): chunks touched
(``max_slice_chunks``), one chunk's decompressed size (``max_slice_chunk_bytes``) and bytes fetched,
metadata included (``max_slice_read``) - :class:`~doi2data.subset.hdf5remote.ReadLimits`; passing
one is a 413 problem before the bytes are fetched.
"""

from __future__ import annotations

import io
import math
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import TransferError, UsageError
from ..model import FileEntry, Manifest
from ..subset.hdf5extract import extract_hdf5
from ..subset.hdf5remote import H5Files, ReadLimits, _h5py, read_axes, resolve
from ..subset.spec import DatasetSpec, describe, parse_dataset, parse_slices
from .negotiate import _parse, _quality
from .origin import local_bytes
from .problems import DatasetPathNotFound, InvalidSlice, NotAcceptable, NotHdf5, SubsetError, TooLarge
from .pump import CHUNK
from .stream import StreamedBody, blocking, disposition, finally_run, pumped

if TYPE_CHECKING:
    from .gateway import Gateway

FORMATS = {"npy": "application/x-npy", "hdf5": "application/x-hdf5", "json": "application/json"}
ALIASES = {"numpy": "npy", "h5": "hdf5", "hdf": "hdf5"}
ACCEPTED = {**FORMATS, "npy-octet": "application/octet-stream"}  # a plain byte stream: the .npy bytes
JSON_ELEMENTS = 1_000_000


def slice_format(accept: str | None, fmt: str | None) -> tuple[str, bool]:
    """``(format, negotiated)``: ``?format=`` first, else the best ``Accept`` match (npy on ties)."""
    if fmt:
        name = ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
        if name not in FORMATS:
            raise UsageError(f"format for HDF5 slices must be one of {', '.join(FORMATS)} (got {fmt!r})")
        return name, False
    if not accept or not accept.strip():
        return "npy", True
    ranges = _parse(accept)
    scored = [(_quality(media, ranges), -i, name) for i, (name, media) in enumerate(ACCEPTED.items())]
    q, _, name = max(scored)
    if q <= 0:
        raise NotAcceptable(f"cannot answer {accept!r} for a slice; available: {', '.join(FORMATS.values())} "
                            "(or ?format=npy|hdf5|json)")
    return ("npy" if name == "npy-octet" else name), True


def dataset_spec(params: Mapping[str, str]) -> DatasetSpec:
    """``dataset=/p`` and ``slice=a:b,…`` (or ``dataset=/p[a:b,…]``) as the CLI's spec."""
    text = params["dataset"].strip()
    if not text.strip("/"):
        raise DatasetPathNotFound("dataset= needs the path of an HDF5 dataset, e.g. /entry/data/data")
    if "slice" in params:
        if "[" in text:
            raise InvalidSlice("give the slice either in brackets after dataset= or as slice=, not both")
        cut = params["slice"].strip()
        if cut.startswith("[") and cut.endswith("]"):
            cut = cut[1:-1]
        text = f"{text}[{cut}]"
    try:
        return parse_dataset(text)
    except UsageError as exc:
        raise InvalidSlice(str(exc)) from exc


@dataclass
class Slab:
    values: Any
    selection: str
    shape: tuple[int, ...]
    dtype: str


def _open(hf: H5Files, manifest: Manifest, entry: FileEntry, spec: DatasetSpec, max_bytes: int) -> tuple[Any, Any]:
    """``(resolved, axes)`` with each failure named: not HDF5, no such dataset, bad slice, too big."""
    try:
        hf.open(entry)
    except TransferError as exc:
        if isinstance(exc.__cause__, OSError):
            raise NotHdf5(f"{entry.path!r} is not an HDF5 file libhdf5 can read") from exc
        raise
    try:
        found = resolve(hf, entry, spec.path)
    except UsageError as exc:
        raise DatasetPathNotFound(str(exc)) from exc
    if not isinstance(found.obj, _h5py().Dataset):
        raise DatasetPathNotFound(f"{spec.path} in {entry.path} is a group, not a dataset")
    try:
        axes = parse_slices(spec.slices, found.obj.shape)
    except UsageError as exc:
        raise InvalidSlice(f"{exc} (dataset {spec.path} has shape {tuple(found.obj.shape)})") from exc
    size = math.prod(len(a) for a in axes) * found.obj.dtype.itemsize
    if size > max_bytes:
        raise TooLarge(f"{spec.path}{describe(axes)} is {size:,} bytes; a slice may be at most {max_bytes:,} "
                       "(ask for less, or use `doi2data get --hdf5`)")
    return found, axes


def read_limits(gw: Gateway) -> ReadLimits:
    cfg = gw.config
    return ReadLimits(max_chunks=cfg.max_slice_chunks, max_chunk_bytes=cfg.max_slice_chunk_bytes,
                      max_read=cfg.max_slice_read)


def read_slab(gw: Gateway, manifest: Manifest, entry: FileEntry, spec: DatasetSpec) -> Slab:
    """Worker thread: the slab's values (numpy)."""
    import numpy as np

    with H5Files(manifest, gw.subsets.reader(gw.sync_client), limits=read_limits(gw)) as hf, hf.guard():
        found, axes = _open(hf, manifest, entry, spec, gw.config.max_slice_bytes)
        values = np.ascontiguousarray(read_axes(hf, found.file, found.obj, axes))
        return Slab(values, f"{spec.path}{describe(axes)}", tuple(values.shape), values.dtype.str)


def write_slab(gw: Gateway, manifest: Manifest, entry: FileEntry, spec: DatasetSpec, dest: Path, name: str) -> Slab:
    """Worker thread: the slab as a new HDF5 file ``dest/name`` (``get --hdf5``'s output)."""
    with H5Files(manifest, gw.subsets.reader(gw.sync_client), limits=read_limits(gw)) as hf, hf.guard():
        found, axes = _open(hf, manifest, entry, spec, gw.config.max_slice_bytes)
        selection = describe(axes)
        extract_hdf5(manifest, dest=dest, file=entry.path, dataset=f"{spec.path}[{selection[1:-1]}]", output=name,
                     reader=hf.reader, files=hf)
        return Slab(None, f"{spec.path}{selection}", tuple(len(a) for a in axes), found.obj.dtype.str)


def _filename(entry: FileEntry, spec: DatasetSpec, selection: str, suffix: str) -> str:
    tag = selection[len(spec.path):].strip("[]").replace(", ", "_").replace(":", "-")
    tag = "".join(c if c.isalnum() or c in "-_" else "_" for c in tag)[:60]
    return f"{PurePosixPath(entry.path).stem}.{PurePosixPath(spec.path).name or 'data'}.{tag}{suffix}"


def npy_chunks(values: Any) -> tuple[int, Iterator[bytes]]:
    """The ``.npy`` encoding of ``values`` as (length, chunks), without copying the array whole."""
    import numpy as np

    if values.dtype.hasobject:
        raise SubsetError("this dataset holds variable-length values (strings, objects): .npy cannot carry them "
                          "without pickle; ask for format=json or format=hdf5")
    head = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(head, np.lib.format.header_data_from_array_1_0(values))
    except ValueError:  # a header over 64 KiB (huge structured dtypes)
        head = io.BytesIO()
        np.lib.format.write_array_header_2_0(head, np.lib.format.header_data_from_array_1_0(values))
    data = memoryview(values.reshape(-1)).cast("B") if values.size else memoryview(b"")

    def chunks() -> Iterator[bytes]:
        yield head.getvalue()
        for start in range(0, len(data), CHUNK):
            yield bytes(data[start:start + CHUNK])

    return len(head.getvalue()) + len(data), chunks()


def json_values(values: Any) -> Any:
    if values.size > JSON_ELEMENTS:
        raise TooLarge(f"{values.size:,} values; format=json carries at most {JSON_ELEMENTS:,} (use npy or hdf5)")
    plain = values.tolist()
    return _decoded(plain)


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


async def slice_response(request: Request, gw: Gateway, manifest: Manifest, entry: FileEntry,
                         params: Mapping[str, str], headers: dict[str, str]) -> Response:
    fmt, negotiated = slice_format(request.headers.get("accept"), params.get("format"))
    spec = dataset_spec(params)
    headers = dict(headers)
    if negotiated:
        headers["Vary"] = "Accept"
    request.state.kind = f"slice-{fmt}"
    if fmt == "hdf5":
        tmp = Path(tempfile.mkdtemp(prefix="doi2data-slice-"))
        try:
            name = _filename(entry, spec, spec.path, ".h5")  # the selection is only known once opened
            slab = await blocking(write_slab, gw, manifest, entry, spec, tmp, name, executor=gw.subsets.executor)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        headers.update(_slab_headers(slab))
        headers.update({"Content-Length": str((tmp / name).stat().st_size),
                        "Content-Disposition": disposition(_filename(entry, spec, slab.selection, ".h5"))})
        stream = finally_run(pumped(lambda: local_bytes(tmp / name)), lambda: shutil.rmtree(tmp, ignore_errors=True))
        return StreamedBody(stream, media_type=FORMATS["hdf5"], headers=headers)
    slab = await blocking(read_slab, gw, manifest, entry, spec, executor=gw.subsets.executor)
    headers.update(_slab_headers(slab))
    if fmt == "json":
        body = {"file": entry.path, "dataset": spec.path, "selection": slab.selection, "shape": list(slab.shape),
                "dtype": slab.dtype, "data": json_values(slab.values)}
        return JSONResponse(body, headers=headers)
    length, chunks = npy_chunks(slab.values)
    headers.update({"Content-Length": str(length),
                    "Content-Disposition": disposition(_filename(entry, spec, slab.selection, ".npy"))})
    return StreamedBody(_aiter(chunks), media_type=FORMATS["npy"], headers=headers)


async def _aiter(chunks: Iterator[bytes]) -> Any:
    for chunk in chunks:
        yield chunk


def _slab_headers(slab: Slab) -> dict[str, str]:
    return {"X-Doi2data-Shape": ",".join(str(n) for n in slab.shape), "X-Doi2data-Dtype": slab.dtype,
            "X-Doi2data-Selection": slab.selection}


__all__ = ["FORMATS", "dataset_spec", "npy_chunks", "slice_format", "slice_response"]
