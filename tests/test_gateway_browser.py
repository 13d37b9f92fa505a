"""The gateway's page in a real headless Chromium (Debian ``chromium``, driven by Playwright):
load a DOI from the DOI box, filter the file table, download the selection as a zip, and save a
screenshot to ``artifacts/`` (git-ignored). Skipped when Chromium or Playwright is missing;
never downloads a browser (no ``playwright install``)."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("jinja2")
sync_api = pytest.importorskip("playwright.sync_api")

from doi2data.sandbox import FakeInternet  # noqa: E402
from doi2data.service.testing import GatewayServer  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DOI = "10.5281/zenodo.1215979"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")


@pytest.fixture(scope="module")
def page_server(internet: FakeInternet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    from test_service_gateway import start

    server = start(internet, tmp_path_factory.mktemp("browser"))
    yield server
    server.stop()


def test_load_filter_download_zip(page_server: GatewayServer, net: FakeInternet, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # Playwright gives the browser a fresh empty profile; the page is on loopback, so no proxy.
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, "--no-proxy-server"], headless=True,
                                     env=env)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(page_server.url + "/", wait_until="domcontentloaded")
            page.fill("#doi-input", f"https://doi.org/{DOI}")
            page.press("#doi-input", "Enter")
            page.wait_for_selector("#files tbody tr")
            assert "Sandbox diffraction images" in page.inner_text("#title")
            assert page.locator("#files tbody tr").count() == 8
            assert "Keller, Anna" in page.inner_text(".creators")
            assert "creativecommons.org" in page.get_attribute("dd a[rel=license]", "href")  # type: ignore[operator]

            page.fill("#filter", "*.cbf")
            assert page.locator("#files tbody tr:not(.hidden)").count() == 3
            assert page.inner_text("#shown") == "3 shown"
            page.check("#select-all")
            assert "3 selected" in page.inner_text("#selection")
            assert page.inner_text("#cmd-doi2data") == "doi2data get '10.5281/zenodo.1215979' --include '*.cbf'"
            assert page.inner_text("#cmd-aria2c").startswith("aria2c --follow-metalink=mem")
            page.uncheck("#files tbody tr:not(.hidden) >> nth=1 >> .pick")
            assert "2 selected" in page.inner_text("#selection")
            assert "--include '/images/frame_0003.cbf'" in page.inner_text("#cmd-doi2data")  # explicit picks
            page.check("#files tbody tr:not(.hidden) >> nth=1 >> .pick")
            page.screenshot(path=str(ARTIFACTS / "gateway-dataset.png"), full_page=True)

            with page.expect_download() as info:
                page.click("#zip")
            target = tmp_path / "selection.zip"
            info.value.save_as(target)
            assert info.value.suggested_filename.endswith(".zip")
            with zipfile.ZipFile(target) as zf:
                names = sorted(zf.namelist())
                assert names == ["images/frame_0001.cbf", "images/frame_0002.cbf", "images/frame_0003.cbf"]
                for name in names:
                    want = net.world.checksum("1215979", name)
                    assert hashlib.md5(zf.read(name)).hexdigest() == want

            page.fill("#filter", "notes")  # plain text filters by substring
            assert page.locator("#files tbody tr:not(.hidden)").count() == 1
        finally:
            browser.close()
