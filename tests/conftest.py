"""Shared fixtures: one fake internet per test session, activated per test.

Tests reach the emulated doi.org / DataCite / Zenodo through the same environment variables a
user would set (``HTTPS_PROXY``, ``SSL_CERT_FILE``), so the real HTTP stack is exercised.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from doi2data.sandbox import FakeInternet

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``../shared`` next to the repository (or ``DOI2DATA_SHARED``): research and recordings."""
    return Path(os.environ.get("DOI2DATA_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def internet() -> Iterator[FakeInternet]:
    with FakeInternet() as net:
        yield net


@pytest.fixture
def net(internet: FakeInternet) -> Iterator[FakeInternet]:
    internet.clear_quirks()
    internet.clear_log()
    with internet.activated():
        yield internet
    internet.clear_quirks()


def run_here(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (no interpreter start-up): exit code, stdout, stderr."""
    from doi2data.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(net: FakeInternet, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run the real ``doi2data`` console entry point in a subprocess, through the sandbox."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        full_env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        full_env.update(net.env)
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "doi2data", *args], capture_output=True, text=True, env=full_env,
            cwd=tmp_path, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
