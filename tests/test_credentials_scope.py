"""Tokens are scoped by origin - scheme, host and port - not by host (issue 16, item 14).

Through the real request loops (``http.send`` for API calls, ``send_sync`` for file bytes) on
httpx's MockTransport, and through the sandbox for the FTS3 status call's redirects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from doi2data.errors import UsageError
from doi2data.handoff import fts3
from doi2data.http import Credentials, Http, send_sync
from doi2data.sandbox import FakeInternet


def recorder(routes: dict[str, str]) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler redirecting ``routes[url]`` (302) and answering 200 elsewhere; every request kept."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        target = routes.get(str(request.url))
        if target:
            return httpx.Response(302, headers={"Location": target})
        return httpx.Response(200, json={"ok": True})

    return handler, seen


def api_get(creds: Credentials, url: str, routes: dict[str, str]) -> list[httpx.Request]:
    handler, seen = recorder(routes)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await Http(client, credentials=creds, max_attempts=1).get_json(url)

    asyncio.run(go())
    return seen


def secret_headers(request: httpx.Request) -> set[str]:
    return {k for k in request.headers if k in ("authorization", "x-dataverse-key", "x-fts-token")}


def test_token_for_a_host_does_not_reach_another_port_of_it() -> None:
    creds = Credentials.parse(["repo.test=secret"], env={})
    seen = api_get(creds, "https://repo.test/api/records/1", {
        "https://repo.test/api/records/1": "https://repo.test:8443/api/records/1"})
    assert [str(r.url) for r in seen] == ["https://repo.test/api/records/1", "https://repo.test:8443/api/records/1"]
    assert seen[0].headers["authorization"] == "Bearer secret"
    assert secret_headers(seen[1]) == set()  # same host, another port: another origin


def test_custom_header_token_is_dropped_on_a_port_change_too() -> None:
    creds = Credentials.parse(["repo.test=X-Dataverse-key:k"], env={})
    seen = api_get(creds, "https://repo.test/api/x", {"https://repo.test/api/x": "https://repo.test:444/api/x"})
    assert seen[0].headers["x-dataverse-key"] == "k" and secret_headers(seen[1]) == set()


def test_host_port_spec_is_sent_only_to_that_port() -> None:
    creds = Credentials.parse(["repo.test:8443=X-Dataverse-key:k"], env={})
    seen = api_get(creds, "https://repo.test:8443/a", {"https://repo.test:8443/a": "https://repo.test/b"})
    assert seen[0].headers["x-dataverse-key"] == "k"
    assert secret_headers(seen[1]) == set()


def test_origin_matching_rules() -> None:
    creds = Credentials.parse(["Repo.Test=t", "other.test:8443=X-Dataverse-key:k", "https://third.test:9000=u",
                               "[::1]:8443=v"], env={})
    sent = {u: creds.headers_for(httpx.URL(u)) for u in (
        "https://repo.test/", "https://REPO.test:443/x", "https://repo.test:8443/", "http://repo.test/",
        "https://other.test:8443/", "https://other.test/", "https://third.test:9000/", "https://third.test/",
        "https://[::1]:8443/", "https://[::1]/")}
    assert sent["https://repo.test/"] == sent["https://REPO.test:443/x"] == {"Authorization": "Bearer t"}
    assert sent["https://other.test:8443/"] == {"X-Dataverse-key": "k"}
    assert sent["https://third.test:9000/"] == {"Authorization": "Bearer u"}
    assert sent["https://[::1]:8443/"] == {"Authorization": "Bearer v"}
    for url in ("https://repo.test:8443/", "http://repo.test/", "https://other.test/", "https://third.test/",
                "https://[::1]/"):
        assert sent[url] == {}, url


@pytest.mark.parametrize("spec", ["http://repo.test=t", "repo.test/api=t", "repo.test:http=t", "user@repo.test=t",
                                  "repo.test:70000=t", "repo.test?x=t"])
def test_bad_token_hosts_are_usage_errors_without_the_secret(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        Credentials.parse([spec], env={})
    assert "HOST:PORT" in str(info.value) and "=t" not in str(info.value)


def test_file_downloads_scope_by_origin_too() -> None:
    creds = Credentials.parse(["repo.test=secret"], env={})
    handler, seen = recorder({"https://repo.test/f": "https://repo.test:8443/f"})
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        send_sync(client, "GET", "https://repo.test/f", credentials=creds).close()
    assert seen[0].headers["authorization"] == "Bearer secret" and secret_headers(seen[1]) == set()


# -- FTS3 status: its redirects re-scope custom token headers (the real stack, through the sandbox) -----
FTS = "https://fts3-pilot.cern.ch"


@pytest.fixture
def moved_fts(net: FakeInternet) -> Iterator[list[dict[str, str]]]:
    """The FTS server redirects status calls to another host, which records the headers it gets."""
    original = net.sites["fts3-pilot.cern.ch"]
    got: list[dict[str, str]] = []

    async def fts(scope: dict[str, Any], receive: Any, send: Any) -> None:
        got.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await send({"type": "http.response.start", "status": 302,
                    "headers": [(b"location", b"https://moved.example/jobs/job-1")]})
        await send({"type": "http.response.body", "body": b""})

    async def moved(scope: dict[str, Any], receive: Any, send: Any) -> None:
        got.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"job_id": "job-1", "job_state": "FINISHED"}'})

    net.add_site("fts3-pilot.cern.ch", fts)
    net.add_site("moved.example", moved)
    try:
        yield got
    finally:
        net.add_site("fts3-pilot.cern.ch", original)


def test_fts3_status_strips_custom_token_headers_on_a_cross_origin_redirect(moved_fts: list[dict[str, str]]) -> None:
    result = fts3.status(FTS, "job-1", tokens=["fts3-pilot.cern.ch=X-Fts-Token:s3cret", "fts3-pilot.cern.ch:8446=t"])
    assert result["job_state"] == "FINISHED"
    first, second = moved_fts
    assert first.get("x-fts-token") == "s3cret"
    assert "x-fts-token" not in second and "authorization" not in second


def test_globus_token_is_looked_up_by_the_base_url_origin() -> None:
    from doi2data.errors import AccessDenied
    from doi2data.handoff.globus import _token

    assert _token(["globus.test:8443=abc"], "https://globus.test:8443/v0.10/") == "abc"
    assert _token(["transfer.api.globus.org=xyz"], "https://transfer.api.globus.org/") == "xyz"
    with pytest.raises(AccessDenied, match="--token globus.test:8443=TOKEN"):
        _token(["globus.test=abc"], "https://globus.test:8443/v0.10/")
