"""Live conformance: one or two small public DOIs per repository, and what must hold for each.

Why: every test in CI runs against emulators, which encode what we *believe* each service does.
This table is the check against the services as they are: a maintainer with internet runs
``DOI2DATA_LIVE=1 python -m pytest tests/live`` (or ``doi2data doctor --live``) and gets one table.
It never runs in CI (no network there).

Where the expectations come from: the DOIs are the ones peer tools use in their own live test
suites, with the file names and counts those suites assert (pooch's ``tiny-data.txt`` /
``store.zip`` registries, datahugger's per-repository tests, zenodo_get's functional tests;
summarised in the project's research notes, read 2026-12-06), plus the two facility DOIs of the
PSI/ESRF talk the sandbox copies. ``files`` is an exact count only where a peer asserts one;
elsewhere ``min_files`` and ``must_list`` say what must be there.

Per case: ``ls`` finds the files (count, names), every open file has a checksum when
``checksums`` says the repository publishes them, the ``--explain`` route names the expected
adapter, and ``get`` of the smallest open file ends *verified* (skipped where the service
needs an account, e.g. Dryad downloads since 2025, unless a token is configured).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Case:
    """One public DOI and what a working doi2data must find there."""

    repository: str
    doi: str
    adapter: str                        # the adapter --explain must name
    files: int | None = None            # exact number of files, where a peer's test asserts it
    min_files: int = 1
    must_list: tuple[str, ...] = ()     # file names (last path segment) that must be listed
    checksums: bool = True              # every open file carries a checksum
    download: bool = True               # get the smallest open file and require it verified
    needs_token_for_download: str | None = None  # host whose --token/DOI2DATA_TOKENS enables the download
    source: str = ""


CASES: tuple[Case, ...] = (
    Case("Zenodo", "10.5281/zenodo.4924875", "invenio", files=2, must_list=("tiny-data.txt", "store.zip"),
         source="pooch tests (registry of 2 files)"),
    Case("Zenodo", "10.5281/zenodo.1215979", "invenio", files=6, must_list=("fetch_data.py",),
         source="zenodo_get functional tests (6 files)"),
    Case("Figshare", "10.6084/m9.figshare.14763051.v1", "figshare", files=2,
         must_list=("tiny-data.txt", "store.zip"), source="pooch tests"),
    Case("Dataverse (heiDATA)", "10.11588/data/TKCFEF", "dataverse", files=2,
         must_list=("tiny-data.txt", "store.zip"), source="pooch tests"),
    Case("Dataverse (Harvard)", "10.7910/DVN/KBHLOD", "dataverse", must_list=("tutorial1.py",),
         source="datahugger tests"),
    Case("4TU.ResearchData", "10.4121/21989216.v1", "figshare", must_list=("README.txt",),
         source="datahugger tests"),
    Case("Dryad", "10.5061/dryad.31zcrjdm5", "dryad", must_list=("ReadmeFile.txt",),
         needs_token_for_download="datadryad.org", source="datahugger tests; downloads need an API account"),
    Case("OSF", "10.17605/OSF.IO/KQ573", "osf", must_list=("nest_area_data.xlsx",), source="datahugger tests"),
    Case("Mendeley Data", "10.17632/p6wmtv6t5g.2", "mendeley",
         must_list=("READMI Stranding Sea Turtle records.pdf",), source="datahugger tests"),
    Case("PANGAEA", "10.1594/PANGAEA.954547", "pangaea", must_list=("Gubbio_age.tab",), checksums=False,
         source="datahugger tests (generated tables: no size or checksum)"),
    Case("B2SHARE", "10.23728/b2share.db2ef5890fa44c7a85af366a50de73b9", "b2share",
         must_list=("2024-02-13.sav",), source="datahugger tests"),
    Case("PSI", "10.16907/d699e1f7-e822-4396-8c64-34ed405f07b7", "psi", source="PSI talk example (sandbox copy)"),
    Case("ESRF", "10.15151/ESRF-DC-818569841", "esrf", checksums=False, download=False,
         source="ESRF talk example (size only; archived data needs a tape restore)"),
)


@dataclass
class Row:
    """What one case found live; ``ok`` is the verdict, ``problems`` why not."""

    repository: str
    doi: str
    ok: bool = False
    files: int | None = None
    with_checksum: int | None = None
    adapter: str | None = None
    requests: int | None = None
    smallest: str | None = None
    verified: str = "-"
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _is_sidecar(path: str) -> bool:
    """A checksum list (PSI's ``__checksum_filename_N__``, ``MD5SUMS``, ``x.sha256``): it cannot list itself."""
    name = path.rsplit("/", 1)[-1].lower()
    return (name.startswith("__checksum_filename_") or name in ("md5sums", "sha1sums", "sha256sums", "sha512sums")
            or name.endswith((".md5", ".sha1", ".sha256", ".sha512")))


def check_manifest(case: Case, files: Sequence[tuple[str, bool, bool]], adapter: str | None) -> list[str]:
    """Problems with a listing, as (path, has_checksum, is_open) triples (pure: tested offline)."""
    problems: list[str] = []
    if adapter != case.adapter:
        problems.append(f"route: adapter {adapter!r}, expected {case.adapter!r}")
    if case.files is not None and len(files) != case.files:
        problems.append(f"{len(files)} files, expected {case.files}")
    elif len(files) < case.min_files:
        problems.append(f"{len(files)} files, expected at least {case.min_files}")
    names = {path.rsplit("/", 1)[-1] for path, _, _ in files}
    missing = [name for name in case.must_list if name not in names]
    if missing:
        problems.append("not listed: " + ", ".join(missing))
    if case.checksums:
        bare = [path for path, has_sum, is_open in files if is_open and not has_sum and not _is_sidecar(path)]
        if bare:
            problems.append(f"{len(bare)} open file(s) without a checksum, e.g. {bare[0]}")
    return problems


def run_case(case: Case, *, tokens: Sequence[str] = (), dest: Path | None = None) -> Row:
    """``ls`` the DOI, then ``get`` its smallest open file; every failure is a finding, not a raise."""
    import httpx

    from .api import download, resolve
    from .errors import Doi2DataError
    from .http import Credentials

    row = Row(case.repository, case.doi)
    start = time.monotonic()
    try:
        manifest = resolve(case.doi, tokens=tokens)
        discovery = manifest.discovery
        row.adapter = discovery.adapter if discovery is not None else None
        row.requests = discovery.requests if discovery is not None else None
        row.files = len(manifest.files)
        row.with_checksum = sum(1 for f in manifest.files if f.checksums)
        row.problems = check_manifest(case, [(f.path, bool(f.checksums), f.access == "open")
                                             for f in manifest.files], row.adapter)
        candidates = [f for f in manifest.files if f.access == "open" and f.size is not None]
        account = case.needs_token_for_download
        # --token, DOI2DATA_TOKENS and the tokens file, read as every command reads them
        has_account = account is not None and \
            Credentials.parse(tokens).credential_for(httpx.URL(f"https://{account}/")) is not None
        if case.download and candidates and (account is None or has_account):
            smallest = min(candidates, key=lambda f: f.size or 0)
            row.smallest = smallest.path
            with tempfile.TemporaryDirectory(prefix="doi2data-live-") as tmp:
                report = download(manifest.with_files([smallest]), dest or Path(tmp), raise_on_failure=False,
                                  tokens=tokens)
            result = report.results[0] if report.results else None
            row.verified = result.status if result is not None else "none"
            if result is None or result.status != "downloaded":
                row.problems.append(f"get {smallest.path}: {result.reason if result else 'no result'}")
        elif account is not None and not has_account:
            row.verified = f"needs --token {account}=…"
    except Doi2DataError as exc:
        row.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    row.seconds = round(time.monotonic() - start, 1)
    row.ok = not row.problems
    return row


def run_all(cases: Sequence[Case] = CASES, *, tokens: Sequence[str] = ()) -> list[Row]:
    return [run_case(case, tokens=tokens) for case in cases]


def print_table(rows: Sequence[Row]) -> None:
    """One table: repository, DOI, verdict, files, checksums, route, smallest file's get, time."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="live conformance", show_edge=False)
    for column in ("repository", "DOI", "ok", "files", "sums", "adapter", "req", "get", "s", "problems"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.repository, row.doi, "yes" if row.ok else "NO", str(row.files if row.files is not None else "-"),
                      str(row.with_checksum if row.with_checksum is not None else "-"), row.adapter or "-",
                      str(row.requests or "-"), row.verified, f"{row.seconds:.1f}", "; ".join(row.problems) or "-")
    Console(soft_wrap=True).print(table)


__all__ = ["CASES", "Case", "Row", "check_manifest", "print_table", "run_all", "run_case"]
