"""Fuzzing the gateway (issue 16, item 16): query parameters, identifiers, ``where``, globs and
slices, drawn by hypothesis and sent to the real server in front of the sandbox.

Every answer must be below 500 (a 4xx is ``application/problem+json``), arrive within
``PER_REQUEST`` seconds, never be a dropped connection, and raise the process's peak RSS by at
most ``PER_REQUEST_RSS``. Bodies are read up to 256 KiB (an archive of 4 GiB is not the point).
The example counts keep the whole file under a minute on a busy 2-core machine; raise them with
``DOI2DATA_FUZZ_EXAMPLES`` for a longer hunt.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("jinja2")

from doi2data.errors import UsageError  # noqa: E402
from doi2data.sandbox import FakeInternet  # noqa: E402
from doi2data.select import FileFilter  # noqa: E402
from doi2data.service import GatewayConfig, create_app  # noqa: E402
from doi2data.service.testing import GatewayServer  # noqa: E402
from doi2data.subset.where import parse_where  # noqa: E402

DOI, ZIPS, H5, CBF = "10.5281/zenodo.1215979", "10.5281/zenodo.7000400", "10.5281/zenodo.7000500", "10.5281/zenodo.154704"
PER_REQUEST = 5.0  # seconds
PER_REQUEST_RSS = 64 << 20  # bytes of peak-RSS growth one request may cause
READ_AT_MOST = 256 << 10
SCALE = float(os.environ.get("DOI2DATA_FUZZ_EXAMPLES", "1"))


def examples(n: int) -> Any:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@pytest.fixture(scope="module")
def gateway(internet: FakeInternet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    settings_: dict[str, Any] = {"cache_url": "memory:", "allow_hosts": tuple(internet.hosts), "rate": 0,
                                 "access_log": str(tmp / "access.log"), "origin_rates": ("zenodo.org=0",)}
    with internet.activated():
        server = GatewayServer(create_app(GatewayConfig(**settings_))).start()  # type: ignore[arg-type]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(gateway: GatewayServer, internet: FakeInternet) -> Iterator[httpx.Client]:
    with internet.activated(), httpx.Client(base_url=gateway.url, trust_env=False, timeout=PER_REQUEST * 4) as client:
        for ident in (DOI, ZIPS, H5, CBF):  # manifests cached: the examples time the gateway, not the first resolve
            client.get(f"/{ident}", params={"format": "json"})
        client.get(f"/{CBF}", params={"file": "images/lyso_1_000[1-3].cbf", "where": "omega > 0"})
        yield client


def check(http: httpx.Client, path: str, params: Any = None, headers: dict[str, str] | None = None) -> int:
    """One request under the rules above; returns its status."""
    rss, began = peak_rss(), time.perf_counter()
    try:
        with http.stream("GET", path, params=params, headers=headers) as r:
            body = b""
            for chunk in r.iter_raw():
                body += chunk
                if len(body) >= READ_AT_MOST:
                    break
    except httpx.RemoteProtocolError as exc:
        raise AssertionError(f"dropped connection for {path} {params!r}: {exc}") from exc
    elapsed = time.perf_counter() - began
    what = f"{path} {params!r} -> {r.status_code} {body[:300]!r}"
    assert r.status_code < 500, what
    if 400 <= r.status_code < 500:
        assert r.headers.get("content-type", "").startswith(("application/problem+json", "text/html")), what
    assert elapsed < PER_REQUEST, f"{elapsed:.1f} s: {what}"
    assert peak_rss() - rss < PER_REQUEST_RSS, f"{(peak_rss() - rss) >> 20} MiB more RSS: {what}"
    return r.status_code


# -- strategies ---------------------------------------------------------------------------------------

HOSTILE = ["*" * 26 + "Z", "*" * 1025, "*a" * 300 + "b", "**/" * 200, "[!]x", "[", "[z-a]", "\r\n", "\x00", "..",
           "../../etc/passwd", "/", "//", "?" * 500, "-" * 1990 + "omega < 1", "(" * 100 + "omega" + ")" * 100,
           "not " * 100 + "omega < 1", "omega like '" + "*" * 300 + "x'", "1e999", "nan", "é\u2028日本", "\ud7ff",
           "0:" * 300, "::" * 50, ",".join(["0"] * 64), "-1:-99999999999999999999", "9" * 400, "%00", "%0d%0a"]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40) | st.sampled_from(HOSTILE)
GLOB = st.text(alphabet="*?[]!^/ab.-\\", min_size=1, max_size=24) | st.sampled_from(HOSTILE) | TEXT
KEYS = ["file", "include", "exclude", "archive", "format", "mode", "extract", "list", "dataset", "slice", "where",
        "_", "bogus"]
VALUES = {"archive": st.sampled_from(["zip", "tar", "ZIP", "rar", ""]) | TEXT,
          "format": st.sampled_from(["json", "html", "metalink", "linkset", "linkset-text", "csv", "npy", "h5", ""])
          | TEXT,
          "mode": st.sampled_from(["stream", "redirect", ""]) | TEXT,
          "list": st.sampled_from(["members", ""]) | TEXT,
          "file": st.sampled_from(["README.json", "*.cbf", "frames.zip", "frames.tar", "scan.h5", "*"]) | GLOB,
          "include": GLOB, "exclude": GLOB}
PARAMS = st.lists(st.sampled_from(KEYS).flatmap(lambda k: st.tuples(st.just(k), VALUES.get(k, TEXT))), max_size=5)
WHERE_TOKENS = ["omega", "chi", "phi", "frame", "file", "nosuch", "-", "(", ")", "and", "or", "not", "in", "like",
                "==", "=", "!=", "<", "<=", ">", ">=", ",", "1", "90.5", "2e3", "1e999", "'x*'", "'", '"a"', "."]
WHERE = st.lists(st.sampled_from(WHERE_TOKENS), min_size=1, max_size=30).map(" ".join) | TEXT
SLICE = (st.lists(st.one_of(st.integers(-10**20, 10**20).map(str), st.just(":"), st.just("::2"), st.just("..."),
                            st.builds(lambda a, b, c: f"{a}:{b}:{c}", st.integers(-300, 300), st.integers(-300, 300),
                                      st.integers(-5, 5))), max_size=5).map(",".join) | TEXT)


# -- through the gateway ----------------------------------------------------------------------------------

ACCEPT = st.none() | st.sampled_from(["text/html", "application/json", "*/*", "application/metalink4+xml",
                                      "application/linkset+json", "image/png", "text/html;q=0, */*;q=0.1"]) \
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), min_size=1, max_size=40).map(str.strip)


@examples(120)
@given(ident=st.sampled_from([DOI, ZIPS, H5]), params=PARAMS, accept=ACCEPT)
def test_query_parameters(http: httpx.Client, ident: str, params: list[tuple[str, str]], accept: str | None) -> None:
    check(http, f"/{ident}", params, headers={"Accept": accept} if accept else None)


@examples(60)
@given(raw=TEXT | st.builds(lambda a, b: f"10.{a}/{b}", st.integers(0, 10**6), TEXT)
       | st.builds(lambda b: f"hdl:{b}", TEXT) | st.builds(lambda b: f"doi:{DOI}{b}", TEXT))
@example(raw="\n0")  # no route matched: Starlette's plain-text 404
def test_identifiers(http: httpx.Client, raw: str) -> None:
    if not raw.strip("/") or raw.startswith("/"):
        return  # the home page, or a path httpx would read as a host
    check(http, "/" + quote(raw, safe="/:"))


@examples(60)
@given(expr=WHERE, archive=st.sampled_from([None, "zip", "tar"]))
@example(expr="-" * 1990 + "omega < 1", archive=None)  # was a RecursionError (500)
def test_where(http: httpx.Client, expr: str, archive: str | None) -> None:
    params = {"file": "images/lyso_1_000[1-3].cbf", "where": expr, **({"archive": archive} if archive else {})}
    check(http, f"/{CBF}", params)


@examples(60)
@given(include=st.lists(GLOB, max_size=3), exclude=st.lists(GLOB, max_size=2), file=st.lists(GLOB, max_size=2),
       archive=st.sampled_from([None, "zip"]))
@example(include=["*" * 26 + "Z"], exclude=[], file=[], archive=None)  # took 27 s
@example(include=["*a" * 12 + "Z"], exclude=["*" * 1025], file=[], archive="zip")
def test_globs(http: httpx.Client, include: list[str], exclude: list[str], file: list[str], archive: str | None) -> None:
    params = [("include", p) for p in include] + [("exclude", p) for p in exclude] + [("file", p) for p in file]
    check(http, f"/{DOI}", params + ([("archive", archive)] if archive else []))


@examples(50)
@given(dataset=st.sampled_from(["/entry/data/data", "/entry/data", "/", "/nope"]) | TEXT, slice_=SLICE,
       fmt=st.sampled_from([None, "npy", "json", "h5", "csv"]))
@example(dataset="\x00", slice_="", fmt=None)  # libhdf5 refused the name: a 500
@example(dataset="a" + " " * 2000 + "x]", slice_="0", fmt=None)  # a backtracking regex: 14 s
def test_slices(http: httpx.Client, dataset: str, slice_: str, fmt: str | None) -> None:
    pytest.importorskip("h5py")
    params = {"file": "scan.h5", "dataset": dataset, "slice": slice_, **({"format": fmt} if fmt else {})}
    check(http, f"/{H5}", params)


@examples(30)
@given(member=TEXT | st.sampled_from(["frames/", "frame_0001.cbf", "a/../b"]), file=st.sampled_from(
    ["frames.zip", "frames.tar", "frames.tar.gz"]), listing=st.booleans())
def test_archive_members(http: httpx.Client, member: str, file: str, listing: bool) -> None:
    check(http, f"/{ZIPS}", {"file": file, "list": "members"} if listing else {"file": file, "extract": member})


# -- the same inputs without a server (many more, in-process) ------------------------------------------------

PATHS = st.lists(st.text(alphabet="ab/.-é\n*", max_size=60) | st.sampled_from(["a" * 4000, "a/" * 2000]),
                 min_size=1, max_size=8)


@examples(400)
@given(include=st.lists(GLOB, max_size=3), exclude=st.lists(GLOB, max_size=3), regex=st.lists(TEXT, max_size=2),
       paths=PATHS)
def test_filters_either_refuse_or_finish_quickly(include: list[str], exclude: list[str], regex: list[str],
                                                  paths: list[str]) -> None:
    try:
        chooser = FileFilter.of(include, exclude, regex=regex)
    except UsageError:
        return
    began = time.perf_counter()
    for path in paths:
        assert isinstance(chooser.keeps(path, len(path)), bool)
    assert time.perf_counter() - began < 1.0


ROWS = st.dictionaries(st.sampled_from(["omega", "chi", "phi", "frame", "file"]),
                       st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20), max_size=5)


@examples(400)
@given(expr=WHERE, rows=st.lists(ROWS, max_size=4))
def test_where_either_refuses_or_evaluates(expr: str, rows: list[dict[str, Any]]) -> None:
    try:
        where = parse_where(expr, names={"omega", "chi", "phi", "frame", "file"})
    except UsageError:
        return
    for row in rows:
        assert isinstance(where(row), bool)


# -- manifests as a hostile repository could write them -------------------------------------------------------

REGISTERED: dict[str, Any] = {}


@pytest.fixture(scope="module")
def hostile_http() -> Iterator[httpx.Client]:
    """A gateway whose resolver serves the manifests the examples register (no origin behind them)."""
    from doi2data.identifiers import Identifier

    async def resolve(ident: Identifier) -> Any:
        return REGISTERED[ident.value.lower()]

    server = GatewayServer(create_app(GatewayConfig(cache_url="memory:", rate=0, access_log=None),
                                      resolve=resolve)).start()  # type: ignore[arg-type]
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=PER_REQUEST * 4) as client:
            yield client
    finally:
        server.stop()


ANY_TEXT = st.text(st.characters(), max_size=30)  # lone surrogates and controls included
URL = st.sampled_from(["https://o.example/f", "http://127.0.0.1/x", "javascript:alert(1)", "ftp://h/x", "//h/x",
                       "https://o.example/a b\r\n", "https://[::1]/x", "https://o.example:99999/x", ""]) | ANY_TEXT
ENTRY = st.builds(lambda path, size, md5, urls: (path, size, md5, urls), ANY_TEXT,
                  st.none() | st.integers(-5, 10**15), st.none() | ANY_TEXT, st.lists(URL, max_size=2))


@examples(40)
@given(title=ANY_TEXT, entries=st.lists(ENTRY, max_size=6), fmt=st.sampled_from(
    [None, "json", "html", "metalink", "linkset", "linkset-text", "csv", "aria2", "sha256sum", "rocrate"]),
       params=st.sampled_from([{}, {"include": "*"}, {"file": "*"}, {"file": "*", "mode": "stream"},
                               {"file": "*", "mode": "redirect"}, {"archive": "zip"}, {"archive": "tar"}]))
def test_hostile_manifests(hostile_http: httpx.Client, title: str, entries: list[tuple[Any, ...]], fmt: str | None,
                           params: dict[str, str]) -> None:
    from doi2data.model import Dataset, FileEntry, Manifest

    doi = f"10.9999/fuzz{len(REGISTERED)}"
    files = tuple(FileEntry(path or "x", size if size is None or size >= 0 else None,
                            {"md5": md5} if md5 is not None else {}, tuple(urls)) for path, size, md5, urls in entries)
    REGISTERED[doi] = Manifest(Dataset(doi, title=title, year=2024), files)
    check(hostile_http, f"/{doi}", {**params, **({"format": fmt} if fmt else {})})
