"""The generic layers' pure parsers: Link headers, linksets (JSON and text), HTML <link>, JSON-LD.

Recorded pages are read in place from the shared recordings (``DOI2DATA_SHARED`` or ``../shared``)
and the tests that need them skip when they are absent; they are never copied into the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doi2data.adapters.base import LandingPage
from doi2data.adapters.contenturl import parse_content_urls, path_from_url
from doi2data.adapters.schemaorg import extract_jsonld, jsonld_dataset, page_files, parse_jsonld_distribution
from doi2data.adapters.signposting import (
    Link, item_entries, parse_html_links, parse_link_header, parse_linkset_json, parse_linkset_text, signposts,
)
from doi2data.discovery import client_route, parse_ra
from doi2data.errors import Doi2DataError, RepositoryError

RECORDED = shared_dir() / "fixtures" / "recorded"
ZENODO_PAGE = RECORDED / "zenodo" / "html-records-1196821.html"
ZENODO_PAGE_2021 = RECORDED / "zenodo" / "html-www.zenodo.org-record-1196821-2021.html"
DATAVERSE_PAGE = RECORDED / "dataverse" / "html-dataset.xhtml-doi-10.7910_DVN_NJ7XSO-2021.html"
ZENODO_URL = "https://zenodo.org/records/1196821"


def _recorded(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"recording not available: {path}")
    return path.read_text(encoding="utf-8")


def _zenodo_link_header() -> str:
    headers = json.loads(_recorded(Path(f"{ZENODO_PAGE}.headers.json")))["headers"]
    return ", ".join(headers["link"])


# --- Link header (Level 1) ------------------------------------------------------------------------

def test_recorded_zenodo_link_header() -> None:
    links = parse_link_header(_zenodo_link_header(), ZENODO_URL)
    found = signposts(links, [ZENODO_URL])
    assert [(i.href.rsplit("/", 1)[-1], i.type) for i in found.items] == [
        ("excludes.txt", "text/plain"), ("README.txt", "text/plain"), ("Data.zip", "application/zip")]
    assert found.cite_as == "https://doi.org/10.5281/zenodo.1196821"
    assert found.license == "https://creativecommons.org/licenses/by-sa/4.0/legalcode"
    assert [(ls.href, ls.type) for ls in found.linksets] == [
        ("https://zenodo.org/api/records/1196821", "application/linkset+json")]
    described = {d.type for d in found.describedby}
    assert {"application/json", "application/ld+json", "application/vnd.datacite.datacite+json"} <= described
    profiled = [d for d in found.describedby if d.profile]
    assert profiled and profiled[0].profile == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert sum(lk.rel == "author" for lk in links) == 4
    assert [f.path for f in item_entries(found.items)] == ["excludes.txt", "README.txt", "Data.zip"]


def test_link_header_syntax_details() -> None:
    header = ('</files/a%20b.txt>; rel="item describedby"; type="text/plain", '
              '<https://x.org/c>;REL=item;rel=ignored;anchor="https://x.org/land", '
              '<https://x.org/q?a=1,2>; rel="item"; title="a, \\"quoted\\" ; title", '
              'https://creativecommons.org/licenses/by/4.0/;rel="license", '
              '<mailto:x@y>; rel="author", <>; rel="item", junk without target')
    links = parse_link_header(header, "https://x.org/dataset/1")
    assert Link("https://x.org/files/a%20b.txt", "item", "text/plain") in links
    assert Link("https://x.org/files/a%20b.txt", "describedby", "text/plain") in links
    assert Link("https://x.org/c", "item", None, "https://x.org/land") in links
    assert Link("https://x.org/q?a=1,2", "item") in links
    assert Link("https://creativecommons.org/licenses/by/4.0/", "license") in links  # no <...> (Dataverse bug)
    assert not any(lk.href.startswith("mailto:") for lk in links)
    assert not any(lk.rel == "ignored" for lk in links)


def test_anchor_selects_the_landing_page_context() -> None:
    links = parse_link_header('<https://x.org/a>; rel="item"; anchor="https://x.org/other", '
                              '<https://x.org/b>; rel="item"', "https://x.org/land")
    assert [i.href for i in signposts(links, ["https://x.org/land"]).items] == ["https://x.org/b"]


# --- linksets (Level 2) ----------------------------------------------------------------------------

LINKSET_JSON = {"linkset": [
    {"anchor": "https://repo.example.org/records/123",
     "cite-as": [{"href": "https://doi.org/10.1234/abc"}],
     "type": [{"href": "https://schema.org/Dataset"}, {"href": "https://schema.org/AboutPage"}],
     "license": [{"href": "https://creativecommons.org/licenses/by/4.0/legalcode"}],
     "describedby": [{"href": "/api/records/123", "type": "application/vnd.datacite.datacite+json"}],
     "item": [{"href": "/records/123/files/scan_0001.h5", "type": "application/x-hdf5"},
              {"href": "https://repo.example.org/records/123/files/sub%2Fb.txt"}, {"type": "no href"}, "junk"]},
    {"anchor": "https://repo.example.org/records/123/files/scan_0001.h5",
     "collection": [{"href": "https://repo.example.org/records/123", "type": "text/html"}]},
    {"anchor": "https://repo.example.org/api/records/123", "type": "application/vnd.datacite.datacite+json",
     "describes": [{"href": "https://repo.example.org/records/123"}]},
]}


def test_linkset_json() -> None:
    links = parse_linkset_json(LINKSET_JSON, "https://repo.example.org/api/records/123")
    found = signposts(links, ["https://repo.example.org/records/123/"])
    assert [(i.href, i.type) for i in found.items] == [
        ("https://repo.example.org/records/123/files/scan_0001.h5", "application/x-hdf5"),
        ("https://repo.example.org/records/123/files/sub%2Fb.txt", None)]
    assert found.cite_as == "https://doi.org/10.1234/abc"
    assert found.describedby[0].href == "https://repo.example.org/api/records/123"
    assert [f.path for f in item_entries(found.items)] == ["scan_0001.h5", "sub/b.txt"]


def test_linkset_json_with_an_unmatched_anchor_still_finds_items() -> None:
    """The anchor is spelt differently (``/record/`` vs ``/records/``): per-file anchors are still excluded."""
    links = parse_linkset_json(LINKSET_JSON)
    found = signposts(links, ["https://elsewhere.example/landing"])
    assert len(found.items) == 2


@pytest.mark.parametrize("doc", [None, [], {}, {"linkset": {}}, {"linkset": "x"}, "linkset", 3])
def test_linkset_json_not_a_linkset(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_linkset_json(doc)


def test_linkset_text_one_link_per_line() -> None:
    text = ('<https://doi.org/10.1234/abc> ; rel="cite-as" ; anchor="https://r.org/d/1"\n'
            '<https://r.org/d/1/files/a.csv> ; rel="item" ; type="text/csv" ; anchor="https://r.org/d/1"\n'
            '<https://r.org/d/1/files/b.bin> ; rel="item" ; anchor="https://r.org/d/1",\n'
            '<https://r.org/d/1> ; rel="collection" ; anchor="https://r.org/d/1/files/a.csv"\n')
    found = signposts(parse_linkset_text(text), ["https://r.org/d/1"])
    assert [(i.href, i.type) for i in found.items] == [("https://r.org/d/1/files/a.csv", "text/csv"),
                                                       ("https://r.org/d/1/files/b.bin", None)]
    assert found.cite_as == "https://doi.org/10.1234/abc"


# --- HTML <link> and JSON-LD ---------------------------------------------------------------------------

def test_recorded_zenodo_html_links_and_jsonld() -> None:
    html = _recorded(ZENODO_PAGE)
    items = signposts(parse_html_links(html, ZENODO_URL), [ZENODO_URL]).items
    assert [i.href.rsplit("/", 1)[-1] for i in items] == ["excludes.txt", "README.txt", "Data.zip"]
    docs = extract_jsonld(html)  # type='application/ld+json' with single quotes
    assert len(docs) == 1
    files = parse_jsonld_distribution(docs[0], ZENODO_URL)
    assert [(f.path, f.size, f.media_type) for f in files] == [
        ("excludes.txt", None, "text/plain"), ("README.txt", None, "text/plain"), ("Data.zip", None, "application/zip")]
    assert files[0].urls == ("https://zenodo.org/api/records/1196821/files/excludes.txt/content",)
    ds = jsonld_dataset(docs[0])
    assert ds is not None and ds.doi == "10.5281/zenodo.1196821" and ds.version == "1.0.2"
    assert ds.title and ds.title.startswith("PsPM-SC4B") and ds.creators[0] == "Staib, Matthias"
    assert ds.license == "https://creativecommons.org/licenses/by-sa/4.0/legalcode" and ds.year == 2018


def test_recorded_zenodo_2021_jsonld_legacy_bucket_urls() -> None:
    files = parse_jsonld_distribution(extract_jsonld(_recorded(ZENODO_PAGE_2021))[0])
    assert sorted(f.path for f in files) == ["Data.zip", "README.txt", "excludes.txt"]
    assert all(f.media_type is None for f in files)  # "zip", "txt": extensions, not media types


def test_recorded_dataverse_jsonld() -> None:
    page = LandingPage("https://dataverse.harvard.edu/dataset.xhtml?persistentId=doi:10.7910/DVN/NJ7XSO", 200,
                       text=_recorded(DATAVERSE_PAGE), content_type="text/html;charset=UTF-8")
    files, ds = page_files(page)
    assert [(f.path, f.size, f.media_type, f.url) for f in files] == [
        ("Asian_Case_Control_Results.txt", 11572412, "text/plain",
         "https://dataverse.harvard.edu/api/access/datafile/3055424"),
        ("European_Asian_Case_Control_Results.txt", 11245496, "text/plain",
         "https://dataverse.harvard.edu/api/access/datafile/3055425"),
        ("European_Case_Control_Results.txt", 13337183, "text/plain",
         "https://dataverse.harvard.edu/api/access/datafile/3055426")]
    assert ds is not None and ds.doi == "10.7910/DVN/NJ7XSO" and ds.publisher == "Harvard Dataverse"
    assert ds.license == "https://creativecommons.org/publicdomain/zero/1.0/"


def test_jsonld_graph_sizes_checksums_and_access() -> None:
    sha = "ab" * 32
    doc = {"@context": "https://schema.org", "@graph": [
        {"@type": "Organization", "name": "x"},
        {"@type": ["schema:Dataset"], "name": "G", "distribution": [
            {"@type": "DataDownload", "contentUrl": "files/a.nc", "contentSize": "1234 bytes", "sha256": sha,
             "encodingFormat": "application/x-netcdf"},
            {"@type": "DataDownload", "contentUrl": ["", "https://h.org/b.bin"], "contentSize": "1.2 MB"},
            {"@type": "DataDownload", "contentUrl": "https://h.org/c", "name": "c.dat", "isAccessibleForFree": False},
            {"@type": "DataDownload", "name": "no url"}, "junk", {"contentUrl": "ftp://h.org/x"}]}]}
    files = parse_jsonld_distribution(doc, "https://h.org/dataset/1")
    assert [(f.path, f.size, dict(f.checksums), f.access) for f in files] == [
        ("a.nc", 1234, {"sha256": sha}, "open"), ("b.bin", None, {}, "open"), ("c.dat", None, {}, "restricted")]
    assert files[0].url == "https://h.org/dataset/files/a.nc"


def test_signposting_items_enriched_by_jsonld_of_the_same_page() -> None:
    items = [Link("https://zenodo.org/records/1/files/a.txt", "item", "text/plain"),
             Link("https://h.org/api/access/datafile/7", "item")]
    jsonld = parse_jsonld_distribution({"@type": "Dataset", "distribution": [
        {"contentUrl": "https://zenodo.org/api/records/1/files/a.txt/content", "contentSize": 5},
        {"contentUrl": "https://h.org/api/access/datafile/7", "name": "table.csv", "contentSize": 9}]})
    a, b = item_entries(items, jsonld)
    assert (a.path, a.size, a.urls) == ("a.txt", 5, ("https://zenodo.org/records/1/files/a.txt",
                                                     "https://zenodo.org/api/records/1/files/a.txt/content"))
    assert (b.path, b.size, b.urls) == ("table.csv", 9, ("https://h.org/api/access/datafile/7",))


@pytest.mark.parametrize("url, path", [
    ("https://zenodo.org/records/1/files/a%20b.txt", "a b.txt"),
    ("https://zenodo.org/api/records/1/files/dir/x.h5/content", "dir/x.h5"),
    ("https://www.zenodo.org/api/files/53b69001-2a2b-493b-8bc9-d09d85f9d215/Data.zip", "Data.zip"),
    ("https://dataverse.harvard.edu/api/access/datafile/3055424", "3055424"),
    ("https://h.org/path/file.nc?download=1", "file.nc"),
    ("https://h.org/", "h.org"),
])
def test_path_from_url(url: str, path: str) -> None:
    assert path_from_url(url) == path


def test_content_urls_and_ra_and_client_routes() -> None:
    assert parse_content_urls(None) == [] and parse_content_urls([]) == []
    assert parse_content_urls("https://a.org/x") == ["https://a.org/x"]
    assert parse_content_urls(["https://a.org/x", "ftp://b", 3, "https://a.org/x"]) == ["https://a.org/x"]
    assert parse_ra([{"DOI": "10.1371", "RA": "Crossref"}]) == "Crossref"
    assert parse_ra([{"DOI": "10.99999", "status": "DOI does not exist"}]) is None
    assert client_route("cern.zenodo", None, None)[:2] == ("invenio", "https://zenodo.org")  # type: ignore[index]
    assert client_route(None, "Harvard Dataverse", None)[0] == "dataverse"  # type: ignore[index]
    assert client_route("delft.data4tu", "Eindhoven University of Technology", None)[1] == "https://data.4tu.nl"  # type: ignore[index]
    assert client_route("gdcc.odum-dv", None, None)[:2] == ("dataverse", None)  # type: ignore[index]
    assert client_route("bl.bath", "University of Bath", "University of Bath") is None


# --- robustness: random input gives results or doi2data errors only ------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["https://x.org/a", "/rel/path", "Dataset", "DataDownload", "item", "anchor", "href"]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["linkset", "anchor", "item", "href", "type", "@type", "@graph", "distribution",
                         "contentUrl", "contentSize", "name", "sha256", "license", "RA"]) | st.text(max_size=8),
        children, max_size=6),
    max_leaves=30)
_texty = st.text(max_size=300) | st.lists(st.sampled_from(
    ["<", ">", '"', ";", ",", "\n", "rel=item", "anchor=", "https://x.org/", "<link rel='item' href='",
     "<script type=application/ld+json>", "</script>", "{", "}", "\\", "type=", "'"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texty)
def test_text_parsers_never_raise(text: str) -> None:
    for links in (parse_link_header(text, "https://x.org/d"), parse_linkset_text(text),
                  parse_html_links(text, "https://x.org/d")):
        assert all(lk.href.startswith(("http://", "https://")) for lk in links)
        item_entries(signposts(links, ["https://x.org/d"]).items)
    for doc in extract_jsonld(text):
        parse_jsonld_distribution(doc)
    assert path_from_url(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_json_parsers_only_doi2data_errors(doc: Any) -> None:
    try:
        parse_linkset_json(doc, "https://x.org/")
    except Doi2DataError:
        pass
    for entry in parse_jsonld_distribution(doc, "https://x.org/"):
        assert entry.path and entry.url
    jsonld_dataset(doc)
    parse_content_urls(doc)
    parse_ra(doc)
