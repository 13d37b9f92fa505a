"""The generic directory-listing layer: a DOI that lands on a web folder, for every server flavour.

Pure parts first (each rendered listing style recognised by structure, exact sizes only, hostile
pages bounded, sidecar checksum formats), then end to end through the fake internet: one DOI per
flavour resolved by the real resolver (doi.org + DataCite) down to the last layer, WebDAV
``PROPFIND`` before HTML, ``HEAD`` only for rounded sizes, checksums from sidecars verified by
``get``, the three limits (Python API and CLI flags) and ``--explain``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import doi2data
from doi2data.adapters._pan.autoindex import ListingLimits, parse_listing
from doi2data.adapters._pan.folders import parse_sums, sidecar_algorithm
from doi2data.adapters.webindex import listing_limits
from doi2data.errors import UnsupportedRepository
from doi2data.sandbox import FakeInternet, Quirk
from doi2data.sandbox import webfolders as wf
from doi2data.sandbox.sites.webindex import render_listing

HTML_STYLES = ["nginx", "apache", "apache-pre", "apache-plain", "lighttpd", "iis", "python", "caddy"]
FILES = [("a b.txt", 5), ("x" * 60 + ".bin", 2048), ("α.dat", 1_500_000), ("%2F..txt", 7)]
#: which listed sizes each style gives exactly (the others are rounded or absent: HEAD asks)
EXACT = {"nginx": True, "iis": True, "caddy": True, "apache": "small", "apache-pre": "small",
         "apache-plain": False, "python": False, "lighttpd": False}


# -- parsing (pure) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("style", HTML_STYLES)
def test_every_style_is_recognised_by_structure(style: Any) -> None:
    page = render_listing(style, "/p/q/", ["sub dir"], FILES, host="h.example")
    found = parse_listing(page, "https://h.example/p/q/")
    assert found.is_listing, found.why
    entries = {e.path: e for e in found.entries}
    assert set(entries) == {"sub dir", "a b.txt", "x" * 60 + ".bin", "α.dat", "%2F..txt"}
    assert entries["sub dir"].is_dir and entries["sub dir"].url == "https://h.example/p/q/sub%20dir/"
    rule = EXACT[style]
    want = {n: s for n, s in FILES if rule is True or (rule == "small" and s < 1024)}
    assert {n: entries[n].size for n in want} == want
    assert all(entries[n].size is None for n, _ in FILES if n not in want)  # rounded: never trusted


def test_recognition_needs_a_folder_that_the_page_names() -> None:
    page = render_listing("nginx", "/p/q/", [], [("a.txt", 1)])
    assert not parse_listing(page, "https://h.example/p/q").is_listing  # not a folder URL
    assert not parse_listing(page.replace("Index of /p/q/", "Welcome"), "https://h.example/p/q/").is_listing
    links = "".join(f'<a href="https://elsewhere.example/{i}">x</a>' for i in range(5))
    article = f'<html><title>Index of /p/q/</title><body><a href="a.txt">a</a>{links}</body></html>'
    assert not parse_listing(article, "https://h.example/p/q/").is_listing  # links elsewhere dominate
    assert not parse_listing("<html><title>Zenodo</title></html>", "https://h.example/p/q/").is_listing


def test_only_direct_children_with_safe_names() -> None:
    page = ('<html><title>Index of /d/</title><pre><a href="../">../</a>\n<a href="ok.txt">ok.txt</a> 3\n'
            '<a href="a%2Fb.txt">x</a> 4\n<a href="..%2F..%2Fetc">y</a> 5\n<a href="sub/deeper.txt">z</a> 6\n'
            '<a href="https://other.example/d/x">w</a> 7\n<a href="/d/?C=N;O=D">sort</a>\n'
            '<a href="%5C..%5Cwin.txt">v</a> 8\n</pre></html>')
    found = parse_listing(page, "https://h.example/d/")
    assert [e.path for e in found.entries] == ["ok.txt"] and found.entries[0].size == 3


def test_hostile_pages_are_parsed_in_bounded_time() -> None:
    base = "https://h.example/d/"
    pages = ["<a href=" * 200_000, '<a href="x' * 100_000, "<pre>" + "<a href='f'>f</a>" * 100_000,
             "<title>Index of /d/</title><pre>" + "1 " * 500_000]
    for page in pages:
        start = time.perf_counter()
        parse_listing(page, base, max_entries=1000)
        assert time.perf_counter() - start < 5, page[:30]
    many = "<title>Index of /d/</title><pre>" + "".join(f'<a href="f{i}">f</a>\n' for i in range(5000))
    assert len(parse_listing(many, base, max_entries=100).entries) == 100


def test_sidecar_names_and_formats() -> None:
    assert [sidecar_algorithm(p) for p in ("MD5SUMS", "d/SHA256SUMS", "x.bin.md5", "x.SHA1", "x.txt", "md5")] == \
        ["md5", "sha256", "md5", "sha1", None, None]
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    text = f"# comment\n{md5}  a b.txt\n{md5} *bin.dat\nMD5 (bsd name.txt) = {md5}\nnot-hex  x\n{md5[:-1]}  short\n"
    found, problems = parse_sums(text, "md5")
    assert found == {"a b.txt": md5, "bin.dat": md5, "bsd name.txt": md5} and len(problems) == 2
    assert parse_sums(md5.upper() + "\n", "md5", single="f.bin")[0] == {"f.bin": md5}


def test_limits_are_validated() -> None:
    assert ListingLimits().max_depth >= 8 and ListingLimits().max_entries >= 100_000
    with pytest.raises(ValueError):
        ListingLimits(max_pages=0)


# -- end to end through the real resolver --------------------------------------------------------------

def _expected(net: FakeInternet) -> dict[str, int]:
    return {f.key: f.size for f in (*wf.DATA, *wf.sidecars(net.world))}


@pytest.mark.parametrize("flavour", wf.FLAVOURS)
def test_each_flavour_doi_is_listed_by_the_last_layer(net: FakeInternet, flavour: str) -> None:
    manifest = doi2data.resolve(wf.doi(flavour))
    assert manifest.discovery is not None and manifest.discovery.layer == "directory-listing"
    assert manifest.discovery.adapter == "webindex"
    assert {f.path: f.size for f in manifest.files} == _expected(net)
    sums = {f.path: dict(f.checksums) for f in manifest.files}
    world, data = net.world, {f.key: f for f in wf.DATA}
    assert sums["README.txt"] == {"md5": world.digest(data["README.txt"], "md5")}
    assert sums["data/big.bin"] == {"md5": world.digest(data["data/big.bin"], "md5")}  # MD5SUMS one folder up
    assert sums["data/2020/temps.csv"] == {"sha256": world.digest(data["data/2020/temps.csv"], "sha256"),
                                           "sha1": world.digest(data["data/2020/temps.csv"], "sha1")}
    assert sums["data/2019/temps.csv"] == {"sha256": world.digest(data["data/2019/temps.csv"], "sha256")}
    assert any("odd names/α β.txt" in w and "checked by size only" in w for w in manifest.warnings)
    assert manifest.dataset.title.startswith("Run 42") and manifest.dataset.doi == wf.doi(flavour)
    log = [r for r in net.log if r.host == wf.host(flavour)]
    assert all(r.path.startswith(wf.ROOT) or r.path.startswith("/api/") or r.path == wf.ROOT.rstrip("/")
               for r in log)  # never above the landing folder
    heads = [r for r in log if r.method == "HEAD"]
    rounded = {"nginx": 0, "iis": 0, "caddy": 0, "webdav": 0}.get(flavour)
    if rounded is not None:
        assert heads == []  # exact sizes in the listing: no HEAD at all
    else:
        assert heads and all(not r.path.endswith("/") for r in heads)


def test_webdav_propfind_comes_first_and_html_servers_cost_one_refusal(net: FakeInternet) -> None:
    doi2data.resolve(wf.doi("webdav"))
    dav = [r for r in net.log if r.host == wf.host("webdav")]
    propfinds = [r for r in dav if r.method == "PROPFIND"]
    assert len(propfinds) == 5 and all(r.headers.get("depth") == "1" for r in propfinds)  # one per folder
    assert not [r for r in dav if r.method == "GET" and r.path.endswith("/") and r.path != wf.ROOT]
    net.clear_log()
    doi2data.resolve(wf.doi("nginx"))
    html = [r for r in net.log if r.host == wf.host("nginx")]
    assert [r.path for r in html if r.method == "PROPFIND"] == [wf.ROOT]  # refused (405) once, then HTML
    assert sorted(r.path for r in html if r.method == "GET" and r.path.endswith("/")) == [
        wf.ROOT, wf.ROOT + "data/", wf.ROOT + "data/2019/", wf.ROOT + "data/2020/", wf.ROOT + "odd names/"]


def test_head_refused_leaves_sizes_unknown_and_says_so(net: FakeInternet) -> None:
    net.add_quirk(Quirk(host=wf.host("python"), method="HEAD", kind="status", status=405))
    manifest = doi2data.resolve(wf.doi("python"))
    assert all(f.size is None for f in manifest.files)
    assert any("size(s) unknown" in w and "HEAD did not say" in w for w in manifest.warnings)


def test_limits_stop_the_crawl_and_say_so(net: FakeInternet) -> None:
    with listing_limits(max_depth=0):
        top = doi2data.resolve(wf.doi("nginx"))
    assert {f.path for f in top.files} == {"MD5SUMS", "README.txt"}
    assert any("deeper than --max-depth 0" in w for w in top.warnings)
    with listing_limits(max_entries=3):
        few = doi2data.resolve(wf.doi("apache"))
    assert len(few.files) <= 3 and any("stopped at 3 entries (--max-entries)" in w for w in few.warnings)
    with listing_limits(max_pages=2):
        two = doi2data.resolve(wf.doi("lighttpd"))
    assert any("--max-pages 2" in w for w in two.warnings)
    pages = [r for r in net.log if r.host == wf.host("lighttpd") and r.method == "GET" and r.path.endswith("/")]
    assert len(pages) <= 2
    assert len(doi2data.resolve(wf.doi("nginx")).files) == len(_expected(net))  # defaults back after the block
    shallow = doi2data.resolve(wf.doi("caddy"), listing=ListingLimits(max_depth=1))  # the Python API's keyword
    assert {f.path for f in shallow.files} == {"MD5SUMS", "README.txt", "data/big.bin", "data/SHA256SUMS",
                                               "odd names/α β.txt"}


@pytest.mark.parametrize("flavour", ["iis", "caddy", "webdav"])
def test_typed_folder_urls_of_the_new_flavours(net: FakeInternet, flavour: str) -> None:
    manifest = doi2data.resolve(f"https://{wf.host(flavour)}{wf.ROOT}")  # webdav: GET is 403, PROPFIND lists
    assert {f.path: f.size for f in manifest.files} == _expected(net)
    assert all(f.checksums for f in manifest.files if f.path == "README.txt")


def test_not_a_listing_is_still_unsupported(net: FakeInternet) -> None:
    with pytest.raises(UnsupportedRepository) as info:
        doi2data.resolve("10.99999/unsupported.1")
    assert "directory-listing: the landing page is not a directory listing" in str(info.value)


def test_cli_flags_explain_and_verified_get(cli, net: FakeInternet,  # type: ignore[no-untyped-def]
                                            tmp_path: Path) -> None:
    run = cli("ls", wf.doi("iis"), "--explain", "--max-depth", "1", "--max-entries", "50")
    assert run.code == 0, run.err
    assert "matched layer directory-listing (adapter webindex): HTML directory index" in run.err
    assert "README.txt" in run.out and "temps.csv" not in run.out  # data/2019/ is depth 2
    assert "deeper than --max-depth 1" in run.err or "deeper than --max-depth 1" in run.out
    run = cli("ls", wf.doi("webdav"), "--max-pages", "0")
    assert run.code == 2  # a usage error, before any request
    run = cli("get", wf.doi("apache"), "out", "-q")
    assert run.code == 0, run.err
    got = {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes() for p in (tmp_path / "out").rglob("*")
           if p.is_file() and ".doi2data" not in p.parts}
    world = net.world
    assert got == {k: world.read(v) for k, v in wf.tree(world).items() for k in [k.removeprefix(wf.ROOT)]}
    whole = cli("verify", wf.doi("apache"), "out")
    shallow = cli("verify", wf.doi("apache"), "out", "--max-depth", "1")  # the same limits as the get it checks
    assert whole.code == shallow.code == 0, whole.err + shallow.err
    counted = [int(run.err.rsplit(" of ", 1)[1].split()[0]) for run in (whole, shallow)]
    assert counted == [len(got), 5], counted


def test_listing_pages_are_read_within_a_byte_limit(net: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> None:
    from doi2data.adapters._pan import autoindex, dav

    monkeypatch.setattr(autoindex, "LISTING_BODY_LIMIT", 300)
    monkeypatch.setattr(dav, "LISTING_BODY_LIMIT", 300)
    manifest = doi2data.resolve(wf.doi("apache"))  # the landing page itself was read (4 MiB cap) and reused
    assert {f.path for f in manifest.files} == {"MD5SUMS", "README.txt"}
    refused = [w for w in manifest.warnings if "could not be listed" in w]
    assert len(refused) == 2 and all("larger than 300 bytes" in w for w in refused), refused
