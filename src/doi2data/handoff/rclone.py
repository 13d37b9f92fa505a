"""rclone command lines: its ``doi`` backend where it knows the repository, else URL copies.

Two routes, both ending in a checksum check against the repository's values:

* **doi backend** (rclone >= 1.70; Zenodo, other InvenioRDM, Dataverse): one
  ``rclone copy ":doi,doi=10.5281/zenodo.1:" DEST`` (config-free connection string). rclone lists
  the record itself and verifies MD5 on every copy; a selection becomes ``--files-from-raw``.
* **URL route** (any repository, any rclone): ``rclone copyurl URL DEST/<safe path>`` per file,
  then ``rclone checksum md5 doi2data.md5 DEST --one-way`` against the list doi2data writes
  (``md5sum`` format, our safe paths) - rclone's HTTP backend has no hashes of its own, so the
  check must come from the manifest.

``DEST`` is any rclone destination (``/local/dir``, ``remote:bucket/dir``). rclone reads
``HTTPS_PROXY`` and ``SSL_CERT_FILE`` like curl. :func:`run` executes the commands
(``--dry-run`` prints them as an ``sh`` script with the helper files as here-documents).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from ..formats.checksums import checksum_line
from ..model import Manifest
from . import Handoff, best_checksum, run_commands, select, shell_script

DOI_BACKEND_VERSION = (1, 70)
_REPOSITORY_URLS = re.compile(r"/api/records/[^/]+/files/|/api/access/datafile/")
SUMS = "doi2data.{algorithm}"
FILES_FROM = "doi2data-files.txt"


def doi_backend_supports(manifest: Manifest) -> bool:
    """rclone's doi backend handles Zenodo/InvenioRDM (``/api/records/<id>/files/``) and Dataverse."""
    urls = [f.url or "" for f in manifest.files]
    return bool(urls) and bool(manifest.dataset.doi) and all(_REPOSITORY_URLS.search(u) for u in urls)


def rclone_version(binary: str = "rclone") -> tuple[int, int] | None:
    """``(major, minor)`` of the installed rclone, or None when it is missing."""
    if shutil.which(binary) is None:
        return None
    out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"rclone v(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _connection_value(value: str) -> str:
    """Quote a connection-string value containing ``:`` or ``,`` (rclone's rule)."""
    return f'"{value}"' if any(c in value for c in ':,"') else value


def build(manifest: Manifest, destination: str, *, route: str = "auto", full: bool = True,
          binary: str = "rclone") -> Handoff:
    """rclone commands copying every open file of ``manifest`` to ``destination``.

    ``route`` is ``doi``, ``url`` or ``auto`` (the doi backend when the repository supports it).
    ``full=False`` says the manifest is a selection: the doi route then lists the files to copy.
    """
    if route not in ("auto", "doi", "url"):
        raise UsageError("rclone route must be auto, doi or url")
    if not destination:
        raise UsageError("rclone needs a destination (a local path or remote:path)")
    placed, skips = select(manifest)
    dest = destination.rstrip("/") or "/"
    use_doi = route == "doi" or (route == "auto" and doi_backend_supports(manifest))
    installed = rclone_version(binary) if route == "auto" and use_doi else None
    if installed is not None and installed < DOI_BACKEND_VERSION:
        use_doi = False
        skips.notes.append(f"rclone {installed[0]}.{installed[1]} has no doi backend (>= 1.70): using URL copies")
    files: dict[str, str] = {}
    commands: list[tuple[str, ...]] = []
    if use_doi:
        if not manifest.dataset.doi:
            raise UsageError("the doi route needs a DOI")
        remote = f":doi,doi={_connection_value(manifest.dataset.doi)}:"
        command = [binary, "copy", remote, dest]
        if not full:
            files[FILES_FROM] = "".join(f"{p.entry.path}\n" for p in placed)
            command += ["--files-from-raw", FILES_FROM]
        commands.append(tuple(command))
        note = "rclone's doi backend (rclone >= 1.70) lists the record and checks MD5 itself"
    else:
        sums: dict[str, list[str]] = {}
        for item in placed:
            commands.append((binary, "copyurl", item.entry.urls[0], f"{dest}/{item.local}"))
            if checksum := best_checksum(item, ("md5", "sha1")):
                sums.setdefault(checksum[0], []).append(checksum_line(checksum[1], item.local))
            else:
                skips.notes.append(f"{item.local}: no md5/sha1, rclone cannot verify it")
        for algorithm, lines in sums.items():
            name = SUMS.format(algorithm=algorithm)
            files[name] = "".join(lines)
            commands.append((binary, "checksum", algorithm, name, dest, "--one-way"))
        note = "rclone copyurl per file, then rclone checksum against the repository's digests"
    header = f"doi2data hand-off to rclone for doi:{manifest.dataset.doi} ({len(placed)} files): {note}"
    exported = skips.export("")
    return Handoff("rclone", shell_script(commands, files, header), len(placed),
                   sum(p.entry.size or 0 for p in placed), commands=tuple(commands), files=files,
                   skipped=exported.skipped, messages=exported.messages)


def run(job: Handoff, *, workdir: str | Path | None = None, timeout: float | None = None) -> None:
    """Write the helper files (in a temporary directory unless ``workdir``), then run each command in
    order from the current directory; raise :class:`~doi2data.errors.TransferError` on the first failure."""
    run_commands(job, workdir=workdir, timeout=timeout)


__all__ = ["DOI_BACKEND_VERSION", "build", "doi_backend_supports", "rclone_version", "run"]
