"""``doi2data search`` parsers, filters and units: pure functions, no network (issue 14 items 1, 6)."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import httpx
import pytest

from conftest import shared_dir
from doi2data.errors import RecordNotFound, RepositoryError, UsageError
from doi2data.http import Http
from doi2data.sandbox.datasets import default_world
from doi2data.sandbox.sites import oai as oai_site
from doi2data.sandbox.sites import pansearch
from doi2data.search import datacite, oai, panosc
from doi2data.search.common import SearchQuery, normalize_doi, parse_date, parse_param, parse_xml
from doi2data.search.units import convert, unit


# -- filters and units ------------------------------------------------------------------------------
def test_param_filter_grammar_and_units() -> None:
    p = parse_param("wavelength < 1.2 A")
    assert (p.name, p.op, p.value, p.unit.symbol, p.unit.pan) == ("wavelength", "lt", 1.2, "A", "angstrom")
    assert parse_param("sample_temperature>=80K").op == "gte"
    assert parse_param("energy<5eV").unit.symbol == "eV"          # 5eV is not an exponent
    assert parse_param("energy < 1e3 eV").value == 1000.0
    assert parse_param("t <= -20 °C").unit.symbol == "degC"
    assert parse_param("e > 2 MeV").unit.symbol == "MeV" and parse_param("e > 2 meV").unit.symbol == "meV"
    assert convert(0.1, unit("nm"), unit("A")) == pytest.approx(1.0)
    assert convert(25, unit("C"), unit("K")) == pytest.approx(298.15)
    assert convert(8.98, unit("keV"), unit("eV")) == pytest.approx(8980)


def test_param_filter_compares_across_units() -> None:
    p = parse_param("wavelength < 1.2 A")
    assert p.matches(0.1, "nm") is True           # 1.0 A
    assert p.matches(1.5406, "angstrom") is False
    assert p.matches(1.0, None) is None           # cannot tell without a unit
    assert p.matches(3, "K") is None              # another dimension: not ours to judge
    assert parse_param("sample_temperature > 20 C").matches(300, "K") is True


@pytest.mark.parametrize("expr, needle", [
    ("wavelength < 1.2 furlong", "unknown unit"), ("< 3", "parameter name"), ("wavelength 3", "expected one of"),
    ("wavelength < abc", "not a number"), ("wavelength < inf A", "not a number"), ("", "bad parameter"),
    ("x" * 300 + " < 1", "bad parameter"), ("wavelength < 1.2 A A", "unknown unit"),
])
def test_bad_param_filters_are_usage_errors(expr: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        parse_param(expr)


def test_dates_and_dois() -> None:
    assert parse_date("2020", "--from") == "2020" and parse_date("2020-02-29", "--from") == "2020-02-29"
    assert parse_date("2024-01-01T10:00:00Z", "--from") == "2024-01-01T10:00:00Z"
    for bad in ("2021-02-29", "20", "yesterday", "2024-01-01T10:00"):
        with pytest.raises(UsageError):
            parse_date(bad, "--from")
    assert normalize_doi("https://doi.org/10.15151/ESRF-DC-1") == "10.15151/esrf-dc-1"
    assert normalize_doi("doi:10.5281/zenodo.1") == "10.5281/zenodo.1"
    assert normalize_doi(" ") is None and normalize_doi("186715647") is None and normalize_doi(None) is None


# -- safe XML -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>',
    b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "https://attacker.example/x">]><r>&x;</r>',
])
def test_xml_with_a_dtd_is_refused(doc: bytes) -> None:
    with pytest.raises(RepositoryError, match="DTD"):
        parse_xml(doc, "test")


def test_xml_junk_and_deep_nesting_are_one_line_errors() -> None:
    with pytest.raises(RepositoryError, match="not well-formed"):
        parse_xml(b"<a><b></a>", "test")
    deep = b"<a>" * 200_000 + b"</a>" * 200_000
    assert parse_xml(deep, "test").tag == "a"  # no recursion anywhere: parsed and dropped


# -- OAI-PMH ------------------------------------------------------------------------------------------
def _oai(inner: str) -> bytes:
    return (f'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>x'
            f'</responseDate><request>https://p.example/oai</request>{inner}</OAI-PMH>').encode()


@pytest.mark.parametrize("code, cls", [("badArgument", UsageError), ("cannotDisseminateFormat", UsageError),
                                       ("noSetHierarchy", UsageError), ("idDoesNotExist", RecordNotFound),
                                       ("badResumptionToken", RepositoryError), ("badVerb", RepositoryError)])
def test_oai_error_codes_map_to_the_error_table(code: str, cls: type[Exception]) -> None:
    with pytest.raises(cls, match=code):
        oai.parse_response(_oai(f'<error code="{code}">why</error>'), "ListRecords")


def test_oai_no_records_match_is_an_empty_result() -> None:
    with pytest.raises(oai.NoRecords):
        oai.parse_response(_oai('<error code="noRecordsMatch">empty</error>'), "ListRecords")


def test_oai_not_oai_xml() -> None:
    with pytest.raises(RepositoryError, match="did not answer OAI-PMH"):
        oai.parse_response(b"<rss><channel/></rss>", "ListRecords")


def test_oai_records_deleted_datacite_and_dc() -> None:
    page = oai.parse_records(oai.parse_response(_oai(
        '<ListRecords>'
        '<record><header status="deleted"><identifier>oai:x:1</identifier><datestamp>2024-05-01</datestamp>'
        '</header></record>'
        '<record><header><identifier>oai:x:2</identifier><datestamp>2024-05-02</datestamp><setSpec>psi</setSpec>'
        '</header><metadata><oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"><datacentreSymbol>PSI.DATA'
        '</datacentreSymbol><payload><resource xmlns="http://datacite.org/schema/kernel-4"><identifier '
        'identifierType="DOI">10.16907/ABC</identifier><titles><title>Lysozyme\x09 at  100 K</title></titles>'
        '<publisher>Paul Scherrer Institute</publisher><publicationYear>2025</publicationYear><sizes><size>12 files'
        '</size><size>1.5 GB</size></sizes><subjects><subject>crystallography</subject></subjects></resource>'
        '</payload></oai_datacite></metadata></record>'
        '<record><header><identifier>oai:x:3</identifier><datestamp>2024-05-03</datestamp></header><metadata>'
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:title>XRR curves</dc:title><dc:publisher>DESY</dc:publisher><dc:date>2024-01-25</dc:date>'
        '<dc:identifier>https://doi.org/10.3204/DESY-PD-2024-00017</dc:identifier></oai_dc:dc></metadata></record>'
        '<resumptionToken completeListSize="120" cursor="0">tok1</resumptionToken></ListRecords>'), "ListRecords"))
    assert [r.deleted for r in page.records] == [True, False, False]
    hit = page.records[1].hit
    assert hit is not None and (hit.doi, hit.title, hit.facility, hit.year, hit.size) == (
        "10.16907/abc", "Lysozyme at 100 K", "Paul Scherrer Institute", 2025, 1_500_000_000)
    dc = page.records[2].hit
    assert dc is not None and (dc.doi, dc.facility, dc.year) == ("10.3204/desy-pd-2024-00017", "DESY", 2024)
    assert (page.token, page.complete_size) == ("tok1", 120)


# -- DataCite -----------------------------------------------------------------------------------------
def test_datacite_params_map_the_filters() -> None:
    q = SearchQuery(text="operando tomography", facility='Paul "Scherrer"', provider="psi", date_from="2020",
                    limit=20)
    params = datacite.build_params(q, page_size=20)
    assert params["query"] == '(operando tomography) AND publisher:"Paul \\"Scherrer\\"" AND publicationYear:[2020 TO *]'
    assert params["provider-id"] == "psi" and params["resource-type-id"] == "dataset"
    assert params["page[number]"] == "1" and params["sort"] == "relevance"      # relevance needs page numbers
    assert datacite.build_params(SearchQuery(limit=None), page_size=1000)["page[cursor]"] == "1"  # a harvest
    with pytest.raises(UsageError, match="--source panosc"):
        datacite.build_params(SearchQuery(params=[parse_param("wavelength < 1 A")]), page_size=10)


def test_datacite_recorded_list_page() -> None:
    path = shared_dir() / "fixtures/recorded/datacite/dois-list-page-size-5-2020.json"
    if not path.exists():
        pytest.skip("recorded fixtures not present")
    hits, nxt, total = datacite.parse_page(json.loads(path.read_text()))
    assert len(hits) == 5 and total == 18666188
    assert hits[0].doi == "10.5281/zenodo.3596961" and hits[0].facility == "Zenodo" and hits[0].year == 2020
    assert nxt == "https://api.datacite.org/dois?page%5Bnumber%5D=2&page%5Bsize%5D=5"


def test_datacite_junk_answers() -> None:
    with pytest.raises(RepositoryError, match="data list"):
        datacite.parse_page({"errors": []})
    hits, nxt, _ = datacite.parse_page({"data": [None, {"attributes": {"doi": "10.1/x", "publisher": {"name": "P"},
                                                                       "titles": "bad", "sizes": ["x" * 1000]}}]})
    assert [(h.doi, h.facility, h.size) for h in hits] == [("10.1/x", "P", None)] and nxt is None


# -- PaN search ---------------------------------------------------------------------------------------
def test_panosc_filter_uses_mathjs_units_and_scopes() -> None:
    q = SearchQuery(text="lysozyme", facility="PSI", technique="macromolecular crystallography",
                    params=[parse_param("wavelength < 1.2 A")], date_from="2018")
    flt = panosc.build_filter(q, skip=100, limit=50)
    scope = flt["include"][0]["scope"]
    assert flt["query"] == "lysozyme" and (flt["skip"], flt["limit"]) == (100, 50)
    assert {"relation": "parameters", "scope": {"where": {"and": [
        {"name": "wavelength"}, {"value": {"lt": 1.2}}, {"unit": "angstrom"}]}}} in scope["include"]
    assert {"relation": "instrument", "scope": {"where": {"facility": "PSI"}}} in scope["include"]
    assert scope["where"] == {"creationDate": {"gte": "2018-01-01T00:00:00.000Z"}}


def test_panosc_documents_are_checked_again_on_what_came_back() -> None:
    """A server that ignores include scopes (plain LoopBack) still gives only matching documents."""
    docs = pansearch.catalogue(default_world())  # every document, every dataset: nothing filtered
    q = SearchQuery(params=[parse_param("wavelength < 1.2 A")])
    hits = panosc.parse_documents(docs, q)
    assert sorted(h.doi for h in hits) == ["10.15151/esrf-dc-818569841",
                                           "10.16907/0f4e5d6c-7b8a-4999-8aaa-bbbbccccdddd", "10.5281/zenodo.1215979"]
    with pytest.raises(RepositoryError, match="list of Documents"):
        panosc.parse_documents({"error": {}}, q)


def test_panosc_hit_fields() -> None:
    docs = pansearch.catalogue(default_world())
    hits = {h.id: h for h in panosc.parse_documents(docs, SearchQuery())}
    multi = next(h for h in hits.values() if h.title.startswith("Operando tomography"))
    assert (multi.facility, multi.year, multi.size, multi.techniques) == ("PSI", 2022, 6_000_000, ("x-ray tomography",))
    proposal = hits["186715647"]
    assert proposal.doi is None and proposal.year == 2023


# -- bounded memory -------------------------------------------------------------------------------------
def test_oai_harvest_memory_does_not_grow_with_records() -> None:
    """Pages are parsed and dropped: memory held after page 20 is what it was after page 2."""
    provider = oai_site.Provider(default_world(), bulk=10_000, bulk_page=500)

    def handler(request: httpx.Request) -> httpx.Response:
        args = dict(request.url.params)
        try:
            doc = oai_site._document(args, provider.answer(args), args["verb"])
        except oai_site.OaiError as exc:
            doc = oai_site._document({}, f'<error code="{exc.code}">{exc.message}</error>', None)
        return httpx.Response(200, content=doc.encode(), headers={"content-type": "text/xml"})

    held: dict[int, int] = {}

    def on_page(pages: int, hits: int, total: int | None) -> None:
        held[pages] = tracemalloc.get_traced_memory()[0]

    async def harvest() -> int:
        count = 0
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            async for _ in oai.iter_hits(Http(client), SearchQuery(limit=None, oai_set="bulk"),
                                         base="https://oai.pan-data.example/oai", on_page=on_page):
                count += 1
        return count

    tracemalloc.start()
    try:
        count = asyncio.run(harvest())
    finally:
        tracemalloc.stop()
    assert count == 10_000 - 10_000 // 97 and len(held) == 20
    assert held[20] - held[2] < 1_000_000, held  # 9,000 retained hits would be ~6 MB


def _mock_http(handler) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def test_pan_server_ignoring_skip_is_stopped_not_looped() -> None:
    docs = pansearch.catalogue(default_world())[:2]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=docs)  # whatever skip says

    async def run() -> list:
        got = []
        async with _mock_http(handler) as client:
            async for hit in panosc.iter_hits(Http(client), SearchQuery(limit=None), endpoint="https://pan.example/api"):
                got.append(hit)
        return got

    monkey = pytest.MonkeyPatch()
    monkey.setattr(panosc, "PAGE_SIZE", 2)
    try:
        with pytest.raises(RepositoryError, match="same page again"):
            asyncio.run(run())
    finally:
        monkey.undo()
    assert len(calls) == 2


def test_a_refused_query_is_a_usage_error_with_the_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errors": [{"status": "400", "title": "Invalid query: unbalanced quotes"}]})

    async def run() -> None:
        async with _mock_http(handler) as client:
            async for _ in datacite.iter_hits(Http(client), SearchQuery(text='"x')):
                pass

    with pytest.raises(UsageError, match="refused the query: Invalid query: unbalanced quotes"):
        asyncio.run(run())


def test_html_detection_and_mislabelled_answers() -> None:
    from doi2data.search.common import looks_like_html

    assert looks_like_html("text/html; charset=utf-8", b"<!DOCTYPE html><html>")
    assert looks_like_html("application/json", b"  <html><body>login</body></html>")
    assert not looks_like_html("text/html", b'<?xml version="1.0"?><OAI-PMH/>')  # XML sent as text/html
    assert not looks_like_html("text/html", b'[{"pid": "x"}]')
    assert not looks_like_html("text/xml", b"<OAI-PMH/>")


def test_oai_oversized_resumption_token_is_refused() -> None:
    element = oai.parse_response(_oai(f"<ListRecords><resumptionToken>{'x' * 10_000}</resumptionToken>"
                                      "</ListRecords>"), "ListRecords")
    with pytest.raises(RepositoryError, match="resumption token of 10,000 characters"):
        oai.parse_records(element)
