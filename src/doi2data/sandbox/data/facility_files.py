"""Seeded files of the facility datasets (PSI, ESRF, DESY, SciCat, web folders): bytes from the
world's generator, nothing stored.
"""

from __future__ import annotations


from ..world import FileSpec


def _bin(seed: str, key: str, size: int, mimetype: str = "application/octet-stream") -> FileSpec:
    return FileSpec(key, size, mimetype, seed=f"{seed}:{key}")


def _txt(seed: str, key: str, lines: int, mimetype: str = "text/plain") -> FileSpec:
    body = "".join(f"{seed} {key} line {i:04d}: exposure 0.{i % 10} s, angle {i * 0.09:.2f} deg\n"
                   for i in range(lines))
    return FileSpec(key, mimetype=mimetype, data=body.encode(), seed=f"{seed}:{key}")
