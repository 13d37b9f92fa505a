"""doi2data's own folder (``DEST/.doi2data``: state database, part files) is off limits to manifests.

A repository that lists ``.doi2data/state.sqlite`` must not be able to overwrite the download
state (or a part file) any more than ``../x`` may escape the destination: such names are refused,
in every spelling a file system folds onto the same folder.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest

from doi2data.errors import UnsafePath
from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.paths import inside, inside_many, is_own_folder, plan_paths, safe_relpath
from doi2data.transfer.engine import Engine, TransferOptions
from doi2data.transfer.verify import verify_tree

OWN = [
    ".doi2data/state.sqlite",
    ".DOI2DATA/x",
    ".Doi2Data/parts/abc.part",
    "/.doi2data/state.sqlite",             # made relative first: still refused
    "\\.doi2data\\state.sqlite",            # backslashes turned into '/' first
    "./.doi2data/state.sqlite",
    ".doi2data./state.sqlite",              # Windows drops trailing dots ...
    ".doi2data /state.sqlite",              # ... and trailing spaces
    ".doi2data. . /state.sqlite",
    ".doi2data::$INDEX_ALLOCATION/state.sqlite",  # NTFS: the folder's index stream is the folder
    "\uff0edoi2data/state.sqlite",          # full-width full stop (NFKC)
    "\uff0e\uff44\uff4f\uff49\uff12\uff44\uff41\uff54\uff41/x",  # all full-width
    "DOI2DA~1/state.sqlite",                # 8.3 short name of .doi2data on Windows
    "a/.doi2data/b",                        # nested: a sub-folder may be another run's destination
    ".doi2data",                            # a file by that name would stand in the folder's way
]
FINE = ["doi2data/x", ".doi2data~2/x", "a/.doi2dat/b", "x.doi2data", ".doi2data.txt", "doi2da~x/y", "ok.txt"]


@pytest.mark.parametrize("name", OWN)
def test_own_folder_names_are_refused_like_dotdot(name: str) -> None:
    with pytest.raises(UnsafePath, match="own folder"):
        safe_relpath(name)
    plans, messages = plan_paths([name, "ok.txt"])
    assert plans[0] is None and plans[1] is not None and any("own folder" in m for m in messages)


@pytest.mark.parametrize("name", FINE)
def test_near_misses_are_allowed(name: str) -> None:
    assert not any(is_own_folder(c) for c in safe_relpath(name)[0].split("/"))


def test_inside_refuses_the_own_folder_as_a_last_check(tmp_path: Path) -> None:
    with pytest.raises(UnsafePath, match="own folder"):
        inside(tmp_path, ".doi2data/state.sqlite")
    with pytest.raises(UnsafePath, match="own folder"):
        inside_many(tmp_path, ["ok.txt", "sub/.DOI2DATA./x"])


def test_get_never_writes_into_its_own_folder(tmp_path: Path) -> None:
    """A hostile manifest naming the state database: refused, the state stays a database, the rest lands."""
    evil = b"SQLite format 3\x00 but not really"
    good = b"fine"
    entries = [FileEntry(name, len(evil), {"md5": hashlib.md5(evil).hexdigest()}, ("https://h.test/evil",))
               for name in (".doi2data/state.sqlite", ".DOI2DATA/state.sqlite-wal", ".doi2data./parts/x.part")]
    entries.append(FileEntry("ok.txt", len(good), {"md5": hashlib.md5(good).hexdigest()}, ("https://h.test/ok",)))
    manifest = Manifest(Dataset("10.1/x"), tuple(entries))

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=evil if request.url.path == "/evil" else good)

    async def go():  # type: ignore[no-untyped-def]
        with httpx.Client(transport=httpx.MockTransport(serve)) as client:
            return await Engine(client, tmp_path, options=TransferOptions(max_wait=1)).run(manifest)

    report = asyncio.run(go())
    assert sorted(report.failed) == sorted(e.path for e in entries[:3])
    assert all("unsafe" in reason for reason in report.failed.values())
    assert (tmp_path / "ok.txt").read_bytes() == good
    state = tmp_path / ".doi2data" / "state.sqlite"
    assert state.read_bytes()[:16] == b"SQLite format 3\x00" and evil not in state.read_bytes()
    # and verify says so too, without looking inside the folder
    verdicts = {r.path: r.verdict for r in verify_tree(manifest, tmp_path)}
    assert verdicts[".doi2data/state.sqlite"] == "skipped" and verdicts["ok.txt"] == "ok"
