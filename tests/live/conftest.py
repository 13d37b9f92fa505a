"""Live conformance suite: skipped unless ``DOI2DATA_LIVE=1`` (it needs the internet; CI has none).

Run: ``DOI2DATA_LIVE=1 python -m pytest tests/live`` - one table at the end, one row per DOI.
Tokens for services that need an account (Dryad downloads) come from ``DOI2DATA_TOKENS``.
"""

from __future__ import annotations

import os

import pytest

LIVE = os.environ.get("DOI2DATA_LIVE") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LIVE:
        return
    skip = pytest.mark.skip(reason="live conformance: set DOI2DATA_LIVE=1 (needs internet)")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def live_rows(request: pytest.FixtureRequest) -> list:
    """Rows collected for the closing table (kept on the config: one list per pytest run)."""
    return request.config.__dict__.setdefault("doi2data_live_rows", [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = config.__dict__.get("doi2data_live_rows")
    if rows:
        from doi2data.conformance import print_table

        terminalreporter.write_line("")
        print_table(rows)
