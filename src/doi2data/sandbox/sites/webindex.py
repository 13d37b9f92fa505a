"""Web servers that publish folders: directory listings of nine server flavours over a file tree.

Why these renderers: a client that parses directory indexes meets them in the wild, and they
differ where parsers break - nginx ``<pre>`` lines with exact byte sizes and names cut at 50
characters (``…..>``), Apache tables with rounded sizes (``293K``), a sort header of ``?C=N;O=D``
links and an absolute "Parent Directory" link, lighttpd tables with every size rounded
(``0.1K``); Apache FancyIndexing without HTMLTable (``apache-pre``: ``<pre>`` lines, rounded
sizes) and without FancyIndexing (``apache-plain``: a ``<ul>``, no sizes); IIS directory browsing
(``iis``: ``<pre>`` lines with the date and size *before* an absolute link, ``&lt;dir&gt;``,
``[To Parent Directory]``, a title ``host - /path/``); Python ``http.server`` (``python``:
"Directory listing for", names only); Caddy's browse page (``caddy``: a table with breadcrumbs,
``data-size`` exact, human sizes shown). :class:`DavSite` is a WebDAV folder (nginx ``dav`` with
``dav_ext_methods PROPFIND``, no autoindex): ``PROPFIND`` ``Depth: 1`` answers ``207``, ``GET`` of
a folder 403. Formats checked 2026-12-06 against nginx ``ngx_http_autoindex_module.c``, Apache
``mod_autoindex`` docs, lighttpd ``mod_dirlisting.c``, CPython ``http/server.py``, Caddy
``fileserver/browse.html``, RFC 4918 §9.1. Hrefs are percent-encoded, link texts HTML-escaped.
``/dir`` redirects to ``/dir/``;
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

from ..data.scicat import SCICAT_FILES_HOST, SCICAT_PUBLICATIONS
from ..data.webindex import WEB_FILES, WEB_HOSTS, WEB_ROOT
from ..middleware import site_flags
from ..world import FileSpec, World
from .common import Entity, EntityResponse, redirect

Style = Literal["nginx", "apache", "lighttpd", "apache-pre", "apache-plain", "iis", "python", "caddy"]
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


def _render_more(style: Style, path: str, dirs: list[str], files: list[tuple[str, int]], when: datetime,
                 host: str) -> str:
    """The five renderers added for the generic directory-listing layer (see the module docstring)."""
    title, bare = escape(path), escape(path.rstrip("/") or "/")
    parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
    if style == "apache-pre":
        head = ('<pre><img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>                    '
                '<a href="?C=M;O=A">Last modified</a>      <a href="?C=S;O=A">Size</a>  <a href="?C=D;O=A">Description'
                f'</a><hr><img src="/icons/back.gif" alt="[PARENTDIR]"> <a href="{quote(parent)}">Parent Directory</a>'
                "                             -   \n")
        rows = [f'<img src="/icons/folder.gif" alt="[DIR]"> <a href="{quote(d)}/">{escape(d)}/</a>'
                f"{' ' * max(1, 24 - len(d))}{when:%Y-%m-%d %H:%M}    -   \n" for d in dirs]
        rows += [f'<img src="/icons/unknown.gif" alt="[   ]"> <a href="{quote(f)}">{escape(f)}</a>'
                 f"{' ' * max(1, 25 - len(f))}{when:%Y-%m-%d %H:%M}  {_rounded(n, False):>4}  \n" for f, n in files]
        return (f"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of {bare}"
                f"</title>\n </head>\n <body>\n<h1>Index of {bare}</h1>\n" + head + "".join(rows) +
                f"<hr></pre>\n<address>Apache/2.4.57 (Debian) Server at {escape(host)} Port 443</address>\n"
                "</body></html>\n")
    if style == "apache-plain":
        items = [f'<li><a href="{quote(parent)}"> Parent Directory</a></li>']
        items += [f'<li><a href="{quote(d)}/"> {escape(d)}/</a></li>' for d in dirs]
        items += [f'<li><a href="{quote(f)}"> {escape(f)}</a></li>' for f, _ in files]
        return (f"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n  <title>Index of {bare}"
                f"</title>\n </head>\n <body>\n<h1>Index of {bare}</h1>\n<ul>" + "\n".join(items) +
                "\n</ul>\n</body></html>\n")
    if style == "iis":
        stamp = f"{when.month:>2}/{when.day}/{when.year} {when.hour % 12 or 12:>2}:{when:%M %p}"
        lines = [f'<A HREF="{quote(parent)}">[To Parent Directory]</A><br><br>']
        lines += [f'{stamp}        &lt;dir&gt; <A HREF="{quote(path + d)}/">{escape(d)}</A><br>' for d in dirs]
        lines += [f'{stamp} {n:>12} <A HREF="{quote(path + f)}">{escape(f)}</A><br>' for f, n in files]
        return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
                f"<title>{escape(host)} - {title}</title></head><body><H1>{escape(host)} - {title}</H1>"
                "<hr>\r\n\r\n<pre>" + "".join(lines) + "</pre><hr></body></html>")
    if style == "python":
        items = [f'<li><a href="{quote(d)}/">{escape(d)}/</a></li>' for d in dirs]
        items += [f'<li><a href="{quote(f)}">{escape(f)}</a></li>' for f, _ in files]
        return ('<!DOCTYPE HTML>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f"<title>Directory listing for {title}</title>\n</head>\n<body>\n"
                f"<h1>Directory listing for {title}</h1>\n<hr>\n<ul>\n" + "\n".join(items) +
                "\n</ul>\n<hr>\n</body>\n</html>\n")
    crumbs, acc = ['<a href="/">/</a>'], "/"
    for part in [p for p in path.split("/") if p]:
        acc += part + "/"
        crumbs.append(f'<a href="{quote(acc)}">{escape(part)}</a>/')
    stamp = f'<td class="timestamp hideable"><time datetime="{when:%Y-%m-%dT%H:%M:%SZ}">{when:%m/%d/%Y %I:%M:%S %p} ' \
            "+00:00</time></td>"
    rows = [f'<tr class="file"><td></td><td><a href="./{quote(d)}/"><svg class="icon"><path d="M9 3"></path></svg>'
            f'<span class="name">{escape(d)}</span></a></td><td>&mdash;</td>{stamp}<td class="hideable"></td></tr>'
            for d in dirs]
    rows += [f'<tr class="file"><td></td><td><a href="./{quote(f)}"><svg class="icon"><path d="M14 3v4"></path></svg>'
             f'<span class="name">{escape(f)}</span></a></td><td class="size" data-size="{n}"><div class="sizebar">'
             f'<div class="sizebar-bar"></div><div class="sizebar-text">{_human(n)}</div></div></td>{stamp}'
             '<td class="hideable"></td></tr>' for f, n in files]
    return (f'<!DOCTYPE html>\n<html>\n<head>\n<title>{title}</title>\n<meta charset="utf-8">\n</head>\n<body>\n'
            "<header>"
            f"<h1>{''.join(crumbs)}</h1></header>\n<main><div class=\"listing\"><table aria-describedby=\"summary\">"
            '<thead><tr><th></th><th><a href="?sort=name&amp;order=desc">Name</a></th><th><a href="?sort=size&amp;'
            'order=asc">Size</a></th><th class="hideable"><a href="?sort=time&amp;order=asc">Modified</a></th>'
            "<th class=\"hideable\"></th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div></main>"
            '<footer>Served with <a rel="noopener noreferrer" href="https://caddyserver.com">Caddy</a></footer>'
            "</body>\n</html>\n")


def _human(size: int) -> str:
    value, unit = float(size), "B"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            break
        value /= 1000
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"


def render_listing(style: Style, path: str, dirs: Iterable[str], files: Iterable[tuple[str, int]],
                   when: datetime = STAMP, host: str = "localhost") -> str:
    """The listing page of directory ``path`` (ends with ``/``) as ``style`` renders it."""
    dirs, files = sorted(dirs), sorted(files)
    if style not in ("nginx", "apache", "lighttpd"):
        return _render_more(style, path, list(dirs), list(files), when, host)
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
            return HTMLResponse(render_listing(self.style, path, subdirs, files, host=_host(scope)))
        return HTMLResponse(_NGINX_404, 404)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._response(scope)(scope, receive, send)


class DavSite(StaticSite):
    """A WebDAV folder tree: ``PROPFIND`` (``Depth`` 0 or 1; ``infinity`` refused with 403, as Apache
    ``mod_dav`` does by default) answers ``207 Multi-Status``; ``GET`` of a folder is 403 (nginx
    ``dav`` without autoindex); files are served as by :class:`StaticSite`. Every answer says ``DAV: 1,2``."""

    def _response(self, scope: dict[str, Any]) -> Any:
        path, method = scope["path"], scope["method"]
        headers = {"DAV": "1,2", "MS-Author-Via": "DAV"}
        if method == "PROPFIND":
            depth = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"depth"), "infinity")
            if depth.strip().lower() not in ("0", "1"):
                return PlainTextResponse("PROPFIND with Depth: infinity is not allowed", 403, headers=headers)
            return self._propfind(path, depth.strip() == "1", headers)
        if method == "GET" and path in self.dirs:
            return HTMLResponse("<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1>"
                                "</center><hr><center>nginx</center></body></html>", 403, headers=headers)
        return super()._response(scope)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def with_dav(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(b"dav", b"1,2")] if b"dav" not in names else []
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if scope["type"] == "http":
            await self._response(scope)(scope, receive, with_dav)

    def _propfind(self, path: str, children: bool, headers: dict[str, str]) -> Any:
        def one(href: str, spec: FileSpec | None) -> str:
            kind = "<d:resourcetype><d:collection/></d:resourcetype>" if spec is None else "<d:resourcetype/>"
            size = "" if spec is None else f"<d:getcontentlength>{spec.size}</d:getcontentlength>"
            return (f"<d:response><d:href>{escape(quote(href))}</d:href><d:propstat><d:prop>{kind}{size}"
                    f"<d:getlastmodified>{STAMP:%a, %d %b %Y %H:%M:%S GMT}</d:getlastmodified></d:prop>"
                    "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")

        if (spec := self.files.get(path)) is not None:
            parts = [one(path, spec)]
        elif path in self.dirs:
            parts = [one(path, None)]
            if children:
                subdirs, files = self.dirs[path]
                parts += [one(f"{path}{d}/", None) for d in sorted(subdirs)]
                parts += [one(f"{path}{f}", self.files[path + f]) for f, _ in sorted(files)]
        else:
            return HTMLResponse(_NGINX_404, 404, headers=headers)
        body = '<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus xmlns:d="DAV:">' + "".join(parts) + \
            "</d:multistatus>\n"
        return Response(body, 207, media_type="application/xml; charset=utf-8", headers=headers)


def _host(scope: dict[str, Any]) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "localhost")


def make_sites(world: World) -> dict[str, Any]:
    """The three plain web servers and the file server of the generic SciCat instances (the hosts
    behind DOIs, one per listing flavour, are :mod:`doi2data.sandbox.webfolders`' own)."""
    tree = {WEB_ROOT + f.key: f for f in WEB_FILES}
    tree.update({WEB_ROOT + c.key: c for c in checksum_files(world, WEB_FILES, seed="web")})
    styles: tuple[Style, ...] = ("nginx", "apache", "lighttpd")
    sites: dict[str, Any] = {host: StaticSite(world, tree, style=style) for host, style in zip(WEB_HOSTS, styles)}
    files = {f"{pub.publish_prefix}{ds.source_folder}/{f.key}": f
             for pub in SCICAT_PUBLICATIONS for ds in pub.datasets for f in ds.files}
    sites[SCICAT_FILES_HOST] = StaticSite(world, files)
    return sites


__all__ = ["STAMP", "DavSite", "StaticSite", "checksum_files", "make_sites", "render_listing"]
