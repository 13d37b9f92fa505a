"""Read frame metadata (ManifestMaker, seed 001): miniCBF headers and NeXus/HDF5 angle arrays.

Generic datanames, whatever the format (units normalised): ``omega``, ``phi``, ``chi``,
``kappa``, ``two_theta``, ``start_angle``, ``angle_increment`` (degrees), ``exposure_time``,
``exposure_period`` (s), ``wavelength`` (angstrom), ``detector_distance`` (mm), ``beam_x``,
``beam_y`` (pixels), ``oscillation_axis``, ``detector`` (text).

* **CBF** (one frame per file): a ranged read of the first 4 KiB (more only if the binary
  section has not started yet; ``.cbf.gz`` is decompressed from its start), parsed by fabio's
  CBF reader from those bytes. PILATUS ``Start_angle`` is the scan axis: it becomes ``omega``
  unless the header names the angle itself or the axis is phi.
* **NeXus/HDF5** (many frames per file): metadata through :mod:`.hdf5remote`; the image dataset
  is ``/entry/data/<signal>`` or ``data`` (a VDS or an external link is fine) or the EIGER
  ``data_00000N`` links in order; angle arrays from ``/entry/sample/{transformations,goniometer}``,
  exposure, wavelength and distance from ``/entry/instrument``. The files an HDF5 file links to
  are reported as ``targets`` so the table does not count their frames twice.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..entry import FileEntry
from ..errors import TransferError, UsageError
from .hdf5remote import H5Files, _attrs, _h5py, read_axes, resolve
from .ranges import RangeReader

STARTER = b"\x0c\x1a\x04\xd5"
HEADER_READ, HEADER_MAX = 4096, 64 * 1024
NUMERIC = ("omega", "phi", "chi", "kappa", "two_theta", "start_angle", "angle_increment", "exposure_time",
           "exposure_period", "wavelength", "detector_distance", "beam_x", "beam_y")
TEXT = ("oscillation_axis", "detector")
DATANAMES = NUMERIC + TEXT
CBF_SUFFIXES = (".cbf", ".cbf.gz")
HDF5_SUFFIXES = (".h5", ".hdf5", ".nxs", ".nx5", ".hdf", ".nxs.h5")


@dataclass
class Scanned:
    """What one file contributed: rows ``(frame, dataset, values)``, linked files, notes."""

    rows: list[tuple[int, str | None, dict[str, Any]]] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def kind_of(path: str) -> str | None:
    low = path.lower()
    if low.endswith(CBF_SUFFIXES):
        return "cbf"
    if low.endswith(HDF5_SUFFIXES):
        return "hdf5"
    return None


# -- CBF -----------------------------------------------------------------------------------------
def cbf_head(reader: RangeReader, entry: FileEntry, url: str) -> bytes:
    """The bytes of a CBF up to and including the binary starter (a few KiB), by ranged reads."""
    packed = entry.path.lower().endswith(".gz")
    raw, want = b"", HEADER_READ
    while True:
        end = want if entry.size is None else min(want, entry.size)
        if end > len(raw):
            raw += reader.read(url, len(raw), end)
        text = _inflate(raw) if packed else raw
        cut = text.find(STARTER)
        if cut >= 0:
            return text[:cut + len(STARTER)]
        if want >= HEADER_MAX or (entry.size is not None and end >= entry.size):
            raise TransferError(f"{entry.path}: no CBF binary section in the first {len(raw)} bytes", url=url)
        want *= 4


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    except zlib.error as exc:
        raise TransferError(f"not a gzip stream: {exc}") from exc


def cbf_values(head: bytes) -> dict[str, Any]:
    """Generic datanames from a PILATUS miniCBF header (parsed by fabio)."""
    from fabio.cbfimage import CbfImage, PilatusHeader

    image = CbfImage()
    try:
        image._readheader(io.BytesIO(head))  # fabio's header parser, fed the header bytes only
        pilatus = dict(image.pilatus_headers._dict) if image.pilatus_headers is not None else {}
    except (KeyError, ValueError, IndexError, TypeError, OSError, RuntimeError):  # not PILATUS_1.2: '#' lines
        lines = [ln for ln in head.decode("latin-1").splitlines() if ln.startswith("#")]
        try:
            pilatus = dict(PilatusHeader("\n".join(lines))._dict) if lines else {}
        except (ValueError, IndexError, TypeError) as exc:
            raise TransferError(f"unreadable CBF header: {exc}") from exc
    return pilatus_values(pilatus)


def pilatus_values(h: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = {"Phi": "phi", "Chi": "chi", "Kappa": "kappa", "Omega": "omega", "Detector_2theta": "two_theta",
             "Start_angle": "start_angle", "Angle_increment": "angle_increment", "Exposure_time": "exposure_time",
             "Exposure_period": "exposure_period", "Wavelength": "wavelength", "Detector": "detector",
             "Oscillation_axis": "oscillation_axis"}
    for key, name in names.items():
        if key in h:
            out[name] = h[key]
    if "Detector_distance" in h:
        out["detector_distance"] = round(float(h["Detector_distance"]) * 1000.0, 6)
    if "Beam_xy" in h:
        out["beam_x"], out["beam_y"] = (float(v) for v in h["Beam_xy"])
    if "start_angle" in out:
        axis = str(out.get("oscillation_axis", "")).lower()
        out.setdefault("phi" if "phi" in axis else "omega", out["start_angle"])
    return out


def scan_cbf(reader: RangeReader, entry: FileEntry, url: str) -> Scanned:
    return Scanned(rows=[(0, None, cbf_values(cbf_head(reader, entry, url)))])


# -- NeXus / HDF5 --------------------------------------------------------------------------------
_ANGLE_GROUPS = ("/entry/sample/transformations", "/entry/sample/goniometer", "/entry/sample")
_ANGLES = ("omega", "phi", "chi", "kappa")
_SCALARS = {"exposure_time": ("/entry/instrument/detector/count_time",),
            "exposure_period": ("/entry/instrument/detector/frame_time",),
            "wavelength": ("/entry/instrument/beam/incident_wavelength", "/entry/instrument/monochromator/wavelength"),
            "detector_distance": ("/entry/instrument/detector/distance",
                                  "/entry/instrument/detector/detector_distance"),
            "beam_x": ("/entry/instrument/detector/beam_center_x",),
            "beam_y": ("/entry/instrument/detector/beam_center_y",),
            "two_theta": ("/entry/instrument/detector/goniometer/two_theta",)}
_TO = {"deg": 1.0, "degree": 1.0, "degrees": 1.0, "rad": 57.29577951308232, "radian": 57.29577951308232,
       "angstrom": 1.0, "a": 1.0, "å": 1.0, "nm": 10.0, "m": 1.0, "mm": 1.0, "cm": 10.0, "s": 1.0, "ms": 1e-3,
       "us": 1e-6}


def _scale(name: str, units: Any) -> float:
    unit = (units.decode() if isinstance(units, bytes) else str(units or "")).strip().lower()
    if name == "detector_distance":
        return {"m": 1000.0, "cm": 10.0, "mm": 1.0, "um": 1e-3}.get(unit or "mm", 1.0)
    if name == "wavelength":
        return {"m": 1e10, "nm": 10.0}.get(unit, 1.0)
    return _TO.get(unit, 1.0)


def _lookup(files: H5Files, entry: FileEntry, path: str) -> Any:
    """The object at ``path`` (links followed through the manifest), or ``None``.

    Never ``group.get(path)``/``in``: libhdf5 would traverse an external link through the
    parent's file object (research §7: silently the parent's own data)."""
    try:
        return resolve(files, entry, path).obj
    except UsageError:
        return None


def _image(files: H5Files, entry: FileEntry) -> list[tuple[str, int]]:
    """``[(dataset path, frames)]``: the image dataset(s) of a NeXus file, in frame order."""
    h5py = _h5py()
    group = _lookup(files, entry, "/entry/data")
    if group is None or not isinstance(group, h5py.Group):
        return []
    signal = group.attrs.get("signal", "data")
    signal = signal.decode() if isinstance(signal, bytes) else str(signal)
    names = [signal] if group.get(signal, getlink=True) is not None else sorted(
        n for n in group if n.startswith("data_"))
    out = []
    for name in names:
        found = resolve(files, entry, f"/entry/data/{name}")
        if isinstance(found.obj, h5py.Dataset) and found.obj.ndim >= 2:
            out.append((f"/entry/data/{name}", int(found.obj.shape[0])))
    return out


def _targets(files: H5Files, entry: FileEntry) -> list[str]:
    """Files this one reaches through ``/entry/data`` external links and virtual sources."""
    h5py = _h5py()
    group = _lookup(files, entry, "/entry/data")
    names: set[str] = set()
    if isinstance(group, h5py.Group):
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                names.add(link.filename)
            elif isinstance(group[name], h5py.Dataset) and group[name].is_virtual:
                names.update(s.file_name for s in group[name].virtual_sources() if s.file_name != ".")
    return sorted(names)


def scan_hdf5(files: H5Files, entry: FileEntry) -> Scanned:
    """One row per frame of the image dataset(s), with the per-frame and constant datanames."""
    h5py = _h5py()
    out = Scanned(targets=_targets(files, entry))
    images = _image(files, entry)
    if not images:
        out.messages.append(f"{entry.path}: no /entry/data image dataset")
        return out
    total = sum(n for _, n in images)
    values: dict[str, Any] = {}
    for group_path in _ANGLE_GROUPS:
        group = _lookup(files, entry, group_path)
        if not isinstance(group, h5py.Group):
            continue
        for name in group:
            key = name.lower()
            if key in _ANGLES and key not in values:
                found = _lookup(files, entry, f"{group_path}/{name}")
                if isinstance(found, h5py.Dataset):
                    values[key] = _numbers(files, entry, f"{group_path}/{name}", key)
    for key, paths in _SCALARS.items():
        for path in paths:
            if isinstance(_lookup(files, entry, path), h5py.Dataset):
                values[key] = _numbers(files, entry, path, key)
                break
    rows: list[tuple[int, str | None, dict[str, Any]]] = []
    first = 0
    for dataset, count in images:
        for i in range(count):
            row = {k: _pick(v, first + i, total) for k, v in values.items()}
            rows.append((i, dataset, {k: v for k, v in row.items() if v is not None}))
        first += count
    if len(images) > 1:  # EIGER data_00000N: also give the running frame number
        for n, (_, _, vals) in enumerate(rows):
            vals["scan_frame"] = n
    out.rows = rows
    return out


def _numbers(files: H5Files, entry: FileEntry, path: str, name: str) -> Any:
    found = resolve(files, entry, path)
    ds = found.obj
    if ds.dtype.kind not in "biuf":
        return None
    axes = [range(n) for n in ds.shape]
    data = read_axes(files, found.file, ds, axes)
    return data.astype(float).reshape(-1) * _scale(name, _attrs(ds).get("units"))


def _pick(values: Any, index: int, total: int) -> float | None:
    if values is None or len(values) == 0:
        return None
    if len(values) == total:
        return round(float(values[index]), 9)
    return round(float(values[0]), 9) if len(values) == 1 else None


__all__ = ["DATANAMES", "NUMERIC", "TEXT", "Scanned", "cbf_head", "cbf_values", "kind_of", "pilatus_values",
           "scan_cbf", "scan_hdf5"]
