"""Dryad API accounts (issue 13 item 1): OAuth2 client credentials, renewal, refusal, the tokens file,
and the emulator's 2026 rules (anonymous listing, downloads only with a token, expiring tokens)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

import doi2data
from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.dryad import ADAPTER, DRYAD
from doi2data.errors import AccessDenied, UsageError
from doi2data.http import Credentials, Http, make_client
from doi2data.oauth import ClientCredentials
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.general import DRYAD_DATASET, DRYAD_STORAGE
from doi2data.sandbox.sites import dryad as site
from doi2data.tokenfile import read_token_file
from doi2data.transfer.limits import DEFAULT_RATES, TOKEN_RATES, HostLimiter, Window

ACCOUNT = f"datadryad.org={site.CLIENT_ID}:{site.CLIENT_SECRET}"
LATEST = [f for f in DRYAD_DATASET.versions[-1].files if f.status != "deleted"]
NO_TOKENS_FILE = {"DOI2DATA_TOKENS_FILE": "/nonexistent/doi2data-tokens"}


@pytest.fixture
def dryad(net: FakeInternet) -> Any:
    st = site.state(net.world)
    st.reset()
    yield st
    st.reset()


def _files(dest: Path) -> dict[str, bytes]:
    return {p.relative_to(dest).as_posix(): p.read_bytes()
            for p in dest.rglob("*") if p.is_file() and ".doi2data" not in p.relative_to(dest).parts}


def _to(net: FakeInternet, host: str, path: str = "") -> list[Any]:
    return [r for r in net.log if r.host == host and r.path.startswith(path)]


# -- the emulator --------------------------------------------------------------------------------
def test_emulator_refuses_anonymous_downloads_and_expires_tokens(net: FakeInternet, dryad: Any) -> None:
    fid = LATEST[0].id
    with httpx.Client() as client:
        anon = client.get(f"https://datadryad.org/api/v2/downloads/{fid}")
        assert anon.status_code == 401 and "API account" in anon.json()["error_description"]
        assert client.get(f"https://datadryad.org/api/v2/files/{fid}/download").status_code == 401
        listing = client.get(f"https://datadryad.org/api/v2/versions/{DRYAD_DATASET.versions[-1].id}/files")
        assert listing.status_code == 200  # listing stays anonymous
        bad = client.post("https://datadryad.org/oauth/token", data={
            "grant_type": "client_credentials", "client_id": site.CLIENT_ID, "client_secret": "wrong"})
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        dryad.ttl = 1
        grant = client.post("https://datadryad.org/oauth/token", data={
            "grant_type": "client_credentials", "client_id": site.CLIENT_ID, "client_secret": site.CLIENT_SECRET})
        doc = grant.json()
        assert grant.status_code == 200 and doc["token_type"] == "Bearer" and doc["expires_in"] == 1
        auth = {"Authorization": f"Bearer {doc['access_token']}"}
        ok = client.get(f"https://datadryad.org/api/v2/downloads/{fid}", headers=auth, follow_redirects=False)
        assert ok.status_code == 302 and DRYAD_STORAGE in ok.headers["location"]
        dryad.tokens[doc["access_token"]] = 0  # expired
        late = client.get(f"https://datadryad.org/api/v2/versions/{DRYAD_DATASET.versions[-1].id}/files", headers=auth)
        assert late.status_code == 401 and late.json()["error"] == "invalid_token"


# -- get / ls through the CLI --------------------------------------------------------------------
def test_get_without_account_says_what_to_do_and_writes_nothing(cli: Any, net: FakeInternet, dryad: Any,
                                                               tmp_path: Path) -> None:
    run = cli("get", DRYAD_DATASET.doi, str(tmp_path / "out"), env=NO_TOKENS_FILE)
    assert run.code == AccessDenied.exit_code, run.err
    lines = [line for line in run.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "API account" in lines[0] and "--token datadryad.org=CLIENT_ID:SECRET" in lines[0]
    assert not (tmp_path / "out").exists()
    assert not _to(net, "datadryad.org", "/api/v2/downloads/") and not _to(net, DRYAD_STORAGE)
    assert _to(net, "datadryad.org", "/api/v2/versions/")  # it listed (anonymously) first


def test_get_with_account_downloads_everything_and_scopes_the_token(cli: Any, net: FakeInternet, dryad: Any,
                                                                    tmp_path: Path) -> None:
    run = cli("get", DRYAD_DATASET.doi, str(tmp_path / "out"), "--token", ACCOUNT, env=NO_TOKENS_FILE)
    assert run.code == 0, run.err
    got = _files(tmp_path / "out")
    assert got == {f.spec.key: net.world.read(f.spec) for f in LATEST}
    assert dryad.exchanges == 1 and dryad.refused_downloads == 0
    token = _to(net, "datadryad.org", "/oauth/token")
    assert [r.method for r in token] == ["POST"] and token[0].scheme == "https"
    downloads = _to(net, "datadryad.org", "/api/v2/downloads/")
    assert downloads and all(r.headers.get("authorization", "").startswith("Bearer ") for r in downloads)
    assert not any("authorization" in r.headers for r in _to(net, DRYAD_STORAGE))  # never to S3


def test_refused_account_keeps_the_anonymous_listing_and_get_says_why(cli: Any, net: FakeInternet, dryad: Any,
                                                                     tmp_path: Path) -> None:
    wrong = f"datadryad.org={site.CLIENT_ID}:not-the-secret"
    listed = cli("ls", DRYAD_DATASET.doi, "--json", "--token", wrong, env=NO_TOKENS_FILE)
    assert listed.code == 0, listed.err
    assert {f["path"] for f in json.loads(listed.out)["files"]} == {f.spec.key for f in LATEST}
    assert dryad.refused_exchanges == 1 and dryad.bad_tokens == 0  # no bad token was ever sent
    net.clear_log()
    run = cli("get", DRYAD_DATASET.doi, str(tmp_path / "out"), "--token", wrong, env=NO_TOKENS_FILE)
    assert run.code == AccessDenied.exit_code
    assert "refused the API account" in run.err
    assert "CLIENT_ID:SECRET" in run.err and not (tmp_path / "out").exists()
    assert not _to(net, "datadryad.org", "/api/v2/downloads/")


# -- renewal during a run -----------------------------------------------------------------------
class _RevokeOnFirstFile:
    """A progress sink that revokes every token when the first file starts (a token expiring mid-run)."""

    def __init__(self, st: Any) -> None:
        self.st, self.done = st, False

    def start(self, files: int, total_bytes: int) -> None: ...
    def advance(self, path: str, nbytes: int) -> None: ...
    def file_done(self, result: Any) -> None: ...

    def file_started(self, path: str, size: int | None) -> None:
        if not self.done:
            self.done = True
            self.st.revoke_all()


def test_token_revoked_mid_run_is_renewed_on_401(net: FakeInternet, dryad: Any, tmp_path: Path) -> None:
    report = doi2data.download(DRYAD_DATASET.doi, tmp_path / "out", tokens=[ACCOUNT], jobs=1,
                               progress=_RevokeOnFirstFile(dryad))
    assert report.count("downloaded") == len(LATEST)
    assert _files(tmp_path / "out") == {f.spec.key: net.world.read(f.spec) for f in LATEST}
    assert dryad.bad_tokens >= 1 and dryad.exchanges == 2  # one 401, one renewal, no storm


def test_short_lived_tokens_are_renewed_before_they_expire(net: FakeInternet, dryad: Any, tmp_path: Path) -> None:
    dryad.ttl = 1.5  # the run takes longer than a token lives
    creds = Credentials.parse([ACCOUNT], env={})
    cred = creds.credential_for(httpx.URL("https://datadryad.org/"))
    assert cred is not None and cred.source is not None
    first = cred.source.current()
    import time
    time.sleep(1.6)
    second = cred.source.current()
    assert first and second and first != second and dryad.exchanges == 2 and dryad.bad_tokens == 0


def _list(creds: Credentials) -> Any:
    async def go() -> Any:
        async with make_client() as client:
            http = Http(client, credentials=creds, max_attempts=1)
            ref = RecordRef("dryad", DRYAD, DRYAD_DATASET.doi, "Dryad")
            return await ADAPTER.list_files(ref, Resolved(DRYAD_DATASET.doi, DRYAD_DATASET.doi, "", None), http)
    return asyncio.run(go())


def test_listing_survives_an_expired_token_and_a_revoked_account(net: FakeInternet, dryad: Any) -> None:
    creds = Credentials.parse([ACCOUNT], env={})
    source = creds.credential_for(httpx.URL("https://datadryad.org/")).source  # type: ignore[union-attr]
    assert source is not None and source.current()
    dryad.revoke_all()                      # the token dies; the account is fine: renewed on the 401
    assert {f.path for f in _list(creds).files} == {f.spec.key for f in LATEST}
    assert dryad.exchanges == 2 and dryad.bad_tokens == 1
    dryad.revoke_all()
    dryad.accounts.clear()                  # now the account is gone too: the listing goes on anonymously
    assert {f.path for f in _list(creds).files} == {f.spec.key for f in LATEST}
    assert source.failure and "refused" in source.failure and dryad.exchanges == 2
    with pytest.raises(AccessDenied, match="refused .* CLIENT_ID:SECRET"):
        asyncio.run(_prepare(creds))


async def _prepare(creds: Credentials) -> Any:
    manifest = doi2data.resolve(DRYAD_DATASET.doi, tokens=[])
    async with make_client() as client:
        return await ADAPTER.prepare(manifest, Http(client, credentials=creds), restore=True, timeout=1)


# -- ClientCredentials in isolation (a scripted token endpoint) ---------------------------------
class _Endpoint:
    def __init__(self, *answers: Any) -> None:
        self.answers, self.calls = list(answers), []

    def factory(self, **_: Any) -> httpx.Client:
        def handle(request: httpx.Request) -> httpx.Response:
            self.calls.append(request)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if isinstance(answer, Exception):
                raise answer
            status, body = answer
            return httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, headers=body)
        return httpx.Client(transport=httpx.MockTransport(handle))


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _ok(token: str, ttl: int = 36000) -> tuple[int, dict[str, Any]]:
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "created_at": 1}


def test_client_credentials_exchange_reuse_expiry_and_renewal() -> None:
    endpoint, clock = _Endpoint(_ok("t1"), _ok("t2"), _ok("t3")), _Clock()
    source = ClientCredentials("datadryad.org", "id", "s3cret", client=endpoint.factory, clock=clock)
    assert source.current() == "Bearer t1" and source.current() == "Bearer t1" and len(endpoint.calls) == 1
    form = dict(httpx.QueryParams(endpoint.calls[0].content.decode()))
    assert form == {"grant_type": "client_credentials", "client_id": "id", "client_secret": "s3cret"}
    assert str(endpoint.calls[0].url) == "https://datadryad.org/oauth/token"
    clock.now += 36000 - 30  # inside the renewal margin: a new token before the old one expires
    assert source.current() == "Bearer t2"
    clock.now += 100
    assert source.renew("Bearer t2") and source.current() == "Bearer t3"  # a 401: renewed
    assert source.renew("Bearer t2") and len(endpoint.calls) == 3  # a late 401 for an old token: no new exchange
    assert "s3cret" not in repr(source)


def test_client_credentials_refusals() -> None:
    refused = ClientCredentials("datadryad.org", "id", "bad", client=_Endpoint(
        (401, {"error": "invalid_client", "error_description": "Client authentication failed"})).factory)
    assert refused.current() is None and "refused the API account (HTTP 401 invalid_client)" in (refused.failure or "")
    assert refused.current() is None and refused.exchanges == 1  # refused once: no more exchanges
    clock = _Clock()
    endpoint = _Endpoint(_ok("a"), _ok("b"), _ok("c"))
    stubborn = ClientCredentials("datadryad.org", "id", "s", client=endpoint.factory, clock=clock)
    assert stubborn.current() == "Bearer a" and stubborn.renew("Bearer a")
    assert stubborn.current() == "Bearer b" and stubborn.renew("Bearer b")  # two fresh tokens refused
    assert stubborn.failure and stubborn.current() is None and len(endpoint.calls) == 2


def test_client_credentials_transient_errors_and_redirects() -> None:
    clock = _Clock()
    endpoint = _Endpoint(httpx.ConnectError("down"), (302, {"location": "https://evil.example/steal"}), _ok("x"))
    source = ClientCredentials("datadryad.org", "id", "s", client=endpoint.factory, clock=clock)
    assert source.current() is None and "could not get a token" in (source.error or "") and source.failure is None
    assert source.current() is None and len(endpoint.calls) == 1  # backing off
    clock.now += 31
    assert source.current() is None and len(endpoint.calls) == 2  # a redirect is not followed (secret stays)
    assert all(c.url.host == "datadryad.org" for c in endpoint.calls)
    clock.now += 31
    assert source.current() == "Bearer x"


def test_client_credentials_one_exchange_for_many_threads() -> None:
    gate = threading.Event()
    calls: list[int] = []

    def factory(**_: Any) -> httpx.Client:
        def handle(request: httpx.Request) -> httpx.Response:
            calls.append(1)
            gate.wait(2)
            return httpx.Response(200, json={"access_token": "one", "token_type": "bearer", "expires_in": 60})
        return httpx.Client(transport=httpx.MockTransport(handle))

    source = ClientCredentials("datadryad.org", "id", "s", client=factory)
    got: list[str | None] = []
    threads = [threading.Thread(target=lambda: got.append(source.current())) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert got == ["Bearer one"] * 8 and len(calls) == 1


# -- where the account comes from, where it goes ------------------------------------------------
def test_account_forms_and_scope() -> None:
    creds = Credentials.parse([ACCOUNT, "zenodo.org=tok", "example.org=X-Key:v"], env={})
    dryad_cred = creds.credential_for(httpx.URL("https://datadryad.org/api/v2/downloads/1"))
    assert dryad_cred is not None and isinstance(dryad_cred.source, ClientCredentials)
    assert creds.headers_for(httpx.URL(f"https://{DRYAD_STORAGE}/x")) == {}
    assert creds.headers_for(httpx.URL("http://datadryad.org/api/v2/downloads/1")) == {}  # never in clear text
    assert creds.credential_for(httpx.URL("https://example.org/")).header == "X-Key"  # type: ignore[union-attr]
    ready = Credentials.parse(["datadryad.org=abc", "datadryad.org=Authorization:Bearer xyz"], env={})
    assert ready.headers_for(httpx.URL("https://datadryad.org/")) == {"Authorization": "Bearer xyz"}


def test_tokens_file(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "doi2data" / "tokens"
    path.parent.mkdir(parents=True)
    path.write_text(f"# my accounts\n\n{ACCOUNT}\n  zenodo.org=abc  \n")
    path.chmod(0o600)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert read_token_file(env) == [ACCOUNT, "zenodo.org=abc"]
    creds = Credentials.parse(["zenodo.org=cli"], env={**env, "DOI2DATA_TOKENS": "zenodo.org=env"})
    assert creds.headers_for(httpx.URL("https://zenodo.org/")) == {"Authorization": "Bearer cli"}  # --token wins
    assert creds.credential_for(httpx.URL("https://datadryad.org/")) is not None
    assert read_token_file({"HOME": str(tmp_path / "nohome")}) == []
    if os.name == "posix":
        path.chmod(0o644)
        with pytest.raises(UsageError, match="chmod 600"):
            Credentials.parse([], env=env)
        path.chmod(0o600)
    path.write_bytes(b"x" * 70_000)
    with pytest.raises(UsageError, match="larger than"):
        read_token_file({"DOI2DATA_TOKENS_FILE": str(path)})


def test_published_rates_for_dryad() -> None:
    anon = HostLimiter()
    assert anon.rates["datadryad.org"] == DEFAULT_RATES["datadryad.org"] == (Window(30, 60.0),)
    account = HostLimiter(authenticated=["datadryad.org"])
    assert account.rates["datadryad.org"] == TOKEN_RATES["datadryad.org"] == (Window(240, 60.0),)
    mine = HostLimiter(rates={**DEFAULT_RATES, "datadryad.org": (Window(5, 1.0),)}, authenticated=["datadryad.org"])
    assert mine.rates["datadryad.org"] == (Window(5, 1.0),)  # --rate wins over the published limits


def test_dryad_throttle_headers_are_understood(net: FakeInternet, dryad: Any) -> None:
    from doi2data.http import retry_after_seconds

    dryad.anonymous_limit = 1
    with httpx.Client() as client:
        url = f"https://datadryad.org/api/v2/versions/{DRYAD_DATASET.versions[-1].id}/files"
        assert client.get(url).status_code == 200
        limited = client.get(url)
    assert limited.status_code == 429 and limited.headers["ratelimit-remaining"] == "0"
    wait = retry_after_seconds(limited.headers)  # Rack::Attack sends RateLimit-Reset (epoch), no Retry-After
    assert wait is not None and 0 <= wait <= 60
