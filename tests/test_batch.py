"""Many datasets at once (issue 14 item 2): ``get/ls/verify/export/transfer --from FILE`` and ``download_many``.

Through the sandbox: a list of DOIs (Zenodo demo, PSI, Dataverse, one that does not exist) piped on
stdin, each dataset into its own folder, verified, one summary naming the bad one, and the exit code
the error table gives it. Input hostility (binary, long lines, too many identifiers) is refused before
any request.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import doi2data
from doi2data.batch import (BatchIncomplete, DatasetOutcome, exit_code, folder_name, items_of, read_identifiers,
                            summary_lines)
from doi2data.errors import UsageError
from doi2data.identifiers import parse_identifier
from doi2data.sandbox import DEMO_DOI, MISSING_DOI, FakeInternet
from doi2data.sandbox.facilities import PSI_DOI
from doi2data.sandbox.general import HARVARD_DATASET
from doi2data.transfer.engine import TransferOptions
from doi2data.transfer.limits import Window
from conftest import run_here  # noqa: E402

HV_DOI = HARVARD_DATASET.doi
GOOD = (DEMO_DOI, PSI_DOI, HV_DOI)


def run_cli(net: FakeInternet, cwd: Path, *args: str, stdin: str | bytes = b"", timeout: float = 180) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(net.env)
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([sys.executable, "-m", "doi2data", *args], input=data, capture_output=True, env=env,
                          cwd=cwd, timeout=timeout)


def files_under(dest: Path) -> set[str]:
    return {str(p.relative_to(dest)) for p in dest.rglob("*")
            if p.is_file() and ".doi2data" not in p.relative_to(dest).parts}


def lines(*entries: str) -> str:
    return "".join(f"{e}\n" for e in entries)


# the list ------------------------------------------------------------------------------------------
def test_reads_plain_lines_comments_blanks_and_search_ndjson() -> None:
    text = ("\ufeff# my list\n\n  10.5281/zenodo.1215979  \r\n"
            '{"doi": "10.16907/d699e1f7-e822-4396-8c64-34ed405f07b7", "title": "PSI", "techniques": ["x"]}\n'
            '{"doi": null, "title": "an OAI record without a DOI"}\n'
            "https://doi.org/10.5281/ZENODO.1215979\n"  # the same DOI again (case-insensitive)
            "not a doi at all\n")
    batch = read_identifiers(io.BytesIO(text.encode()))
    assert [i.text for i in batch.items] == ["10.5281/zenodo.1215979", PSI_DOI, "not a doi at all"]
    assert [i.folder for i in batch.items] == ["10.5281_zenodo.1215979", "10.16907_d699e1f7-e822-4396-8c64-34ed405f07b7",
                                               None]
    assert batch.items[2].error and batch.items[2].identifier is None
    assert batch.notes == ["1 duplicate identifier(s) skipped", "1 search hit(s) without a DOI skipped"]


@pytest.mark.parametrize(("data", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
    (b"10.5281/zenodo.1\n\xff\xfe\xfd\n", "line 2 is not UTF-8"),
    (b"10.5281/zenodo.1\n" + b"1" * 20_000 + b"\n", "line 2 is longer than 16,384 bytes"),
    (b'{"doi": 5}\n', '"doi" is not a string'),
    (b'{"doi": \n', "not valid JSON"),
    (b"[" * 10_000 + b"\n", "JSON array"),
    (b"{" * 10_000 + b"\n", "not valid JSON"),
    (b"# only a comment\n\n", "no identifiers"),
])
def test_hostile_lists_are_refused_in_one_line(data: bytes, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_identifiers(io.BytesIO(data))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_line_length_is_bounded_while_reading() -> None:
    """A gigabyte without a newline is refused after reading one bound's worth, not all of it."""

    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            buffer[:] = b"1" * len(buffer)
            self.served += len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(UsageError, match="longer than"):
        read_identifiers(io.BufferedReader(stream), max_line=4096)
    assert stream.served < 64 * 1024


def test_number_of_identifiers_is_bounded() -> None:
    many = "".join(f"10.5281/zenodo.{n}\n" for n in range(11))
    assert len(read_identifiers(io.BytesIO(many.encode()), max_identifiers=11).items) == 11
    with pytest.raises(UsageError, match=r"more than 10 identifiers \(--max-identifiers"):
        read_identifiers(io.BytesIO(many.encode()), max_identifiers=10)


def test_total_size_of_the_list_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import doi2data.batch as batch

    monkeypatch.setattr(batch, "MAX_TOTAL", 1000)
    many = "".join(f"10.5281/zenodo.{n:020d}\n" for n in range(40))  # 35 characters and a newline each
    with pytest.raises(UsageError, match="add up to more than"):
        read_identifiers(io.BytesIO(many.encode()))
    assert len(read_identifiers(io.BytesIO(many[:36 * 28].encode())).items) == 28  # 980 characters


def test_folders_are_safe_bounded_and_collisions_get_a_suffix() -> None:
    batch = items_of(["10.1234/a:b", "10.1234/a;b", "10.1234/A;B", "10.1234/../../etc", "10.1234/" + "x" * 1000])
    names = [i.folder for i in batch.items]
    # a:b and a;b share a slug; A;B is the same DOI as a;b (DOIs ignore case) and is dropped
    assert names[:3] == ["10.1234_a_b", "10.1234_a_b-2", "10.1234_.._.._etc"]
    assert len(names[3] or "") <= 120 and "/" not in (names[3] or "")
    assert batch.notes == ["1 duplicate identifier(s) skipped"]
    assert folder_name(parse_identifier("https://example.org/data/set?id=1")) == "example.org_data_set_id_1"


def test_exit_code_reflects_every_dataset() -> None:
    def outcome(ok: bool, code: int = 0) -> DatasetOutcome:
        return DatasetOutcome("x", "x", ok, exit_code=code)

    assert exit_code([outcome(True), outcome(True)]) == 0
    assert exit_code([outcome(True), outcome(False, 4)]) == 4        # its own code
    assert exit_code([outcome(False, 4), outcome(False, 4)]) == 4
    assert exit_code([outcome(False, 4), outcome(False, 7)]) == 1     # mixed failures
    assert BatchIncomplete([outcome(True), outcome(False, 9)]).exit_code == 9
    assert summary_lines([outcome(True), outcome(False, 4)])[-1] == "2 dataset(s): 1 ok, 1 failed (exit 4)"


# end to end ----------------------------------------------------------------------------------------
def test_search_dois_piped_into_get_from_stdin(net: FakeInternet, tmp_path: Path) -> None:
    """``doi2data search … --format dois | doi2data get --from - data/``: each dataset in its own
    folder, verified; the missing DOI named in the summary; its code (4) is the run's."""
    stdin = lines(*GOOD, MISSING_DOI)
    run = run_cli(net, tmp_path, "get", "--from", "-", "data", "--json", stdin=stdin)
    events = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert run.returncode == 4, run.stderr.decode()
    by_id = {e["identifier"]: e for e in events if e["event"] == "dataset"}
    assert set(by_id) == {*GOOD, MISSING_DOI}
    for doi in GOOD:
        event = by_id[doi]
        folder = tmp_path / "data" / folder_name(parse_identifier(doi))
        assert event["status"] == "ok" and event["folder"] == folder.name, event
        assert event["failed"] == 0 and event["verified"] >= 1 and event["files"] >= 1
        assert len(files_under(folder)) == event["verified"] + event["unchecked"]
    bad = by_id[MISSING_DOI]
    assert bad["status"] == "failed" and bad["exit_code"] == 4 and bad["error"]
    assert not (tmp_path / "data" / folder_name(parse_identifier(MISSING_DOI))).exists()
    assert events[-1] == {"event": "batch", "datasets": 4, "ok": 3, "failed": 1, "exit_code": 4, "notes": []}
    # the folders are those of single gets: the demo dataset matches `get DOI` file for file
    single = run_cli(net, tmp_path, "get", DEMO_DOI, "-q")
    assert single.returncode == 0, single.stderr.decode()
    assert files_under(tmp_path / "10.5281_zenodo.1215979") == files_under(tmp_path / "data" / "10.5281_zenodo.1215979")

    # verify --from over the same tree, text summary naming the bad one; then all good -> 0
    run = run_cli(net, tmp_path, "verify", "--from", "-", "data", stdin=stdin)
    err = run.stderr.decode()
    assert run.returncode == 4, err
    assert f"FAILED  {MISSING_DOI}:" in err and "4 dataset(s): 3 ok, 1 failed (exit 4)" in err
    run = run_cli(net, tmp_path, "verify", "--from", "-", "data", stdin=lines(*GOOD))
    assert run.returncode == 0, run.stderr.decode()
    # a second get moves no byte
    run = run_cli(net, tmp_path, "get", "--from", "-", "data", "--json", stdin=lines(*GOOD))
    assert run.returncode == 0
    assert all(json.loads(line).get("bytes", 0) == 0 for line in run.stdout.decode().splitlines())


def test_one_shared_rate_budget_for_every_dataset(net: FakeInternet, tmp_path: Path) -> None:
    """A budget of 2 requests per second to zenodo.org holds across datasets: with one limiter per
    dataset, each of the three would get a fresh bucket (its two requests at once) and no one would wait."""
    import time

    doi_list = ["10.5281/zenodo.1215979", "10.5281/zenodo.1215900", "10.5281/zenodo.8173303"]
    start = time.monotonic()
    options = TransferOptions(rates={"zenodo.org": (Window(2, 1.0),)})
    outcomes = doi2data.download_many(doi_list, tmp_path, include=["README*", "notes.txt"], options=options)
    took = time.monotonic() - start
    assert [o.ok for o in outcomes] == [True, True, True], [o.error for o in outcomes]
    sent = sum(1 for r in net.log if r.host == "zenodo.org")
    assert sent >= 5, sent  # more than one bucket's worth, so waiting was needed
    assert took >= (sent - 2) * 0.5 * 0.9, (sent, took)


def test_ls_from_prints_each_manifest_and_json_lines(net: FakeInternet, tmp_path: Path) -> None:
    run = run_cli(net, tmp_path, "ls", "--from", "-", "--json", stdin=lines(DEMO_DOI, MISSING_DOI, HV_DOI))
    docs = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert run.returncode == 4
    assert docs[0]["dataset"]["doi"].lower() == DEMO_DOI and docs[2]["dataset"]["doi"] == HV_DOI
    assert docs[1]["identifier"] == MISSING_DOI and docs[1]["exit_code"] == 4
    table = run_cli(net, tmp_path, "ls", "--from", "-", stdin=lines(DEMO_DOI, HV_DOI))
    out = table.stdout.decode()
    assert table.returncode == 0 and out.count("file(s),") == 2 and "README.json" in out and "survey_2019" in out


def test_cli_refuses_bad_lists_and_single_dataset_options(net: FakeInternet, tmp_path: Path) -> None:
    run = run_cli(net, tmp_path, "get", "--from", "-", "data", stdin=b"\x00\x01\x02binary")
    assert run.returncode == 2 and run.stderr.decode().count("\n") == 1 and "looks binary" in run.stderr.decode()
    run = run_cli(net, tmp_path, "get", "--from", "-", "--extract", "a.zip:*", stdin=lines(DEMO_DOI))
    assert run.returncode == 2 and "--extract applies to one dataset" in run.stderr.decode()
    (tmp_path / "list.txt").write_text(lines(DEMO_DOI, PSI_DOI))
    run = run_cli(net, tmp_path, "ls", "--from", "list.txt", "--max-identifiers", "1")
    assert run.returncode == 2 and "more than 1 identifiers" in run.stderr.decode()
    run = run_cli(net, tmp_path, "get")
    assert run.returncode == 2 and "Missing argument 'IDENTIFIER'" in run.stderr.decode()
    assert not net.log  # nothing was asked of anyone


# export and transfer -------------------------------------------------------------------------------


def count_limiters(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every HostLimiter the API makes (one per run when the batch shares its session)."""
    import doi2data.api as api

    made: list[Any] = []

    class Counted(api.HostLimiter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(api, "HostLimiter", Counted)
    return made


def test_export_from_writes_a_bag_per_dataset_with_one_shared_budget(net: FakeInternet, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bagit = pytest.importorskip("bagit")
    made = count_limiters(monkeypatch)
    (tmp_path / "list.txt").write_text(lines(DEMO_DOI, MISSING_DOI, HV_DOI))
    code, _, err = run_here(capsys, "export", "--from", str(tmp_path / "list.txt"), "--bagit", str(tmp_path / "bags"))
    assert code == 4, err
    for doi in (DEMO_DOI, HV_DOI):
        bag = bagit.Bag(str(tmp_path / "bags" / folder_name(parse_identifier(doi))))
        bag.validate()
    assert f"FAILED  {MISSING_DOI}:" in err and "3 dataset(s): 2 ok, 1 failed (exit 4)" in err
    # the exporters' downloads (run in worker threads) and every listing drew on the batch's one limiter
    assert len(made) == 1, len(made)


def test_transfer_from_submits_one_fts3_job_per_dataset(net: FakeInternet, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from doi2data.sandbox.sites import fts3 as fts3_site

    fts, token = "https://fts3-pilot.cern.ch", f"fts3-pilot.cern.ch={fts3_site.TOKEN}"
    (tmp_path / "list.txt").write_text(lines(DEMO_DOI, HV_DOI))
    code, out, err = run_here(capsys, "transfer", "--from", str(tmp_path / "list.txt"), "--engine", "fts3",
                              "--to", "davs://se.example.org/in/", "--fts-server", fts, "--token", token,
                              "--include", "*.json", "--include", "*.txt")
    assert code == 0, err
    jobs = [net.sites["fts3-pilot.cern.ch"].jobs[job_id] for job_id in out.split()]
    assert len(jobs) == 2 and jobs[0]["job_state"] == "FINISHED"  # (the emulator copies Zenodo's bytes only)
    assert [job["job_metadata"]["doi"].lower() for job in jobs] == [DEMO_DOI, HV_DOI.lower()]
    targets = [{f["dest_surl"] for f in job["files"]} for job in jobs]
    assert all(t.startswith("davs://se.example.org/in/10.5281_zenodo.1215979/") for t in targets[0])
    assert all(t.startswith("davs://se.example.org/in/10.7910_DVN_SBX0A1/") for t in targets[1])
    code, out, err = run_here(capsys, "transfer", "--from", str(tmp_path / "list.txt"), "--engine", "fts3",
                              "--to", "davs://se.example.org/in", "--dry-run")
    assert code == 0 and out.count('"files"') == 2 and "/in/10.7910_DVN_SBX0A1/" in out


def test_escape_sequences_in_a_search_hit_never_reach_the_terminal() -> None:
    batch = read_identifiers(io.BytesIO(b'{"doi": "10.1234/x\\u001b[2J\\u001b[31m"}\n10.1234/y\n'))
    bad = batch.items[0]
    assert bad.error and "\x1b" not in bad.text and "\x1b" not in DatasetOutcome.failure(bad, bad.error).line()


def test_with_from_the_one_positional_is_dest_and_defaults_to_here() -> None:
    from doi2data.commands._from import only_dest

    assert only_dest("data", None, "get") == Path("data") and only_dest(None, None, "get") == Path(".")
    with pytest.raises(UsageError, match="takes no IDENTIFIER"):
        only_dest("10.1/x", Path("data"), "get")


def test_real_search_piped_into_get_and_ls(net: FakeInternet, tmp_path: Path) -> None:
    """The pipeline itself, through a shell pipe: ``search --format dois | get --from -`` and
    ``search --ndjson | ls --from - --json`` (skipped until ``doi2data search`` is there)."""
    from doi2data.cli import cli as group

    if "search" not in group.commands:
        pytest.skip("doi2data search is not available")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(net.env)
    me = f"{sys.executable} -m doi2data"
    pipe = f"{me} search --format dois --limit 2 -q | {me} get --from - data --json"
    proc = subprocess.run(["sh", "-c", pipe], capture_output=True, env=env, cwd=tmp_path, timeout=180)
    events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert proc.returncode == 0, proc.stderr.decode()
    datasets = [e for e in events if e["event"] == "dataset"]
    assert len(datasets) == 2 and all(e["status"] == "ok" and e["verified"] >= 1 for e in datasets)
    assert {p.name for p in (tmp_path / "data").iterdir()} == {e["folder"] for e in datasets}
    pipe = f"{me} search --ndjson --limit 2 -q | {me} ls --from - --json"
    proc = subprocess.run(["sh", "-c", pipe], capture_output=True, env=env, cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [json.loads(line)["dataset"]["doi"].lower() for line in proc.stdout.decode().splitlines()] == \
        [e["identifier"].lower() for e in datasets]


def test_a_dataset_with_a_failed_file_names_it_and_mixed_failures_exit_1(net: FakeInternet, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from doi2data.sandbox import Quirk

    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0001.cbf*", kind="corrupt", offset=10))
    (tmp_path / "list.txt").write_text(lines(DEMO_DOI, HV_DOI))
    code, _, err = run_here(capsys, "get", "--from", str(tmp_path / "list.txt"), str(tmp_path / "d"), "-q",
                            "--attempts", "2")
    assert code == 1, err  # one dataset with a failed file: exit 1
    assert "  FAILED images/frame_0001.cbf:" in err
    assert f"FAILED  {DEMO_DOI} -> 10.5281_zenodo.1215979: 8 file(s)" in err and "7 verified, 1 failed" in err
    assert f"ok      {HV_DOI} -> 10.7910_DVN_SBX0A1" in err
    (tmp_path / "list.txt").write_text(lines(DEMO_DOI, MISSING_DOI))  # a failed file (1) and a missing DOI (4)
    code, _, err = run_here(capsys, "get", "--from", str(tmp_path / "list.txt"), str(tmp_path / "d"), "-q",
                            "--attempts", "2")
    assert code == 1 and "2 dataset(s): 0 ok, 2 failed (exit 1)" in err
