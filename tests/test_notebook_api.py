"""doi2data.open (verified on a full read), doi2data.frames, and progress= in and out of Jupyter (issue 18)."""

from __future__ import annotations

import asyncio
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import doi2data
from doi2data.errors import VerificationError
from doi2data.fs import DoiFileSystem
from doi2data.sandbox import FakeInternet, Quirk

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"


@pytest.fixture(autouse=True)
def fresh_instances() -> Iterator[None]:
    DoiFileSystem.clear_instance_cache()
    yield
    for fs in list(DoiFileSystem._cache.values()):
        fs.close()
    DoiFileSystem.clear_instance_cache()


def test_open_reads_in_order_and_verifies(net: FakeInternet) -> None:
    want = net.world.file_bytes(RECID, "images/frame_0002.cbf")
    with doi2data.open(f"https://doi.org/{DOI}", "images/frame_0002.cbf") as f:
        head = f.read(1000)
        assert not f.verified
        f.seek(500_000)
        assert f.read(10) == want[500_000:500_010]   # a jump ahead: bytes served, nothing hashed yet
        f.seek(1000)
        rest = f.read()
        assert head + rest == want and f.verified and f.checked == ("md5",)


def test_open_random_access_is_not_called_verified(net: FakeInternet) -> None:
    with doi2data.open(DOI, "images/frame_0003.cbf") as f:
        f.seek(-100, 2)
        f.read()
        assert not f.verified


def test_open_refuses_the_last_bytes_of_a_corrupt_file(net: FakeInternet) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*experiment.json*", kind="corrupt", offset=3))
    with doi2data.open(DOI, "metadata/experiment.json") as f:
        with pytest.raises(VerificationError, match="md5"):
            f.read()
        f.seek(0)
        with pytest.raises(VerificationError):   # nor later, by another route
            f.read(10)


def test_open_with_only_an_uncomputable_checksum_is_not_verified(tmp_path: Path) -> None:
    from doi2data.sandbox import FileSpec, Record, World

    world = World(records=[Record("4200003", "4200000", "odd", files=(FileSpec("a.txt", data=b"abc"),))])
    with FakeInternet(world=world) as net, net.activated():
        fs = DoiFileSystem()
        manifest = fs.manifest("10.5281/zenodo.4200003")
        odd = manifest.files[0]
        from dataclasses import replace

        from doi2data.reading import VerifiedFile

        placed_files = fs._load("10.5281/zenodo.4200003")[1]
        placed = placed_files["a.txt"]
        placed_files["a.txt"] = replace(placed, entry=replace(odd, checksums={"blake3": "ab" * 32}))
        with VerifiedFile(fs, "10.5281/zenodo.4200003/a.txt") as f:
            assert f.read() == b"abc" and not f.verified and f.checked == ()


def test_open_an_empty_file_is_verified_at_its_first_read(tmp_path: Path) -> None:
    from doi2data.sandbox import FileSpec, Record, World

    world = World(records=[Record("4200002", "4200000", "empty", files=(FileSpec("empty.txt", data=b""),))])
    with FakeInternet(world=world) as net, net.activated():
        with doi2data.open("10.5281/zenodo.4200002", "empty.txt") as f:
            assert f.read() == b"" and f.verified


def test_open_with_pandas(net: FakeInternet) -> None:
    pandas = pytest.importorskip("pandas")
    with doi2data.open(DOI, "données/été.csv") as f:
        frame = pandas.read_csv(f, sep=";")
        assert len(frame) == 400 and f.verified


class _Shell:
    """What :func:`doi2data.notebook.in_notebook` looks for: a ZMQInteractiveShell (by class name)."""


_ZMQ = type("ZMQInteractiveShell", (_Shell,), {})


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    """Pretend to run in a Jupyter kernel; record (kind, html, thread) of every display call."""
    shown: list[tuple[str, str, int]] = []

    class Handle:
        def update(self, obj: object) -> None:
            shown.append(("update", obj._repr_html_(), threading.get_ident()))  # type: ignore[attr-defined]

    def display(obj: object, display_id: bool = False) -> Handle:
        shown.append(("display", obj._repr_html_(), threading.get_ident()))  # type: ignore[attr-defined]
        return Handle()

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: _ZMQ()  # type: ignore[attr-defined]
    ipydisplay = types.ModuleType("IPython.display")
    ipydisplay.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipydisplay)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    return shown


def test_download_in_a_notebook_draws_an_html_bar_from_the_cell_thread(
        net: FakeInternet, notebook: list[tuple[str, str, int]], tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    async def cell() -> doi2data.DownloadReport:  # Jupyter runs cells inside a running event loop
        return doi2data.download(DOI, tmp_path, include="*.cbf")

    report = asyncio.run(cell())
    assert report.count("downloaded") == 3
    assert notebook and notebook[0][0] == "display"
    assert {t for _, _, t in notebook} == {threading.get_ident()}   # never from the engine's threads
    assert "<progress" in notebook[-1][1] and "3/3 files" in notebook[-1][1] and "done" in notebook[-1][1]
    out, err = capfd.readouterr()
    assert "\x1b" not in out + err and "\r" not in out + err


def test_async_download_in_the_notebook_loop(net: FakeInternet, notebook: list[tuple[str, str, int]],
                                             tmp_path: Path) -> None:
    async def cell() -> doi2data.DownloadReport:
        return await doi2data.adownload(DOI, tmp_path, include="*.json")

    report = asyncio.run(cell())
    assert report.count("downloaded") >= 1
    assert "done" in notebook[-1][1]


def test_progress_false_draws_nothing(net: FakeInternet, notebook: list[tuple[str, str, int]],
                                      tmp_path: Path) -> None:
    doi2data.download(DOI, tmp_path, include="README.json", progress=False)
    assert notebook == []


def test_no_bar_in_a_plain_script(net: FakeInternet, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    doi2data.download(DOI, tmp_path, include="README.json")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_frames_api_selects_by_omega(net: FakeInternet) -> None:
    pytest.importorskip("h5py")
    table = doi2data.frames("10.5281/zenodo.7000500", "omega >= 85 and omega < 90", cache=False)
    assert [(f.file, f.frame) for f in table.frames] == [("scan.h5", i) for i in range(10, 20)]
    assert 0 < table.requests < 40   # metadata reads only


def test_frames_scan_shows_its_progress_in_a_notebook(net: FakeInternet, notebook: list[tuple[str, str, int]]) -> None:
    pytest.importorskip("h5py")
    table = doi2data.frames("10.5281/zenodo.7000500", cache=False)
    assert len(table.frames) == 60
    assert {t for _, _, t in notebook} == {threading.get_ident()}
    assert "60 frames; scanned 4 files" in notebook[-1][1] and "<progress" in notebook[0][1]
    notebook.clear()
    doi2data.frames("10.5281/zenodo.7000500", cache=False, progress=False)
    assert notebook == []


def test_no_bar_from_a_worker_thread_of_the_kernel(net: FakeInternet, notebook: list[tuple[str, str, int]],
                                                   tmp_path: Path) -> None:
    """Output from a thread other than the cell's may land in another cell: such calls draw nothing."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        report = pool.submit(doi2data.download, DOI, tmp_path, include="README.json").result()
    assert report.count("downloaded") == 1 and notebook == []


def test_progress_true_in_a_script_uses_the_terminal_bars(net: FakeInternet, tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    doi2data.download(DOI, tmp_path, include="README.json", progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "1/1 files" in err


def test_a_timeout_raised_by_the_run_is_not_taken_for_a_poll() -> None:
    """_run waits with polls in the notebook case; a TimeoutError from the work itself must come out."""
    from doi2data.api import _run

    async def fails() -> None:
        raise TimeoutError("the work timed out")

    polls: list[int] = []

    async def cell() -> None:
        _run(fails(), poll=lambda: polls.append(1))

    outcome: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(cell())
        except BaseException as exc:  # noqa: BLE001 - handed to the assertion below
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)  # the old loop spun forever: fail, don't hang
    worker.start()
    worker.join(10)
    assert not worker.is_alive() and len(outcome) == 1
    assert isinstance(outcome[0], TimeoutError) and "the work timed out" in str(outcome[0])
