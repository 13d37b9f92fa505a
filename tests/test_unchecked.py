"""Nothing is called verified that was not: files without a usable checksum are *unchecked*.

Usable = a well-formed digest of an algorithm implemented here (md5, sha1/sha2, sha3_*, blake2b/s,
adler32, crc32, crc32c). None given, an unknown algorithm (``blake3``) or a malformed value
(``md5:1234``) leave a file unchecked, in ``get`` (own count in the summaries and the report
object) and in ``verify``; malformed values are reported by name. A file kept unchecked is
re-hashed locally once the manifest gains a checksum.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from doi2data.model import Dataset, FileEntry, Manifest, normalize_algorithm, parse_prefixed_checksum, split_checksums
from doi2data.output import JsonLinesProgress, print_report
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.mendeley_pangaea import GUBBIO
from doi2data.transfer.engine import DownloadReport, Engine, TransferOptions
from doi2data.transfer.hashing import MultiHasher, usable
from doi2data.transfer.verify import verify_tree

BODY = b"unchecked? never verified" * 100
MD5 = hashlib.md5(BODY).hexdigest()


# --- the model -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,canonical", [
    ("SHA3-256", "sha3_256"), ("sha3_256", "sha3_256"), ("SHA3256", "sha3_256"), ("sha3-512", "sha3_512"),
    ("BLAKE2b", "blake2b"), ("blake2b-512", "blake2b"), ("BLAKE2s256", "blake2s"), ("SHA-256", "sha256"),
    ("sha_1", "sha1"), ("blake3", "blake3"),
])
def test_algorithm_names(name: str, canonical: str) -> None:
    assert normalize_algorithm(name) == canonical


def test_malformed_checksums_are_kept_aside_not_dropped() -> None:
    good, bad = split_checksums({"md5": "1234", "SHA-256": "zz" * 32, "sha1": "ab" * 19, "": "deadbeef",
                                 "SHA3-256": hashlib.sha3_256(BODY).hexdigest().upper(),
                                 "blake2s": base64.b64encode(hashlib.blake2s(BODY).digest()).decode(),
                                 "blake3": "ab" * 32, "sha512": "  "})
    assert good == {"sha3_256": hashlib.sha3_256(BODY).hexdigest(), "blake2s": hashlib.blake2s(BODY).hexdigest(),
                    "blake3": "ab" * 32}
    assert bad == {"md5": "1234", "sha256": "zz" * 32, "sha1": "ab" * 19, "?": "deadbeef"}


def test_zenodo_style_malformed_value_reaches_the_entry_and_is_named() -> None:
    entry = FileEntry("data/a.bin", 3, parse_prefixed_checksum("md5:1234"))
    assert dict(entry.checksums) == {} and dict(entry.bad_checksums) == {"md5": "1234"}
    [note] = Manifest(Dataset("10.1/x"), (entry,)).checksum_warnings
    assert "data/a.bin" in note and "'1234'" in note and "32 hex digits" in note
    assert entry.to_json()["bad_checksums"] == {"md5": "1234"}
    assert "bad_checksums" not in FileEntry("b", 1, {"md5": MD5}).to_json()


def test_sha3_and_blake2_are_hashed_and_odd_hashlib_names_are_not() -> None:
    hasher = MultiHasher(["sha3_256", "sha3-512", "blake2b", "blake2s", "shake128", "blake3"])
    hasher.update(BODY)
    assert hasher.digests() == {"sha3_256": hashlib.sha3_256(BODY).hexdigest(),
                                "sha3_512": hashlib.sha3_512(BODY).hexdigest(),
                                "blake2b": hashlib.blake2b(BODY).hexdigest(), "blake2s": hashlib.blake2s(BODY).hexdigest()}
    assert hasher.unsupported == ["shake128", "blake3"]  # shake's hexdigest() would need a length: never built
    assert usable({"blake3": "ab" * 32, "md5": MD5}) == {"md5": MD5}


# --- get -----------------------------------------------------------------------------------------------
class Server:
    def __init__(self) -> None:
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        return httpx.Response(200, content=BODY)


def _entry(path: str, checksums: dict[str, str], size: int | None = len(BODY)) -> FileEntry:
    return FileEntry(path, size, checksums, (f"https://h.test/{path}",))


def _get(dest: Path, *entries: FileEntry, server: Server | None = None) -> DownloadReport:
    async def go() -> DownloadReport:
        with httpx.Client(transport=httpx.MockTransport(server or Server())) as client:
            return await Engine(client, dest, options=TransferOptions(max_wait=1)).run(
                Manifest(Dataset("10.1/x"), entries))

    return asyncio.run(go())


MIXED = (
    _entry("none.bin", {}),
    _entry("blake3.bin", {"blake3": "ab" * 32}),
    _entry("malformed.bin", parse_prefixed_checksum("md5:1234")),
    _entry("sizeless.bin", {}, size=None),
    _entry("sha3.bin", {"sha3-256": hashlib.sha3_256(BODY).hexdigest()}),
    _entry("blake2.bin", {"blake2b": hashlib.blake2b(BODY).hexdigest(), "blake2s": hashlib.blake2s(BODY).hexdigest()}),
    _entry("md5.bin", {"md5": MD5, "sha256": "0" * 12}),  # verified by md5; the bad sha256 is named
)
UNCHECKED = {"none.bin", "blake3.bin", "malformed.bin", "sizeless.bin"}


def test_get_counts_unchecked_files_on_their_own(tmp_path: Path) -> None:
    report = _get(tmp_path, *MIXED)
    assert report.count("downloaded") == 7 and not report.failed
    assert set(report.unchecked) == UNCHECKED and report.verified == 3
    assert "blake3" in report.unchecked["blake3.bin"] and "'1234'" in report.unchecked["malformed.bin"]
    assert "no checksum given" in report.unchecked["none.bin"]
    checked = {r.path: r.checked for r in report.results}
    assert checked["sha3.bin"] == ("sha3_256",) and checked["blake2.bin"] == ("blake2b", "blake2s")
    assert checked["md5.bin"] == ("md5",)
    notes = "\n".join(report.messages)
    assert "malformed.bin" in notes and "'1234'" in notes and "md5.bin" in notes and "'000000000000'" in notes

    text = io.StringIO()
    print_report(report, Console(file=text, width=300))
    assert "3 verified, 4 unchecked (no usable checksum)" in text.getvalue()
    assert "unchecked none.bin" in text.getvalue()
    out = io.StringIO()
    JsonLinesProgress(out).summary(report)
    summary = json.loads(out.getvalue())
    assert (summary["downloaded"], summary["verified"], summary["unchecked"]) == (7, 3, 4)
    assert set(summary["unchecked_files"]) == UNCHECKED

    again = _get(tmp_path, *MIXED)  # present, but still not verified
    assert again.count("present") == 7 and set(again.unchecked) == UNCHECKED and again.verified == 3


def test_sha3_is_really_checked(tmp_path: Path) -> None:
    report = _get(tmp_path, _entry("x.bin", {"sha3_256": "0" * 64}))
    assert "x.bin" in report.failed and "sha3_256" in report.failed["x.bin"]
    assert not (tmp_path / "x.bin").exists()


def _recorded(dest: Path, local: str) -> dict[str, str]:
    con = sqlite3.connect(dest / ".doi2data" / "state.sqlite")
    try:
        return json.loads(con.execute("SELECT checksums FROM verified WHERE path=?", (local,)).fetchone()[0])
    finally:
        con.close()


def test_a_checksum_gained_later_is_checked_locally(tmp_path: Path) -> None:
    server = Server()
    first = _get(tmp_path, _entry("f.bin", {}), server=server)
    assert set(first.unchecked) == {"f.bin"} and _recorded(tmp_path, "f.bin") == {}
    server.requests.clear()

    gained = _get(tmp_path, _entry("f.bin", {"md5": MD5}), server=server)
    assert server.requests == []  # re-hashed here, not downloaded
    [result] = gained.results
    assert result.status == "present" and result.checked == ("md5",) and not gained.unchecked
    assert _recorded(tmp_path, "f.bin") == {"md5": MD5}

    more = _get(tmp_path, _entry("f.bin", {"md5": MD5, "sha3_256": hashlib.sha3_256(BODY).hexdigest()}), server=server)
    assert server.requests == [] and more.results[0].checked == ("md5", "sha3_256")
    assert set(_recorded(tmp_path, "f.bin")) == {"md5", "sha3_256"}

    wrong = _get(tmp_path, _entry("f.bin", {"md5": MD5, "sha256": "0" * 64}), server=server)
    assert server.requests  # the old record does not vouch for a checksum it never saw: fetched again
    assert "f.bin" in wrong.failed and "sha256" in wrong.failed["f.bin"]


# --- verify --------------------------------------------------------------------------------------------
def test_verify_never_calls_a_size_match_ok(tmp_path: Path) -> None:
    _get(tmp_path, *MIXED)
    results = {r.path: r for r in verify_tree(Manifest(Dataset("10.1/x"), MIXED), tmp_path)}
    assert {p for p, r in results.items() if r.verdict == "unchecked"} == UNCHECKED
    assert {p for p, r in results.items() if r.verdict == "ok"} == {"sha3.bin", "blake2.bin", "md5.bin"}
    assert "'1234'" in (results["malformed.bin"].detail or "") and "size only" in (results["none.bin"].detail or "")
    assert "'000000000000'" in (results["md5.bin"].detail or "")


def test_cli_reports_unchecked_for_a_dataset_without_checksums(cli, net: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", GUBBIO.doi, "pg", "--json")
    assert run.code == 0, run.err
    summary = json.loads(run.out.strip().splitlines()[-1])
    assert (summary["downloaded"], summary["verified"], summary["unchecked"]) == (1, 0, 1)
    run = cli("get", GUBBIO.doi, "pg")
    assert run.code == 0 and "0 verified, 1 unchecked" in run.err, run.err
    run = cli("verify", GUBBIO.doi, "pg")
    assert run.code == 0 and "0 ok, 0 bad, 1 unchecked" in run.err and "UNCHECKED" in run.err, run.err


# --- adapters hand malformed values on instead of dropping them -----------------------------------
def test_adapters_pass_malformed_values_to_the_model() -> None:
    from doi2data.adapters import invenio, mendeley, schemaorg

    assert FileEntry("a", 1, invenio._checksums("1234")).bad_checksums == {"md5": "1234"}  # migration shape: bare md5
    assert FileEntry("a", 1, invenio._checksums("md5:1234")).bad_checksums == {"md5": "1234"}
    assert dict(FileEntry("a", 1, invenio._checksums(MD5.upper())).checksums) == {"md5": MD5}
    entry = mendeley._file_entry({"filename": "x.csv", "content_details": {"sha256_hash": "abc", "size": 3,
                                                                    "download_url": "https://h.test/x"}}, "")
    assert entry.bad_checksums == {"sha256": "abc"} and not entry.checksums
    found = schemaorg._entry({"contentUrl": "https://h.test/y", "name": "y", "md5": "nothex"}, "https://h.test/")
    assert found is not None and found.bad_checksums == {"md5": "nothex"}


class RangeServer(Server):
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.headers.get("range", ""))
        rng = request.headers.get("range")
        if not rng:
            return httpx.Response(200, content=BODY, headers={"Accept-Ranges": "bytes", "ETag": '"e"'})
        first, _, last = rng.split("=")[1].partition("-")
        start, end = int(first), int(last) if last else len(BODY) - 1
        return httpx.Response(206, content=BODY[start:end + 1], headers={
            "ETag": '"e"', "Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end}/{len(BODY)}"})


@pytest.mark.parametrize("algo,digest", [("sha3_512", hashlib.sha3_512(BODY).hexdigest()),
                                         ("blake2s", hashlib.blake2s(BODY).hexdigest()),
                                         ("sha3_256", "0" * 64)])
def test_segmented_downloads_hash_sha3_and_blake2(tmp_path: Path, algo: str, digest: str) -> None:
    server = RangeServer()

    async def go() -> DownloadReport:
        with httpx.Client(transport=httpx.MockTransport(server)) as client:
            options = TransferOptions(max_wait=1, segments=4, min_segment=256)
            return await Engine(client, tmp_path, options=options).run(
                Manifest(Dataset("10.1/x"), (_entry("seg.bin", {algo: digest}),)))

    report = asyncio.run(go())
    assert sum(1 for r in server.requests if r.startswith("bytes=")) >= 2  # really cut in pieces
    if digest == "0" * 64:
        assert algo in report.failed["seg.bin"]
    else:
        assert report.results[0].checked == (algo,) and not report.unchecked


def test_more_adapters_pass_malformed_values_to_the_model() -> None:
    from doi2data.adapters import dataverse, dryad, figshare, osf

    assert dataverse._checksums({"checksum": {"type": "MD5", "value": "1234"}}) == {"md5": "1234"}
    assert dataverse._checksums({"checksum": {"type": "SHA3-256", "value": "AB" * 32}}) == {"sha3_256": "ab" * 32}
    assert dataverse._checksums({"md5": MD5.upper()}) == {"md5": MD5}
    assert FileEntry("a", 1, dryad._checksums({"digestType": "md5", "digest": "xyz"})).bad_checksums == {"md5": "xyz"}
    assert dryad._checksums({"digestType": "blake3", "digest": "ab" * 32}) == {"blake3": "ab" * 32}
    entry = figshare._file_entry({"name": "f", "id": 1, "size": 1, "computed_md5": "", "supplied_md5": "12",
                                  "download_url": "https://h.test/f"}, {}, "open", None)
    assert entry.bad_checksums == {"md5": "12"}
    entry = figshare._file_entry({"name": "f", "id": 1, "size": 1, "computed_md5": "12", "supplied_md5": MD5,
                                  "download_url": "https://h.test/f"}, {}, "open", None)
    assert dict(entry.checksums) == {"md5": MD5} and not entry.bad_checksums
    item = {"links": {"download": "https://h.test/o"}}
    attrs = {"kind": "file", "name": "o", "materialized_path": "/o", "size": 1,
             "extra": {"hashes": {"md5": "nope", "sha256": None}}}
    assert osf._file(item, attrs).bad_checksums == {"md5": "nope"}
