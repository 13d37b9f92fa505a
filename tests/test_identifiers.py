"""Identifier parsing: every documented form, rejection of everything else, property tests."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from doi2data.errors import InvalidIdentifier
from doi2data.identifiers import parse_identifier

DOI = "10.5281/zenodo.1215979"


@pytest.mark.parametrize(
    "text",
    [
        DOI,
        f"doi:{DOI}",
        f"DOI:{DOI}",
        f"doi: {DOI}",
        f"DOI {DOI}",
        f"info:doi/{DOI}",
        f"urn:doi:{DOI}",
        f"https://doi.org/{DOI}",
        f"http://doi.org/{DOI}",
        f"http://dx.doi.org/{DOI}",
        f"https://dx.doi.org/{DOI}",
        f"https://www.doi.org/{DOI}",
        f"doi.org/{DOI}",
        f"https://doi.org/{quote(DOI, safe='')}",
        quote(DOI, safe=""),
        quote(quote(DOI, safe=""), safe=""),
        f"  <https://doi.org/{DOI}>.  ",
        f"hdl:{DOI}",
        f"https://hdl.handle.net/{DOI}",
        "10.5281/ZENODO.1215979",
    ],
)
def test_doi_forms(text: str) -> None:
    ident = parse_identifier(text)
    assert ident.scheme == "doi"
    assert ident == parse_identifier(DOI)
    assert ident.key == DOI


def test_case_insensitive_equality_keeps_spelling() -> None:
    upper = parse_identifier("10.7910/DVN/RLMYMR")
    lower = parse_identifier("doi:10.7910/dvn/rlmymr")
    assert upper == lower and hash(upper) == hash(lower)
    assert upper.value == "10.7910/DVN/RLMYMR"


@pytest.mark.parametrize(
    "text,value",
    [
        ("hdl:20.500.11935/4a1a945b-a6aa-476c-a833-1754100355c8", "20.500.11935/4a1a945b-a6aa-476c-a833-1754100355c8"),
        ("https://hdl.handle.net/20.500.11935/4a1a", "20.500.11935/4a1a"),
        ("info:hdl/2027/mdp.39015", "2027/mdp.39015"),
    ],
)
def test_handles(text: str, value: str) -> None:
    ident = parse_identifier(text)
    assert (ident.scheme, ident.value) == ("handle", value)


@pytest.mark.parametrize(
    "text",
    [
        "https://zenodo.org/records/1215979",
        "https://doi.psi.ch/detail/10.16907%2Fd699e1f7-e822-4396-8c64-34ed405f07b7",
        "http://data.example.org/ds/1?x=1",
    ],
)
def test_landing_urls(text: str) -> None:
    ident = parse_identifier(text)
    assert ident.scheme == "url" and ident.value == text


def test_special_characters_round_trip() -> None:
    for doi in ["10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f", "10.5067/terra+aqua/ceres/cldtyphist_l3.004"]:
        assert parse_identifier(f"https://doi.org/{quote(doi, safe='')}").value == doi
        assert parse_identifier(doi).value == doi


@pytest.mark.parametrize(
    "text",
    ["", "   ", "zenodo", "10.5281", "10.5281/", "11.5281/zenodo.1", "doi:", "doi:abc", "ftp://example.org/x",
     "hdl:nope", "10.abc/def", "https://doi.org/", "10.5281/zen\x00odo", "file:///etc/passwd", "x" * 5000],
)
def test_rejects(text: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_identifier(text)
    assert "\n" not in str(info.value)


doi_suffix = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp", "Cf", "Co", "Cn")), min_size=1, max_size=40
)
registrant = st.from_regex(r"\A[0-9]{4,5}(\.[0-9]{1,3})?\Z")


@given(registrant, doi_suffix)
def test_property_doi_forms_agree(reg: str, suffix: str) -> None:
    doi = f"10.{reg}/{suffix}"
    assume(suffix.strip() == suffix and suffix.rstrip(".,;") == suffix and "%" not in suffix)
    assume(not suffix.startswith(("<", ">", '"', "'")) and not suffix.endswith((">", '"', "'")))
    assume(not any(c.isspace() for c in suffix))
    base = parse_identifier(doi)
    assert base.scheme == "doi"
    assert parse_identifier(f"doi:{doi}") == base
    assert parse_identifier(f"https://doi.org/{quote(doi, safe='/')}") == base
    assert parse_identifier(doi.upper()) == base if doi.upper().lower() == doi.lower() else True


@given(st.text(max_size=300))
def test_property_never_crashes(text: str) -> None:
    try:
        ident = parse_identifier(text)
    except InvalidIdentifier as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert ident.scheme in ("doi", "handle", "url") and ident.value
