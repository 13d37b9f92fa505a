"""One test per public DOI of :data:`doi2data.conformance.CASES`, against the live services."""

from __future__ import annotations

import pytest

from doi2data.conformance import CASES, Case, Row, run_case


@pytest.mark.live
@pytest.mark.parametrize("case", CASES, ids=[f"{c.repository}:{c.doi}" for c in CASES])
def test_live_case(case: Case, live_rows: list[Row]) -> None:
    row = run_case(case)
    live_rows.append(row)
    assert row.ok, "; ".join(row.problems)
