"""Helpers the dataset declarations share: stable ids, small files from seeds, HTTP dates."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

from ..world import FileSpec

_NS = uuid.UUID("0c3f7d52-8b1e-4f7a-9d0e-5a6b7c8d9e10")


def uid(*parts: object) -> str:
    """A stable uuid from ``parts`` (buckets, 4TU file uuids, version ids)."""
    return str(uuid.uuid5(_NS, ":".join(map(str, parts))))


def hexid(*parts: object, length: int = 24) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:length]


def _text(key: str, seed: str, words: str, mimetype: str = "text/plain") -> FileSpec:
    return FileSpec(key, mimetype=mimetype, data=f"{words}\n".encode(), seed=seed)


def _bin(key: str, size: int, seed: str, mimetype: str = "application/octet-stream") -> FileSpec:
    return FileSpec(key, size, mimetype, seed=seed)


def _rows(seed: str, count: int, sep: str) -> list[str]:
    raw = hashlib.shake_256(seed.encode()).digest(count * 4)
    return [sep.join((f"st{raw[i] % 40:02d}", f"2019-{raw[i + 1] % 12 + 1:02d}-{raw[i + 2] % 28 + 1:02d}",
                      f"{(raw[i + 3] - 40) / 4:.2f}")) for i in range(0, count * 4, 4)]


def _csv(key: str, seed: str, count: int) -> FileSpec:
    return FileSpec(key, mimetype="text/csv", data=("station,date,temp_c\n" + "\n".join(_rows(seed, count, ","))
                                                   + "\n").encode(), seed=seed)


def http_stamp(day: str) -> datetime:
    """``2021-06-15`` -> an aware datetime (Last-Modified of files published that day)."""
    return datetime.fromisoformat(day[:10]).replace(hour=16, minute=1, second=47, tzinfo=timezone.utc)


__all__ = ["_bin", "_csv", "_rows", "_text", "hexid", "http_stamp", "uid"]
