"""The tokens file: ``HOST=TOKEN`` lines a user keeps instead of typing ``--token`` each time.

Where: ``$DOI2DATA_TOKENS_FILE``, else ``$XDG_CONFIG_HOME/doi2data/tokens``, else
``~/.config/doi2data/tokens`` (the XDG default; no platform library needed). One spec per line in
the ``--token`` forms (``HOST=TOKEN``, ``HOST=Header-Name:VALUE``, and for hosts with API
accounts such as Dryad ``HOST=CLIENT_ID:SECRET``); blank lines and ``#`` comments are skipped.

Why strict: the file holds secrets, so like ssh it is refused (one-line :class:`UsageError`) when
other users may read it, when it is not a regular file, or when it is larger than
:data:`MAX_BYTES` (a file that big is not a tokens file, and is never read whole).
Precedence, lowest first: this file, ``DOI2DATA_TOKENS``, ``--token`` (the last spec for a host wins).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from .errors import UsageError

MAX_BYTES = 64 * 1024


def token_file(env: Mapping[str, str]) -> Path | None:
    """Where the tokens file is for this environment (it may not exist)."""
    if explicit := env.get("DOI2DATA_TOKENS_FILE", "").strip():
        return Path(explicit).expanduser()
    if config := env.get("XDG_CONFIG_HOME", "").strip():
        return Path(config) / "doi2data" / "tokens"
    if home := env.get("HOME", "").strip():
        return Path(home) / ".config" / "doi2data" / "tokens"
    return None


def read_token_file(env: Mapping[str, str]) -> list[str]:
    """The specs in the tokens file (none when there is no file)."""
    path = token_file(env)
    if path is None:
        return []
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block us
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UsageError(f"cannot read the tokens file {path}: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"the tokens file {path} is not a regular file")
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(f"the tokens file {path} may be read by other users; run: chmod 600 {path}")
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise UsageError(f"the tokens file {path} is larger than {MAX_BYTES} bytes; refused")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"the tokens file {path} is not UTF-8 text") from exc
    return [line for raw in text.splitlines() if (line := raw.strip()) and not line.startswith("#")]


__all__ = ["MAX_BYTES", "read_token_file", "token_file"]
