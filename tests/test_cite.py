"""``doi2data cite``: DOI content negotiation through the emulated doi.org and data.crosscite.org."""

from __future__ import annotations

import json

import httpx
import pytest

from doi2data.cite import MEDIA_TYPES, accept_header, cite
from doi2data.errors import IdentifierNotFound, UsageError
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.sites.crosscite import negotiated_location, parse_accept
from conftest import run_here  # noqa: E402

DOI = "10.5281/zenodo.1215979"
TITLE = "Sandbox diffraction images (doi2data demo)"


@pytest.mark.parametrize("fmt", sorted(MEDIA_TYPES))
def test_doi_org_redirects_negotiated_requests_like_the_real_one(net: FakeInternet, fmt: str) -> None:
    accept = accept_header(fmt)
    with httpx.Client() as client:
        hop = client.get(f"https://doi.org/{DOI}", headers={"Accept": accept})
        assert hop.status_code == 302 and hop.headers["vary"] == "Accept"
        location = hop.headers["location"]
        assert location.startswith(f"https://data.crosscite.org/{MEDIA_TYPES[fmt]}/{DOI}")
        final = client.get(location)
    assert final.status_code == 200
    assert final.headers["content-type"].startswith(MEDIA_TYPES[fmt] if fmt != "text" else "text/plain")


def test_browsers_and_plain_clients_still_land_on_the_landing_page(net: FakeInternet) -> None:
    with httpx.Client() as client:
        for accept in ("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "*/*", "application/json"):
            hop = client.get(f"https://doi.org/{DOI}", headers={"Accept": accept})
            assert hop.headers["location"] == "https://zenodo.org/records/1215979", accept
    assert parse_accept("text/html;q=0.1, application/x-bibtex") == [("application/x-bibtex", {}), ("text/html", {})]
    assert negotiated_location("text/x-bibliography; style=ieee; locale=de-DE", DOI).endswith("?style=ieee&locale=de-DE")
    assert negotiated_location("application/x-bibtex;q=0", DOI) is None


def test_bibtex_ris_csl_and_text_agree_with_the_record(net: FakeInternet) -> None:
    bib = cite(DOI, "bibtex")
    assert bib.startswith(f"@misc{{https://doi.org/{DOI},") and f"title = {{{TITLE}}}" in bib
    assert "author = {Keller, Anna and Okafor, Chidi and Lindqvist, Sofia}" in bib and "year = {2018}" in bib
    ris = cite(DOI, "ris").splitlines()
    assert ris[0] == "TY  - DATA" and ris[-1] == "ER  - " and f"T1  - {TITLE}" in ris and "AU  - Okafor, Chidi" in ris
    csl = json.loads(cite(DOI, "csl"))
    assert csl["DOI"] == DOI and csl["title"] == TITLE and csl["type"] == "dataset"
    assert csl["author"][0] == {"family": "Keller", "given": "Anna"} and csl["issued"]["date-parts"] == [[2018, 4, 13]]
    text = cite(DOI, "text")
    assert text == ("Keller, A., Okafor, C., & Lindqvist, S. (2018). Sandbox diffraction images (doi2data demo) "
                    "(Version 1.1) [Data set]. Zenodo. https://doi.org/10.5281/ZENODO.1215979\n")
    assert cite(DOI, "text", style="ieee").startswith("A. Keller, C. Okafor, S. Lindqvist, \u201cSandbox")
    hops = [(r.host, r.path) for r in net.log if r.host in ("doi.org", "data.crosscite.org")]
    assert ("data.crosscite.org", f"/text/x-bibliography/{DOI}") in hops


def test_landing_urls_and_handles_are_cited_by_their_doi(net: FakeInternet) -> None:
    assert f"{{https://doi.org/{DOI}," in cite("https://zenodo.org/records/1215979", "bibtex")
    assert "10.5281/ZENODO.1215979" in cite("hdl:20.500.11935/4a1a945b-a6aa-476c-a833-1754100355c8", "ris")


def test_errors_are_typed(net: FakeInternet) -> None:
    with pytest.raises(IdentifierNotFound):
        cite("10.5281/zenodo.999999999")
    with pytest.raises(UsageError):
        cite(DOI, "text", style="no-such-style")
    with pytest.raises(UsageError):
        cite(DOI, "endnote")


def test_cli(cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    run = cli("cite", DOI, "--format", "ris")
    assert run.code == 0, run.err
    assert run.out.startswith("TY  - DATA\n") and "\r" not in run.out
    missing = cli("cite", "10.5281/zenodo.999999999")
    assert missing.code == 4 and "Traceback" not in missing.err
    code, out, _ = run_here(capsys, "cite", DOI)
    assert code == 0 and out.startswith("@misc{")
    code, out, _ = run_here(capsys, "cite", DOI, "-f", "text", "--style", "harvard-cite-them-right")
    assert code == 0 and "Available at: https://doi.org/10.5281/ZENODO.1215979." in out
    assert run_here(capsys, "cite", DOI, "--format", "nope")[0] == 2
