"""Hand a dataset to a transfer engine: FTS3, Globus, rclone or gfal2, each with checksums.

Why hand off: for terabytes between sites, a managed service (FTS3, Globus) or a tool the site
already runs (rclone, gfal-copy) is the better mover - scheduling, third-party copy, retries and
monitoring are theirs. doi2data's part is what those tools cannot do: turn a DOI into the exact
file list with sizes and checksums, so every copy is verified at the far end. Each engine module
only *emits* a job or command lines from the :class:`~doi2data.model.Manifest` (``build``) and,
when asked, submits or runs it (``submit``); bytes are only ever moved by the external engine.

Every engine uses the same file selection as the download engine and the exporters
(:func:`doi2data.formats._common.place`: safe local names, open files with a URL), so a
destination path is always the name ``doi2data get`` would write.

    fts3    JSON for ``POST /jobs`` (sources, destinations, checksum, filesize, verify_checksum)
    globus  a ``globus_sdk.TransferData`` (per item ``external_checksum`` + ``checksum_algorithm``)
    rclone  ``rclone copy :doi,doi=...:`` where rclone's doi backend knows the repository,
            else ``rclone copyurl`` per file, then ``rclone checksum`` against our list
    gfal    one ``gfal-copy -K ALG:hex`` per file (HTTP third-party copy where the ends support it)
"""

from __future__ import annotations

import importlib
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import TransferError, UsageError
from ..formats._common import Placed, Skips, digest, place
from ..model import Manifest

ENGINES: tuple[str, ...] = ("fts3", "globus", "rclone", "gfal")


@dataclass(frozen=True)
class Handoff:
    """A built job: what ``--dry-run`` prints (``text``) plus what submission needs.

    ``payload`` is the JSON document for service engines (FTS3, Globus); ``commands`` are argv
    lists for tool engines (rclone, gfal), and ``files`` are helper files they read (name ->
    content, written next to each other before running).
    """

    engine: str
    text: str
    count: int
    total_size: int
    payload: Mapping[str, Any] | None = None
    commands: tuple[tuple[str, ...], ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()


def select(manifest: Manifest) -> tuple[list[Placed], Skips]:
    """The files a hand-off can move: safe names, a URL, open access."""
    placed, skips = place(manifest, need_url=True, include_restricted=False)
    if not placed:
        skips.notes.append("no file can be handed off (none open with a URL)")
    return placed, skips


def best_checksum(item: Placed, preference: Sequence[str]) -> tuple[str, str] | None:
    """The first algorithm of ``preference`` the entry has, as ``(algorithm, hex)``."""
    for algorithm in preference:
        if value := digest(item.entry, algorithm):
            return algorithm, value
    return None


def join_url(base: str, local: str) -> str:
    """``davs://host/dir`` + ``a b/c.txt`` -> ``davs://host/dir/a%20b/c.txt`` (path segments quoted)."""
    if not urlsplit(base).scheme:
        raise UsageError(f"destination must be a URL (davs://, https://, root://, ...), not {base!r}")
    return base.rstrip("/") + "/" + quote(local, safe="/")


def shell_script(commands: Sequence[Sequence[str]], files: Mapping[str, str], header: str) -> str:
    """A POSIX sh rendering of commands and helper files (here-documents), for ``--dry-run``."""
    lines = ["#!/bin/sh", f"# {header}", "set -e"]
    for name, content in files.items():
        lines.append(f"cat > {shlex.quote(name)} <<'DOI2DATA_EOF'")
        lines.append(content.rstrip("\n"))
        lines.append("DOI2DATA_EOF")
    lines.extend(shlex.join(c) for c in commands)
    return "\n".join(lines) + "\n"


def run_commands(job: Handoff, *, workdir: str | Path | None = None, timeout: float | None = None) -> None:
    """Shared by the rclone and gfal engines: helper files in a work dir, commands in order."""
    if not job.commands:
        raise UsageError(f"nothing to run for {job.engine}")
    tool = job.commands[0][0]
    if shutil.which(tool) is None:
        raise UsageError(f"{tool} is not installed (try --dry-run to see the commands)")
    with tempfile.TemporaryDirectory(prefix="doi2data-handoff-") as tmp:
        where = Path(workdir) if workdir is not None else Path(tmp)
        for name, content in job.files.items():
            (where / name).write_text(content, encoding="utf-8")
        for command in job.commands:
            # Helper files live in the work dir; everything else (destinations) is as the user wrote it.
            argv = [str(where / arg) if arg in job.files else arg for arg in command]
            done = subprocess.run(argv, timeout=timeout, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if done.returncode != 0:
                detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise TransferError(f"{shlex.join(command[:2])} ... {command[-1]} failed (exit {done.returncode}): "
                                    f"{' | '.join(detail)}")


def engine_module(name: str) -> Any:
    """Import ``doi2data.handoff.<name>`` (lazily: globus-sdk is optional)."""
    if name not in ENGINES:
        raise UsageError(f"unknown transfer engine {name!r}; choose one of: {', '.join(ENGINES)}")
    return importlib.import_module(f"{__name__}.{name}")


__all__ = ["ENGINES", "Handoff", "best_checksum", "engine_module", "join_url", "run_commands", "select", "shell_script"]
