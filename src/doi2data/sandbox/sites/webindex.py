"""Web servers that publish folders: nginx, Apache and lighttpd directory listings over a file tree.

Why three renderers: a client that parses "Index of" pages meets exactly these in the wild, and
they differ where parsers break - nginx ``<pre>`` lines with exact byte sizes and names cut at 50
characters (``…..>``), Apache tables with rounded sizes (``293K``), a sort header of ``?C=N;O=D``
links and an absolute "Parent Directory" link, lighttpd tables with every size rounded
(``0.1K``). Hrefs are percent-encoded, link texts HTML-escaped. ``/dir`` redirects to ``/dir/``;
folders listed in ``gone`` answer 404 (PSI data moved to tape); ``pages`` are ``index.html``
files (PSI's download pages). Files are served with full Range support. :func:`checksum_files`
writes PSI's ``__checksum_filename_N__`` sha1 lists for a folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any, Literal
from urllib.parse import quote

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from ..middleware import site_flags
from ..world import FileSpec, World
from .common import Entity, EntityResponse, redirect

Style = Literal["nginx", "apache", "lighttpd"]
STAMP = datetime(2018, 2, 8, 2, 55, tzinfo=timezone.utc)
_NGINX_404 = ("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1>"
              "</center>\r\n<hr><center>nginx/1.20.1</center>\r\n</body>\r\n</html>\r\n")


def _rounded(size: int, lighttpd: bool) -> str:
    if size < 1024 and not lighttpd:
        return str(size)
    value, units = size / 1024, "KMGT"
    for unit in units:
        if value < 1000 or unit == units[-1]:
            return f"{value:.1f}{unit}" if lighttpd or value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return str(size)  # pragma: no cover


def render_listing(style: Style, path: str, dirs: Iterable[str], files: Iterable[tuple[str, int]],
                   when: datetime = STAMP) -> str:
    """The listing page of directory ``path`` (ends with ``/``) as ``style`` renders it."""
    dirs, files = sorted(dirs), sorted(files)
    title = escape(path)
    if style == "nginx":
        lines = ['<a href="../">../</a>']
        for name, size in [(d + "/", None) for d in dirs] + [(f, s) for f, s in files]:
            text = name if len(name) <= 50 else name[:47] + "..>"
            href = quote(name.rstrip("/")) + ("/" if name.endswith("/") else "")
            lines.append(f'<a href="{href}">{escape(text)}</a>{" " * (51 - len(text))}{when:%d-%b-%Y %H:%M} '
                         f"{'-' if size is None else size:>19}")
        return (f"<html>\r\n<head><title>Index of {title}</title></head>\r\n<body>\r\n<h1>Index of {title}</h1>"
                f"<hr><pre>" + "\r\n".join(lines) + "\r\n</pre><hr></body>\r\n</html>\r\n")
    if style == "apache":
        parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
        rows = [f'<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="{quote(parent)}">'
                'Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>']
        rows += [f'<tr><td valign="top"><img src="/icons/folder.gif" alt="[DIR]"></td><td><a href="{quote(d)}/">'
                 f'{escape(d)}/</a></td><td align="right">{when:%Y-%m-%d %H:%M}  </td><td align="right">  - </td>'
                 "<td>&nbsp;</td></tr>" for d in dirs]
        rows += [f'<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="{quote(f)}">'
                 f'{escape(f)}</a></td><td align="right">{when:%Y-%m-%d %H:%M}  </td><td align="right">'
                 f"{_rounded(s, False)}</td><td>&nbsp;</td></tr>" for f, s in files]
        head = ('<tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th>'
                '<th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th>'
                '<th><a href="?C=D;O=A">Description</a></th></tr>\n   <tr><th colspan="5"><hr></th></tr>')
        return ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html>\n <head>\n  <title>Index of '
                f"{escape(path.rstrip('/') or '/')}</title>\n </head>\n <body>\n<h1>Index of {escape(path.rstrip('/'))}"
                f"</h1>\n  <table>\n   {head}\n" + "\n".join(rows) +
                '\n   <tr><th colspan="5"><hr></th></tr>\n</table>\n<address>Apache/2.4.57 (Debian) Server</address>\n'
                "</body></html>\n")
    rows = ['<tr class="d"><td class="n"><a href="../">Parent Directory</a>/</td><td class="m">&nbsp;</td>'
            '<td class="s">- &nbsp;</td><td class="t">Directory</td></tr>']
    rows += [f'<tr class="d"><td class="n"><a href="{quote(d)}/">{escape(d)}</a>/</td><td class="m">'
             f'{when:%Y-%b-%d %H:%M:%S}</td><td class="s">- &nbsp;</td><td class="t">Directory</td></tr>' for d in dirs]
    rows += [f'<tr><td class="n"><a href="{quote(f)}">{escape(f)}</a></td><td class="m">{when:%Y-%b-%d %H:%M:%S}</td>'
             f'<td class="s">{_rounded(s, True)}</td><td class="t">application/octet-stream</td></tr>'
             for f, s in files]
    return (f"<!DOCTYPE html>\n<html>\n<head>\n<title>Index of {title}</title>\n</head>\n<body>\n<h2>Index of {title}"
            '</h2>\n<div class="list">\n<table summary="Directory Listing" cellpadding="0" cellspacing="0">\n<thead>'
            '<tr><th class="n">Name</th><th class="m">Last Modified</th><th class="s">Size</th><th class="t">Type</th>'
            "</tr></thead>\n<tbody>\n" + "\n".join(rows) + '\n</tbody>\n</table>\n</div>\n<div class="foot">'
            "lighttpd/1.4.69</div>\n</body>\n</html>\n")


def checksum_files(world: World, files: Iterable[FileSpec], *, parts: int = 1, header: str = "",
                   prefix: str = "", seed: str = "") -> list[FileSpec]:
    """PSI ``__checksum_filename_N__`` files: ``<path>    <sha1>`` lines, ``is_directory`` lines for folders."""
    files = list(files)
    dirs = sorted({"/".join(f.key.split("/")[:i]) for f in files for i in range(1, f.key.count("/") + 1)})
    chunks: list[list[str]] = [[header] if header else [] for _ in range(max(1, parts))]
    chunks[0] += [f"{prefix}{d}    is_directory" for d in dirs]
    for i, f in enumerate(sorted(files, key=lambda f: f.key)):
        chunks[i % len(chunks)].append(f"{prefix}{f.key}    {world.digest(f, 'sha1')}")
    return [FileSpec(f"__checksum_filename_{n}__", mimetype="text/plain", data=("\n".join(lines) + "\n").encode(),
                     seed=f"{seed}:checksums:{n}") for n, lines in enumerate(chunks)]


class StaticSite:
    """An ASGI web server over ``{url path: FileSpec}`` with autoindex listings in one ``style``."""

    def __init__(self, world: World, files: dict[str, FileSpec], *, style: Style = "nginx",
                 pages: dict[str, str] | None = None, gone: Iterable[str] = ()) -> None:
        self.world, self.files, self.style = world, dict(files), style
        self.pages, self.gone = dict(pages or {}), tuple(gone)
        self.dirs: dict[str, tuple[set[str], list[tuple[str, int]]]] = {}
        for path, spec in self.files.items():
            parts = path.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i]) + "/"
                subdirs, _ = self.dirs.setdefault(folder, (set(), []))
                if i < len(parts) - 1:
                    subdirs.add(parts[i])
            self.dirs["/".join(parts[:-1]) + "/"][1].append((parts[-1], spec.size))

    def _response(self, scope: dict[str, Any]) -> Any:
        path = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("method not allowed", 405)
        if any(path.startswith(g) for g in self.gone):
            return HTMLResponse(_NGINX_404, 404)
        if path in self.pages:
            return HTMLResponse(self.pages[path])
        if (spec := self.files.get(path)) is not None:
            variant = 1 if site_flags(scope).change else 0
            entity = Entity(spec.size, f'"{self.world.digest(spec, "md5", variant)}"', STAMP + timedelta(days=variant),
                            spec.mimetype, lambda a, b: self.world.content(spec, a, b, variant))
            return EntityResponse(entity)
        if path + "/" in self.dirs or path + "/" in self.pages:
            raw = scope.get("raw_path") or quote(path).encode()
            return redirect(f"{scope.get('scheme', 'https')}://{_host(scope)}{raw.decode('latin-1')}/", 301)
        if path in self.dirs:
            subdirs, files = self.dirs[path]
            return HTMLResponse(render_listing(self.style, path, subdirs, files))
        return HTMLResponse(_NGINX_404, 404)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._response(scope)(scope, receive, send)


def _host(scope: dict[str, Any]) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "localhost")


def make_sites(world: World) -> dict[str, Any]:
    """The three plain web servers, and the file server of the generic SciCat instances."""
    from .. import facilities as fac

    tree = {fac.WEB_ROOT + f.key: f for f in fac.WEB_FILES}
    tree.update({fac.WEB_ROOT + c.key: c for c in checksum_files(world, fac.WEB_FILES, seed="web")})
    styles: tuple[Style, ...] = ("nginx", "apache", "lighttpd")
    sites: dict[str, Any] = {host: StaticSite(world, tree, style=style) for host, style in zip(fac.WEB_HOSTS, styles)}
    files = {f"{pub.publish_prefix}{ds.source_folder}/{f.key}": f
             for pub in fac.SCICAT_PUBLICATIONS for ds in pub.datasets for f in ds.files}
    sites[fac.SCICAT_FILES_HOST] = StaticSite(world, files)
    return sites


__all__ = ["STAMP", "StaticSite", "checksum_files", "make_sites", "render_listing"]
