"""``doi2data demo``: the real pipeline, offline, against the built-in sandbox.

Nothing here is simulated in-process: the sandbox runs emulated doi.org, DataCite and Zenodo
sites on loopback behind a TLS-terminating proxy, and the demo points the ordinary
``HTTPS_PROXY`` / ``SSL_CERT_FILE`` variables at it - the same code path a user's download takes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from .api import resolve
from .output import print_manifest

DEMO_DOI = "10.5281/zenodo.1215979"


def run_demo(dest: Path | None = None) -> None:
    from .commands._run import run_get
    from .sandbox import FakeInternet, Quirk

    console = Console(stderr=True, soft_wrap=True)
    out = Console(soft_wrap=True) if Console().is_terminal else Console(soft_wrap=True, width=200)
    workdir = None if dest else tempfile.TemporaryDirectory(prefix="doi2data-demo-")
    target = dest or Path(workdir.name) / "data"  # type: ignore[union-attr]
    try:
        with FakeInternet() as net, net.activated():
            console.rule("doi2data demo (offline sandbox)")
            console.print(f"sandbox proxy {net.proxy_url}; CA {net.ca_file}")
            console.print("emulated: doi.org, hdl.handle.net, api.datacite.org, zenodo.org\n")

            console.rule(f"1. doi2data ls {DEMO_DOI}")
            print_manifest(resolve(f"https://doi.org/{DEMO_DOI}"), out)

            console.rule(f"2. doi2data get {DEMO_DOI} {target} --include '*.json' --exclude 'tmp/*'")
            run_get(DEMO_DOI, target, include=["*.json"], exclude=["tmp/*"], quiet=True)

            console.rule("3. the rest, with one byte flipped in transit (caught and fetched again)")
            net.add_quirk(Quirk(host="zenodo.org", path="*/frame_0001.cbf*", kind="corrupt", offset=100, times=1))
            run_get(DEMO_DOI, target, quiet=True)

            console.rule("4. run it again: everything verified, zero bytes moved")
            report = run_get(DEMO_DOI, target, quiet=True)
            console.print(f"bytes transferred on re-run: {report.bytes_transferred}")

            console.rule(f"files in {target}")
            for path in sorted(p for p in target.rglob("*") if p.is_file() and ".doi2data" not in p.parts):
                out.print(f"  {path.relative_to(target)}  ({path.stat().st_size} bytes)")
            _facility_steps(console, out, target)
            _search_step(console, out, target)
            console.print(f"\n{len(net.log)} HTTP requests went through the sandbox; none left this machine.")
    finally:
        if workdir is not None:
            workdir.cleanup()


def _facility_steps(console: Console, out: Console, target: Path) -> None:
    """Steps 5-6: the two routes of Millar's 2022 talk, PSI and ESRF (sandbox copies of its examples)."""
    import os

    from .commands._run import run_get
    from .sandbox.facilities import ESRF_DOI, PSI_DOI

    console.rule(f"5. PSI: doi2data ls {PSI_DOI}  (publication JSON, wget page, nginx folder, sha1 list)")
    print_manifest(resolve(PSI_DOI), out)
    run_get(PSI_DOI, target.with_name(target.name + "-psi"), quiet=True)
    console.rule(f"6. ESRF: doi2data get {ESRF_DOI}  (archived on tape: restore, poll, then download)")
    saved = os.environ.get("DOI2DATA_RESTORE_POLL")
    os.environ.setdefault("DOI2DATA_RESTORE_POLL", "0.3")  # the sandbox's tape robot is fast
    try:
        run_get(ESRF_DOI, target.with_name(target.name + "-esrf"), include=["*_00000[1-3].h5"], restore_timeout=60)
    finally:
        if saved is None:
            os.environ.pop("DOI2DATA_RESTORE_POLL", None)


def _search_step(console: Console, out: Console, target: Path) -> None:
    """Step 7: find datasets by their science in the PaN search API, then fetch every hit."""
    import asyncio

    from .batch import download_many
    from .search import SearchQuery, parse_param, search

    console.rule("7. doi2data search --facility PSI --param 'wavelength < 1.2 A' -f dois | doi2data get --from -")
    query = SearchQuery(facility="PSI", params=[parse_param("wavelength < 1.2 A")])

    async def find() -> list:  # type: ignore[type-arg]
        return [hit async for hit in search("panosc", query)]

    hits = asyncio.run(find())
    for hit in hits:
        out.print(f"  {hit.doi}  {hit.title}  ({hit.facility}, {hit.year})")
    for outcome in download_many([hit.doi for hit in hits if hit.doi], target.with_name(target.name + "-search")):
        out.print(f"  {outcome.identifier} -> {outcome.folder}: "
                  + (f"{outcome.verified} file(s) verified" if outcome.ok else f"failed: {outcome.error}"))


__all__ = ["DEMO_DOI", "run_demo"]
