"""``doi2data.open(doi, path)``: one file of a dataset as a seekable file object, verified on a full read.

The ``doi://`` filesystem (:mod:`doi2data.fs`) reads by HTTP byte ranges; :class:`VerifiedFile`
adds the repository's checksums. Bytes are hashed as long as reads continue where the hashed
prefix ends (any read pattern that eventually covers the file from 0 in order: ``read()``,
``pandas.read_csv``, line iteration); when the prefix reaches the end of the file the digests are
compared and a mismatch raises :class:`~doi2data.errors.VerificationError` from that ``read``,
before the last bytes are handed out. Random access (h5py, xarray on HDF5) cannot be verified
without reading everything, so it is not: :attr:`VerifiedFile.verified` says which case happened
(``True`` checked, ``False`` not, or not yet, checked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import VerificationError
from .fs import BlockCache, DoiFile, DoiFileSystem
from .identifiers import parse_identifier
from .transfer.hashing import MultiHasher, mismatches


class VerifiedFile(DoiFile):
    """A :class:`~doi2data.fs.DoiFile` that checks the repository checksums once it has read every byte in order."""

    def __init__(self, fs: DoiFileSystem, path: str, **kwargs: Any) -> None:
        placed = fs._readable(path)
        super().__init__(fs, path, placed, block_size=fs.block_size, cache_type=BlockCache.name,
                         cache_options={"maxblocks": fs.max_blocks}, **kwargs)
        self.checksums = dict(placed.entry.checksums)
        hasher = MultiHasher(self.checksums)
        # only algorithms hashlib can compute count: a file with just a blake3 digest is never "verified"
        self._hasher = hasher if set(self.checksums) - set(hasher.unsupported) else None
        self._hashed = 0
        self._failure: str | None = None
        self.verified = False
        self.checked: tuple[str, ...] = ()

    def read(self, length: int = -1) -> bytes:
        if self._failure is not None:  # once a file is known wrong, no more of its bytes
            raise VerificationError(self._failure)
        start = self.loc
        data: bytes = super().read(length)
        end = start + len(data)
        if self._hasher is not None and not self.verified and start <= self._hashed <= end:
            if self._hashed < end:
                self._hasher.update(data[self._hashed - start:])
                self._hashed = end
            if self._hashed >= self.size:  # every byte hashed (an empty file: at its first read)
                if problems := mismatches(self.checksums, self._hasher.digests()):
                    self._failure = f"{self.path}: {'; '.join(problems)}"
                    raise VerificationError(self._failure)
                self.verified, self.checked = True, tuple(sorted(self._hasher.digests()))
        return data


def open_file(doi: str, path: str, *, tokens: Sequence[str] = ()) -> VerifiedFile:
    """Open ``path`` of the dataset ``doi`` for reading (``rb``); see :class:`VerifiedFile`."""
    ident = parse_identifier(doi)
    if not ident.is_doi:
        from .errors import UsageError

        raise UsageError(f"doi2data.open takes a DOI, not {ident}")
    fs = DoiFileSystem(tokens=tuple(tokens))
    fs.manifest(ident.value)  # load it under this exact DOI, so a suffix holding '/' splits right
    return VerifiedFile(fs, f"{ident.value}/{path.lstrip('/')}")


__all__ = ["VerifiedFile", "open_file"]
