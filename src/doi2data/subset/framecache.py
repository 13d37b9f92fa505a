"""The frame table's SQLite cache: scanned once per file version, queryable by anyone.

Why SQLite: headers cost one request each, so a series is scanned once and kept, keyed by the
file's URL, size and checksum (a new version of a file is a new key). The ``frames`` table has one
typed column per generic dataname, so it doubles as seed 001's "manifest as an sqlite database
file" (``SELECT file, frame, omega FROM frames WHERE chi = 0``). Default location:
``$DOI2DATA_CACHE_DIR`` or ``$XDG_CACHE_HOME/doi2data`` or ``~/.cache/doi2data``, file
``frames.sqlite``; callers may put it next to the data instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ..entry import FileEntry
from .framescan import DATANAMES, NUMERIC, Scanned

_COLUMNS = ", ".join(f"{n} {'REAL' if n in NUMERIC else 'TEXT'}" for n in DATANAMES)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS files (key TEXT PRIMARY KEY, doi TEXT, path TEXT, kind TEXT, targets TEXT,
                                  messages TEXT, scanned_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS frames (key TEXT, doi TEXT, file TEXT, frame INTEGER, dataset TEXT, {_COLUMNS},
                                   extra TEXT, PRIMARY KEY (key, dataset, frame));
CREATE INDEX IF NOT EXISTS frames_by_doi ON frames (doi, file);
"""


def default_cache_path() -> Path:
    base = os.environ.get("DOI2DATA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "doi2data")
    return Path(base) / "frames.sqlite"


def file_key(entry: FileEntry) -> str:
    """URL, size and the strongest checksum: a changed file is scanned again."""
    digest = next((f"{a}:{entry.checksums[a]}" for a in ("sha256", "md5", "sha1", "sha512", "crc32c", "adler32")
                   if a in entry.checksums), "")
    return f"{entry.url}|{entry.size}|{digest}"


class FrameCache:
    """Per-file scan results in SQLite (``path=None``: in memory only, nothing persists)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FrameCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, key: str) -> Scanned | None:
        with self._lock:
            head = self._db.execute("SELECT targets, messages FROM files WHERE key = ?", (key,)).fetchone()
            if head is None:
                return None
            rows = self._db.execute(f"SELECT frame, dataset, {', '.join(DATANAMES)}, extra FROM frames "
                                    "WHERE key = ? ORDER BY dataset, frame", (key,)).fetchall()
        out = Scanned(targets=json.loads(head[0]), messages=json.loads(head[1]))
        for frame, dataset, *vals, extra in rows:
            values: dict[str, Any] = {n: v for n, v in zip(DATANAMES, vals) if v is not None}
            values.update(json.loads(extra or "{}"))
            out.rows.append((frame, dataset or None, values))
        return out

    def put(self, key: str, doi: str | None, entry: FileEntry, kind: str, scanned: Scanned) -> None:
        records = []
        for frame, dataset, values in scanned.rows:
            extra = {k: v for k, v in values.items() if k not in DATANAMES}
            records.append((key, doi, entry.path, frame, dataset or "", *(values.get(n) for n in DATANAMES),
                            json.dumps(extra) if extra else None))
        marks = ", ".join("?" * (6 + len(DATANAMES)))
        with self._lock, self._db:
            self._db.execute("DELETE FROM frames WHERE key = ?", (key,))
            self._db.executemany(f"INSERT INTO frames (key, doi, file, frame, dataset, {', '.join(DATANAMES)}, extra) "
                                 f"VALUES ({marks})", records)
            self._db.execute("INSERT OR REPLACE INTO files (key, doi, path, kind, targets, messages) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (key, doi, entry.path, kind, json.dumps(scanned.targets),
                                                           json.dumps(scanned.messages)))


__all__ = ["FrameCache", "SCHEMA", "default_cache_path", "file_key"]
