"""Issue 19 item 2: ``ls --format ndjson|urls|aria2|*sum`` writes lines as the listing streams in,
and checks them against the finished listing."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace
from collections.abc import Iterator
from typing import Any

import pytest

import doi2data
import doi2data.adapters.invenio as invenio
import doi2data.adapters.scicat as scicat
import doi2data.adapters.webindex as webindex
from doi2data.entry import FileEntry
from doi2data.entry_stream import emit, entries_to
from doi2data.errors import ListingChanged, NetworkError
from doi2data.formats import render
from doi2data.listing_printer import StreamedListing
from doi2data.model import Dataset, Manifest
from doi2data.sandbox import FakeInternet
from doi2data.sandbox import facilities as fac
from doi2data.sandbox import webfolders
from doi2data.sandbox.world import FileSpec, Record, World
from conftest import run_here  # noqa: E402

RECID = "4400001"
DOI = f"10.5281/zenodo.{RECID}"
KEYS = ("zeta.txt", "b/beta.txt", "Alpha.txt", "data/x.h5", "a/one.txt", "m.txt")


@pytest.fixture(scope="module")
def world_net() -> Iterator[FakeInternet]:
    files = tuple(FileSpec(key, data=key.encode()) for key in KEYS)
    world = World(records=[Record(RECID, "4400000", "Streamed listing", files=files, shape="legacy")])
    with FakeInternet(world=world) as net:
        yield net


@pytest.fixture
def streamed_net(world_net: FakeInternet) -> Iterator[FakeInternet]:
    with world_net.activated():
        yield world_net


class Watched(io.StringIO):
    """stdout that remembers how much had been written when the adapter finished listing."""

    at_listing_end: int | None = None


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Watched:
    for adapter in (invenio.InvenioAdapter, scicat.ScicatAdapter, webindex.DirectoryListingLayer,
                    webindex.WebIndexAdapter):
        monkeypatch.setattr(adapter, "list_files", _noting_the_end(adapter.list_files))
    return Watched()


def _noting_the_end(original: Any) -> Any:
    async def list_files(self: Any, *args: Any, **kwargs: Any) -> Manifest:
        manifest = await original(self, *args, **kwargs)
        now = sys.stdout
        if isinstance(now, Watched):
            now.at_listing_end = len(now.getvalue())
        return manifest

    return list_files


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, out: Watched,
         *args: str, doi: str = DOI) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdout", out)
    code, _, err = run_here(capsys, "ls", doi, *args)
    return code, out.getvalue(), err


@pytest.mark.parametrize("fmt", ["ndjson", "urls", "aria2", "md5sum"])
def test_lines_are_written_before_the_listing_ends_and_match_the_buffered_output(
        streamed_net: FakeInternet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        watched: Watched, fmt: str) -> None:
    code, streamed, err = _run(capsys, monkeypatch, watched, "--format", fmt)
    assert code == 0, err
    assert watched.at_listing_end, "nothing was written before the adapter returned"
    buffered_out = Watched()
    code, buffered, _ = _run(capsys, monkeypatch, buffered_out, "--format", fmt, "--no-stream")
    assert code == 0
    assert buffered_out.at_listing_end == 0  # --no-stream: printed after the listing
    entries = lambda text: sorted(text.replace("\n  ", "\x00  ").splitlines())  # noqa: E731  (aria2: one per URL line)
    assert len(entries(streamed)) == len(KEYS) and entries(streamed) == entries(buffered)


def test_ndjson_lines_carry_the_doi_and_filters_apply_per_file(
        streamed_net: FakeInternet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        watched: Watched) -> None:
    code, out, err = _run(capsys, monkeypatch, watched, "--format", "ndjson", "--include", "*.txt",
                          "--exclude", "b/*")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["path"] for r in rows} == {"zeta.txt", "Alpha.txt", "a/one.txt", "m.txt"}
    assert {r["doi"] for r in rows} == {DOI}


def _manifest(*paths: str, doi: str = "10.1/x") -> Manifest:
    return Manifest(Dataset(doi), tuple(FileEntry(p, 1, {"md5": "0" * 32}, (f"https://h/{p}",)) for p in paths))


def _stream(name: str, emitted: list[FileEntry], final: Manifest, doi: str | None = "10.1/x") -> tuple[str, Any]:
    out = io.StringIO()
    printer = StreamedListing(name, out, lambda entry: True, doi)
    with entries_to(printer):
        for entry in emitted:
            emit(entry)
    notes = printer.finish(final)
    return out.getvalue(), notes


def test_an_entry_changed_after_it_was_printed_fails_loudly() -> None:
    final = _manifest("a.txt", "b.txt")
    changed = FileEntry("b.txt", 2, {"md5": "0" * 32}, ("https://h/b.txt",))  # size differs from the final one
    with pytest.raises(ListingChanged, match="changed while it was printed"):
        _stream("ndjson", [final.files[0], changed], final)
    with pytest.raises(ListingChanged):  # a field FileEntry's own hash leaves out
        _stream("ndjson", [final.files[0], replace(final.files[1], access="restricted")], final)
    with pytest.raises(ListingChanged):  # one missing
        _stream("urls", [final.files[0]], final)
    with pytest.raises(ListingChanged):  # the record's DOI is not the one the lines carry
        _stream("ndjson", list(final.files), final, doi="10.1/other")
    text, notes = _stream("urls", list(reversed(final.files)), final)
    assert text == "https://h/b.txt\nhttps://h/a.txt\n" and notes == ()


def test_names_renamed_in_another_order_than_get_fail_loudly() -> None:
    final = _manifest("A.txt", "a.txt")  # path order: A.txt kept, a.txt -> a~2.txt (what get writes)
    with pytest.raises(ListingChanged):
        _stream("md5sum", [final.files[1], final.files[0]], final)
    text, notes = _stream("md5sum", list(final.files), final)
    assert text == render("md5sum", final).text and any("a~2.txt" in n for n in notes)


def test_nothing_emitted_means_the_caller_prints_as_usual() -> None:
    text, notes = _stream("ndjson", [], _manifest("a.txt"))
    assert text == "" and notes is None


@pytest.mark.parametrize("fmt", ["ndjson", "urls"])
def test_a_collection_whose_parts_get_folders_is_listed_first_then_printed(
        net: FakeInternet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    # one part is a Zenodo record (its adapter emits), but its files move under a folder afterwards
    code, streamed, err = _run(capsys, monkeypatch, Watched(), "--format", fmt, doi=fac.COLLECTION_DOI)
    assert code == 0, err
    code, buffered, err = _run(capsys, monkeypatch, Watched(), "--format", fmt, "--no-stream", doi=fac.COLLECTION_DOI)
    assert code == 0 and streamed == buffered
    assert fmt != "ndjson" or '"path": "zenodo.1215979/' in streamed


@pytest.mark.parametrize("fmt", ["ndjson", "sha256sum"])
def test_scicat_datasets_print_as_their_files_arrive(net: FakeInternet, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch, watched: Watched,
                                                     fmt: str) -> None:
    code, streamed, err = _run(capsys, monkeypatch, watched, "--format", fmt, doi=fac.SCICAT_V4_DOI)
    assert code == 0, err
    assert watched.at_listing_end, "nothing was written before the adapter returned"
    code, buffered, err = _run(capsys, monkeypatch, Watched(), "--format", fmt, "--no-stream", doi=fac.SCICAT_V4_DOI)
    assert code == 0 and streamed and sorted(streamed.splitlines()) == sorted(buffered.splitlines())
    assert "run_001/" in streamed  # each file under its dataset's folder, as get writes it


@pytest.mark.parametrize(("flavour", "fmt", "typed"), [("nginx", "ndjson", False), ("webdav", "md5sum", False),
                                                      ("apache", "urls", True)])
def test_web_folders_print_page_by_page(net: FakeInternet, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, watched: Watched, flavour: str, fmt: str,
                                        typed: bool) -> None:
    target = webfolders.landing(flavour).rstrip("/") + "/" if typed else webfolders.doi(flavour)
    code, streamed, err = _run(capsys, monkeypatch, watched, "--format", fmt, doi=target)
    assert code == 0, err
    assert watched.at_listing_end, "nothing was written before the adapter returned"
    code, buffered, err = _run(capsys, monkeypatch, Watched(), "--format", fmt, "--no-stream", doi=target)
    assert code == 0 and streamed and sorted(streamed.splitlines()) == sorted(buffered.splitlines())


def test_a_long_invenio_listing_is_sorted_off_the_event_loop(streamed_net: FakeInternet,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import doi2data

    where: list[str] = []
    original = invenio._Listing.result

    def result(self: Any) -> Any:
        where.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(invenio._Listing, "result", result)
    monkeypatch.setattr(invenio, "SORT_OFF_LOOP", len(KEYS) - 1)
    long = doi2data.resolve(DOI)
    monkeypatch.setattr(invenio, "SORT_OFF_LOOP", len(KEYS))
    short = doi2data.resolve(DOI)
    assert long == short and [f.path for f in long.files] == sorted(KEYS)
    loop_thread = threading.current_thread().name  # resolve() runs its event loop in this thread
    assert where[1] == loop_thread and where[0] != loop_thread


@pytest.mark.parametrize("args", [("--format", "ndjson"), ("--json",)])
def test_a_record_body_that_breaks_off_is_one_line_and_exit_8(streamed_net: FakeInternet,
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              args: tuple[str, ...]) -> None:
    from doi2data.sandbox.quirks import Quirk

    handle = streamed_net.add_quirk(Quirk(host="zenodo.org", path=f"/api/records/{RECID}", kind="truncate",
                                          after_bytes=1500, times=10))
    try:
        code, _, err = _run(capsys, monkeypatch, Watched(), *args)
        with pytest.raises(NetworkError):  # the API's error, not httpx's
            doi2data.resolve(DOI)
    finally:
        streamed_net.remove_quirk(handle)
    assert code == 8, err
    assert err.count("\n") == 1 and "Traceback" not in err and f"/api/records/{RECID}" in err
