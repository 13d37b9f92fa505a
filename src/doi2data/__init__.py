"""doi2data: give it a dataset DOI, get the data.

>>> import doi2data
>>> manifest = doi2data.resolve("10.5281/zenodo.1215979")          # doctest: +SKIP
>>> doi2data.download("10.5281/zenodo.1215979", "data/", include="*.json")  # doctest: +SKIP
"""

from __future__ import annotations

from ._version import __version__
from .api import adownload, aresolve, download, resolve  # noqa: E402
from .batch import adownload_many, download_many  # noqa: E402
from .errors import Doi2DataError  # noqa: E402
from .identifiers import Identifier, parse_identifier  # noqa: E402
from .inplace import frames, open  # noqa: E402, A004
from .model import Dataset, FileEntry, Manifest  # noqa: E402
from .transfer.engine import DownloadReport  # noqa: E402

# The presentation modules register the core classes' notebook and table renderings
# (doi2data.display): they depend on the model, never the reverse.
from . import notebook, tabular  # noqa: E402, F401

__all__ = [
    "Dataset",
    "Doi2DataError",
    "DownloadReport",
    "FileEntry",
    "Identifier",
    "Manifest",
    "__version__",
    "adownload",
    "adownload_many",
    "aresolve",
    "download",
    "download_many",
    "frames",
    "open",
    "parse_identifier",
    "resolve",
]
