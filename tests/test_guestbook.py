"""Dataverse guestbooks (6.10+): answers checked before any byte, one response per file per run, the
signed URL it returns fetched in one request; older installations unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import doi2data
from doi2data.adapters import dataverse_guestbook as gbmod
from doi2data.adapters.dataverse_guestbook import (GuestbookRequired, build_response, guestbook_id, parse_answers,
                                                   parse_guestbook)
from doi2data.errors import UsageError
from doi2data.sandbox import FakeInternet, Quirk
from doi2data.sandbox.general import DVN_STORAGE, HARVARD_DATASET, UNKNOWN_DV_DATASET
from doi2data.sandbox.sites import dataverse as dv
from doi2data.transfer.engine import TransferOptions

GB_URL = f"https://dataverse.harvard.edu/dataset.xhtml?persistentId=doi:{dv.GUESTBOOK_DATASET.doi}"
ANSWERS = ["name=Jane Doe,email=jane@example.org,q1=teaching, and research,sector=academia"]
BIG = "data/soundings.bin"
SEGMENTED = TransferOptions(segments=4, min_segment=256 * 1024)  # BIG (3 MB) would be cut in pieces


def posts(net: FakeInternet) -> list[Any]:
    return [r for r in net.log if r.method == "POST"]


def specs() -> dict[str, Any]:
    return {f.spec.key: f for f in dv.GUESTBOOK_DATASET.latest.files}


def assert_files(net: FakeInternet, dest: Path, keys: set[str]) -> None:
    for key in keys:
        f = specs()[key]
        assert (dest / key).read_bytes() == net.world.read(f.spec), key


# -- answers and the guestbook document (pure) ----------------------------------------------------
def test_parse_answers_forms(tmp_path: Path) -> None:
    assert parse_answers(["name=Jane,email=j@x.org,purpose=teaching, research", "Q2 = Academia"]) == {
        "name": "Jane", "email": "j@x.org", "purpose": "teaching, research", "q2": "Academia"}
    (tmp_path / "a.json").write_text(json.dumps({"name": "J", "What will you use the data for?": "Teaching"}))
    (tmp_path / "a.txt").write_text("# answers\nemail = j@x.org\nq1=a=b\n")
    assert parse_answers([f"@{tmp_path / 'a.json'}", f"@{tmp_path / 'a.txt'}"]) == {
        "name": "J", "what will you use the data for?": "Teaching", "email": "j@x.org", "q1": "a=b"}
    assert parse_answers({"Name": "J"}) == {"name": "J"} and parse_answers(None) == {}


@pytest.mark.parametrize("bad", [["no pairs here"], ["email=not-an-address"], ["=x"], ["k=" + "v" * 5000],
                                 [f"k{i}=v" for i in range(65)], ["@/nonexistent/answers.json"]])
def test_parse_answers_refuses(bad: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_answers(bad)


def test_parse_answers_refuses_big_or_odd_files(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"k=v\n" * 20_000)
    (tmp_path / "list.json").write_text("[1, 2]")
    for name in ("big", "list.json"):
        with pytest.raises(UsageError):
            parse_answers([f"@{tmp_path / name}"])


def test_guestbook_document_and_response_body() -> None:
    book = parse_guestbook({"status": "OK", "data": dv.guestbook_json(dv.GUESTBOOK)})
    assert book.required == ("name", "email") and [q.id for q in book.questions] == ["123", "124", "125"]  # hidden out
    body = build_response(book, "61", parse_answers(ANSWERS), "X")
    assert body == {"guestbookResponse": {"name": "Jane Doe", "email": "jane@example.org", "answers": [
        {"id": 123, "value": "teaching, and research"}, {"id": 124, "value": "Academia"}]}}
    with pytest.raises(GuestbookRequired) as missing:
        build_response(book, "61", {"name": "J"}, "X")
    assert [line.split()[0] for line in missing.value.details] == ["email=…", "q1=…", "q2=…"]
    assert "Academia, Government, Industry" in missing.value.details[-1] and missing.value.exit_code == 7
    with pytest.raises(UsageError, match="takes one of"):
        build_response(book, "61", {**parse_answers(ANSWERS), "q2": "Farming"}, "X")
    with pytest.raises(UsageError, match="matches no field"):
        build_response(book, "61", {**parse_answers(ANSWERS), "q9": "x"}, "X")
    assert guestbook_id({"data": {"latestVersion": {"guestbookId": 61}}}) == "61"
    assert guestbook_id({"data": {"versionNumber": 1}}) is None and guestbook_id([]) is None


# -- against the sandbox (Harvard plays 6.10, the unknown institute 6.1) -------------------------------
def test_plain_download_is_refused_by_a_610_server(net: FakeInternet) -> None:
    import httpx

    with httpx.Client() as client:
        r = client.get("https://dataverse.harvard.edu/api/access/datafile/9000311")
    assert r.status_code == 400 and "required Guestbook response for guestbookID 61" in r.json()["message"]


def test_missing_answers_are_listed_before_any_byte(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    run = cli("get", GB_URL, "gb", "-q", "--guestbook", "name=Jane")
    assert run.code == 7, run.err
    lines = run.err.strip().splitlines()
    assert lines[0].startswith("doi2data: error: Dataverse dataset") and "guestbook" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["email=…", "q1=…", "q2=…"]
    assert "What will you use the data for?" in run.err
    assert not posts(net) and not any("/access/datafile" in r.path for r in net.log)
    assert not any(p.is_file() for p in (tmp_path / "gb").rglob("*") if ".doi2data" not in p.parts)
    unknown = cli("get", GB_URL, "gb", "-q", "--guestbook", "name=J,email=j@x.org,favourite=blue")
    assert unknown.code == 2 and "favourite" in unknown.err


def test_one_response_per_file_and_one_request_for_a_large_file(cli: Any, net: FakeInternet, tmp_path: Path) -> None:
    (tmp_path / "answers.json").write_text(json.dumps({"name": "Jane", "email": "jane@example.org",
                                                       "What will you use the data for?": "Teaching",
                                                       "q2": "Industry", "q3": "no"}))
    before = len(dv.RESPONSES)
    run = cli("get", GB_URL, "gb", "-q", "--guestbook", "@answers.json", "--min-segment", "256KiB")
    assert run.code == 0, run.err
    assert_files(net, tmp_path / "gb", set(specs()))
    sent = [(r.path, r.query) for r in posts(net)]
    assert sorted(sent) == sorted([("/api/access/datafile/9000310", "signed=true"),
                                   ("/api/access/datafile/9000311", "signed=true"),
                                   ("/api/access/datafile/9000312", "signed=true&format=original")])
    recorded = dv.RESPONSES[before:]
    assert {r.body["answers"][2]["value"] for r in recorded} == {"No"} and {r.guestbook for r in recorded} == {61}
    big = [r for r in net.log if r.host == "dataverse.harvard.edu" and r.path == "/api/v1/access/datafile/9000311"]
    assert len(big) == 1 and "gbrids=" in big[0].query and "range" not in big[0].headers  # no pieces
    net.clear_log()
    again = cli("get", GB_URL, "gb", "-q")  # everything verified: no guestbook, no response, no answers needed
    assert again.code == 0, again.err
    assert not posts(net) and not any(r.path.startswith("/api/guestbooks") for r in net.log)


def test_a_broken_stream_resumes_on_the_same_signed_url(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host=DVN_STORAGE, path="/10.7910/DVN/GB7Q2X/*", kind="reset", after_bytes=1_000_000, times=1))
    report = doi2data.download(GB_URL, tmp_path / "r", include=BIG, guestbook=ANSWERS, options=SEGMENTED)
    assert report.count("downloaded") == 1 and report.results[0].retries
    assert_files(net, tmp_path / "r", {BIG})
    assert len(posts(net)) == 1  # the retry went through the URL the one response gave
    ranged = [r for r in net.log if r.host == DVN_STORAGE and "range" in r.headers]
    assert ranged and ranged[-1].status == 206 and ranged[-1].headers["range"].startswith("bytes=1")


def test_a_file_left_half_done_resumes_next_run_with_one_new_response(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host=DVN_STORAGE, path="/10.7910/DVN/GB7Q2X/*", kind="reset", after_bytes=1_000_000, times=1))
    first = doi2data.download(GB_URL, tmp_path / "h", guestbook=ANSWERS, raise_on_failure=False,
                              options=TransferOptions(segments=4, min_segment=256 * 1024, max_attempts=1))
    assert list(first.failed) == [BIG] and len(posts(net)) == 3
    net.clear_log()
    second = doi2data.download(GB_URL, tmp_path / "h", guestbook=ANSWERS, options=SEGMENTED)
    assert second.count("downloaded") == 1 and second.count("present") == 2
    assert [r.path for r in posts(net)] == ["/api/access/datafile/9000311"]
    storage = [r for r in net.log if r.host == DVN_STORAGE]
    assert len(storage) == 1 and storage[0].status == 206  # resumed, not restarted
    assert_files(net, tmp_path / "h", set(specs()))


def test_an_expired_signed_url_is_not_replaced_within_the_run(net: FakeInternet, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gbmod, "FRESH_MARGIN", gbmod.SIGNED_URL_LIFETIME)  # every signed URL is stale once used
    net.add_quirk(Quirk(host=DVN_STORAGE, path="/10.7910/DVN/GB7Q2X/*", kind="reset", after_bytes=1_000_000, times=1))
    report = doi2data.download(GB_URL, tmp_path / "x", include=BIG, guestbook=ANSWERS, raise_on_failure=False,
                               options=SEGMENTED)
    assert "expired" in report.failed[BIG] and "re-run" in report.failed[BIG]
    assert len(posts(net)) == 1


def test_older_installation_and_datasets_without_a_guestbook_are_unchanged(net: FakeInternet, tmp_path: Path) -> None:
    assert UNKNOWN_DV_DATASET.doi in dv.OLD_GUESTBOOKS and not dv.asks_for_guestbooks(UNKNOWN_DV_DATASET.host)
    old = doi2data.download(UNKNOWN_DV_DATASET.doi, tmp_path / "old")
    assert old.count("downloaded") == len(UNKNOWN_DV_DATASET.latest.files)
    harvard = doi2data.download(HARVARD_DATASET.doi, tmp_path / "hv", include="README.txt")
    assert harvard.count("downloaded") == 1
    assert not posts(net) and not any(r.path.startswith("/api/guestbooks") for r in net.log)
    assert not any("guestbook" in w for w in doi2data.resolve(UNKNOWN_DV_DATASET.doi).warnings)
    with pytest.raises(UsageError):  # answers are still checked for form before any request
        doi2data.download(UNKNOWN_DV_DATASET.doi, tmp_path / "bad", guestbook=["just text"])


def test_listing_says_a_guestbook_is_needed(net: FakeInternet) -> None:
    manifest = doi2data.resolve(GB_URL)
    assert any("guestbook 61" in w and "--guestbook" in w for w in manifest.warnings)


def test_a_file_pid_finds_its_datasets_guestbook(net: FakeInternet, tmp_path: Path) -> None:
    url = "https://dataverse.harvard.edu/file.xhtml?persistentId=doi:10.7910/DVN/GB7Q2X/SND4QZ"
    with pytest.raises(GuestbookRequired):
        doi2data.download(url, tmp_path / "f")
    report = doi2data.download(url, tmp_path / "f", guestbook=ANSWERS)
    assert report.count("downloaded") == 1 and [r.path for r in posts(net)] == ["/api/access/datafile/9000311"]
    assert_files(net, tmp_path / "f", {BIG})
