"""``--catalogue``: datasets inside a DOI from a PaN search API, for a repository that lists none."""

from __future__ import annotations

import json

import pytest

import doi2data
from doi2data.catalogue import assign, document_filter, endpoint_of, parse_document
from doi2data.errors import UsageError
from doi2data.model import DatasetInfo
from doi2data.sandbox import FakeInternet
from doi2data.sandbox import facilities as fac

DEMO = "10.5281/zenodo.1215979"
PAN_HOST = "federated.panosc.ess.eu"


def test_filter_and_parsing_are_bounded() -> None:
    flt = document_filter("10.1/x")
    assert flt["where"] == {"pid": "10.1/x"} and flt["include"][0]["relation"] == "datasets"
    assert {i["relation"] for i in flt["include"][0]["scope"]["include"]} >= {"files", "parameters", "samples"}
    doc = [{"pid": "10.1/x", "datasets": [
        {"title": "scan\x00 1", "instrument": {"name": "ID29"}, "techniques": [{"name": "SAXS"}],
         "samples": [{"name": "lyso"}], "parameters": [{"name": "wavelength", "value": "0.97", "unit": "angstrom"},
                                                       {"name": "bad", "value": float("nan")}],
         "files": [{"path": "raw", "name": "a.h5"}, {"path": None, "name": "b.h5"}, {"name": 3}]},
        "junk", {"pid": "no-title-but-pid"}, {}]}]
    found = parse_document(doc)
    assert [info.name for info, _ in found] == ["scan  1", "no-title-but-pid"]
    first, files = found[0]
    assert (first.instrument, first.technique, first.sample) == ("ID29", "SAXS", "lyso")
    assert first.parameters == (("wavelength", 0.97, "angstrom"),)
    assert files == [("raw", "a.h5"), (None, "b.h5")]
    assert parse_document({"not": "a list"}) == [] and parse_document([]) == []


def test_files_are_placed_by_path_suffix_or_a_unique_name() -> None:
    info = DatasetInfo("d1")
    paths = ["x/raw/a.h5", "y/raw/a.h5", "z/b.h5", "c.h5", "w/c.h5"]
    owner = assign(paths, [(info, [("x/raw", "a.h5"), (None, "b.h5"), (None, "c.h5")])])
    assert owner == {"x/raw/a.h5": "d1", "z/b.h5": "d1", "c.h5": "d1"}  # c.h5: the exact path wins over w/c.h5


def test_endpoint_values() -> None:
    assert endpoint_of("default") == f"https://{PAN_HOST}/api" and endpoint_of(None) is None
    assert endpoint_of("https://scicat.ess.eu/panosc-api/") == "https://scicat.ess.eu/panosc-api"
    for bad in ("http://x.example/api", "https://a b", "ftp://x"):
        with pytest.raises(UsageError):
            endpoint_of(bad)


def test_catalogue_gives_a_zenodo_doi_its_datasets(net: FakeInternet) -> None:
    plain = doi2data.resolve(DEMO)
    assert plain.datasets == () and not [r for r in net.log if r.host == PAN_HOST]  # opt-in: nothing asked
    m = doi2data.resolve(DEMO, catalogue="default")
    (info,) = m.datasets
    assert (info.name, info.sample, info.instrument) == ("lysozyme frames", "lysozyme", "X06SA")
    assert ("wavelength", 1.0, "angstrom") in info.parameters
    placed = {f.path: f.dataset for f in m.files if f.dataset}
    assert placed == {f"images/frame_000{i}.cbf": "lysozyme frames" for i in (1, 2, 3)}
    asked = [r for r in net.log if r.host == PAN_HOST]
    assert len(asked) == 1 and json.loads(dict(p.split("=", 1) for p in [asked[0].query])["filter"].replace(
        "%22", '"').replace("%3A", ":").replace("%2C", ",").replace("%7B", "{").replace("%7D", "}").replace(
        "%5B", "[").replace("%5D", "]").replace("%2F", "/"))["where"] == {"pid": DEMO}
    chosen = doi2data.resolve(DEMO, catalogue="default", dataset="sample == 'lysozyme' and wavelength < 1.2")
    assert sorted(f.path for f in chosen.files) == [f"images/frame_000{i}.cbf" for i in (1, 2, 3)]


def test_a_source_that_knows_its_datasets_is_not_overridden(net: FakeInternet) -> None:
    from doi2data.sandbox.sites.esrf import state

    state(net.world).reset()
    m = doi2data.resolve(fac.ESRF_SESSION_DOI, catalogue="default")
    assert m.datasets and not [r for r in net.log if r.host == PAN_HOST]


def test_unknown_doi_in_the_catalogue_is_a_warning(net: FakeInternet) -> None:
    m = doi2data.resolve("10.7910/DVN/SBX0A1", catalogue="default")
    assert m.datasets == () and any("lists no datasets" in w for w in m.warnings)


def test_cli_catalogue_and_dataset(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", DEMO, "--catalogue", "default", "--dataset", "instrument == 'X06SA'", "--json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert [d["name"] for d in doc["datasets"]] == ["lysozyme frames"] and len(doc["files"]) == 3
    bad = cli("ls", DEMO, "--catalogue", "http://plain.example/api")
    assert bad.code == 2 and "--catalogue" in bad.err and "Traceback" not in bad.err
