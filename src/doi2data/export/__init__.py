"""Packaged exports of a dataset: a BagIt bag (RFC 8493) or an RO-Crate, complete or "holey".

Why both: BagIt is what archives and transfer tools check fixity with (``bagit.py --validate``);
RO-Crate is what research tooling reads for description (JSON-LD, schema.org). Both are
written from the same :class:`~doi2data.model.Manifest`:

* **complete** (default): the files are downloaded by the normal engine (verified, resumable:
  re-running the same export resumes and moves no verified byte again), then described with the
  repository checksums *and* a SHA-256 computed from the local bytes in one pass;
* **holey** (``holey=True``): nothing is downloaded; the bag gets a ``fetch.txt`` with every URL
  and size, the crate names each file by its URL (web-based data entities).

Local names come from :func:`doi2data.formats._common.place` (that is :func:`doi2data.paths.plan_paths`
over the whole manifest - the names the engine writes). The download's own state directory
(``.doi2data``) is removed once everything verified, so it never becomes part of a payload.

Heavy libraries are not needed to *write*; ``bagit`` and ``rocrate`` are only used by the tests to
validate what was written.
"""

from __future__ import annotations

from .bagit import write_bag
from .payload import ExportResult, LocalFile, declared, download_payload, hash_payload
from .rocrate import write_ro_crate

__all__ = ["ExportResult", "LocalFile", "declared", "download_payload", "hash_payload", "write_bag",
           "write_ro_crate"]
