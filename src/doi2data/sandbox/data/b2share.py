"""B2SHARE records: inline files, files only in the bucket, and a closed record. Rendered by
:mod:`doi2data.sandbox.sites.b2share`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..world import Creator, FileSpec
from .common import _bin, _text, uid


# -- B2SHARE ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class B2Record:
    id: str                     # 32 hex
    title: str
    creators: tuple[Creator, ...]
    files: tuple[FileSpec, ...]
    open_access: bool = True
    inline_files: bool = True   # False: the record has only links.files (the bucket)
    publication_date: str = "2017-03-02"
    version: str = "1"

    @property
    def bucket(self) -> str:
        return uid("b2share-bucket", self.id)

    @property
    def doi(self) -> str:
        return f"10.23728/b2share.{self.id}"

    @staticmethod
    def epic(spec: FileSpec) -> str:
        return f"11304/{uid('epic', spec.seed)}"


_B2_PEOPLE = (Creator("Nieminen", "Aino", "CSC"), Creator("Rossi", "Marco", "CINECA"))
B2_OPEN = B2Record("0a1b2c3d4e5f40718293a4b5c6d7e8f9", "Sandbox number sequences (B2SHARE)", _B2_PEOPLE, (
    _text("sequence.txt", "b2:open:seq", " ".join(str(n * n) for n in range(200))),
    _bin("spectra_01.dat", 500_003, "b2:open:spectra"),
))
B2_BUCKET_ONLY = B2Record("1b2c3d4e5f6a40718293a4b5c6d7e8f0", "Sandbox record listing files only in its bucket",
                          _B2_PEOPLE[1:], (_text("sequence2.txt", "b2:bucket:seq2", "1 1 2 3 5 8 13 21"),
                                           _bin("matrix.bin", 64_007, "b2:bucket:matrix")),
                          inline_files=False, publication_date="2018-01-15")
B2_CLOSED = B2Record("2c3d4e5f6a7b40718293a4b5c6d7e8f1", "Sandbox closed-access record (B2SHARE)", _B2_PEOPLE[:1],
                     (_bin("patients.csv", 12_001, "b2:closed:patients", "text/csv"),), open_access=False,
                     publication_date="2018-06-01")
B2SHARE_RECORDS = (B2_OPEN, B2_BUCKET_ONLY, B2_CLOSED)


__all__ = ["B2SHARE_RECORDS", "B2_BUCKET_ONLY", "B2_CLOSED", "B2_OPEN", "B2Record"]
