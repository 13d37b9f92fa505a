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
    from .cli import run_get
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
            console.print(f"\n{len(net.log)} HTTP requests went through the sandbox; none left this machine.")
    finally:
        if workdir is not None:
            workdir.cleanup()


__all__ = ["DEMO_DOI", "run_demo"]
