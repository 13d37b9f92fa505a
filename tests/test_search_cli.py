"""``doi2data search`` end to end through the sandbox: the PaN search API, DataCite ``/dois`` and an
OAI-PMH provider emulated on loopback (issue 14 items 1, 5, 6)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote

import pytest

from doi2data.cli import main
from doi2data.errors import RepositoryError
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.facilities import ESRF_DOI, PSI_DOI, PSI_MULTI_DOI, PSI_V4_DOI, SCICAT_V4_DOI
from doi2data.sandbox.sites.oai import BASE_URL as OAI
from doi2data.search import SearchQuery, search
from doi2data.search.common import parse_param
from doi2data.search.oai import HarvestStats


def _run(source: str, q: SearchQuery, **kwargs: object) -> list:
    async def collect() -> list:
        return [hit async for hit in search(source, q, **kwargs)]  # type: ignore[arg-type]

    return asyncio.run(collect())


# -- PaN search API -----------------------------------------------------------------------------------
def test_pan_parameter_range_with_units_reaches_the_server(net: FakeInternet) -> None:
    """'A' must go out as mathjs 'angstrom' (A is the ampere there): the server converts to SI and
    finds 1.0 A, 0.1 nm (= 1.0 A) and 0.976 A, not 1.5406 A nor 4.5 A."""
    hits = _run("panosc", SearchQuery(params=[parse_param("wavelength < 1.2 A")]))
    assert sorted(h.doi for h in hits) == sorted([ESRF_DOI.lower(), PSI_V4_DOI, "10.5281/zenodo.1215979"])
    sent = [r for r in net.log if r.host == "federated.panosc.ess.eu"]
    assert sent and '"unit":"angstrom"' in unquote(sent[0].query)


def test_pan_energy_range_in_two_units(net: FakeInternet) -> None:
    q = SearchQuery(params=[parse_param("photon_energy > 20 keV"), parse_param("photon_energy <= 25000 eV")])
    assert sorted(h.doi for h in _run("panosc", q)) == sorted([PSI_DOI, PSI_MULTI_DOI])


def test_pan_text_facility_technique_dates(net: FakeInternet) -> None:
    assert [h.doi for h in _run("panosc", SearchQuery(text="lysozyme", facility="PSI"))] == [
        "10.5281/zenodo.1215979", PSI_V4_DOI]
    assert {h.doi for h in _run("panosc", SearchQuery(technique="x-ray absorption"))} == {
        "10.15151/esrf-es-144479045", None}  # the proposal has no DOI of its own
    assert {h.facility for h in _run("panosc", SearchQuery(date_from="2024", date_until="2024-12-31"))} == {"DESY"}


def test_pan_paging_with_limit_and_skip(net: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> None:
    from doi2data.search import panosc

    monkeypatch.setattr(panosc, "PAGE_SIZE", 2)
    everything = _run("panosc", SearchQuery(limit=None))
    assert len(everything) == 9 and len({h.id for h in everything}) == 9
    assert len([r for r in net.log if r.host == "federated.panosc.ess.eu"]) == 5
    assert [h.id for h in _run("panosc", SearchQuery(limit=3))] == [h.id for h in everything[:3]]


def test_pan_facility_endpoint(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("search", "--endpoint", "https://scicat.ess.eu/panosc-api", "--ndjson")
    assert run.code == 0, run.err
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert [r["doi"] for r in rows] == [SCICAT_V4_DOI] and rows[0]["facility"] == "ESS"


def test_pan_endpoint_answering_html(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("search", "--endpoint", "https://federated.panosc.ess.eu", "lysozyme")
    assert run.code == 6 and "answered an HTML page" in run.err and len(run.err.strip().splitlines()) == 1


# -- DataCite -----------------------------------------------------------------------------------------
def test_datacite_cursor_paging_follows_links_next(net: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> None:
    from doi2data.search import datacite

    monkeypatch.setattr(datacite, "PAGE_SIZE", 5)
    hits = _run("datacite", SearchQuery(limit=None, date_from="2022", date_until="2023"))
    pages = [r for r in net.log if r.host == "api.datacite.org"]
    assert len(hits) == 12 and all(2022 <= (h.year or 0) <= 2023 for h in hits)
    assert len(pages) == 3 and "page%5Bcursor%5D=1" in pages[0].query and "cursor" in pages[2].query
    assert len({h.doi for h in hits}) == 12


def test_datacite_text_relevance_and_client(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("search", "--source", "datacite", "lysozyme", "--limit", "2", "-f", "dois")
    assert run.code == 0 and len(run.out.split()) == 2, run.err
    run = cli("search", "--source", "datacite", "--client", "cern.zenodo", "--type", "presentation", "--json")
    assert run.code == 0, run.err
    assert [r["doi"] for r in json.loads(run.out)] == ["10.5281/zenodo.8173302", "10.5281/zenodo.8173303"]  # concept, version


# -- OAI-PMH ------------------------------------------------------------------------------------------
def test_oai_harvest_with_resumption_tokens_and_deleted_records(net: FakeInternet) -> None:
    stats = HarvestStats()
    hits = _run("oai", SearchQuery(limit=None), endpoint=OAI, stats=stats)
    pages = [r for r in net.log if r.host == "oai.pan-data.example"]
    assert stats.deleted == 2 and stats.records == len(hits) + 2
    assert len(pages) == 1 + -(-stats.records // 50)  # Identify + every page through the tokens
    assert all("resumptionToken=" in p.query for p in pages[2:])
    assert len({h.doi for h in hits}) == len(hits) and "10.5281/zenodo.1215979" in {h.doi for h in hits}


def test_oai_set_dates_and_client_side_filters(net: FakeInternet) -> None:
    psi = _run("oai", SearchQuery(limit=None, oai_set="psi", metadata_prefix="oai_dc"), endpoint=OAI)
    assert sorted(h.doi for h in psi) == sorted([PSI_DOI, PSI_MULTI_DOI, PSI_V4_DOI])
    # a datetime against a day-granular provider is cut to the day (else badArgument)
    recent = _run("oai", SearchQuery(limit=None, date_from="2025-01-01T10:00:00Z", text="lysozyme"), endpoint=OAI)
    assert [h.doi for h in recent] == [PSI_V4_DOI]


def test_oai_bad_resumption_token_is_exit_6_after_the_first_page(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("search", "--oai", OAI, "--set", "expiring", "--limit", "0", "-f", "dois")
    assert run.code == 6 and "badResumptionToken" in run.err
    assert len(run.out.split()) == 50  # the first page was printed as it arrived


def test_oai_list_sets_and_no_records_match(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("search", "--oai", OAI, "--list-sets")
    assert run.code == 0 and "psi\tPaul Scherrer Institute" in run.out.splitlines()
    run = cli("search", "--oai", OAI, "--set", "psi", "--from", "2099-01-01")
    assert run.code == 0 and run.out == "" and "no matches" in run.err


def test_oai_provider_refusal_is_exit_2(net: FakeInternet) -> None:
    with pytest.raises(Exception) as info:
        _run("oai", SearchQuery(oai_set="nosuchset"), endpoint=OAI)
    assert getattr(info.value, "exit_code", None) == 2 and "badArgument" in str(info.value)
    with pytest.raises(RepositoryError, match="HTML page"):
        _run("oai", SearchQuery(), endpoint="https://oai.pan-data.example/")


# -- output formats and bad input ---------------------------------------------------------------------
def test_year_bounds_cover_the_whole_year(net: FakeInternet) -> None:
    """--from 2024-06-01 --until 2024 is a valid range (to the end of 2024), not 'from after until'."""
    assert [h.facility for h in _run("panosc", SearchQuery(date_from="2024-01-01", date_until="2024"))] == ["DESY"]
    assert main(["search", "--from", "2024-06-01", "--until", "2024", "--facility", "nowhere", "-q"]) is None


def test_progress_line_is_for_terminals_only(capsys: pytest.CaptureFixture[str]) -> None:
    from doi2data.commands.search import _progress

    assert _progress(False) is None
    show = _progress(True)
    show(3, 250, 1200)
    assert capsys.readouterr().err == "\r  page 3: 250 hit(s) of 1,200 records   "


def test_output_formats(cli) -> None:  # type: ignore[no-untyped-def]
    table = cli("search", "lysozyme")
    assert table.code == 0 and table.out.splitlines()[0].split()[:3] == ["DOI", "TITLE", "FACILITY"]
    assert "10.5281/zenodo.1215979" in table.out and "4.0 MiB" in table.out
    dois = cli("search", "--technique", "x-ray absorption", "-f", "dois")
    assert dois.out.splitlines() == ["10.15151/esrf-es-144479045"] and "1 without a DOI (not printed)" in dois.err
    nd = cli("search", "--facility", "PSI", "--ndjson")
    assert all("doi" in json.loads(line) for line in nd.out.splitlines()) and len(nd.out.splitlines()) == 4
    empty = cli("search", "--facility", "nowhere", "--json")
    assert empty.code == 0 and json.loads(empty.out) == []


@pytest.mark.parametrize("args, needle", [
    (("--source", "google", "x"), "unknown search source"),
    (("--param", "wavelength < 1.2 parsec"), "unknown unit"),
    (("--param", "wavelength ~ 1"), "bad parameter filter"),
    (("--from", "last week"), "bad --from date"),
    (("--from", "2024", "--until", "2020"), "is after"),
    (("--limit", "-1"), "bad --limit"),
    (("--from", "2024-06-01", "--until", "2024-05-31"), "is after"),
    (("--facility", "x" * 300), "bad --facility"),
    (("--source", "datacite", "--client", "a\x00b"), "bad --client"),
    (("lyso\x1b[2Jzyme",), "printable"),
    (("--set", "psi"), "apply to OAI-PMH"),
    (("--source", "datacite", "--param", "wavelength < 1 A"), "need the PaN search API"),
    (("--source", "oai",), "needs the provider's base URL"),
    (("--oai", "ftp://x.example/oai"), "expected an http(s) URL"),
    (("--format", "xml"), "choose one output"),
    (("--client", "cern.zenodo"), "apply to DataCite"),
])
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before any request (in process: the console entry point's own error handling)."""
    with pytest.raises(SystemExit) as info:
        main(["search", *args])
    err = capsys.readouterr().err
    assert info.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


def test_datacite_refused_query_is_exit_2(net: FakeInternet) -> None:
    from doi2data.errors import UsageError

    with pytest.raises(UsageError, match="refused the query"):
        _run("datacite", SearchQuery(text='"unbalanced'))


def test_reader_stopping_early_is_not_an_error(net: FakeInternet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`search … -f dois | head -2`: the broken pipe ends the harvest quietly with exit 0."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(net.env)
    proc = subprocess.Popen([sys.executable, "-m", "doi2data", "search", "--oai", OAI, "--set", "bulk", "--limit", "0",
                             "-f", "dois"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    first = [proc.stdout.readline() for _ in range(2)]
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0, err
    assert first == [b"10.5072/bulk.0\n", b"10.5072/bulk.1\n"] and "Traceback" not in err and "error" not in err
