"""NeXus/HDF5 files for the subset datasets, written with h5py into memory.

Why real files written by h5py: the remote-HDF5 code reads chunk indexes, external links and
virtual datasets through libhdf5 itself, so the test files must come from the same library
users' files come from. Content is deterministic (a fixed numpy seed); each builder returns the
finished file's bytes. h5py and numpy are imported only when a builder runs (they belong to the
``subsets`` extra; the sandbox leaves these datasets out when h5py is missing).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

NX = "NX_class"


@dataclass(frozen=True)
class Scan:
    """A rotation scan: frame count, frame shape and the goniometer angles per frame."""

    frames: int = 40
    height: int = 256
    width: int = 256
    omega_start: float = 80.0
    omega_step: float = 0.5
    chi: float = 0.0
    phi: float = 0.0
    kappa: float = 0.0
    exposure: float = 0.05
    wavelength: float = 0.9763  # angstrom
    distance: float = 0.2       # metres
    seed: int = 154704

    def omega(self) -> list[float]:
        return [round(self.omega_start + i * self.omega_step, 6) for i in range(self.frames)]


def frames_array(scan: Scan, first: int = 0, count: int | None = None) -> Any:
    """The image stack (uint16 counts): a fixed background rolled per frame, frame number in [0, 0]."""
    import numpy as np

    count = scan.frames - first if count is None else count
    rng = np.random.default_rng(scan.seed)
    shape = (scan.height, scan.width)
    base = (rng.random(shape) < 0.3).astype(np.uint16) * rng.integers(1, 4, shape, dtype=np.uint16)
    base[rng.integers(0, scan.height, 60), rng.integers(0, scan.width, 60)] = 900  # "spots"
    out = np.empty((count, scan.height, scan.width), dtype=np.uint16)
    for k in range(count):
        i = first + k
        out[k] = np.roll(base, i * 13, axis=1)
        out[k, 0, 0] = i
    return out


def _group(parent: Any, name: str, nx_class: str, **attrs: Any) -> Any:
    group = parent.require_group(name)
    group.attrs[NX] = nx_class
    for key, value in attrs.items():
        group.attrs[key] = value
    return group


def _angles(group: Any, scan: Scan, depends: dict[str, str]) -> None:
    import numpy as np

    values = {"omega": scan.omega(), "chi": [scan.chi] * scan.frames, "phi": [scan.phi] * scan.frames,
              "kappa": [scan.kappa] * scan.frames}
    vectors = {"omega": (-1.0, 0.0, 0.0), "chi": (0.0, 0.0, 1.0), "phi": (-1.0, 0.0, 0.0), "kappa": (-0.64, 0.0, 0.77)}
    for name, vals in values.items():
        ds = group.create_dataset(name, data=np.asarray(vals, dtype="f8"))
        ds.attrs.update({"units": "deg", "transformation_type": "rotation", "vector": vectors[name],
                         "depends_on": depends.get(name, ".")})


def _instrument(entry: Any, scan: Scan, description: str) -> None:
    import h5py
    import numpy as np

    inst = _group(entry, "instrument", "NXinstrument")
    inst.create_dataset("name", data="Sandbox beamline (doi2data)")
    beam = _group(inst, "beam", "NXbeam")
    beam.create_dataset("incident_wavelength", data=scan.wavelength).attrs["units"] = "angstrom"
    det = _group(inst, "detector", "NXdetector")
    det.create_dataset("description", data=description)
    det.create_dataset("distance", data=scan.distance).attrs["units"] = "m"
    det.create_dataset("count_time", data=scan.exposure).attrs["units"] = "s"
    mask = (np.arange(scan.height * scan.width, dtype=np.uint32) % 97 == 0).astype(np.uint32)
    det.create_dataset("pixel_mask", data=mask.reshape(scan.height, scan.width))  # contiguous layout
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple((3,))
    origin = h5py.h5d.create(det.id, b"module_origin", h5py.h5t.IEEE_F64LE, space, dcpl=dcpl)
    origin.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([0.0, 1.5, -2.25]))


def _entry(f: Any, scan: Scan, goniometer: str) -> Any:
    entry = _group(f, "entry", "NXentry", default="data")
    entry.create_dataset("definition", data="NXmx")
    entry.create_dataset("start_time", data="2016-09-20T10:11:12Z")
    sample = _group(entry, "sample", "NXsample")
    sample.create_dataset("name", data="lysozyme")
    sample.create_dataset("depends_on", data=f"/entry/sample/{goniometer}/phi")
    _angles(_group(sample, goniometer, "NXtransformations"), scan,
            {"phi": "kappa", "kappa": "omega", "chi": "omega"})
    return entry


_names = itertools.count()


@contextmanager
def _memory_file(image: list[bytes]) -> Iterator[Any]:
    """An in-memory HDF5 file (core driver, no backing store); its bytes land in ``image[0]``.

    Why not a BytesIO: the fileobj driver costs ~0.2 s in Python writes per file at close.
    """
    import h5py

    f = h5py.File(f"doi2data-sandbox-{next(_names)}.h5", "w", driver="core", backing_store=False)
    try:
        yield f
        f.flush()
        image.append(f.id.get_file_image())
    finally:
        f.close()


def nexus_scan(scan: Scan) -> bytes:
    """An NXmx-style file: ``/entry/data/data`` (frames, H, W) chunked per frame, gzip + shuffle."""
    import h5py

    image: list[bytes] = []
    with _memory_file(image) as f:
        f.attrs.update({"creator": "doi2data sandbox", "file_name": "scan.h5"})
        entry = _entry(f, scan, "transformations")
        _instrument(entry, scan, "EIGER2 X 4M (sandbox)")
        data = _group(entry, "data", "NXdata", signal="data")
        ds = data.create_dataset("data", data=frames_array(scan), chunks=(1, scan.height, scan.width),
                                 compression="gzip", compression_opts=1, shuffle=True)
        ds.attrs.update({"units": "counts", "interpretation": "image", "long_name": "detector counts"})
    return image[0]


def eiger_series(scan: Scan, files: int = 2, prefix: str = "series") -> dict[str, bytes]:
    """An EIGER-style series: ``<prefix>_master.h5`` with ``data_00000N`` external links and a
    ``data`` virtual dataset over the ``<prefix>_data_00000N.h5`` files (relative names)."""
    import h5py

    per = scan.frames // files
    shape = (scan.height, scan.width)
    out: dict[str, bytes] = {}
    layout = h5py.VirtualLayout(shape=(per * files, *shape), dtype="uint16")
    image: list[bytes] = []
    with _memory_file(image) as master:
        entry = _entry(master, scan, "goniometer")
        _instrument(entry, scan, "Dectris EIGER 500K (sandbox)")
        data = _group(entry, "data", "NXdata", signal="data")
        for n in range(1, files + 1):
            name = f"{prefix}_data_{n:06d}.h5"
            data[f"data_{n:06d}"] = h5py.ExternalLink(name, "/entry/data/data")
            layout[(n - 1) * per:n * per] = h5py.VirtualSource(name, "/entry/data/data", shape=(per, *shape))
            out[name] = _data_file(scan, (n - 1) * per, per)
        data.create_virtual_dataset("data", layout, fillvalue=0)
    out[f"{prefix}_master.h5"] = image[0]
    return out


def _data_file(scan: Scan, first: int, count: int) -> bytes:
    image: list[bytes] = []
    with _memory_file(image) as f:
        entry = _group(f, "entry", "NXentry")
        data = _group(entry, "data", "NXdata")
        ds = data.create_dataset("data", data=frames_array(scan, first, count), chunks=(1, scan.height, scan.width),
                                 compression="gzip", compression_opts=1)
        ds.attrs.update({"image_nr_low": first + 1, "image_nr_high": first + count})
    return image[0]


__all__ = ["Scan", "eiger_series", "frames_array", "nexus_scan"]
