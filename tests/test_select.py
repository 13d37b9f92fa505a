"""Include/exclude glob semantics (rsync-like)."""

from __future__ import annotations

import pytest

from doi2data.errors import UsageError
from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.select import matches, select

PATHS = ["README.json", "metadata/experiment.json", "images/frame_0001.cbf", "tmp/scratch.json", "a/tmp/x.json"]


@pytest.mark.parametrize(
    "path,pattern,expected",
    [
        ("a/b/c.json", "*.json", True), ("c.json", "*.json", True), ("a/b/c.json", "b/*.json", False),
        ("a/b/c.json", "a/*/c.json", True), ("a/b/c.json", "a/*.json", False), ("a/b/c.json", "a/**.json", True),
        ("a/b/c.json", "/a/**", True), ("tmp/x", "tmp/", True), ("a/tmp/x", "tmp/", True), ("tmp/x", "tmp/*", True),
        ("a/tmp/x", "tmp/*", False), ("frame_0001.cbf", "frame_000[0-9].cbf", True), ("x.JSON", "*.json", False),
        ("a/b", "a", True), ("ab", "a", False),
    ],
)
def test_matches(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


def test_select_include_then_exclude() -> None:
    manifest = Manifest(Dataset("10.1/x"), tuple(FileEntry(p) for p in PATHS))
    chosen = select(manifest, include=["*.json"], exclude=["tmp/*"])
    assert [f.path for f in chosen.files] == ["README.json", "metadata/experiment.json", "a/tmp/x.json"]
    assert select(manifest).files == manifest.files


def test_bad_pattern() -> None:
    with pytest.raises(UsageError):
        select(Manifest(Dataset(None)), include=["[abc"])
