"""gfal-copy command lines (gfal2): one checksummed copy per file, HTTP third-party copy first.

Each file becomes::

    gfal-copy -p -K MD5:<hex> --checksum-mode target [--copy-mode pull|push|streamed] SRC DST

``-K ALG:value`` passes the repository's checksum; ``--checksum-mode target`` makes gfal2 compare
the *destination's* checksum (RFC 3230 ``Want-Digest`` on WebDAV/HTTP storage, local hashing for
``file://``) with it - the source side is a plain repository HTTPS server that cannot compute
checksums on request. Without ``--copy-mode`` gfal2 tries an HTTP third-party copy (the
destination pulls: ``COPY`` with ``Source:``), then push (``COPY`` to the source with
``Destination:``), then streams through the client; name a mode to skip the attempts
(``doi2data transfer --tpc pull|push|never``). Algorithm preference: adler32, md5, sha1 (what
gfal2 and grid storage compute); ``-p`` creates parent directories.

Credentials in a third-party copy (gfal2 2.21.3, read from its source and binary): the *passive*
end (the source in a pull, the destination in a push) decides - ``Credential: none`` when gfal2
holds a bearer token for it (sent on as ``TransferHeaderAuthorization``) or its scheme is plain
``http``/``dav``; otherwise ``Credential: gridsite`` (delegate an X.509 proxy), whatever
``--no-delegation`` says. XRootD 5.5 refuses gridsite (HTTP 400, ``COPY requested an unsupported
credential type: gridsite``), so pulling an *https* repository file into XRootD with gfal2 2.21
needs a token for the source; dCache and StoRM accept delegation with an X.509 proxy. Sources:
github.com/cern-fts/gfal2 ``src/plugins/http/gfal_http_plugin.cpp`` (``delegation_required``,
``get_token``; ``--no-delegation`` only reaches the xrootd plugin), github.com/xrootd/xrootd
``src/XrdTpc/XrdTpcTPC.cc`` (``ProcessReq``), checked 2026-12-06 against Debian's binaries.

Tested for real (tests/test_tpc_xrootd.py, checked 2026-12-06) with Debian's gfal2 2.21.3 /
davix 0.8.4 against XRootD 5.5.3 (``libXrdHttp`` + ``libXrdHttpTPC``, TLS, ``xrootd.chksum
md5 adler32``): pull (from a plain-http origin, see above), push (to a ``dav://`` door) and
streamed copies, each verified by XRootD's md5 over ``Want-Digest``. Known limits: gfal2's HTTP
plugin never calls davix's ``setProxyServer`` and davix reads no proxy variable, so ``HTTPS_PROXY``/``HTTP_PROXY`` are ignored - and gfal-copy
stats the source before every copy, third-party or not, so the client must reach the repository
directly. CAs come from ``X509_CERT_DIR`` (hashed names; default
``/etc/grid-security/certificates``), not ``SSL_CERT_FILE``. A WebDAV server without HTTP-TPC
that answers the pull ``COPY`` with 404 (wsgidav does) makes gfal2 stop instead of falling back:
use ``--tpc never`` (``--copy-mode streamed``) there.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..errors import TransferError, UsageError
from ..model import Manifest
from . import Handoff, best_checksum, join_url, run_commands, select, shell_script

PREFERENCE: tuple[str, ...] = ("adler32", "md5", "sha1")
COPY_MODES = ("pull", "push", "streamed")
CHECKSUM_MODES = ("target", "source", "both")
TPC = {"auto": None, "pull": "pull", "push": "push", "never": "streamed"}  # --tpc -> gfal-copy --copy-mode


def copy_command(source: str, destination: str, checksum: str | None, *, copy_mode: str | None = None,
                 checksum_mode: str = "target", overwrite: bool = False, binary: str = "gfal-copy") -> tuple[str, ...]:
    """One ``gfal-copy`` argv; ``checksum`` is ``"ALG:hex"`` as gfal2 and FTS3 write it."""
    if copy_mode is not None and copy_mode not in COPY_MODES:
        raise UsageError(f"copy mode must be one of {', '.join(COPY_MODES)}")
    if checksum_mode not in CHECKSUM_MODES:
        raise UsageError(f"checksum mode must be one of {', '.join(CHECKSUM_MODES)}")
    command = [binary, "-p"]
    if overwrite:
        command.append("-f")
    if checksum:
        command += ["-K", checksum, "--checksum-mode", checksum_mode]
    if copy_mode:
        command += ["--copy-mode", copy_mode]
    return (*command, source, destination)


def build(manifest: Manifest, destination: str, *, copy_mode: str | None = None, checksum_mode: str = "target",
          overwrite: bool = False, binary: str = "gfal-copy", preference: Sequence[str] = PREFERENCE) -> Handoff:
    """One ``gfal-copy`` per open file of ``manifest`` into ``destination`` (a gfal2 URL)."""
    if copy_mode is not None and copy_mode not in COPY_MODES:
        raise UsageError(f"copy mode must be one of {', '.join(COPY_MODES)}")
    if "://" not in destination:  # a plain directory: gfal2 wants file:// URLs
        destination = Path(destination).resolve().as_uri()
    placed, skips = select(manifest)
    commands: list[tuple[str, ...]] = []
    for item in placed:
        checksum = best_checksum(item, preference)
        if checksum is None:
            skips.notes.append(f"{item.local}: no adler32/md5/sha1, gfal-copy cannot verify it")
        commands.append(copy_command(item.entry.urls[0], join_url(destination, item.local),
                                     f"{checksum[0].upper()}:{checksum[1]}" if checksum else None,
                                     copy_mode=copy_mode, checksum_mode=checksum_mode, overwrite=overwrite,
                                     binary=binary))
    header = f"doi2data hand-off to gfal2 for doi:{manifest.dataset.doi} ({len(placed)} files)"
    exported = skips.export("")
    return Handoff("gfal", shell_script(commands, {}, header), len(placed), sum(p.entry.size or 0 for p in placed),
                   commands=tuple(commands), skipped=exported.skipped, messages=exported.messages)


MISMATCH = "do not match"  # gfal2: "User-defined and destination MD5 do not match (… != …)"


def run(job: Handoff, *, timeout: float | None = None) -> None:
    """Run the copies in order (gfal2 needs no helper files); raise on the first failure.

    A copy that fails verification is removed: gfal2 2.21 returns the mismatch without deleting the
    destination (found with XRootD here), which would leave wrong bytes under the final name. A
    refused push gets its reason: repository web servers do not answer ``COPY``; only storage with
    HTTP-TPC (dCache, EOS, XRootD, StoRM) can push.
    """
    for command in job.commands:
        try:
            run_commands(replace(job, commands=(command,)), timeout=timeout)
        except TransferError as exc:
            if MISMATCH in str(exc):
                removed = _remove(command, timeout)
                raise TransferError(f"{exc} ({'the wrong copy was removed' if removed else 'REMOVE the wrong copy'})",
                                    url=command[-1]) from exc
            if "copy HTTP 400" in str(exc) and "push" not in command and command[-2].startswith(("https:", "davs:")):
                raise TransferError(f"{exc} - the storage refused the third-party COPY: gfal2 2.21 asks it to "
                                    "delegate an X.509 proxy (Credential: gridsite) for an https source it holds no "
                                    "token for, which XRootD refuses; use --tpc never, or give gfal2 a token for "
                                    "the source", url=command[-1]) from exc
            if "push" in command:
                raise TransferError(f"{exc} - the source cannot push (a third-party push needs a WebDAV source "
                                    "with HTTP-TPC; repository web servers are not): use --tpc pull or --tpc never",
                                    url=exc.url) from exc
            raise


def _remove(command: Sequence[str], timeout: float | None) -> bool:
    """``gfal-rm`` the destination of a copy that failed verification (next to the gfal-copy used)."""
    binary = command[0][: -len("copy")] + "rm" if command[0].endswith("copy") else "gfal-rm"
    try:
        done = subprocess.run([binary, command[-1]], timeout=timeout, stdin=subprocess.DEVNULL, capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


__all__ = ["CHECKSUM_MODES", "COPY_MODES", "PREFERENCE", "TPC", "build", "copy_command", "run"]
