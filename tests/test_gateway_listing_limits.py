"""The gateway bounds a web-folder crawl as ``ls`` does: ``serve --max-depth/--max-pages/--max-entries``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

pytest.importorskip("jinja2")

from doi2data.adapters.webindex import ListingLimits  # noqa: E402
from doi2data.sandbox import FakeInternet, webfolders  # noqa: E402
from doi2data.service import GatewayConfig, create_app  # noqa: E402
from doi2data.service.testing import GatewayServer  # noqa: E402

DOI = webfolders.doi("nginx")


def _listed(internet: FakeInternet, tmp: Path, **limits: int) -> dict[str, object]:
    config = GatewayConfig(cache_url="memory:", allow_hosts=tuple(internet.hosts), rate=0, access_log=None, **limits)
    with internet.activated():
        server = GatewayServer(create_app(config)).start()
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
            response = http.get(f"/{DOI}")
            assert response.status_code == 200, response.text[:300]
            return response.json()  # type: ignore[no-any-return]
    finally:
        server.stop()


def test_the_gateway_lists_a_web_folder_within_its_configured_limits(internet: FakeInternet, tmp_path: Path) -> None:
    whole = _listed(internet, tmp_path)
    top = _listed(internet, tmp_path, max_depth=0)
    paths = {f["path"] for f in whole["files"]}  # type: ignore[index, union-attr]
    assert "data/2019/temps.csv" in paths and "README.txt" in paths
    top_paths = {f["path"] for f in top["files"]}  # type: ignore[index, union-attr]
    assert top_paths == {p for p in paths if "/" not in p}
    assert any(w.startswith("listing incomplete") for w in top["warnings"])  # type: ignore[union-attr]  # and said so


def test_the_gateway_defaults_are_the_listing_defaults() -> None:
    config, limits = GatewayConfig(), ListingLimits()
    assert (config.max_depth, config.max_pages, config.max_entries) == \
        (limits.max_depth, limits.max_pages, limits.max_entries)
    assert GatewayConfig.from_env({"DOI2DATA_GATEWAY_CONFIG": GatewayConfig(max_entries=7).to_env()}).max_entries == 7


def test_serve_refuses_a_listing_limit_out_of_range() -> None:
    from doi2data.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--max-entries", "0"])
    assert result.exit_code == 2 and "--max-entries" in result.output
