"""``GET /search`` on the gateway (issue 14 item 4): a real uvicorn gateway in front of the sandbox's
PaN search API and DataCite ``/dois`` emulators, driven with plain HTTP as a browser or script would."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("jinja2")

from doi2data.sandbox import FakeInternet, Quirk  # noqa: E402
from doi2data.sandbox.facilities import ESRF_DOI, PSI_DOI, PSI_MULTI_DOI, PSI_V4_DOI  # noqa: E402
from doi2data.service import GatewayConfig, create_app  # noqa: E402
from doi2data.service import search as gwsearch  # noqa: E402
from doi2data.service.testing import GatewayServer  # noqa: E402
from doi2data.search import SearchQuery, search  # noqa: E402

DEMO = "10.5281/zenodo.1215979"
PAN = "federated.panosc.ess.eu"


def start(internet: FakeInternet, tmp: Path, **overrides: object) -> GatewayServer:
    settings: dict[str, object] = {"cache_url": "memory:", "allow_hosts": tuple(internet.hosts), "rate": 0,
                                   "access_log": str(tmp / "access.log")}
    settings.update(overrides)
    with internet.activated():
        return GatewayServer(create_app(GatewayConfig(**settings))).start()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def gateway(internet: FakeInternet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    server = start(internet, tmp_path_factory.mktemp("gw"))  # the default sources: PaN federated + DataCite
    yield server
    server.stop()


@pytest.fixture
def http(gateway: GatewayServer, net: FakeInternet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=60) as client:
        yield client


def library(source: str, query: SearchQuery) -> list:
    """What ``doi2data search`` finds for the same query (the CLI's engine)."""
    async def collect() -> list:
        return [hit async for hit in search(source, query)]

    return asyncio.run(collect())


def pan_requests(net: FakeInternet) -> list:
    return [r for r in net.log if r.host == PAN]


def test_text_query_json(http: httpx.Client, net: FakeInternet) -> None:
    r = http.get("/search", params={"q": "lysozyme", "facility": "PSI"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
    body = r.json()
    assert body["source"] == "panosc" and body["query"] == "lysozyme" and body["next"] is None
    assert [h["doi"] for h in body["hits"]] == [DEMO, PSI_V4_DOI]
    assert len(pan_requests(net)) == 1
    assert [h["doi"] for h in body["hits"]] == [h.doi for h in library("panosc", SearchQuery(text="lysozyme",
                                                                                            facility="PSI"))]
    first = body["hits"][0]
    assert first["url"] == f"/{DEMO}" and first["facility"] == "PSI" and first["year"] == 2018
    assert first["size"] == 4_200_000 and first["title"]


def test_parameter_query_with_units(http: httpx.Client, net: FakeInternet) -> None:
    r = http.get("/search", params={"param": "wavelength < 1.2 A"})
    assert r.status_code == 200, r.text
    assert sorted(h["doi"] for h in r.json()["hits"]) == sorted([ESRF_DOI.lower(), PSI_V4_DOI, DEMO])
    assert '"unit":"angstrom"' in httpx.URL("https://x/?" + pan_requests(net)[0].query).params["filter"]
    two = http.get("/search", params=[("param", "photon_energy > 20 keV"), ("param", "photon_energy <= 25000 eV")])
    assert sorted(h["doi"] for h in two.json()["hits"]) == sorted([PSI_DOI, PSI_MULTI_DOI])


def test_datacite_source(http: httpx.Client, net: FakeInternet) -> None:
    r = http.get("/search", params={"source": "datacite", "q": "lysozyme", "limit": "5"})
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert hits and all(h["source"] == "datacite" for h in hits)
    assert [h["doi"] for h in hits] == [h.doi for h in library("datacite", SearchQuery(text="lysozyme", limit=5))]
    sent = [r for r in net.log if r.host == "api.datacite.org" and r.path == "/dois"]
    assert sent and "resource-type-id=dataset" in sent[0].query
    refused = http.get("/search", params={"source": "datacite", "param": "wavelength < 1 A"})
    assert refused.status_code == 400 and "PaN" in refused.json()["detail"]


def test_paging_with_cursor(http: httpx.Client, net: FakeInternet) -> None:
    seen: list[str | None] = []
    url: str | None = "/search?limit=2"
    pages = 0
    while url is not None:
        body = http.get(url).json()
        assert len(body["hits"]) <= 2
        seen += [h["id"] for h in body["hits"]]
        url, pages = body["next"], pages + 1
        assert pages < 10
    assert len(seen) == 9 and len(set(seen)) == 9 and pages == 5  # the whole catalogue, once each
    skips = [json.loads(httpx.URL("https://x/?" + r.query).params["filter"])["skip"] for r in pan_requests(net)]
    assert skips == [0, 2, 4, 6, 8]
    # DataCite: numbered pages (relevance) for a text query, opaque cursors otherwise
    first = http.get("/search", params={"source": "datacite", "limit": "3"}).json()
    second = http.get(first["next"]).json()
    assert {h["doi"] for h in first["hits"]}.isdisjoint(h["doi"] for h in second["hits"]) and len(second["hits"]) == 3
    assert any("page%5Bcursor%5D=" in r.query and "page%5Bcursor%5D=1" not in r.query
               for r in net.log if r.host == "api.datacite.org")


def test_cursor_bound_to_its_query(http: httpx.Client) -> None:
    nxt = http.get("/search", params={"limit": "3"}).json()["cursor"]
    assert http.get("/search", params={"limit": "3", "cursor": nxt}).status_code == 200
    other = http.get("/search", params={"limit": "3", "q": "tomography", "cursor": nxt})
    assert other.status_code == 400 and "cursor" in other.json()["detail"]
    forged = base64.urlsafe_b64encode(json.dumps({"h": "x", "k": -5}).encode()).decode()
    assert http.get("/search", params={"cursor": forged}).status_code == 400
    assert http.get("/search", params={"cursor": "!!!not base64"}).status_code == 400


def test_bad_input_is_400_problem(http: httpx.Client, net: FakeInternet) -> None:
    cases = [{"source": "oai"}, {"source": "google"}, {"param": "wavelength < 1.2 parsecs"},
             {"param": "wavelength ~ 3"}, {"q": "x" * 1001}, {"from": "yesterday"}, {"from": "2024", "until": "2020"},
             {"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"frobnicate": "1"}, {"client": "cern.zenodo"},
             {"q": "a\x00b"}, {"format": "xml"}]
    for params in cases:
        r = http.get("/search", params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json" and r.json()["exit_code"] == 2, params
    assert not pan_requests(net)  # all refused before any upstream request


@pytest.mark.parametrize("name", ["endpoint", "oai", "url", "token"])
def test_caller_cannot_choose_the_host(http: httpx.Client, net: FakeInternet, name: str) -> None:
    r = http.get("/search", params={"q": "lysozyme", name: "https://scicat.ess.eu/panosc-api"})
    assert r.status_code == 400 and "configured" in r.json()["detail"], r.text
    assert not [x for x in net.log if x.host in (PAN, "scicat.ess.eu")]


def test_html_results_link_to_dataset_pages(http: httpx.Client) -> None:
    r = http.get("/search", params={"q": "lysozyme", "facility": "PSI"}, headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert f'<a href="/{DEMO}">{DEMO}</a>' in r.text and f'href="/{PSI_V4_DOI}"' in r.text
    assert 'value="lysozyme"' in r.text and 'value="PSI"' in r.text  # the form, filled in again
    assert "<script>" not in r.text
    paged = http.get("/search?limit=4", headers={"Accept": "text/html"}).text
    assert 'rel="next" href="/search?source=panosc&amp;limit=4&amp;cursor=' in paged
    bad = http.get("/search", params={"param": "wavelength ~ 3"}, headers={"Accept": "text/html"})
    assert bad.status_code == 400 and 'class="error"' in bad.text and "wavelength ~ 3" in bad.text
    form_only = http.get("/search", headers={"Accept": "text/html"})
    assert form_only.status_code == 200 and 'action="/search"' in form_only.text and "<table>" not in form_only.text


def test_html_escapes_what_the_catalogue_says(http: httpx.Client) -> None:
    r = http.get("/search", params={"q": "<script>alert(1)</script>"}, headers={"Accept": "text/html"})
    assert r.status_code == 200 and "<script>alert" not in r.text and "&lt;script&gt;alert(1)" in r.text


def test_start_page_has_a_search_form(http: httpx.Client) -> None:
    page = http.get("/").text
    assert '<form class="searchform" action="/search" method="get"' in page and 'name="q"' in page
    assert '<option value="panosc"' in page and '<option value="datacite"' in page
    assert 'name="doi"' in page  # the DOI box is still there


def test_upstream_failure_is_502(http: httpx.Client, net: FakeInternet) -> None:
    net.add_quirk(Quirk(host=PAN, kind="status", status=500))
    r = http.get("/search", params={"q": "tomography"})
    assert r.status_code == 502 and r.headers["content-type"] == "application/problem+json", r.text
    assert "panosc" in r.json()["detail"]


def test_slow_upstream_does_not_stall_other_requests(http: httpx.Client, gateway: GatewayServer,
                                                     net: FakeInternet) -> None:
    net.add_quirk(Quirk(host=PAN, kind="latency", seconds=3.0))
    done: dict[str, float] = {}

    def slow() -> None:
        with httpx.Client(base_url=gateway.url, trust_env=False, timeout=60) as c:
            done["status"] = c.get("/search", params={"q": "operando"}).status_code
            done["at"] = time.monotonic()

    thread = threading.Thread(target=slow)
    t0 = time.monotonic()
    thread.start()
    time.sleep(0.3)
    assert http.get("/healthz").status_code == 200 and http.get("/").status_code == 200
    fast = time.monotonic() - t0
    thread.join(30)
    assert done["status"] == 200 and fast < 2.0 and done["at"] - t0 >= 2.9


def test_timeout_and_inflight_cap(http: httpx.Client, net: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gwsearch, "SEARCH_TIMEOUT", 0.5)
    net.add_quirk(Quirk(host=PAN, kind="latency", seconds=2.0))
    r = http.get("/search", params={"q": "battery"})
    assert r.status_code == 504 and "0.5 s" in r.json()["detail"]
    monkeypatch.setattr(gwsearch, "MAX_INFLIGHT", 0)
    busy = http.get("/search", params={"q": "battery reflectometry"})
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5"


def test_answers_cached_briefly(http: httpx.Client, net: FakeInternet) -> None:
    a = http.get("/search", params={"q": "crystallography", "limit": "7"})
    b = http.get("/search", params={"q": "crystallography", "limit": "7"})
    assert a.json() == b.json() and a.headers["x-cache"] == "miss" and b.headers["x-cache"] == "hit"
    assert len(pan_requests(net)) == 1


def test_operator_sources_and_rate_limit(internet: FakeInternet, net: FakeInternet, tmp_path: Path) -> None:
    server = start(internet, tmp_path, rate=0.001, burst=2,
                   search_sources=("panosc.ess=https://scicat.ess.eu/panosc-api",))
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as c:
            r = c.get("/search")
            assert r.status_code == 200 and r.json()["source"] == "panosc.ess"
            assert [h["facility"] for h in r.json()["hits"]] == ["ESS"]
            assert c.get("/search", params={"facility": "ESS"}).status_code == 200  # the burst of 2
            limited = c.get("/search", params={"q": "x"})
            assert limited.status_code == 429 and "retry-after" in limited.headers
    finally:
        server.stop()
    with pytest.raises(ValueError, match="bad search source"):
        create_app(GatewayConfig(cache_url="memory:", search_sources=("oai=https://example.org/oai",)))


def test_openapi_documents_search(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    op = spec["paths"]["/search"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"q", "source", "facility", "technique", "param", "from", "until", "limit", "cursor"} <= names
    assert "endpoint" not in names and {"200", "400", "429", "502", "504"} <= set(op["responses"])


def test_serve_checks_search_sources_before_listening(capsys: pytest.CaptureFixture[str]) -> None:
    from doi2data.cli import main

    with pytest.raises(SystemExit) as info:
        main(["serve", "--port", "0", "--search-source", "panosc=ftp://example.org/api"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "bad --search-source" in err and len(err.strip().splitlines()) == 1
    from doi2data.commands.serve import _search_sources

    assert _search_sources(()) == GatewayConfig().search_sources and _search_sources(["none"]) == ()
    assert _search_sources(["panosc.ess=https://scicat.ess.eu/panosc-api"]) == (
        "panosc.ess=https://scicat.ess.eu/panosc-api",)


def test_switched_off(internet: FakeInternet, net: FakeInternet, tmp_path: Path) -> None:
    server = start(internet, tmp_path, search_sources=())
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as c:
            assert c.get("/search", params={"q": "x"}).status_code == 404
            assert 'class="searchform"' not in c.get("/").text
    finally:
        server.stop()


def test_hostile_hit_text_never_breaks_the_answer() -> None:
    """A catalogue's lone surrogates, markup and odd DOIs: the JSON encodes, the page escapes, no 500."""
    from doi2data.search.common import Hit
    from doi2data.service.pages import render_search

    hits = [Hit(doi="10.1234/a\ud800b", title="t\udfff <b>x</b>", source="panosc", facility="F\ud800",
                id="p\ud800", techniques=("x\ud800",), url="javascript:alert(1)"),
            Hit(doi='10.1234/"><script>', title="q", source="datacite", url="https://ok.example/l")]
    rows = [gwsearch._hit_json(h, "") for h in hits]
    json.dumps(rows, ensure_ascii=False).encode("utf-8")  # what JSONResponse does
    assert rows[0]["doi"] == "10.1234/a\ufffdb" and rows[0]["landing_url"] is None
    assert rows[1]["url"] == "/10.1234/%22%3E%3Cscript%3E" and rows[1]["landing_url"] == "https://ok.example/l"
    page = render_search("http://gw", sources=["panosc"], values={"param": []},
                         result={"source": "panosc", "query": "", "hits": rows, "next": None}, error=None)
    page.encode("utf-8")
    assert "<script>" not in page and "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_html_page_offers_json_and_the_cli_command(http: httpx.Client) -> None:
    r = http.get("/search", params={"q": "operando tomography", "param": "photon_energy > 20 keV"},
                 headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert ("doi2data search &#39;operando tomography&#39; --source panosc --param &#39;photon_energy &gt; 20 keV&#39;"
            " --format dois | doi2data get --from - data/") in r.text
    start = r.text.index('<a href="', r.text.index("This page")) + 9
    href = r.text[start:r.text.index('"', start)].replace("&amp;", "&")
    as_json = http.get(href)
    assert as_json.headers["content-type"] == "application/json" and as_json.json()["hits"], href


def test_search_in_a_real_browser(gateway: GatewayServer, net: FakeInternet) -> None:
    """Start page form -> results -> dataset page in headless Chromium, with the gateway's CSP on (no console
    errors: nothing inline was needed). Skipped without Debian chromium and Playwright."""
    import os
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian chromium is not installed")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    console: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, env=env, headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server"])
        try:
            page = browser.new_context().new_page()
            page.on("console", lambda m: console.append(m.text))
            page.goto(gateway.url + "/", wait_until="domcontentloaded")
            page.fill("#search-q", "lysozyme")
            page.click("details.searchmore summary")
            page.fill("input[name=param] >> nth=0", "wavelength < 1.2 A")
            page.press("#search-q", "Enter")
            page.wait_for_selector(".results table")
            assert page.locator(".results tbody tr").count() == 2
            page.click(".results tbody tr >> nth=0 >> a >> nth=0")
            page.wait_for_selector("#title")
            assert page.url == f"{gateway.url}/{DEMO}" and "Sandbox diffraction images" in page.inner_text("#title")
        finally:
            browser.close()
    assert console == []


def test_cache_bounded_in_bytes_and_time(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    service = gwsearch.SearchService(("panosc=https://federated.panosc.ess.eu/api",), clock=lambda: now[0])
    monkeypatch.setattr(gwsearch, "CACHE_BYTES", 10_000)
    big = {"hits": [{"title": "x" * 3000}]}
    for i in range(10):
        service._remember(f"k{i}", big)
    assert len(service._cache) == 3 and service._cached_bytes <= 10_000 and service._cached("k9") is big
    assert service._cached("k0") is None
    now[0] = gwsearch.CACHE_TTL + 1
    assert service._cached("k9") is None and service._cached_bytes == 2 * len(json.dumps(big))


def test_pan_api_ignoring_skip_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PaN API answering the same page whatever 'skip' says: the second page is a 502, not an endless 'next'."""
    page = json.dumps([{"pid": f"p{i}", "doi": f"10.1234/x{i}", "title": "t"} for i in range(2)]).encode()

    async def same(*args: object, **kwargs: object) -> tuple[bytes, str]:
        return page, "https://pan.example/api/Documents"

    monkeypatch.setattr(gwsearch, "fetch_page", same)
    sources = gwsearch.parse_sources(["panosc=https://pan.example/api"])
    first = gwsearch.parse_request([("limit", "2")], sources)
    hits, position = asyncio.run(gwsearch._panosc_page(None, first))  # type: ignore[arg-type]
    assert len(hits) == 2 and position is not None and position["k"] == 2
    cursor = gwsearch.encode_cursor(first.fingerprint(), position)
    second = gwsearch.parse_request([("limit", "2"), ("cursor", cursor)], sources)
    with pytest.raises(gwsearch.RepositoryError, match="ignores 'skip'"):
        asyncio.run(gwsearch._panosc_page(None, second))  # type: ignore[arg-type]
