"""One bad name does not abort a run (issue 16 item 11).

A symlinked folder already in DEST that leads outside, a path longer than the file system takes
(ENAMETOOLONG), a file already where a folder must go (or a folder where a file goes), and
``x.part`` beside ``x``: each such file fails alone with its reason in the report (or is written
under its own name, since temporary names live hashed under ``.doi2data/parts``), and every other
file of the run arrives.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import httpx
import pytest

from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.transfer.engine import DownloadReport, Engine, TransferOptions

SMALL = 3000  # batched, verified in memory, written by the committer
LARGE = (1 << 20) + 4321  # a single stream, written in place


def body(name: str, size: int) -> bytes:
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def run(dest: Path, files: dict[str, int]) -> DownloadReport:
    """Download ``files`` (name -> size) from an in-process server into ``dest``."""
    urls = {f"/f{i}": (name, size) for i, (name, size) in enumerate(files.items())}

    def serve(request: httpx.Request) -> httpx.Response:
        name, size = urls[request.url.path]
        return httpx.Response(200, content=body(name, size), headers={"ETag": '"1"'})

    entries = tuple(FileEntry(name, size, {"md5": hashlib.md5(body(name, size)).hexdigest()},
                              (f"https://h.test{path}",)) for path, (name, size) in urls.items())

    async def go() -> DownloadReport:
        with httpx.Client(transport=httpx.MockTransport(serve)) as client:
            return await Engine(client, dest, options=TransferOptions(max_wait=1, max_attempts=2)).run(
                Manifest(Dataset("10.1/x"), entries))

    return asyncio.run(go())


def arrived(dest: Path, report: DownloadReport, names: list[str], size: int) -> None:
    by_path = {r.path: r for r in report.results}
    for name in names:
        assert by_path[name].status == "downloaded", by_path[name]
        assert (dest / name).read_bytes() == body(name, size)


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_a_symlinked_folder_leading_outside_fails_alone(tmp_path: Path, size: int) -> None:
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "linked").symlink_to(outside, target_is_directory=True)
    report = run(dest, {"a.txt": size, "linked/x.txt": size, "z/b.txt": size})
    assert list(report.failed) == ["linked/x.txt"] and "outside" in report.failed["linked/x.txt"]
    arrived(dest, report, ["a.txt", "z/b.txt"], size)
    assert list(outside.iterdir()) == []


def test_a_symlinked_folder_leading_inside_is_written_through(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    (dest / "real").mkdir(parents=True)
    (dest / "alias").symlink_to(dest / "real", target_is_directory=True)
    report = run(dest, {"alias/x.txt": SMALL, "a.txt": SMALL})
    assert not report.failed and (dest / "real/x.txt").read_bytes() == body("alias/x.txt", SMALL)


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_a_path_longer_than_the_file_system_takes_fails_alone(tmp_path: Path, size: int) -> None:
    long = "/".join(["d" * 200] * 21)[:4100]  # every component allowed, the whole path too long
    report = run(tmp_path, {"a.txt": size, long: size, "b.txt": size})
    assert list(report.failed) == [long] and "too long" in report.failed[long]
    arrived(tmp_path, report, ["a.txt", "b.txt"], size)


def test_a_4000_character_path_either_arrives_or_fails_alone(tmp_path: Path) -> None:
    dest = tmp_path / ("x" * 100)  # with DEST's own length, near or past PATH_MAX (4096)
    name = "/".join(["d" * 199] * 20)[:4000]
    report = run(dest, {"a.txt": SMALL, name: SMALL, "b.txt": SMALL})
    arrived(dest, report, ["a.txt", "b.txt"], SMALL)
    result = next(r for r in report.results if r.path == name)
    if result.status == "failed":
        assert "too long" in (result.reason or "")
    else:
        assert (dest / name).read_bytes() == body(name, SMALL)


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_a_file_where_a_folder_must_go_fails_alone(tmp_path: Path, size: int) -> None:
    (tmp_path / "sub").write_bytes(b"a file the user keeps")
    report = run(tmp_path, {"a.txt": size, "sub/x.txt": size, "b.txt": size})
    assert list(report.failed) == ["sub/x.txt"] and "sub/x.txt" in report.failed["sub/x.txt"]
    arrived(tmp_path, report, ["a.txt", "b.txt"], size)
    assert (tmp_path / "sub").read_bytes() == b"a file the user keeps"


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_a_folder_where_a_file_must_go_fails_alone(tmp_path: Path, size: int) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x/keep.txt").write_bytes(b"kept")
    report = run(tmp_path, {"a.txt": size, "x": size, "b.txt": size})
    assert list(report.failed) == ["x"] and "x" in report.failed["x"]
    arrived(tmp_path, report, ["a.txt", "b.txt"], size)
    assert (tmp_path / "x/keep.txt").read_bytes() == b"kept"


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_x_part_beside_x_both_arrive(tmp_path: Path, size: int) -> None:
    """Temporary names are hashed under ``.doi2data/parts``: a file called ``x.part`` never
    collides with the temporary name of ``x``, listed or already in DEST."""
    (tmp_path / "y.part").write_bytes(b"the user's own file")
    report = run(tmp_path, {"x": size, "x.part": size, "y": size})
    assert not report.failed
    arrived(tmp_path, report, ["x", "x.part", "y"], size)
    assert (tmp_path / "y.part").read_bytes() == b"the user's own file"
    assert os.listdir(tmp_path / ".doi2data/parts") == []
