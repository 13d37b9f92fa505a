"""DataCite parsing on synthetic JSON:API documents, robustness, and fetch_datacite over a mock transport."""

from __future__ import annotations

import asyncio
import copy
import random
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doi2data.datacite import datacite_client_id, datacite_url, fetch_datacite, parse_datacite
from doi2data.errors import RepositoryError
from doi2data.http import Http
from doi2data.model import Dataset


def doc(**attrs: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "doi": "10.1234/abc",
        "titles": [{"title": "Main"}],
        "creators": [{"name": "Doe, Jane", "nameType": "Personal"}],
        "publisher": "Pub",
        "publicationYear": 2021,
        "types": {"resourceTypeGeneral": "Dataset"},
        "rightsList": [],
        "url": "https://repo.example/rec/1",
        "version": None,
    }
    base.update(attrs)
    return {
        "data": {"id": "10.1234/abc", "type": "dois", "attributes": base,
                 "relationships": {"client": {"data": {"id": "cern.zenodo", "type": "clients"}}}},
        "included": [{"id": "other.client", "type": "clients", "attributes": {"name": "Other"}},
                     {"id": "cern.zenodo", "type": "clients", "attributes": {"name": "Zenodo"}}],
    }


def test_basic_fields() -> None:
    ds = parse_datacite(doc(version="1.0"))
    assert ds == Dataset(doi="10.1234/abc", title="Main", creators=("Doe, Jane",), publisher="Pub", year=2021,
                         version="1.0", resource_type="Dataset", landing_url="https://repo.example/rec/1",
                         repository="Zenodo")


def test_title_prefers_untyped() -> None:
    titles = [{"title": "Sub", "titleType": "Subtitle"}, {"lang": "en", "title": "Real"}, {"title": "Other"}]
    assert parse_datacite(doc(titles=titles)).title == "Real"
    assert parse_datacite(doc(titles=[{"title": "Only", "titleType": "AlternativeTitle"}])).title == "Only"
    assert parse_datacite(doc(titles=[])).title is None


def test_creators_from_name_or_parts() -> None:
    creators = [{"name": "Wong,  Takmeng"}, {"familyName": "Curie", "givenName": "Marie"}, {"familyName": "Solo"},
                {"nameType": "Personal"}, "junk", None]
    assert parse_datacite(doc(creators=creators)).creators == ("Wong, Takmeng", "Curie, Marie", "Solo")


@pytest.mark.parametrize("publisher, expected", [("Pub", "Pub"), ({"name": "Obj Pub", "lang": "en"}, "Obj Pub"),
                                                 (None, None), (3, None), ({"x": 1}, None)])
def test_publisher_string_or_object(publisher: Any, expected: str | None) -> None:
    assert parse_datacite(doc(publisher=publisher)).publisher == expected


@pytest.mark.parametrize("year, expected", [(2015, 2015), ("2015", 2015), ("2015-06", 2015), ("n.d.", None),
                                            (None, None), (True, None), (-3, None), (1.5, None)])
def test_year(year: Any, expected: int | None) -> None:
    assert parse_datacite(doc(publicationYear=year)).year == expected


def test_license_preferences() -> None:
    access = {"rights": "Open Access", "rightsUri": "info:eu-repo/semantics/openAccess"}
    spdx = {"rights": "CC BY 4.0", "rightsUri": "https://creativecommons.org/licenses/by/4.0/legalcode",
            "rightsIdentifier": "cc-by-4.0", "rightsIdentifierScheme": "SPDX"}
    plain_uri = {"rights": "Terms", "rightsUri": "https://example.org/terms"}
    text = {"rights": "Access to data is restricted."}
    assert parse_datacite(doc(rightsList=[access, text, plain_uri, spdx])).license == spdx["rightsUri"]
    assert parse_datacite(doc(rightsList=[access, text, plain_uri])).license == "https://example.org/terms"
    assert parse_datacite(doc(rightsList=[access, text])).license == "Access to data is restricted."
    assert parse_datacite(doc(rightsList=[access])).license is None
    assert parse_datacite(doc(rightsList=[{"rightsUri": "info:eu-repo/semantics/embargoedAccess"}])).license is None


@pytest.mark.parametrize("types, expected", [
    ({"resourceTypeGeneral": "Dataset", "resourceType": "CRAM file"}, "Dataset/CRAM file"),
    ({"resourceTypeGeneral": "Dataset", "resourceType": "dataset"}, "Dataset"),
    ({"resourceType": "Poster"}, "Poster"),
    ({}, None),
    ("Dataset", None),
])
def test_resource_type(types: Any, expected: str | None) -> None:
    assert parse_datacite(doc(types=types)).resource_type == expected


def test_repository_and_client_id() -> None:
    d = doc()
    assert datacite_client_id(d) == "cern.zenodo"
    del d["data"]["relationships"]
    assert datacite_client_id(d) == "other.client"  # first included client
    del d["included"]
    assert datacite_client_id(d) is None and parse_datacite(d).repository is None
    assert datacite_client_id("nope") is None  # type: ignore[arg-type]


def test_doi_falls_back_to_data_id_and_version_numbers() -> None:
    d = doc(version=3)
    del d["data"]["attributes"]["doi"]
    ds = parse_datacite(d)
    assert ds.doi == "10.1234/abc" and ds.version == "3"


@pytest.mark.parametrize("bad", [None, [], "x", {}, {"data": None}, {"data": []}, {"data": {"attributes": []}},
                                 {"errors": [{"status": "404", "title": "The resource you are looking for doesn't exist."}]}])
def test_not_a_record(bad: Any) -> None:
    with pytest.raises(RepositoryError):
        parse_datacite(bad)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _check(d: Any) -> None:
    try:
        ds = parse_datacite(d)
    except RepositoryError:
        return
    assert isinstance(ds, Dataset)
    assert ds.year is None or isinstance(ds.year, int)
    assert all(isinstance(c, str) for c in ds.creators)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_random_json(d: Any) -> None:
    _check(d)
    _check({"data": {"attributes": d}})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), _json, st.integers(1, 3))
def test_mutated_documents(rnd: random.Random, value: Any, rounds: int) -> None:
    d: Any = doc(rightsList=[{"rights": "x", "rightsUri": "https://l"}], types={"resourceType": "r"})
    for _ in range(rounds):
        d = copy.deepcopy(d)
        nodes: list[tuple[Any, Any]] = []
        stack = [d]
        while stack:
            node = stack.pop()
            items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
            for k, v in list(items):
                nodes.append((node, k))
                stack.append(v)
        if not nodes:
            break
        parent, k = rnd.choice(nodes)
        parent[k] = value
    _check(d)


# --- fetch_datacite ------------------------------------------------------------------------------------

def _fetch(doi: str, handler: Any) -> Dataset | None:
    async def go() -> Dataset | None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fetch_datacite(doi, Http(client, max_attempts=1))

    return asyncio.run(go())


def test_fetch_ok_encodes_doi_keeping_slashes() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=doc())

    ds = _fetch("10.5067/terra+aqua/ceres v1#x", handler)
    assert ds is not None and ds.title == "Main"
    req = seen[0]
    assert req.url.host == "api.datacite.org" and req.url.params["include"] == "client"
    assert req.url.raw_path.startswith(b"/dois/10.5067/terra+aqua/ceres%20v1%23x?")
    assert datacite_url("10.4121/uuid:3926db30") == "https://api.datacite.org/dois/10.4121/uuid:3926db30"


def test_fetch_404_is_none() -> None:
    body = {"errors": [{"status": "404", "title": "The resource you are looking for doesn't exist."}]}
    assert _fetch("10.9999/nope", lambda r: httpx.Response(404, json=body)) is None


def test_fetch_other_failures_raise() -> None:
    with pytest.raises(RepositoryError):
        _fetch("10.1/x", lambda r: httpx.Response(500))
    with pytest.raises(RepositoryError):
        _fetch("10.1/x", lambda r: httpx.Response(200, json={"data": []}))
