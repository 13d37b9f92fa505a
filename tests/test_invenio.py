"""InvenioRDM adapter: every record shape, URL forms, access states, and list_files over a mock transport."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.invenio import (ADAPTER, InvenioAdapter, choose_version, content_url, files_link, parse_record,
                                       version_label)
from doi2data.errors import AccessDenied, RecordNotFound, RepositoryError
from doi2data.http import Http
from doi2data.model import Dataset, Manifest

Z = "https://zenodo.org"
MD5 = "0123456789abcdef0123456789abcdef"
MD5B = "fedcba9876543210fedcba9876543210"
_VALID_URL = re.compile(r"^https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]*$")


def is_valid_url(url: str) -> bool:
    """Only legal URL characters, and every ``%`` starts a ``%XX`` escape."""
    return bool(_VALID_URL.match(re.sub(r"%[0-9A-Fa-f]{2}", "", url))) and "%" not in re.sub(r"%[0-9A-Fa-f]{2}", "", url)


def legacy(files: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "id": 42, "doi": "10.5281/zenodo.42", "conceptdoi": "10.5281/zenodo.41", "conceptrecid": "41",
        "links": {"html": f"{Z}/record/42", "self": f"{Z}/api/records/42"},
        "metadata": {"title": "T", "creators": [{"name": "Doe, Jane"}], "publication_date": "2019-09-24",
                     "license": {"id": "CC-BY-4.0"}, "resource_type": {"title": "Dataset", "type": "dataset"},
                     "access_right": "open", "version": "v1", **meta},
        "files": files,
    }


def legacy_file(key: str, link_key: str | None = None, checksum: str = f"md5:{MD5}") -> dict[str, Any]:
    return {"bucket": "b-1", "key": key, "size": 10, "checksum": checksum, "type": "txt",
            "links": {"self": f"{Z}/api/files/b-1/{link_key if link_key is not None else key}"}}


def rdm_file(key: str, link_key: str | None = None, rid: str = "42") -> dict[str, Any]:
    return {"id": "uuid-1", "key": key, "size": 11, "checksum": f"md5:{MD5}",
            "links": {"self": f"{Z}/api/records/{rid}/files/{link_key if link_key is not None else key}/content"}}


def rdm_native(entries: Any = None, access: dict[str, Any] | None = None, base: str = "https://data.caltech.edu",
               rid: str = "abcd1-ef234") -> dict[str, Any]:
    files: dict[str, Any] = {"enabled": True, "count": 1}
    if entries is not None:
        files["entries"] = entries
    return {
        "id": rid, "pids": {"doi": {"identifier": "10.22002/abcd1-ef234", "provider": "datacite"}},
        "parent": {"id": "zzzz1-yyy22", "pids": {"doi": {"identifier": "10.22002/zzzz1-yyy22"}}},
        "metadata": {"title": "Native", "publisher": "CaltechDATA", "publication_date": "2022-05",
                     "creators": [{"person_or_org": {"type": "personal", "family_name": "Doe", "given_name": "J"}},
                                  {"person_or_org": {"type": "organizational", "name": "Lab"}}],
                     "rights": [{"id": "cc-by-4.0", "title": {"en": "Creative Commons Attribution 4.0"}}],
                     "resource_type": {"id": "dataset", "title": {"en": "Dataset", "de": "Datensatz"}},
                     "version": "2.0"},
        "access": access or {"record": "public", "files": "public", "embargo": {"active": False}},
        "files": files,
        "links": {"self": f"{base}/api/records/{rid}", "self_html": f"{base}/records/{rid}",
                  "files": f"{base}/api/records/{rid}/files"},
    }


# --- the shapes ------------------------------------------------------------------------------------

def test_legacy_shape() -> None:
    m = parse_record(legacy([legacy_file("b.txt"), legacy_file("a.txt", checksum=f"md5:{MD5B}")]), Z)
    ds = m.dataset
    assert [f.path for f in m.files] == ["a.txt", "b.txt"]
    assert m.files[0].checksums == {"md5": MD5B} and m.files[0].size == 10
    assert m.files[0].urls[0] == f"{Z}/api/files/b-1/a.txt"
    assert m.files[0].urls[1] == f"{Z}/api/records/42/files/a.txt/content"  # the InvenioRDM route as a mirror
    assert (ds.doi, ds.version_doi, ds.concept_doi, ds.record_id) == ("10.5281/zenodo.42",) * 2 + ("10.5281/zenodo.41", "42")
    assert (ds.title, ds.creators, ds.year, ds.version, ds.license) == ("T", ("Doe, Jane",), 2019, "v1", "CC-BY-4.0")
    assert (ds.publisher, ds.repository, ds.resource_type, ds.landing_url) == ("Zenodo", "Zenodo", "Dataset", f"{Z}/record/42")
    assert ds.access == "open" and m.warnings == ()


def test_rdm_default_serializer() -> None:
    doc = legacy([rdm_file("x.csv")])
    doc["links"] = {"self_html": f"{Z}/records/42", "files": f"{Z}/api/records/42/files"}
    m = parse_record(doc, Z)
    assert m.files[0].urls == (f"{Z}/api/records/42/files/x.csv/content",)
    assert m.dataset.landing_url == f"{Z}/records/42"
    assert files_link(doc, Z) is None  # the list is inline


def test_migration_shape_rebuilds_broken_links() -> None:
    """Oct 2023: filename/filesize, bare md5, links.self -> /files/<uuid> which 404s."""
    entry = {"id": "a6a2ada6-10a5", "filename": "mm/MISR Tools.zip", "filesize": 87634, "checksum": MD5,
             "links": {"self": f"{Z}/api/records/3240006/files/a6a2ada6-10a5"}}
    doc = legacy([entry])
    doc["id"] = 3240006
    f = parse_record(doc, Z).files[0]
    assert (f.path, f.size, dict(f.checksums)) == ("mm/MISR Tools.zip", 87634, {"md5": MD5})
    assert f.urls == (f"{Z}/api/records/3240006/files/mm%2FMISR%20Tools.zip/content",)


def test_migration_download_link_kept_as_mirror() -> None:
    entry = {"filename": "a.txt", "filesize": "5", "checksum": MD5,
             "links": {"self": f"{Z}/api/records/7/files/uuid", "download": f"{Z}/records/7/files/a.txt?download=1"}}
    doc = legacy([entry])
    doc["id"] = 7
    f = parse_record(doc, Z).files[0]
    assert f.size == 5
    assert f.urls == (f"{Z}/api/records/7/files/a.txt/content", f"{Z}/records/7/files/a.txt?download=1")


def test_files_endpoint_entries_list() -> None:
    doc = {"enabled": True, "links": {"self": f"{Z}/api/records/4924875/files"}, "entries": [
        {"key": "tiny.txt", "size": 59, "checksum": f"md5:{MD5}", "mimetype": "text/plain",
         "links": {"self": f"{Z}/api/records/4924875/files/tiny.txt",  # per-file JSON, not bytes
                   "content": f"{Z}/api/records/4924875/files/tiny.txt/content"}}]}
    m = parse_record(doc, Z)
    f = m.files[0]
    assert m.dataset.record_id == "4924875" and f.media_type == "text/plain"
    assert f.urls == (f"{Z}/api/records/4924875/files/tiny.txt/content",)


def test_rdm_native_entries_dict() -> None:
    base = "https://data.caltech.edu"
    doc = rdm_native({"d/x y.h5": {"size": 3, "checksum": f"md5:{MD5}",
                                   "links": {"content": f"{base}/api/records/abcd1-ef234/files/d/x y.h5/content"}}})
    m = parse_record(doc, base)
    ds, f = m.dataset, m.files[0]
    assert f.path == "d/x y.h5" and f.size == 3
    assert f.urls == (f"{base}/api/records/abcd1-ef234/files/d/x%20y.h5/content",
                      f"{base}/api/records/abcd1-ef234/files/d%2Fx%20y.h5/content")
    assert (ds.doi, ds.concept_doi, ds.record_id) == ("10.22002/abcd1-ef234", "10.22002/zzzz1-yyy22", "abcd1-ef234")
    assert (ds.title, ds.creators, ds.publisher, ds.year) == ("Native", ("Doe, J", "Lab"), "CaltechDATA", 2022)
    assert (ds.license, ds.resource_type, ds.repository, ds.version) == ("cc-by-4.0", "Dataset", "data.caltech.edu", "2.0")
    assert ds.landing_url == f"{base}/records/abcd1-ef234"


def test_rdm_native_without_entries_points_to_files_endpoint() -> None:
    doc = rdm_native(None)
    assert parse_record(doc, "https://data.caltech.edu").files == ()
    assert files_link(doc, "https://data.caltech.edu") == "https://data.caltech.edu/api/records/abcd1-ef234/files"
    doc["files"]["enabled"] = False
    assert files_link(doc, "https://data.caltech.edu") is None  # metadata-only record


# --- keys and URLs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["Open Letter V4.pdf", "front-matter/commonmeta-ruby-v3.0.1.zip", "données é/日本.csv",
                                 "100%.txt", "what?.txt", "hash#1.txt", "a+b (1).txt", "Figure 2B/screenshot-2.png"])
@pytest.mark.parametrize("make", [legacy_file, rdm_file])
def test_awkward_keys_give_valid_urls(key: str, make: Callable[..., dict[str, Any]]) -> None:
    f = parse_record(legacy([make(key)]), Z).files[0]
    assert f.path == key
    assert f.urls and all(is_valid_url(u) for u in f.urls), f.urls
    for url in f.urls:  # the server decodes the path back to the raw key
        path = unquote(urlsplit(url).path)
        assert path.endswith(f"/{key}") or path.endswith(f"/{key}/content")


def test_already_escaped_links_are_not_double_escaped() -> None:
    f = parse_record(legacy([legacy_file("Holmes_(2021).pdf", link_key="Holmes_%282021%29.pdf"),
                             legacy_file("a b.pdf", link_key="a%20b.pdf")]), Z).files
    assert f[0].urls[0] == f"{Z}/api/files/b-1/Holmes_%282021%29.pdf"
    assert f[1].urls[0] == f"{Z}/api/files/b-1/a%20b.pdf"


def test_content_url_encodes_everything() -> None:
    assert content_url(Z + "/", "1", "a/b c") == f"{Z}/api/records/1/files/a%2Fb%20c/content"


def test_file_order_does_not_matter() -> None:
    files = [legacy_file(f"f{i}.txt") for i in range(8)]
    shuffled = files[:]
    random.Random(3).shuffle(shuffled)
    assert parse_record(legacy(files), Z) == parse_record(legacy(shuffled), Z)


@pytest.mark.parametrize("raw, expected", [(5, 5), ("12", 12), (" 7 ", 7), ("²", None), ("-1", None), (-1, None),
                                           (True, None), (1.5, None), (None, None)])
def test_sizes(raw: Any, expected: int | None) -> None:
    entry = {"key": "a", "size": raw, "links": {}}
    assert parse_record(legacy([entry]), Z).files[0].size == expected


def test_duplicate_keys_warn() -> None:
    m = parse_record(legacy([legacy_file("a"), legacy_file("a")]), Z)
    assert len(m.files) == 1 and "duplicate" in m.warnings[0]


# --- access ----------------------------------------------------------------------------------------

def test_restricted_legacy_without_files_warns() -> None:
    doc = legacy([], access_right="restricted")
    del doc["files"]
    m = parse_record(doc, Z)
    assert m.dataset.access == "restricted" and m.files == ()
    assert "restricted" in m.warnings[0] and "no files" in m.warnings[0]


def test_embargoed_files_carry_note() -> None:
    m = parse_record(legacy([legacy_file("a")], access_right="embargoed", embargo_date="2031-01-01"), Z)
    assert m.dataset.access == "embargoed" and m.files[0].access == "embargoed"
    assert m.files[0].note == "embargoed until 2031-01-01"


def test_closed_is_restricted() -> None:
    m = parse_record(legacy([legacy_file("a")], access_right="closed"), Z)
    assert m.files[0].access == "restricted" and "closed" in (m.files[0].note or "")


def test_rdm_native_access() -> None:
    emb = {"record": "public", "files": "restricted", "embargo": {"active": True, "until": "2030-05-01", "reason": "paper"}}
    m = parse_record(rdm_native({}, access=emb), "https://data.caltech.edu")
    assert m.dataset.access == "embargoed" and m.dataset.note == "embargoed until 2030-05-01 (paper)"
    assert m.warnings and "embargoed" in m.warnings[0]
    restricted = {"record": "public", "files": "restricted", "embargo": {"active": False}}
    m = parse_record(rdm_native({"a": {"key": "a", "size": 1}}, access=restricted), "https://data.caltech.edu")
    assert m.files[0].access == "restricted" and m.files[0].note and m.warnings == ()


# --- malformed input -------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", [None, [], "x", {"metadata": 3}, {"id": 1}, {"metadata": {}, "files": 5},
                                 {"metadata": {}, "files": [3]}, {"metadata": {}, "files": [{"size": 1}]},
                                 {"metadata": {}, "files": {"entries": "no"}}])
def test_malformed_raises_repository_error(doc: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_record(doc, Z)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
_TEMPLATES = [legacy([legacy_file("a b/c.txt"), rdm_file("d")]), rdm_native({"k": rdm_file("k")}),
              {"entries": [rdm_file("e")], "links": {"self": f"{Z}/api/records/1/files"}}]
_KEYS = ["id", "recid", "doi", "conceptdoi", "metadata", "files", "links", "access", "pids", "parent", "entries",
         "key", "filename", "size", "filesize", "checksum", "self", "content", "title", "creators", "license",
         "rights", "resource_type", "publication_date", "access_right", "embargo", "person_or_org", "name"]


def _mutate(doc: Any, rnd: random.Random, value: Any) -> Any:
    """Replace one randomly chosen subtree (or a named key's value) with ``value``."""
    doc = copy.deepcopy(doc)
    nodes: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for k, v in list(items):
            nodes.append((node, k))
            walk(v)

    walk(doc)
    parent, k = rnd.choice(nodes)
    parent[k] = value
    return doc


def _check(doc: Any) -> None:
    try:
        m = parse_record(doc, Z)
    except RepositoryError:
        return
    assert isinstance(m, Manifest)
    json.dumps(m.to_json())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_random_json_only_repository_error(doc: Any) -> None:
    _check(doc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(_TEMPLATES))), st.randoms(use_true_random=False), _json | st.sampled_from(_KEYS),
       st.integers(1, 3))
def test_mutated_records_only_repository_error(t: int, rnd: random.Random, value: Any, rounds: int) -> None:
    doc: Any = _TEMPLATES[t]
    for _ in range(rounds):
        doc = _mutate(doc, rnd, value) if isinstance(doc, (dict, list)) and doc else doc
    _check(doc)


# --- recognize -------------------------------------------------------------------------------------

def _resolved(url: str, doi: str | None = None) -> Resolved:
    return Resolved(identifier=doi or url, doi=doi, landing_url=url, metadata=None)


@pytest.mark.parametrize("url, base, rid, repo", [
    ("https://zenodo.org/records/3459420", Z, "3459420", "Zenodo"),
    ("https://zenodo.org/record/3459420", Z, "3459420", "Zenodo"),
    ("https://www.zenodo.org/record/1196821", Z, "1196821", "Zenodo"),
    ("http://zenodo.org/records/1196821?preview=1", Z, "1196821", "Zenodo"),
    ("https://zenodo.org/uploads/55", Z, "55", "Zenodo"),
    ("https://zenodo.org/api/records/55", Z, "55", "Zenodo"),
    ("https://zenodo.org/records/55/files/a.txt", Z, "55", "Zenodo"),
    ("https://zenodo.org/doi/10.5281/zenodo.5785518", Z, "5785518", "Zenodo"),
    ("https://sandbox.zenodo.org/records/12", "https://sandbox.zenodo.org", "12", "Zenodo"),
    ("https://data.caltech.edu/records/0ca1t-hzt77", "https://data.caltech.edu", "0ca1t-hzt77", "data.caltech.edu"),
    ("https://data.caltech.edu/record/1705", "https://data.caltech.edu", "1705", "data.caltech.edu"),
    ("https://researchdata.tuwien.ac.at/records/jpzv9-c8w75", "https://researchdata.tuwien.ac.at", "jpzv9-c8w75",
     "researchdata.tuwien.ac.at"),
    ("https://repository.tugraz.at/records/abcd1-ef234", "https://repository.tugraz.at", "abcd1-ef234",
     "repository.tugraz.at"),
    ("https://archive.materialscloud.org/record/2022.126", "https://archive.materialscloud.org", "2022.126",
     "archive.materialscloud.org"),
    ("https://rdm.example.org/records/abcd1-ef234", "https://rdm.example.org", "abcd1-ef234", "rdm.example.org"),
    ("https://rdm.example.org:8443/records/77", "https://rdm.example.org:8443", "77", "rdm.example.org"),
    ("https://rdm.example.org/api/records/abcd1-ef234", "https://rdm.example.org", "abcd1-ef234", "rdm.example.org"),
])
def test_recognize_urls(url: str, base: str, rid: str, repo: str) -> None:
    ref = ADAPTER.recognize(_resolved(url))
    assert ref == RecordRef(adapter="invenio", api_base=base, record_id=rid, repository=repo)


@pytest.mark.parametrize("url", [
    "https://dataverse.harvard.edu/dataset.xhtml?persistentId=doi:10.7910/DVN/X",
    "https://figshare.com/articles/dataset/RAIN_v1/4234751/1",
    "https://b2share.eudat.eu/records/b43a0e6914e34de8bd19613bcdc0d364",
    "https://example.org/record/12",  # singular form only trusted on known hosts
    "https://example.org/records/not-an-id",
    "https://zenodo.org/communities/x",
    "ftp://zenodo.org/records/1",
    "not a url",
    "https://[::1/records/1",
])
def test_recognize_rejects(url: str) -> None:
    assert ADAPTER.recognize(_resolved(url)) is None


def test_recognize_zenodo_doi_with_odd_landing_url() -> None:
    ref = ADAPTER.recognize(_resolved("https://example.org/whatever", doi="10.5281/ZENODO.1215979"))
    assert ref == RecordRef("invenio", Z, "1215979", "Zenodo")
    ref = ADAPTER.recognize(_resolved("https://zenodo.org/records/99", doi="10.5281/zenodo.98"))
    assert ref is not None and ref.record_id == "99"  # the landing page (latest version) wins on zenodo itself
    assert isinstance(ADAPTER, InvenioAdapter) and ADAPTER.name == "invenio"


# --- list_files over a mock transport --------------------------------------------------------------

def _run(handler: Callable[[httpx.Request], httpx.Response], ref: RecordRef, resolved: Resolved) -> Manifest:
    async def go() -> Manifest:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
            return await ADAPTER.list_files(ref, resolved, Http(client, max_attempts=1))

    return asyncio.run(go())


def test_list_files_concept_redirect_and_datacite_merge() -> None:
    record = legacy([rdm_file("a.txt", rid="105")])
    record.update(id=105, doi="10.5281/zenodo.105", conceptdoi="10.5281/zenodo.100")
    record["metadata"].pop("version")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/api/records/100":
            return httpx.Response(301, headers={"Location": f"{Z}/api/records/105"})
        if request.url.path == "/api/records/105":
            return httpx.Response(200, json=record)
        return httpx.Response(404)

    datacite = Dataset(doi="10.5281/zenodo.100", title="DataCite title", version="9", repository="Zenodo (DataCite)")
    m = _run(handler, RecordRef("invenio", Z, "100", "Zenodo"),
             Resolved("10.5281/zenodo.100", "10.5281/zenodo.100", f"{Z}/records/100", datacite))
    assert seen == ["/api/records/100", "/api/records/105"]
    ds = m.dataset
    assert ds.doi == "10.5281/zenodo.100" and ds.version_doi == "10.5281/zenodo.105" and ds.record_id == "105"
    assert ds.title == "T" and ds.version == "9" and ds.repository == "Zenodo"  # record wins; DataCite fills gaps
    assert "concept DOI resolved to latest version 10.5281/zenodo.105" in m.warnings
    assert m.files[0].urls[0] == f"{Z}/api/records/105/files/a.txt/content"


def test_list_files_fetches_files_endpoint() -> None:
    base = "https://data.caltech.edu"
    entries = {"entries": [{"key": "z.txt", "size": 2, "checksum": f"md5:{MD5}",
                            "links": {"content": f"{base}/api/records/abcd1-ef234/files/z.txt/content"}}]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/records/abcd1-ef234":
            return httpx.Response(200, json=rdm_native(None))
        if request.url.path == "/api/records/abcd1-ef234/files":
            return httpx.Response(200, json=entries)
        return httpx.Response(404)

    m = _run(handler, RecordRef("invenio", base, "abcd1-ef234", "data.caltech.edu"),
             Resolved("10.22002/abcd1-ef234", "10.22002/ABCD1-EF234", f"{base}/records/abcd1-ef234", None))
    assert [f.path for f in m.files] == ["z.txt"] and m.files[0].checksums == {"md5": MD5}
    assert m.dataset.doi == "10.22002/ABCD1-EF234" and m.warnings == ()


def test_list_files_restricted_listing_denied_is_a_warning() -> None:
    restricted = {"record": "public", "files": "restricted", "embargo": {"active": False}}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/files"):
            return httpx.Response(403)
        return httpx.Response(200, json=rdm_native(None, access=restricted))

    m = _run(handler, RecordRef("invenio", "https://data.caltech.edu", "abcd1-ef234", "data.caltech.edu"),
             _resolved("https://data.caltech.edu/records/abcd1-ef234"))
    assert m.files == () and len(m.warnings) == 1 and "restricted" in m.warnings[0]


def test_list_files_open_listing_denied_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403) if request.url.path.endswith("/files") else httpx.Response(200, json=rdm_native(None))

    with pytest.raises(AccessDenied):
        _run(handler, RecordRef("invenio", "https://data.caltech.edu", "abcd1-ef234", "x"),
             _resolved("https://data.caltech.edu/records/abcd1-ef234"))


def test_list_files_parent_id_falls_back_to_versions_latest() -> None:
    base = "https://data.caltech.edu"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/records/zzzz1-yyy22/versions/latest":
            return httpx.Response(302, headers={"Location": f"{base}/api/records/abcd1-ef234"})
        if request.url.path == "/api/records/abcd1-ef234":
            return httpx.Response(200, json=rdm_native({"a": {"key": "a", "size": 1}}))
        return httpx.Response(404)

    m = _run(handler, RecordRef("invenio", base, "zzzz1-yyy22", "data.caltech.edu"),
             Resolved("10.22002/zzzz1-yyy22", "10.22002/zzzz1-yyy22", f"{base}/records/zzzz1-yyy22", None))
    assert m.dataset.record_id == "abcd1-ef234" and [f.path for f in m.files] == ["a"]
    assert m.warnings == ("concept DOI resolved to latest version 10.22002/abcd1-ef234",)


def test_list_files_missing_record() -> None:
    with pytest.raises(RecordNotFound):
        _run(lambda r: httpx.Response(404, json={"status": 404}), RecordRef("invenio", Z, "1", "Zenodo"),
             _resolved(f"{Z}/records/1"))


# --- versions (--version): picked from the record's /versions list --------------------------------

def test_choose_version_by_label_then_by_position() -> None:
    old = {"id": 7, "metadata": {"version": "v1.0", "relations": {"version": [{"index": 0}]}}}
    new = {"id": 9, "metadata": {"version": "2"}, "versions": {"index": 2, "is_latest": True}}
    odd = {"id": 11, "metadata": {"version": "1"}, "versions": {"index": 3}}
    assert version_label(old) == ("v1.0", 1) and version_label(new) == ("2", 2)
    assert choose_version([old, new], "1.0") is old and choose_version([old, new], "V1.0") is old
    assert choose_version([old, new], "2") is new and choose_version([old, new], "1") is old  # 1st version
    assert choose_version([old, new, odd], "1") is odd  # a label beats a position
    assert choose_version([old, new], "3") is None and choose_version([], "1") is None


def test_list_files_of_a_version_uses_the_versions_link() -> None:
    current = legacy([rdm_file("new.txt")], version="2.0")
    current["links"]["versions"] = f"{Z}/api/records/42/versions"
    older = legacy([rdm_file("old.txt", rid="40")], version="1.0")
    older.update(id=40, doi="10.5281/zenodo.40")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/api/records/42":
            return httpx.Response(200, json=current)
        if request.url.path == "/api/records/42/versions":
            return httpx.Response(200, json={"hits": {"hits": [current, older], "total": 2}, "links": {}})
        return httpx.Response(404, json={"status": 404})

    ref = RecordRef("invenio", Z, "42", "Zenodo", version="1.0")
    m = _run(handler, ref, _resolved(f"{Z}/records/42", doi="10.5281/zenodo.42"))
    assert [f.path for f in m.files] == ["old.txt"] and m.dataset.doi == "10.5281/zenodo.40"
    assert any("version 1.0 is record 40" in w for w in m.warnings) and len(seen) == 2
    assert "size=25" in seen[1]  # Zenodo's most per page for anonymous searches since 2025-11 (100 is a 400)
    with pytest.raises(RecordNotFound, match=r"no version 9 \(available: 2\.0 \(record 42\), 1\.0 \(record 40\)\)"):
        _run(handler, RecordRef("invenio", Z, "42", "Zenodo", version="9"), _resolved(f"{Z}/records/42"))


# --- Zenodo as of 2026 (issue 13 item 7): unfinished files, /versions as a rate-limited search ----
def test_files_not_completed_are_listed_offline_not_fetched() -> None:
    doc = {"enabled": True, "links": {"self": f"{Z}/api/records/42/files"}, "entries": [
        {"key": "done.csv", "size": 3, "checksum": f"md5:{MD5}", "status": "completed",
         "links": {"content": f"{Z}/api/records/42/files/done.csv/content"}},
        {"key": "coming.h5", "size": 9, "status": "pending", "transfer": {"type": "F"},
         "links": {"content": f"{Z}/api/records/42/files/coming.h5/content"}},
        {"key": "legacy.txt", "size": 1, "checksum": f"md5:{MD5}"}]}  # no status reported: taken as it is
    m = parse_record(doc, Z, record_id="42")
    got = {f.path: (f.access, f.note) for f in m.files}
    assert got["done.csv"] == ("open", None) and got["legacy.txt"] == ("open", None)
    assert got["coming.h5"][0] == "offline" and "'pending'" in (got["coming.h5"][1] or "")
    assert any("1 file(s) not available yet" in w for w in m.warnings)


def _zenodo_state(net: Any) -> Any:
    from doi2data.sandbox.sites import zenodo as site

    st_ = site.state(net.world)
    st_.reset()
    return st_


def test_pending_file_in_the_sandbox_is_reported_and_skipped(cli: Any, net: Any, tmp_path: Any) -> None:
    zen = _zenodo_state(net)
    rec = net.world.record("1215979")
    pending = rec.files[0].key
    zen.pending = {"1215979": {pending: "pending"}}
    try:
        listed = cli("ls", "10.5281/zenodo.1215979", "--json")
        assert listed.code == 0, listed.err
        files = {f["path"]: f for f in json.loads(listed.out)["files"]}
        assert files[pending]["access"] == "offline" and "not available yet" in files[pending]["note"]
        assert all(f["access"] == "open" for p, f in files.items() if p != pending)
        net.clear_log()
        run = cli("get", "10.5281/zenodo.1215979", str(tmp_path / "out"))
        got = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")
               if p.is_file() and ".doi2data" not in p.parts}
        assert got == {f.key for f in rec.files if f.key != pending}, run.err
        assert not any(pending in unquote(r.path) and r.path.endswith("/content") for r in net.log)
        assert "not available yet" in run.out + run.err
    finally:
        zen.reset()


def test_versions_pages_of_25_and_the_search_rate(net: Any, monkeypatch: Any) -> None:
    import time

    import doi2data
    from doi2data.adapters import invenio
    from doi2data.transfer import limits

    zen = _zenodo_state(net)
    with httpx.Client() as client:  # the emulator refuses what Zenodo refuses since 2025-11
        assert client.get(f"{Z}/api/records/1215979/versions", params={"size": "100"}).status_code == 400
    time.sleep(1.1)
    zen.reset()
    monkeypatch.setattr(invenio, "VERSIONS_PAGE", 1)  # one hit per page: every lookup pages
    monkeypatch.setattr(limits.SEARCH_GATE, "rates", {"zenodo.org": limits.Window(2, 1.0)})
    zen.search_limit = (2, 1.0)  # the emulator counts a sliding window, as a strict server would
    try:
        began = time.monotonic()
        for _ in range(3):
            m = doi2data.resolve("10.5281/zenodo.1215979", version="1.0")
            assert m.dataset.doi == "10.5281/zenodo.1215900"
        took = time.monotonic() - began
        assert len(zen.searches) == 6 and zen.throttled == 0 and zen.too_large == 0
        assert took >= 1.9  # 6 searches at 2 per second: paced, not refused
    finally:
        zen.reset()
