"""DOIs that land on plain web folders: one emulated host per directory-listing flavour.

Why: a DOI from a lab or a small facility often resolves to an nginx or Apache folder, with no
repository API, no Signposting and no JSON-LD; only the generic directory-listing layer can list
it. Each flavour of :data:`FLAVOURS` serves the same tree (:data:`TREE`) from its own host
``<flavour>.webfolder.example`` under :data:`ROOT`, and has a DataCite DOI ``10.99999/webfolder.<flavour>``
(an :data:`EXTERNAL` entry: doi.org and DataCite resolve it) whose landing URL is that folder -
without the trailing slash (the server redirects, as real ones do), except for WebDAV.

The tree exercises sizes and checksums: ``big.bin`` is rounded by Apache and lighttpd (``HEAD``
sizes it), Python ``http.server`` and Apache's plain list give no size at all; ``MD5SUMS`` names
a file one folder down, ``data/SHA256SUMS`` mixes GNU and BSD lines, ``temps.csv.sha1`` is a
per-file sidecar; ``odd names/α β.txt`` is covered by no checksum file.
"""

from __future__ import annotations

from typing import Any

from .world import Creator, ExternalDataset, FileSpec, World

FLAVOURS = ("nginx", "apache", "apache-pre", "apache-plain", "lighttpd", "iis", "python", "caddy", "webdav")
ROOT = "/pub/run-42/"
_PEOPLE = (Creator("Moreau", "Camille", "Example Small Facility"),)


def host(flavour: str) -> str:
    return f"{flavour}.webfolder.example"


def doi(flavour: str) -> str:
    return f"10.99999/webfolder.{flavour}"


def landing(flavour: str) -> str:
    return f"https://{host(flavour)}{ROOT if flavour == 'webdav' else ROOT.rstrip('/')}"


def _text(key: str, body: str) -> FileSpec:
    return FileSpec(key, mimetype="text/plain", data=body.encode(), seed=f"webfolder:{key}")


DATA: tuple[FileSpec, ...] = (
    _text("README.txt", "Run 42 of the example beamline: two temperature series and a raw block.\n"),
    FileSpec("data/big.bin", 300_007, seed="webfolder:data/big.bin"),
    _text("data/2019/temps.csv", "".join(f"2019-01-{d:02d},{-3 + d % 7}\n" for d in range(1, 29))),
    _text("data/2020/temps.csv", "".join(f"2020-01-{d:02d},{-2 + d % 5}\n" for d in range(1, 29))),
    _text("odd names/α β.txt", "a file whose name needs percent-encoding\n"),
)


def sidecars(world: World) -> tuple[FileSpec, ...]:
    """``MD5SUMS`` (root), ``data/SHA256SUMS`` (GNU + BSD lines), ``data/2020/temps.csv.sha1``."""
    by_key = {f.key: f for f in DATA}

    def digest(key: str, algorithm: str) -> str:
        return world.digest(by_key[key], algorithm)

    md5 = f"{digest('README.txt', 'md5')}  README.txt\n{digest('data/big.bin', 'md5')} *data/big.bin\n"
    sha256 = (f"# sha256sum output, one BSD line\n{digest('data/2019/temps.csv', 'sha256')}  2019/temps.csv\n"
              f"SHA256 (2020/temps.csv) = {digest('data/2020/temps.csv', 'sha256')}\n")
    sha1 = f"{digest('data/2020/temps.csv', 'sha1')}\n"
    return (_text("MD5SUMS", md5), _text("data/SHA256SUMS", sha256), _text("data/2020/temps.csv.sha1", sha1))


def tree(world: World) -> dict[str, FileSpec]:
    """``{url path: file}`` served by every flavour."""
    return {ROOT + f.key: f for f in (*DATA, *sidecars(world))}


EXTERNAL: list[ExternalDataset] = [
    ExternalDataset(doi(f), landing(f), f"Run 42 temperature series ({f} web folder)", _PEOPLE,
                    "Example Small Facility", 2024, "esf.data", "Example Small Facility data")
    for f in FLAVOURS]


def make_sites(world: World) -> dict[str, Any]:
    """One web server per flavour (a WebDAV one for ``webdav``)."""
    from .sites.webindex import DavSite, StaticSite

    files = tree(world)
    sites: dict[str, Any] = {}
    for flavour in FLAVOURS:
        if flavour == "webdav":
            sites[host(flavour)] = DavSite(world, files)
        else:
            sites[host(flavour)] = StaticSite(world, files, style=flavour)  # type: ignore[arg-type]
    return sites


__all__ = ["DATA", "EXTERNAL", "FLAVOURS", "ROOT", "doi", "host", "landing", "make_sites",
           "sidecars", "tree"]
