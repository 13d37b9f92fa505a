"""ESRF (ICAT+ and IDS) end to end through the fake internet: sessions, pagination, tape restores.

The seed data collection ``10.15151/ESRF-DC-818569841`` is archived: ``ls`` lists it offline,
``get`` requests a restore, polls until ONLINE and downloads; before that IDS answers 404
``DataNotOnlineException``. A collection whose restore never ends exits 10 at --restore-timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import doi2data
from doi2data.adapters import esrf
from doi2data.errors import AccessDenied, RestoreTimeout
from doi2data.sandbox import FakeInternet, Quirk
from doi2data.sandbox import facilities as fac
from doi2data.sandbox.sites.esrf import state

FAST_POLL = {"DOI2DATA_RESTORE_POLL": "0.05"}


@pytest.fixture
def tape(net: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInternet]:
    """ESRF's tape robot back in its published state, polling fast."""
    monkeypatch.setenv("DOI2DATA_RESTORE_POLL", FAST_POLL["DOI2DATA_RESTORE_POLL"])
    state(net.world).reset()
    yield net
    state(net.world).reset()


def _dataset(doi: str, index: int = 0) -> fac.EsrfDataset:
    return next(d for d in fac.ESRF_DOIS if d.doi == doi).datasets[index]


def _before_first_datafile_page(net: FakeInternet) -> list[str]:
    """Every request sent before the first datafile page (the status request goes out with it)."""
    log = net.log
    first = next(i for i, r in enumerate(log) if r.path.startswith("/catalogue/") or r.path.endswith("/status"))
    return [f"{r.method} {r.host}{r.path}" for r in log[:first]]


def test_seed_collection_listed_offline_within_budget(tape: FakeInternet) -> None:
    manifest = doi2data.resolve(fac.ESRF_DOI)
    ds = _dataset(fac.ESRF_DOI)
    assert sorted(f.path for f in manifest.files) == sorted(f"{ds.name}/{f.key}" for f in ds.files)
    assert len(manifest.files) == 17 and all(f.path.endswith(".h5") for f in manifest.files)
    assert all(f.access == "offline" and "restore" in (f.note or "") for f in manifest.files)
    assert {f.size for f in manifest.files} == {f.size for f in ds.files}
    before = _before_first_datafile_page(tape)
    # resolver (Handle API + DataCite) + [POST /session with the reader account | /doi/<doi>/datasets]
    assert len(before) <= 4, before
    assert "POST icatplus.esrf.fr/session" in before and not any("config" in r for r in before)
    assert not state(tape.world).restore_requests  # ls never restores


def test_ls_explain_counts_four_requests_before_the_datafile_pages(cli, tape: FakeInternet) -> None:  # type: ignore[no-untyped-def]
    run = cli("ls", fac.ESRF_DOI, "--explain")
    assert run.code == 0, run.err
    before = _before_first_datafile_page(tape)
    assert len(before) == 4, before
    route = run.err[run.err.index("  route:"):]
    assert route.index("POST https://icatplus.esrf.fr/session") < route.index("/catalogue/")
    assert "ESRF: anonymous session with the documented reader account" in run.err
    assert "data.esrf.fr" not in run.err


def test_reader_refused_falls_back_to_the_portal_configuration(tape: FakeInternet) -> None:
    st = state(tape.world)
    st.anonymous_credentials = {"plugin": "db", "username": "anonymous2026", "password": "open-data"}
    manifest = doi2data.resolve(fac.ESRF_SESSION_DOI, include="sampleA_0002/*")
    assert len(manifest.files) == 3
    assert [r.status for r in tape.log if r.path == "/session"] == [403, 200]
    before = _before_first_datafile_page(tape)
    assert "GET data.esrf.fr/config/api.config.json" in before and len(before) <= 6, before
    assert manifest.discovery and any("api.config.json" in n for n in manifest.discovery.notes)


def test_no_anonymous_session_at_all_is_access_denied(cli, tape: FakeInternet) -> None:  # type: ignore[no-untyped-def]
    st = state(tape.world)
    st.anonymous_credentials = {"plugin": "db", "username": "anonymous2026", "password": "open-data"}
    tape.add_quirk(Quirk(host="data.esrf.fr", kind="status", status=404))
    run = cli("ls", fac.ESRF_SESSION_DOI)
    assert run.code == AccessDenied.exit_code == 7, run.err
    assert "refused an anonymous ICAT+ session" in run.err and "Traceback" not in run.err


def test_get_restores_polls_then_downloads(tape: FakeInternet, tmp_path: Path) -> None:
    ds = _dataset(fac.ESRF_DOI)
    probe = esrf.download_url(str(ds.file_id(0)))
    with httpx.Client(follow_redirects=True) as client:  # before the restore: IDS refuses
        refused = client.get(probe)
    assert refused.status_code == 404 and refused.json()["code"] == "DataNotOnlineException"
    skipped = doi2data.download(fac.ESRF_DOI, tmp_path / "no", restore=False)
    assert skipped.count("skipped") == 17 and not state(tape.world).restore_requests
    messages: list[str] = []
    report = doi2data.download(fac.ESRF_DOI, tmp_path / "yes", include="*_00000[1-4].h5", restore_progress=messages.append)
    st = state(tape.world)
    assert st.restore_requests == 1 and st.status_polls >= ds.restore_polls  # type: ignore[operator]
    assert report.count("downloaded") == 4 and not report.messages  # the "archived" note is gone
    assert any("online" in m for m in messages) and any("poll" in m for m in messages)
    for f in ds.files[:4]:
        assert (tmp_path / "yes" / ds.name / f.key).read_bytes() == tape.world.read(f)
    assert any(r.host == "ids.esrf.fr" and r.path == "/ids/getData" for r in tape.log)


def test_restore_timeout_exit_code(cli, tape: FakeInternet) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", fac.ESRF_TAPE_DOI, "out", "--restore-timeout", "0.5", env=FAST_POLL)
    assert run.code == RestoreTimeout.exit_code == 10, run.err
    assert "--restore-timeout" in run.err and "again later" in run.err and "poll" in run.err
    run = cli("get", fac.ESRF_TAPE_DOI, "out", "--no-restore", env=FAST_POLL)
    assert run.code == 0 and "skipped" in run.err and "tape" in run.err


def test_paginated_datafiles_and_duplicate_names(tape: FakeInternet, tmp_path: Path) -> None:
    manifest = doi2data.resolve(fac.ESRF_SESSION_DOI)
    big = _dataset(fac.ESRF_SESSION_DOI, 0)
    pages = [r for r in tape.log if r.path.endswith("/datafile") and f"datasetId={big.id}" in r.query]
    assert len(pages) == 3 and len(big.files) == 231  # the server caps limit at 100
    names = {f.path.split("/")[0] for f in manifest.files}
    assert names == {"sampleA_0001", "sampleA_0002", "sampleA_0001~2"}
    assert len(manifest.files) == 231 + 3 + 1 and all(f.access == "open" for f in manifest.files)
    tape.add_quirk(Quirk(host="ids.esrf.fr", path="/ids/getData", kind="truncate", after_bytes=300_000, times=1))
    report = doi2data.download(manifest, tmp_path, include=["sampleA_0002/**", "sampleA_0001~2/*"])
    assert report.count("downloaded") == 4
    for spec in _dataset(fac.ESRF_SESSION_DOI, 1).files:
        assert (tmp_path / "sampleA_0002" / spec.key).read_bytes() == tape.world.read(spec)
    resumed = [r.headers["range"] for r in tape.log if r.host == "ids.esrf.fr" and "range" in r.headers]
    assert resumed and resumed[0].startswith("bytes=") and resumed[0] != "bytes=0-", "the cut file resumes with Range"


def test_portal_config_missing_does_not_matter_while_the_reader_account_works(tape: FakeInternet) -> None:
    tape.add_quirk(Quirk(host="data.esrf.fr", kind="status", status=404))
    manifest = doi2data.resolve(fac.ESRF_SESSION_DOI, include="sampleA_0002/*")
    assert len(manifest.files) == 3
    assert [r.status for r in tape.log if r.path == "/session"] == [200]
    assert not [r for r in tape.log if r.host == "data.esrf.fr"]


# -- ICAT+ versions: the paginated datafile route, or only the older one ---------------------------

def _datafile_requests(net: FakeInternet) -> tuple[list[str], list[str]]:
    paged = [r.path for r in net.log if r.host == "icatplus.esrf.fr" and r.path.endswith("/datafile")
             and "/dataset/id/" not in r.path]
    older = [r.path for r in net.log if r.host == "icatplus.esrf.fr" and "/dataset/id/" in r.path]
    return paged, older


def test_older_icat_plus_costs_one_extra_request_and_lists_the_same(tape: FakeInternet) -> None:
    current = doi2data.resolve(fac.ESRF_SESSION_DOI)
    paged, older = _datafile_requests(tape)
    datasets = next(d for d in fac.ESRF_DOIS if d.doi == fac.ESRF_SESSION_DOI).datasets
    assert len(datasets) > 1 and paged and not older
    tape.clear_log()
    state(tape.world).datafile_routes = {"by-dataset-id"}  # an ICAT+ release without the paginated route
    legacy = doi2data.resolve(fac.ESRF_SESSION_DOI)
    assert [(f.path, f.size, f.url) for f in legacy.files] == [(f.path, f.size, f.url) for f in current.files]
    paged, older = _datafile_requests(tape)
    assert len(paged) == 1, paged          # one 404, then the route is remembered for every other dataset
    assert len(older) == len(datasets)     # one unpaginated answer per dataset


def test_older_icat_plus_download_and_explain(cli, tape: FakeInternet, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state(tape.world).datafile_routes = {"by-dataset-id"}
    run = cli("get", fac.ESRF_SESSION_DOI, str(tmp_path / "d"), "--include", "sampleA_0002/*", "--explain")
    assert run.code == 0, run.err
    assert "no paginated datafile route" in run.err
    assert len([p for p in (tmp_path / "d").rglob("*") if p.is_file() and ".doi2data" not in p.parts]) == 3


def test_icat_plus_with_neither_route_is_a_repository_error(tape: FakeInternet) -> None:
    from doi2data.errors import RepositoryError

    state(tape.world).datafile_routes = set()
    with pytest.raises(RepositoryError, match="neither datafile route"):
        doi2data.resolve(fac.ESRF_SESSION_DOI)
