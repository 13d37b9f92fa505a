"""The pieces both exports share: the payload downloaded or declared, hashed, and the result.

Its own module so that :mod:`.bagit` and :mod:`.rocrate` import it, and the package only re-exports
the entry points: imports point one way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..formats._common import Placed, Skips, place
from ..model import Manifest
from ..paths import inside
from ..transfer.engine import ProgressSink, TransferOptions
from ..transfer.hashing import hash_file, mismatches
from ..transfer.state import STATE_DIR


@dataclass(frozen=True)
class LocalFile:
    """A payload file: its manifest entry, safe relative path, size and digests (hex)."""

    item: Placed
    size: int | None
    digests: dict[str, str]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: where, which files, how many bytes, and notes for the user."""

    path: Path
    files: tuple[LocalFile, ...]
    holey: bool
    algorithms: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def total_size(self) -> int:
        return sum(f.size or 0 for f in self.files)


def download_payload(
    manifest: Manifest, root: Path, *, options: TransferOptions | None = None, tokens: Sequence[str] = (),
    progress: ProgressSink | None = None,
) -> tuple[list[Placed], Skips]:
    """Download every open file under ``root`` (raises ``DownloadIncomplete`` if any failed).

    Returns the placed entries that are now on disk, and what was left out (restricted, no URL,
    refused names) - computed with the same plan the engine used.
    """
    from ..api import download

    placed, skips = place(manifest, need_url=True, include_restricted=False)
    report = download(manifest, root, options=options, tokens=tokens, progress=progress, raise_on_failure=False)
    # Refused names count as failures for the engine; here they are simply left out (and reported).
    failed = {r.path: r.reason or "failed" for r in report.results if r.status == "failed" and r.local is not None}
    if failed:
        from ..errors import DownloadIncomplete

        names = ", ".join(sorted(failed)[:5]) + (", ..." if len(failed) > 5 else "")
        raise DownloadIncomplete(f"{len(failed)} file(s) failed, nothing packaged (re-run to resume): {names}", failed)
    done = {r.local for r in report.results if r.status in ("downloaded", "present")}
    on_disk = [p for p in placed if p.local in done]
    for p in placed:
        if p.local not in done:
            skips.add(p.entry.path, "not downloaded")
    shutil.rmtree(root / STATE_DIR, ignore_errors=True)
    return on_disk, skips


def hash_payload(root: Path, items: Iterable[Placed], extra: Sequence[str] = ("sha256",)) -> list[LocalFile]:
    """Hash each local file once: the repository's algorithms (re-checked) plus ``extra``."""
    files = []
    for item in items:
        path = inside(root, item.local)
        wanted = sorted({*item.entry.checksums, *extra})
        digests = hash_file(path, wanted).digests()
        if problems := mismatches(item.entry.checksums, digests):
            from ..errors import VerificationError

            raise VerificationError(f"{item.local} changed after download: {'; '.join(problems)}")
        files.append(LocalFile(item, path.stat().st_size, digests))
    return files


def declared(items: Iterable[Placed]) -> list[LocalFile]:
    """Holey payload: sizes and digests as the repository declares them (nothing on disk)."""
    return [LocalFile(item, item.entry.size, {k: v.lower() for k, v in item.entry.checksums.items()})
            for item in items]


__all__ = ["ExportResult", "LocalFile", "declared", "download_payload", "hash_payload"]
