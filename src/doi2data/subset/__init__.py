"""Remote subsets: parts of a dataset's files, without downloading the files.

The library API the CLI (``ls --inside``, ``get --extract/--hdf5/--where``) and the HTTP gateway
(``?list=members``, ``?extract=``, ``?dataset=&slice=``, ``?where=``) call. Every function takes
manifest entries (never raw URLs: access, credentials and names stay the manifest's business) and
an optional :class:`RangeReader` (shared connection pool, politeness, counters); each returns a
value that says what it cost (``requests``, ``bytes_received``).

==========================  ===============================================================
``list_zip_members``        central directory of a remote zip (ZIP64 too): 1-2 ranged reads
``extract_zip_members``     chosen members, one ranged GET per run of adjacent members, CRC-checked
``iter_zip_member``         one member as a verified byte stream (gateway ``?extract=``)
``list_tar_members``        tar / tar.gz headers (streams the whole archive: tar has no index)
``extract_tar_members``     chosen tar members by streaming (stops after the last literal name)
``tar_members``             tar headers as one stream that stops when closed (gateway ``?list=``)
``extract_hdf5``            ``scan.h5:/entry/data/data[10:20]`` -> a new HDF5 file (raw chunk copies)
``read_hdf5``               the same selection as a numpy array (gateway ``?dataset=&slice=``)
``list_hdf5``               groups, datasets and links of a remote HDF5 file, by metadata
``frame_table``             frames and their datanames (CBF headers, NeXus angle arrays), cached
``fetch_frames``            the frames matching a ``--where`` expression
``parse_where``             the safe ``--where`` grammar
==========================  ===============================================================

Heavy dependencies (h5py, numpy, fabio: the ``subsets`` extra) load only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RangeReader": "ranges", "RangeFile": "rangefile", "UNLIMITED": "ranges", "HostGates": "ranges",
    "SubsetReport": "common", "Written": "common", "find_entry": "common",
    "ZipListing": "zipremote", "ZipMember": "zipremote", "list_zip_members": "zipremote",
    "extract_zip_members": "zipremote", "iter_zip_member": "zipremote",
    "TarMember": "tarstream", "list_tar_members": "tarstream", "extract_tar_members": "tarstream",
    "tar_members": "tarstream", "member_kind": "tarstream",
    "extract_hdf5": "hdf5extract", "read_hdf5": "hdf5extract", "list_hdf5": "hdf5extract",
    "Frame": "frames", "FrameTable": "frames", "frame_table": "frames", "fetch_frames": "frames",
    "Where": "where", "parse_where": "where",
    "resolve_spec": "spec", "split_spec": "spec", "parse_dataset": "spec", "parse_slices": "spec",
    "default_cache_path": "framecache",
    "ls_inside": "actions", "get_subsets": "actions", "report_text": "actions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return __all__
