"""``doi2data doctor`` offline: the sandbox is a TLS-inspecting proxy, so every finding is real.

Faults: a host the proxy refuses to CONNECT to, a CA bundle that does not hold the inspecting CA,
a host reached directly (NO_PROXY) whose port is closed, a missing SSL_CERT_FILE.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
import trustme

from doi2data.conformance import CASES, Case, check_manifest, run_case
from doi2data.doctor import HostCheck, classify_error, clock_skew, environment, mask, rate_headers, run_checks
from doi2data.sandbox import FakeInternet

TARGETS = (("doi.org", "https://doi.org/api/handles/10.1000/1"), ("Zenodo", "https://zenodo.org/api/records?size=1"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _by_name(checks: list[HostCheck]) -> dict[str, HostCheck]:
    return {c.name: c for c in checks}


def test_sandbox_hosts_are_reachable_and_seen_as_intercepted(net: FakeInternet) -> None:
    info, checks = asyncio.run(run_checks(TARGETS, timeout=10))
    assert info.ca_source == "SSL_CERT_FILE" and info.ca_bundle == net.ca_file
    assert info.proxies["HTTPS_PROXY"] == net.proxy_url
    for check in checks:
        assert check.reachable and check.problem is None, check
        # The sandbox CA is not a public root: exactly what a TLS-inspecting firewall looks like.
        assert check.tls == "intercepted" and check.issuer and "sandbox" in check.issuer
        assert check.proxy == net.proxy_url and check.latency_ms is not None
        assert check.skew_s is not None and abs(check.skew_s) < 5
    # Zenodo's emulator sends its published rate-limit headers; doctor reports them.
    assert "x-ratelimit-limit" in _by_name(checks)["Zenodo"].rate_limit


def test_proxy_refusing_connect_is_named_with_advice(net: FakeInternet) -> None:
    _, checks = asyncio.run(run_checks((("blocked", "https://blocked.example.net/"),), timeout=10))
    check = checks[0]
    assert not check.reachable
    assert check.problem is not None and "proxy refused" in check.problem
    assert check.advice is not None and "NO_PROXY" in check.advice


def test_wrong_ca_bundle_names_the_intercepting_issuer(net: FakeInternet, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    _, checks = asyncio.run(run_checks(TARGETS[:1], timeout=10))
    check = checks[0]
    assert not check.reachable and check.tls == "failed"
    assert check.problem is not None and "not trusted" in check.problem and "sandbox" in check.problem
    assert check.advice is not None and "SSL_CERT_FILE" in check.advice


def test_unreachable_direct_host(net: FakeInternet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    url = f"http://127.0.0.1:{_closed_port()}/"
    _, checks = asyncio.run(run_checks((("local", url),), timeout=5))
    assert not checks[0].reachable and checks[0].proxy is None
    assert checks[0].problem is not None and "refused" in checks[0].problem


def test_missing_ca_file_is_an_environment_problem(tmp_path: Path) -> None:
    info = environment({"SSL_CERT_FILE": str(tmp_path / "nope.pem")})
    assert info.ca_problem is not None and "does not exist" in info.ca_problem
    info = environment({"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"})
    assert info.ca_problem is not None and "SSL_CERT_FILE" in info.ca_problem


def test_cli_json_and_exit_codes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = cli("doctor", "--json", "--only", "doi.org", "--only", "zenodo.org")
    assert ok.code == 0, ok.err
    document = json.loads(ok.out)
    assert [c["name"] for c in document["checks"]] == ["doi.org", "Zenodo"] and document["problems"] == 0
    bad = cli("doctor", "--only", "doi.org", "--host", "blocked=https://blocked.example.net/")
    assert bad.code == 8
    assert "blocked" in bad.out and "proxy refused" in bad.out and "->" in bad.out
    assert bad.err.strip().startswith("doi2data: error:") and "Traceback" not in bad.err
    usage = cli("doctor", "--host", "nonsense")
    assert usage.code == 2 and "NAME=URL" in usage.err


def test_pure_helpers() -> None:
    assert mask("http://user:secret@proxy.corp:3128") == "http://***@proxy.corp:3128"
    assert clock_skew("Sun, 06 Dec 2026 22:00:00 GMT", 1796594400.0 + 120) == pytest.approx(120)
    assert clock_skew("garbage", 0) is None and clock_skew("x" * 1000, 0) is None
    headers = [("X-RateLimit-Limit", "60"), ("Retry-After", "5"), ("Content-Type", "a"), ("RateLimit-Remaining", "3")]
    assert rate_headers(headers) == {"x-ratelimit-limit": "60", "retry-after": "5", "ratelimit-remaining": "3"}
    problem, advice = classify_error(OSError("[Errno -2] Name or service not known"))
    assert "does not resolve" in problem and "HTTPS_PROXY" in advice


def test_conformance_expectations_are_checked() -> None:
    case = Case("X", "10.1/x", "invenio", files=2, must_list=("a.txt",))
    assert check_manifest(case, [("a.txt", True, True), ("b/c.txt", True, True)], "invenio") == []
    problems = check_manifest(case, [("b.txt", False, True)], "figshare")
    assert len(problems) == 4  # route, count, missing name, missing checksum
    assert all(c.doi.startswith("10.") and c.source for c in CASES)


def test_conformance_runner_on_the_sandbox(net: FakeInternet) -> None:
    """The live runner is the real pipeline: on the sandbox's PSI copy, ls + get verify."""
    psi = next(c for c in CASES if c.repository == "PSI")
    row = run_case(psi)
    assert row.ok, row.problems
    assert row.adapter == "psi" and row.files and row.smallest and row.verified == "downloaded"
    wrong = run_case(Case("PSI", psi.doi, "zenodo", files=1))
    assert not wrong.ok and any("route" in p for p in wrong.problems)


def test_conformance_downloads_from_dryad_only_with_an_account(net: FakeInternet, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The live runner reads accounts as every command does (here: the tokens file), else skips the get."""
    from doi2data.sandbox.general import DRYAD_DATASET
    from doi2data.sandbox.sites import dryad as site

    case = Case("Dryad", DRYAD_DATASET.doi, "dryad", checksums=False, needs_token_for_download="datadryad.org")
    monkeypatch.delenv("DOI2DATA_TOKENS", raising=False)
    monkeypatch.setenv("DOI2DATA_TOKENS_FILE", str(tmp_path / "absent"))
    row = run_case(case)
    assert row.ok and row.verified == "needs --token datadryad.org=…" and row.smallest is None
    tokens = tmp_path / "tokens"
    tokens.write_text(f"datadryad.org={site.CLIENT_ID}:{site.CLIENT_SECRET}\n")
    tokens.chmod(0o600)
    monkeypatch.setenv("DOI2DATA_TOKENS_FILE", str(tokens))
    row = run_case(case)
    assert row.ok and row.verified == "downloaded", row.problems
