"""``doi2data.open`` and ``doi2data.frames``: reading a dataset where it is (byte ranges), no download.

Their own module (they were in :mod:`.api`) because they sit above both the facade they call
(:func:`~doi2data.api.resolve`) and the readers they use (:mod:`.reading`, :mod:`.fs`,
:mod:`.subset.frames`), which call that facade too: imports point one way.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from typing import Any

from .api import resolve
from .http import Credentials
from .identifiers import Identifier
from .model import Manifest


def open(doi: str, path: str, *, tokens: Sequence[str] = ()) -> Any:  # noqa: A001 - doi2data.open, like tarfile.open
    """One file of a dataset as a read-only, seekable binary file object (HTTP byte ranges, no download).

    Reading the whole file in order checks it against the repository's checksums
    (:class:`~doi2data.errors.VerificationError` from the read that completes it); ``.verified`` says
    whether that happened. ``pandas.read_csv(doi2data.open(doi, "t.csv"))``,
    ``h5py.File(doi2data.open(doi, "scan.h5"))``; see :mod:`doi2data.reading`.
    """
    from .reading import open_file

    return open_file(doi, path, tokens=list(tokens))


def frames(identifier: str | Identifier | Manifest, where: str | None = None, *, cache: Any = None,
           tokens: Sequence[str] = (), progress: bool | None = None) -> Any:
    """The frame table of a dataset (``doi2data frames``), narrowed to ``where`` when given.

    Returns a :class:`~doi2data.subset.frames.FrameTable` (``.to_pandas()``, Jupyter display);
    ``cache``: as :func:`~doi2data.subset.frames.frame_table`. Needs the ``subsets`` extra.
    ``progress``: in Jupyter (default) a bar with the requests and bytes of the scan so far
    (a scan of many CBF headers is paced by the repository's rate limits); ``False``: none.
    """
    from .notebook_progress import ActivityBar, in_cell
    from .subset.frames import frame_table
    from .subset.ranges import RangeReader

    manifest = identifier if isinstance(identifier, Manifest) else resolve(identifier, tokens=tokens)
    with RangeReader(credentials=Credentials.parse(tokens)) as reader:
        if progress is False or not in_cell():
            table = frame_table(manifest, reader=reader, cache=cache)
        else:  # scan in a worker, draw from this (the cell's) thread
            bar = ActivityBar(f"frames of {manifest.dataset.doi or 'the dataset'}")
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                future = pool.submit(frame_table, manifest, reader=reader, cache=cache)
                while not future.done():
                    bar.poll(reader.requests, reader.bytes_received)
                    concurrent.futures.wait([future], timeout=0.2)
                table = future.result()
            bar.stop(f"{len(table.frames):,} frames; scanned {table.scanned:,} files, {table.cached:,} from cache; "
                     f"{table.requests:,} requests")
    return table.select(where) if where else table


__all__ = ["frames", "open"]
