"""File filters: --regex, --min-size, --max-size and how they combine with the globs."""

from __future__ import annotations

import pytest

from doi2data.errors import UsageError
from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.select import FileFilter, select

FILES = [("README.json", 900), ("images/frame_0001.cbf", 6_000_000), ("images/frame_0002.cbf", 6_100_000),
         ("images/thumb_0001.png", 40_000), ("tmp/frame_0003.cbf", 6_000_000), ("notes/run log.txt", None)]
MANIFEST = Manifest(Dataset("10.1/x"), tuple(FileEntry(p, s) for p, s in FILES))


def paths(m: Manifest) -> list[str]:
    return [f.path for f in m.files]


def test_regex_is_searched_in_the_whole_path() -> None:
    assert paths(select(MANIFEST, regex=r"frame_000[12]\.cbf$")) == ["images/frame_0001.cbf", "images/frame_0002.cbf"]
    assert paths(select(MANIFEST, regex=[r"^README", r"\.png$"])) == ["README.json", "images/thumb_0001.png"]


def test_kinds_are_anded_repeats_ored_excludes_win() -> None:
    chosen = select(MANIFEST, include=["*.cbf", "*.png"], regex=r"_0001", min_size="1MB")
    assert paths(chosen) == ["images/frame_0001.cbf"]
    assert paths(select(MANIFEST, include="*.cbf", exclude="tmp/")) == ["images/frame_0001.cbf",
                                                                        "images/frame_0002.cbf"]
    assert paths(select(MANIFEST, regex="frame", exclude="frame_0002.cbf", max_size="6MB")) == [
        "images/frame_0001.cbf", "tmp/frame_0003.cbf"]


def test_size_bounds_are_inclusive_and_unknown_sizes_fail_them() -> None:
    assert paths(select(MANIFEST, min_size=6_000_000, max_size="6000000")) == [
        "images/frame_0001.cbf", "tmp/frame_0003.cbf"]
    assert "notes/run log.txt" not in paths(select(MANIFEST, max_size="1TB"))
    assert "notes/run log.txt" in paths(select(MANIFEST, include="*.txt"))
    assert paths(select(MANIFEST, max_size="1KiB")) == ["README.json"]


@pytest.mark.parametrize("kwargs", [{"regex": "("}, {"regex": ""}, {"min_size": "lots"},
                                    {"min_size": 10, "max_size": 5}, {"max_size": -1}])
def test_bad_values_are_usage_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        FileFilter.of(**kwargs)  # type: ignore[arg-type]


def test_keeps_works_for_archive_members_and_inactive_filter_is_identity() -> None:
    chooser = FileFilter.of("images/*.cbf", regex="0001", max_size=10)
    assert chooser.keeps("images/frame_0001.cbf", 5) and not chooser.keeps("images/frame_0001.cbf", 11)
    assert not chooser.keeps("images/frame_0001.cbf")
    assert not FileFilter.of().active and FileFilter.of(min_size=0).active
    assert select(MANIFEST) is MANIFEST
