"""gfal-copy command lines (gfal2): one checksummed copy per file, HTTP third-party copy first.

Each file becomes::

    gfal-copy -p -K MD5:<hex> --checksum-mode target [--copy-mode pull|push|streamed] SRC DST

``-K ALG:value`` passes the repository's checksum; ``--checksum-mode target`` makes gfal2 compare
the *destination's* checksum (RFC 3230 ``Want-Digest`` on WebDAV/HTTP storage, local hashing for
``file://``) with it - the source side is a plain repository HTTPS server that cannot compute
checksums on request. Without ``--copy-mode`` gfal2 tries an HTTP third-party copy (the
destination pulls: ``COPY`` with ``Source:``), then push, then streams through the client; name a
mode to skip the attempts. Algorithm preference: adler32, md5, sha1 (what gfal2 and grid
storage compute); ``-p`` creates parent directories.

Known limits (tested with Debian's gfal2 2.21 / davix 0.8): gfal2's HTTP plugin never calls
davix's ``setProxyServer`` and davix reads no proxy variable, so ``HTTPS_PROXY``/``HTTP_PROXY``
are ignored - behind a proxy the copy must run where the source is directly reachable. CAs come
from ``X509_CERT_DIR`` (hashed names; default ``/etc/grid-security/certificates``), not
``SSL_CERT_FILE``. A WebDAV server without HTTP-TPC that answers the pull ``COPY`` with 404
(wsgidav does) makes gfal2 stop instead of falling back: use ``--copy-mode streamed`` there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from ..model import Manifest
from . import Handoff, best_checksum, join_url, run_commands, select, shell_script

PREFERENCE: tuple[str, ...] = ("adler32", "md5", "sha1")
COPY_MODES = ("pull", "push", "streamed")
CHECKSUM_MODES = ("target", "source", "both")


def build(manifest: Manifest, destination: str, *, copy_mode: str | None = None, checksum_mode: str = "target",
          overwrite: bool = False, binary: str = "gfal-copy", preference: Sequence[str] = PREFERENCE) -> Handoff:
    """One ``gfal-copy`` per open file of ``manifest`` into ``destination`` (a gfal2 URL)."""
    if copy_mode is not None and copy_mode not in COPY_MODES:
        raise UsageError(f"copy mode must be one of {', '.join(COPY_MODES)}")
    if checksum_mode not in CHECKSUM_MODES:
        raise UsageError(f"checksum mode must be one of {', '.join(CHECKSUM_MODES)}")
    if "://" not in destination:  # a plain directory: gfal2 wants file:// URLs
        destination = Path(destination).resolve().as_uri()
    placed, skips = select(manifest)
    commands: list[tuple[str, ...]] = []
    for item in placed:
        command = [binary, "-p"]
        if overwrite:
            command.append("-f")
        if checksum := best_checksum(item, preference):
            command += ["-K", f"{checksum[0].upper()}:{checksum[1]}", "--checksum-mode", checksum_mode]
        else:
            skips.notes.append(f"{item.local}: no adler32/md5/sha1, gfal-copy cannot verify it")
        if copy_mode:
            command += ["--copy-mode", copy_mode]
        command += [item.entry.urls[0], join_url(destination, item.local)]
        commands.append(tuple(command))
    header = f"doi2data hand-off to gfal2 for doi:{manifest.dataset.doi} ({len(placed)} files)"
    exported = skips.export("")
    return Handoff("gfal", shell_script(commands, {}, header), len(placed), sum(p.entry.size or 0 for p in placed),
                   commands=tuple(commands), skipped=exported.skipped, messages=exported.messages)


def run(job: Handoff, *, timeout: float | None = None) -> None:
    """Run the copies in order (gfal2 needs no helper files); raise on the first failure."""
    run_commands(job, timeout=timeout)


__all__ = ["CHECKSUM_MODES", "COPY_MODES", "PREFERENCE", "build", "run"]
