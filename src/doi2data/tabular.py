"""DataFrames of a manifest and of a frame table (``to_pandas()``; the ``pandas`` extra).

Columns are typed, not ``object``: text is pandas' ``string`` dtype (missing = ``<NA>``), sizes and
frame numbers ``Int64`` (a size the repository did not give stays missing, not ``NaN`` in a float
column), ``access`` a ``category`` over every access value, numeric datanames ``Float64``. pandas is
imported only here, when asked for, with a one-line error naming the extra when it is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .display import register
from .entry import ACCESS_VALUES, HASH_ALGORITHMS
from .errors import UsageError

if TYPE_CHECKING:
    from .model import Manifest
    from .subset.frames import FrameTable


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError("to_pandas() needs pandas: pip install 'doi2data[pandas]'") from None
    return pandas


def _has_datasets() -> bool:
    """Whether the model names each file's dataset inside the DOI (``FileEntry.dataset``)."""
    from .entry import FileEntry

    return "dataset" in FileEntry.__dataclass_fields__


@register("manifest_frame")
def manifest_frame(manifest: Manifest) -> Any:
    """``path size access [dataset] url media_type <one column per checksum algorithm> note``, one row per file."""
    pd = _pandas()
    files = manifest.files if isinstance(manifest.files, tuple | list) else list(manifest.files)  # built once
    seen = {a for f in files for a in f.checksums}
    algos = [a for a in HASH_ALGORITHMS if a in seen] + sorted(seen - set(HASH_ALGORITHMS))
    text = pd.StringDtype()
    data: dict[str, Any] = {
        "path": pd.array([f.path for f in files], dtype=text),
        "size": pd.array([f.size for f in files], dtype="Int64"),
        "access": pd.Categorical([f.access for f in files], categories=list(ACCESS_VALUES)),
        **({"dataset": pd.array([getattr(f, "dataset", None) for f in files], dtype=text)} if _has_datasets() else {}),
        "url": pd.array([f.url for f in files], dtype=text),
        "media_type": pd.array([f.media_type for f in files], dtype=text),
    }
    for algo in algos:
        data[algo] = pd.array([f.checksums.get(algo) for f in files], dtype=text)
    data["note"] = pd.array([f.note for f in files], dtype=text)
    return pd.DataFrame(data)


@register("frames_frame")
def frames_frame(table: FrameTable) -> Any:
    """``file frame dataset <datanames>``: numeric datanames ``Float64``, text ones ``string``."""
    pd = _pandas()
    frames = table.frames
    text = pd.StringDtype()
    data: dict[str, Any] = {
        "file": pd.array([f.file for f in frames], dtype=text),
        "frame": pd.array([f.frame for f in frames], dtype="Int64"),
        "dataset": pd.array([f.dataset for f in frames], dtype=text),
    }
    for name in table.names[3:]:
        values = [f.values.get(name) for f in frames]
        if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
            data[name] = pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        else:
            data[name] = pd.array([None if v is None else str(v) for v in values], dtype=text)
    return pd.DataFrame(data)


__all__ = ["frames_frame", "manifest_frame"]
