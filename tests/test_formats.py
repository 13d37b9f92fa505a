"""Exporters: every format on awkward names, checked by parsing and by the real tools."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doi2data.errors import UsageError
from doi2data.formats import (
    CSV_COLUMNS, FORMATS, checksum_line, render, to_aria2, to_checksum_list, to_csv, to_json, to_metalink,
    to_ndjson, to_urls,
)
from doi2data.formats._common import uri
from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.paths import safe_relpath

NS = {"m": "urn:ietf:params:xml:ns:metalink"}
ALL = ("md5", "sha1", "sha256", "sha512")
ARIA2 = shutil.which("aria2c")
needs_aria2 = pytest.mark.skipif(ARIA2 is None, reason="aria2c not installed")

# (repository path, checksums given, size known, number of URLs, access, expected safe local path or None)
SPECS: list[tuple[str, tuple[str, ...], bool, int, str, str | None]] = [
    ("data/a b.txt", (*ALL, "adler32"), True, 2, "open", "data/a b.txt"),
    ("données/été №1.csv", ("md5",), False, 1, "open", "données/été №1.csv"),
    ("/abs/rooted.txt", ("sha256",), True, 1, "open", "abs/rooted.txt"),
    ("../evil.txt", ("sha256", "md5"), True, 1, "open", None),
    ("CASE.txt", ("sha256", "md5"), True, 1, "open", "CASE.txt"),
    ("case.txt", ALL, True, 1, "open", "case~2.txt"),
    ("no-url.txt", ("sha256",), True, 0, "open", "no-url.txt"),
    ("no-sum.bin", (), True, 1, "open", "no-sum.bin"),
    ('comma, "quote".txt', ("md5", "sha256"), True, 1, "open", 'comma, "quote".txt'),
    ("restricted.dat", ("sha256",), True, 1, "restricted", "restricted.dat"),
    ("line\nbreak.txt", ("md5",), True, 1, "open", None),
    ("/C:/drive.txt", ("sha256",), True, 1, "open", "drive.txt"),  # rooted + drive letter: both removed
    ("sub/ünï cödé/deep name.txt", ALL, False, 3, "open", "sub/ünï cödé/deep name.txt"),
]


def content(path: str) -> bytes:
    return f"contents of {path}\n".encode()


def hexdigest(algorithm: str, data: bytes) -> str:
    if algorithm == "adler32":
        return f"{zlib.adler32(data):08x}"
    return hashlib.new(algorithm, data).hexdigest()


def url(base: str, i: int, mirror: int) -> str:
    return f"{base}/{'a b' if mirror == 0 else f'mirror{mirror}'}/é{i}.bin"  # raw IRI: space, non-ASCII


def awkward(base: str = "https://example.org/dl", *, year: int | None = 2021) -> Manifest:
    files = [
        FileEntry(path, len(content(path)) if sized else None, {a: hexdigest(a, content(path)) for a in algos},
                  tuple(url(base, i, k) for k in range(n)), access=access)  # type: ignore[arg-type]
        for i, (path, algos, sized, n, access, _) in enumerate(SPECS)
    ]
    ds = Dataset("10.1234/äbc", title="Tïtle <with> & \x01ctrl", year=year, version="v2", publisher="Zenodo",
                 license="CC-BY-4.0")
    return Manifest(ds, tuple(files))


def expected(*, need_url: bool = False, algorithm: str | None = None) -> list[tuple[int, str]]:
    """(index, local path) of the entries a format should contain, in order."""
    return [(i, local) for i, (_, algos, _, n, access, local) in enumerate(SPECS)
            if local and (not need_url or (n and access == "open")) and (algorithm is None or algorithm in algos)]


# --- registry -------------------------------------------------------------------------------

def test_registry_offers_every_format() -> None:
    assert set(FORMATS) == {"json", "ndjson", "csv", "metalink", "urls", "aria2",
                            "md5sum", "sha1sum", "sha256sum", "sha512sum"}
    m = awkward()
    for name, fmt in FORMATS.items():
        assert isinstance(fmt(m), str) and fmt(m) == render(name, m).text
        assert fmt.media_type and fmt.suffix.startswith(".")
    assert FORMATS["JSON"] is FORMATS["json"] and "json" in FORMATS and "yaml" not in FORMATS


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="choose one of: json"):
        FORMATS["yaml"]
    with pytest.raises(KeyError):
        render("yaml", awkward())
    assert FORMATS.get("yaml") is None


def test_empty_manifest_renders_everywhere() -> None:
    empty = Manifest(Dataset(None))
    for name in FORMATS:
        assert isinstance(render(name, empty).text, str)
    ET.fromstring(to_metalink(empty).encode())
    assert "empty" in " ".join(render("metalink", empty).messages)


# --- listings --------------------------------------------------------------------------------

def test_json_and_ndjson() -> None:
    m = awkward()
    text = to_json(m)
    assert json.loads(text) == m.to_json() and "données" in text and text.endswith("}\n")
    lines = to_ndjson(m).splitlines()
    assert len(lines) == len(SPECS)
    for line, f in zip(lines, m.files):
        assert json.loads(line) == {"doi": "10.1234/äbc", **f.to_json()}
    assert "\\n" in lines[10] and "été" in lines[1]  # newline escaped inside JSON, non-ASCII kept


def test_csv_rfc4180() -> None:
    m = awkward()
    text = to_csv(m)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n") and "données/été №1.csv" in text
    assert '"comma, ""quote"".txt"' in text and '"line\nbreak.txt"' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == len(SPECS) + 1
    for row, f in zip(rows[1:], m.files):
        record = dict(zip(CSV_COLUMNS, row))
        assert record["path"] == f.path and record["access"] == f.access and record["media_type"] == ""
        assert record["size"] == ("" if f.size is None else str(f.size))
        assert record["url"] == (f.urls[0] if f.urls else "")
        for algorithm in ALL:
            assert record[algorithm] == f.checksums.get(algorithm, "")


# --- metalink --------------------------------------------------------------------------------

def test_metalink_every_field() -> None:
    m = awkward()
    exported = render("metalink", m)
    root = ET.fromstring(exported.text.encode())
    assert exported.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert root.tag == "{urn:ietf:params:xml:ns:metalink}metalink"
    assert str(root.findtext("m:generator", namespaces=NS)).startswith("doi2data/")
    assert root.findtext("m:published", namespaces=NS) == "2021-01-01T00:00:00Z"
    files = root.findall("m:file", NS)
    want = expected(need_url=True)
    assert [f.get("name") for f in files] == [local for _, local in want]
    for element, (i, local) in zip(files, want):
        entry = m.files[i]
        assert element.findtext("m:identity", namespaces=NS) == "Tïtle <with> & ctrl"  # control char dropped
        assert element.findtext("m:version", namespaces=NS) == "v2"
        assert element.find("m:publisher", NS) is not None
        assert element.find("m:publisher", NS).get("name") == "Zenodo"  # type: ignore[union-attr]
        description = element.findtext("m:description", namespaces=NS) or ""
        assert "doi:10.1234/äbc" in description and ((entry.path in description) == (local != entry.path))
        assert element.findtext("m:size", namespaces=NS) == (None if entry.size is None else str(entry.size))
        hashes = {h.get("type"): h.text for h in element.findall("m:hash", NS)}
        iana = {"md5": "md5", "sha1": "sha-1", "sha256": "sha-256", "sha512": "sha-512"}
        assert hashes == {iana[a]: v for a, v in entry.checksums.items() if a in iana}  # adler32 omitted
        urls = element.findall("m:url", NS)
        assert [u.text for u in urls] == [uri(x) for x in entry.urls]
        assert [u.get("priority") for u in urls] == [str(k) for k in range(1, len(entry.urls) + 1)]
        assert all(" " not in (u.text or "") and (u.text or "").isascii() for u in urls)
    assert set(exported.skipped) == {"../evil.txt", "no-url.txt", "restricted.dat", "line\nbreak.txt"}
    assert any("renamed 'case.txt'" in x for x in exported.messages)
    assert any("no md5/sha-1/sha-256/sha-512" in x for x in exported.messages)  # no-sum.bin
    assert any("drive letter" in x and "/C:/drive.txt" in x for x in exported.messages)  # renamed, reported


def test_metalink_published_and_restricted() -> None:
    m = awkward(year=None)
    assert ET.fromstring(to_metalink(m).encode()).find("m:published", NS) is None
    cest = datetime(2024, 5, 1, 14, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    stamps: list[tuple[datetime | str, str]] = [(cest, "2024-05-01T12:00:05Z"), ("2024-05-01T12:00:05+00:00", "2024-05-01T12:00:05Z"),
              (datetime(2020, 1, 2), "2020-01-02T00:00:00Z")]
    for given_, stamp in stamps:
        root = ET.fromstring(to_metalink(m, published=given_).encode())
        assert root.findtext("m:published", namespaces=NS) == stamp
    with pytest.raises(UsageError):
        to_metalink(m, published="last tuesday")
    everything = ET.fromstring(to_metalink(m, include_restricted=True).encode())
    names = [f.get("name") for f in everything.findall("m:file", NS)]
    assert "restricted.dat" in names


@needs_aria2
def test_aria2_show_files_accepts_metalink(tmp_path: Path) -> None:
    meta = tmp_path / "set.meta4"
    meta.write_text(to_metalink(awkward()), encoding="utf-8")
    done = subprocess.run([str(ARIA2), "--no-conf", "--show-files", f"--metalink-file={meta}"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    for _, local in expected(need_url=True):
        assert local in done.stdout


# --- urls and aria2 input files --------------------------------------------------------------

def test_urls_one_per_line() -> None:
    m = awkward()
    assert to_urls(m).splitlines() == [uri(m.files[i].urls[0]) for i, _ in expected(need_url=True)]


def test_aria2_input_shape() -> None:
    m = awkward()
    lines = to_aria2(m, directory="/data/dest").splitlines()
    entries: list[list[str]] = []
    for line in lines:
        (entries[-1].append(line) if line.startswith("  ") else entries.append([line]))
    want = expected(need_url=True)
    assert len(entries) == len(want)
    for entry, (i, local) in zip(entries, want):
        f = m.files[i]
        assert entry[0].split("\t") == [uri(u) for u in f.urls]
        options = dict(x.strip().split("=", 1) for x in entry[1:])
        assert options["out"] == local and options["dir"] == "/data/dest"
        strongest = next((a for a in ("sha512", "sha256", "sha1", "md5") if a in f.checksums), None)
        if strongest is None:
            assert "checksum" not in options
        else:
            name = {"sha512": "sha-512", "sha256": "sha-256", "sha1": "sha-1", "md5": "md5"}[strongest]
            assert options["checksum"] == f"{name}={f.checksums[strongest]}"
    assert "dir=" not in to_aria2(m)
    with pytest.raises(UsageError):
        to_aria2(m, directory="x\ny")


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[str]:
    """Serve ``tmp_path/srv`` on 127.0.0.1 with every URL the awkward manifest names."""
    srv = tmp_path / "srv"
    for i, (path, *_rest) in enumerate(SPECS):
        for mirror in range(3):
            target = srv / ("a b" if mirror == 0 else f"mirror{mirror}") / f"é{i}.bin"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content(path))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(srv)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_aria2(args: list[str], dest: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    command = [ARIA2 or "aria2c", "--no-conf", "--console-log-level=error", "--summary-interval=0",
               "--file-allocation=none", "--max-tries=1", "--connect-timeout=5", "--timeout=20",
               "--auto-file-renaming=false", "-d", str(dest), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)


@needs_aria2
@pytest.mark.parametrize("kind", ["aria2", "metalink"])
def test_aria2_downloads_and_verifies(kind: str, loopback: str, tmp_path: Path) -> None:
    m = awkward(loopback)
    handoff = tmp_path / ("input.txt" if kind == "aria2" else "set.meta4")
    handoff.write_text(to_aria2(m) if kind == "aria2" else to_metalink(m), encoding="utf-8")
    dest = tmp_path / "dest"
    done = run_aria2(["-i" if kind == "aria2" else "--metalink-file", str(handoff)], dest)
    assert done.returncode == 0, done.stdout + done.stderr
    for i, local in expected(need_url=True):
        assert (dest / local).read_bytes() == content(SPECS[i][0])
    written = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    assert written == {local for _, local in expected(need_url=True)}


@needs_aria2
@pytest.mark.parametrize("kind", ["aria2", "metalink"])
def test_aria2_rejects_a_wrong_checksum(kind: str, loopback: str, tmp_path: Path) -> None:
    good = awkward(loopback).files[0]
    bad = Manifest(Dataset("10.1/x"), (FileEntry(good.path, good.size, {"sha256": "0" * 64}, good.urls),))
    handoff = tmp_path / "bad"
    handoff.write_text(to_aria2(bad) if kind == "aria2" else to_metalink(bad), encoding="utf-8")
    done = run_aria2(["-i" if kind == "aria2" else "--metalink-file", str(handoff)], tmp_path / "dest")
    assert done.returncode == 32, done.stdout + done.stderr  # 32: checksum validation failed


# --- checksum lists --------------------------------------------------------------------------

def materialise(root: Path) -> Manifest:
    m = awkward()
    for i, local in expected():
        (root / local).parent.mkdir(parents=True, exist_ok=True)
        (root / local).write_bytes(content(SPECS[i][0]))
    return m


@pytest.mark.parametrize("algorithm", ALL)
def test_gnu_check_accepts_the_list(algorithm: str, tmp_path: Path) -> None:
    tool = f"{algorithm}sum"
    m = materialise(tmp_path / "dest")
    exported = render(tool, m)
    listed = [local for _, local in expected(algorithm=algorithm)]
    assert [line.split("  ", 1)[1] for line in exported.text.splitlines()] == listed
    (tmp_path / "list").write_text(exported.text, encoding="utf-8")
    done = subprocess.run([tool, "-c", "--strict", str(tmp_path / "list")], cwd=tmp_path / "dest",
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(listed)
    left_out = {path for path, algos, *_ in SPECS} - {m.files[i].path for i, _ in expected(algorithm=algorithm)}
    assert set(exported.skipped) == left_out


def test_gnu_check_catches_a_changed_file(tmp_path: Path) -> None:
    m = materialise(tmp_path)
    (tmp_path / "list").write_text(to_checksum_list(m, "SHA-256"), encoding="utf-8")
    (tmp_path / "case~2.txt").write_bytes(b"tampered\n")
    done = subprocess.run(["sha256sum", "-c", "list"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "case~2.txt: FAILED" in done.stdout


def test_gnu_escaping_for_backslash_and_newline(tmp_path: Path) -> None:
    names = ["back\\slash.txt", "new\nline.txt", "plain.txt"]
    lines = []
    for name in names:
        (tmp_path / name).write_bytes(name.encode())
        lines.append(checksum_line(hashlib.md5(name.encode()).hexdigest(), name))
    assert lines[0].startswith("\\") and lines[1].startswith("\\") and not lines[2].startswith("\\")
    (tmp_path / "list").write_text("".join(lines), encoding="utf-8")
    done = subprocess.run(["md5sum", "-c", "--strict", "list"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and done.stdout.count(": OK") == 3, done.stdout + done.stderr


def test_checksum_list_algorithms() -> None:
    m = awkward()
    assert to_checksum_list(m, "sha256sum") == to_checksum_list(m, "SHA-256") == FORMATS["sha256sum"](m)
    with pytest.raises(UsageError):
        to_checksum_list(m, "adler32")
    broken = Manifest(Dataset(None), (FileEntry("x", 1, {"sha256": "not hex"}),))
    assert to_checksum_list(broken, "sha256") == "" and render("sha256sum", broken).skipped == ("x",)


# --- no name a server sends escapes the destination, in any format ---------------------------

names = st.lists(st.text(alphabet=st.sampled_from(list("aB/.\\: é\n~")), min_size=1, max_size=12), max_size=8)


@settings(max_examples=200, deadline=None)
@given(names)
def test_every_local_name_is_safe(paths: list[str]) -> None:
    sums = {a: "0" * n for a, n in zip(ALL, (32, 40, 64, 128))}
    m = Manifest(Dataset(None), tuple(FileEntry(p, 1, sums, ("https://h/x",)) for p in paths))
    root = ET.fromstring(to_metalink(m).encode())
    locals_ = [f.get("name") or "" for f in root.findall("m:file", NS)]
    count = len(locals_)
    locals_ += [x[len("  out="):] for x in to_aria2(m).splitlines() if x.startswith("  out=")]
    locals_ += [x.split("  ", 1)[1] for x in to_checksum_list(m, "md5").splitlines()]
    for local in locals_:
        assert safe_relpath(local) == (local, None) and ".." not in local.split("/")
    assert len({x.casefold() for x in locals_[:count]}) == count  # no two files collide
