"""Issue 19 item 4: the HTML page of a large manifest is paged (MAX_ROWS files a page), never whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

import httpx

from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.service import pages
from doi2data.service.app import create_app
from doi2data.service.config import GatewayConfig
from doi2data.service.testing import GatewayServer

DOI = "10.5281/zenodo.4500001"
KEYS = [f"d{i // 10}/f{i:03d}.txt" for i in range(25)]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    manifest = Manifest(Dataset(DOI, title="Paged"), [FileEntry(k, 1, {}, (f"https://h/{k}",)) for k in KEYS])

    async def resolve(ident: Any) -> Manifest:
        return manifest

    config = GatewayConfig(cache_url="memory:", rate=0, access_log=None)
    with GatewayServer(create_app(config, resolve=resolve)) as server, \
            httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
        yield http


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-path="([^"]+)"', html)


def test_the_page_shows_max_rows_files_a_page_with_links_between_pages(client: httpx.Client,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "MAX_ROWS", 10)
    first = client.get(f"/{DOI}", headers={"Accept": "text/html"})
    second = client.get(f"/{DOI}?page=2", headers={"Accept": "text/html"})
    third = client.get(f"/{DOI}?page=3&include=d*/*", headers={"Accept": "text/html"})
    beyond = client.get(f"/{DOI}?page=99", headers={"Accept": "text/html"})
    bad = client.get(f"/{DOI}?page=0", headers={"Accept": "text/html"})
    assert first.status_code == second.status_code == third.status_code == 200
    assert _rows(first.text) == KEYS[:10] and _rows(second.text) == KEYS[10:20] and _rows(third.text) == KEYS[20:]
    print(re.findall(r"<p class=.note.>.*?</p>", second.text, re.S))
    assert "page 2 of 3" in second.text and f'/{DOI}?page=1">previous' in second.text
    assert f'/{DOI}?page=3">next' in second.text
    assert f'/{DOI}?include=d%2A%2F%2A&amp;page=2">previous' in third.text  # the filter kept in the links
    assert _rows(beyond.text) == KEYS[20:]  # past the end: the last page
    assert bad.status_code == 400 and "page" in bad.text
    assert first.headers["etag"] != second.headers["etag"]
