"""Download state kept next to the data, in ``<dest>/.doi2data/``.

Why here and not in a global cache: the state describes *these* bytes on *this* disk, so it must
move, be backed up and be deleted together with them. SQLite (stdlib) because it survives
``kill -9`` mid-write (journaled), stays fast with 20,000 files, and needs no server.

* ``verified``: files already checked (size, mtime, digests) so a re-run moves and re-hashes
  nothing;
* ``partial``: validators (ETag / Last-Modified) of in-progress ``parts/*.part`` files, so a
  resume can send ``If-Range`` and never splice two versions of a file together;
* ``segments``: for files fetched in byte-range segments, how much of each segment is on disk
  (updated after the bytes are written, so after ``kill -9`` nothing recorded is missing).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".doi2data"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verified (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, checksums TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS partial (
    path TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT, size INTEGER
);
CREATE TABLE IF NOT EXISTS segments (
    path TEXT NOT NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    done INTEGER NOT NULL, PRIMARY KEY (path, idx)
);
"""


class _LockedConnection:
    """A sqlite3 connection whose every call holds one lock (worker threads share it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = threading.RLock()

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def one(self, sql: str, params: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        with self._lock:
            row: tuple[object, ...] | None = self._db.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    def executemany(self, sql: str, rows: list[tuple[object, ...]]) -> sqlite3.Cursor:
        with self._lock:
            return self._db.executemany(sql, rows)

    def executescript(self, sql: str) -> sqlite3.Cursor:
        with self._lock:
            return self._db.executescript(sql)

    def transaction(self) -> threading.RLock:
        return self._lock

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass(frozen=True)
class Segment:
    """Bytes ``start..end`` (inclusive) of a file; ``done`` of them are on disk."""

    idx: int
    start: int
    end: int
    done: int = 0

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class PartialInfo:
    url: str
    etag: str | None
    last_modified: str | None
    size: int | None


class StateStore:
    """Small SQLite-backed record of verified files and partial downloads."""

    def __init__(self, dest: Path) -> None:
        self.root = dest / STATE_DIR
        self.parts = self.root / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        # Worker threads record segment progress too: one connection, serialised by a lock.
        self._db = _LockedConnection(
            sqlite3.connect(self.root / "state.sqlite", isolation_level=None, timeout=30, check_same_thread=False)
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def part_path(self, local: str) -> Path:
        """Temporary name for ``local``: hashed, so odd names never reach the file system here."""
        return self.parts / (hashlib.sha1(local.encode()).hexdigest() + ".part")

    # verified files ---------------------------------------------------------------------
    def is_verified(self, local: str, final: Path, checksums: dict[str, str], size: int | None) -> bool:
        row = self._db.one("SELECT size, mtime_ns, checksums FROM verified WHERE path=?", (local,))
        if row is None or not final.is_file():
            return False
        st = final.stat()
        if st.st_size != row[0] or st.st_mtime_ns != row[1] or (size is not None and size != row[0]):
            return False
        recorded: dict[str, str] = json.loads(str(row[2]))
        return all(recorded.get(k) == v for k, v in checksums.items() if k in recorded)

    def mark_verified(self, local: str, final: Path, digests: dict[str, str]) -> None:
        st = final.stat()
        with self._db.transaction():  # one commit, not three
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?)",
                (local, st.st_size, st.st_mtime_ns, json.dumps(digests, sort_keys=True)),
            )
            self._db.execute("DELETE FROM partial WHERE path=?", (local,))
            self._db.execute("DELETE FROM segments WHERE path=?", (local,))
            self._db.execute("COMMIT")

    # partial files ----------------------------------------------------------------------
    def partial(self, local: str) -> PartialInfo | None:
        row = self._db.one("SELECT url, etag, last_modified, size FROM partial WHERE path=?", (local,))
        return PartialInfo(*row) if row else None  # type: ignore[arg-type]  # columns as declared

    def partial_paths(self) -> set[str]:
        """Every file with a partial download on record (one query for a whole run)."""
        return {str(row[0]) for row in self._db.all("SELECT path FROM partial UNION SELECT path FROM segments")}

    def set_partial(self, local: str, info: PartialInfo) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO partial VALUES (?, ?, ?, ?, ?)",
            (local, info.url, info.etag, info.last_modified, info.size),
        )

    def drop_partial(self, local: str) -> None:
        self._db.execute("DELETE FROM partial WHERE path=?", (local,))
        self._db.execute("DELETE FROM segments WHERE path=?", (local,))
        self.part_path(local).unlink(missing_ok=True)

    # segments -------------------------------------------------------------------------------
    def segments(self, local: str) -> list[Segment]:
        rows = self._db.all("SELECT idx, start, end, done FROM segments WHERE path=? ORDER BY idx", (local,))
        return [Segment(*row) for row in rows]  # type: ignore[arg-type]  # columns as declared

    def set_segments(self, local: str, segments: list[Segment]) -> None:
        with self._db.transaction():
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM segments WHERE path=?", (local,))
            self._db.executemany(
                "INSERT INTO segments VALUES (?, ?, ?, ?, ?)",
                [(local, s.idx, s.start, s.end, s.done) for s in segments],
            )
            self._db.execute("COMMIT")

    def segment_done(self, local: str, idx: int, done: int) -> None:
        self._db.execute("UPDATE segments SET done=? WHERE path=? AND idx=?", (done, local, idx))


__all__ = ["STATE_DIR", "PartialInfo", "Segment", "StateStore"]
