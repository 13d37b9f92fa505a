"""``doi2data search``: find dataset DOIs (PaN search API, DataCite, OAI-PMH), print them as they arrive.

Output is streamed - a table row, a JSON array element, an NDJSON line or a bare DOI per hit, written
as each page is parsed - so a harvest of any size needs the memory of one page, and ``--format dois``
(one DOI per line) or ``--ndjson`` (one object per line with a ``doi`` field) feed ``get --from -``.
Every bad option is a one-line error with exit 2, checked before any request.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..errors import UsageError

FORMATS = ("table", "json", "ndjson", "dois")
_SOURCES = ("panosc", "datacite", "oai")


def _limit(text: str) -> int | None:
    value = text.strip()
    if not value.isdigit() or len(value) > 9:
        raise UsageError(f"bad --limit {text[:20]!r}: a whole number of hits (0: no limit)")
    return int(value) or None


def _url(text: str, option: str) -> str:
    import httpx

    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host or len(text) > 2000:
        raise UsageError(f"bad {option} {text[:80]!r}: expected an http(s) URL")
    return str(url)


def _word(value: str | None, option: str) -> str | None:
    """A short filter value (facility, technique, ids, set): trimmed, printable, at most 200 characters."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > 200 or not text.isprintable():
        raise UsageError(f"bad {option} {text[:40]!r}: at most 200 printable characters")
    return text


def _choose_source(source: str | None, oai_url: str | None) -> str:
    name = (source or ("oai" if oai_url else "panosc")).strip().lower()
    if name not in _SOURCES:
        raise UsageError(f"unknown search source {source!r}; choose one of: {', '.join(_SOURCES)}")
    return name


def _check_fit(source: str, *, oai_set: str | None, prefix_given: bool, client: str | None, provider: str | None,
               resource_type_given: bool) -> None:
    """Options that only one source understands are refused elsewhere instead of silently ignored."""
    if source != "oai" and (oai_set or prefix_given):
        raise UsageError("--set and --metadata-prefix apply to OAI-PMH harvests (--oai URL)")
    if source != "datacite" and (client or provider or resource_type_given):
        raise UsageError("--client, --provider and --type apply to DataCite searches (--source datacite)")


class _Printer:
    """Writes hits in one format as they come; the table has fixed columns so it can stream."""

    def __init__(self, fmt: str) -> None:
        self.fmt, self.count, self.without_doi = fmt, 0, 0
        width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
        self.widths = (max(24, width // 4), 0, 16, 4, 10)
        self.title_width = max(20, width - sum(self.widths) - 8)

    @staticmethod
    def _cell(text: str, width: int) -> str:
        return text.ljust(width) if len(text) <= width else text[:width - 1] + "…"

    def _row(self, cells: Sequence[str]) -> str:
        doi_w, _, fac_w, year_w, size_w = self.widths
        return "  ".join((self._cell(cells[0], doi_w), self._cell(cells[1], self.title_width),
                          self._cell(cells[2], fac_w), self._cell(cells[3], year_w),
                          cells[4].rjust(size_w))).rstrip()

    def hit(self, hit: Any) -> None:
        from ..sizes import human_size

        if hit.doi is None:
            self.without_doi += 1
        if self.fmt == "dois":
            if hit.doi:
                click.echo(hit.doi)
        elif self.fmt == "ndjson":
            click.echo(json.dumps(hit.to_json(), ensure_ascii=False))
        elif self.fmt == "json":
            click.echo(("[\n  " if self.count == 0 else ",\n  ") + json.dumps(hit.to_json(), ensure_ascii=False),
                       nl=False)
        else:
            if self.count == 0:
                click.echo(click.style(self._row(("DOI", "TITLE", "FACILITY", "YEAR", "SIZE")), bold=True))
            click.echo(self._row((hit.doi or f"({hit.id or 'no DOI'})", hit.title, hit.facility or "",
                                  str(hit.year or ""), human_size(hit.size) if hit.size is not None else "")))
        self.count += 1

    def close(self) -> None:
        if self.fmt == "json":
            click.echo("[]" if self.count == 0 else "\n]")


def _progress(enabled: bool) -> Any:
    def show(pages: int, hits: int, total: int | None) -> None:
        of = f" of {total:,} records" if total is not None else ""
        click.echo(f"\r  page {pages:,}: {hits:,} hit(s){of}   ", err=True, nl=False)

    return show if enabled else None


@click.command("search")
@click.argument("text", nargs=-1)
@click.option("--source", metavar="NAME", help="panosc (default), datacite or oai (the default with --oai)")
@click.option("--endpoint", metavar="URL",
              help="a facility's own PaN search API base (default: the PaNOSC federated search), or a DataCite API")
@click.option("--oai", "oai_url", metavar="URL", help="harvest this OAI-PMH provider (its base URL)")
@click.option("--set", "oai_set", metavar="SPEC", help="OAI-PMH set to harvest")
@click.option("--from", "date_from", metavar="DATE", help="from this date (YYYY, YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
@click.option("--until", "date_until", metavar="DATE", help="until this date (same forms as --from)")
@click.option("--metadata-prefix", metavar="PREFIX", help="OAI-PMH metadata format: oai_datacite (default) or oai_dc")
@click.option("--facility", metavar="NAME", help="facility (PaN), publisher (DataCite, OAI), e.g. ESRF")
@click.option("--technique", metavar="NAME", help="technique (PaN), subject (DataCite, OAI), e.g. 'x-ray absorption'")
@click.option("--param", "params", multiple=True, metavar="'NAME OP VALUE [UNIT]'",
              help="scientific parameter (PaN only), e.g. 'wavelength < 1.2 A'; repeat for ranges")
@click.option("--client", metavar="ID", help="DataCite client (repository) id, e.g. cern.zenodo")
@click.option("--provider", metavar="ID", help="DataCite provider (member) id, e.g. esrf")
@click.option("--type", "resource_type", metavar="TYPE", help="DataCite resource type (default dataset; 'any': all)")
@click.option("--limit", default="50", show_default=True, metavar="N", help="at most N hits (0: all, a harvest)")
@click.option("--json", "as_json", is_flag=True, help="a JSON array (same as --format json)")
@click.option("--ndjson", is_flag=True, help="one JSON object per line (same as --format ndjson)")
@click.option("-f", "--format", "fmt", metavar="NAME", help="table (default), json, ndjson or dois (one DOI per line)")
@click.option("--list-sets", is_flag=True, help="print the OAI-PMH provider's sets (setSpec, name) and stop")
@click.option("-q", "--quiet", is_flag=True, help="no progress and no closing note on stderr")
@click.option("--token", multiple=True, metavar="HOST=TOKEN", help="API token sent only to HOST")
@click.option("--rate", multiple=True, metavar="HOST=N/SECONDS", help="request-rate limit for a host")
def search_command(text: Sequence[str], source: str | None, endpoint: str | None, oai_url: str | None,
                   oai_set: str | None, date_from: str | None, date_until: str | None, metadata_prefix: str | None,
                   facility: str | None, technique: str | None, params: Sequence[str], client: str | None,
                   provider: str | None, resource_type: str | None, limit: str, as_json: bool, ndjson: bool,
                   fmt: str | None, list_sets: bool, quiet: bool, token: Sequence[str], rate: Sequence[str]) -> None:
    """Find datasets by text, facility, technique, parameters and dates; print their DOIs.

    \b
    doi2data search lysozyme --facility ESRF --param 'wavelength < 1.2 A'
    doi2data search --source datacite 'operando tomography' --provider psi --from 2020
    doi2data search --oai https://provider.example/oai --set openaire_data --from 2024-01-01 --limit 0 -f dois
    """
    from ..search import SearchQuery, oai_sets, parse_date, parse_param, search
    from ..search.oai import HarvestStats
    from ..transfer.limits import DEFAULT_RATES, parse_rate

    name = _choose_source(source, oai_url)
    chosen = (fmt or ("json" if as_json else "ndjson" if ndjson else "table")).strip().lower()
    if chosen not in FORMATS or sum(map(bool, (fmt, as_json, ndjson))) > 1:
        raise UsageError(f"choose one output: --format {'|'.join(FORMATS)} (or --json / --ndjson)")
    _check_fit(name, oai_set=oai_set, prefix_given=metadata_prefix is not None, client=client, provider=provider,
               resource_type_given=resource_type is not None)
    base = _url(oai_url, "--oai") if oai_url else _url(endpoint, "--endpoint") if endpoint else None
    words = " ".join(t.strip() for t in text if t.strip())
    if len(words) > 1000 or not words.isprintable():
        raise UsageError("the search text must be printable and at most 1,000 characters")
    client, provider, oai_set = _word(client, "--client"), _word(provider, "--provider"), _word(oai_set, "--set")
    query = SearchQuery(
        text=words, facility=_word(facility, "--facility"), technique=_word(technique, "--technique"),
        params=[parse_param(p) for p in params],
        date_from=parse_date(date_from, "--from") if date_from else None,
        date_until=parse_date(date_until, "--until") if date_until else None, limit=_limit(limit),
        client=client, provider=provider, oai_set=oai_set, metadata_prefix=(metadata_prefix or "oai_datacite").strip(),
        resource_type="" if (resource_type or "").strip().lower() == "any" else _word(resource_type, "--type") or "dataset",
    )
    first = (query.date_from or "")[:10] + ("-01-01" if len(query.date_from or "") == 4 else "")
    last = (query.date_until or "")[:10] + ("-12-31" if len(query.date_until or "") == 4 else "")
    if first and last and first > last:
        raise UsageError(f"--from {query.date_from} is after --until {query.date_until}")
    rates = dict(DEFAULT_RATES)
    rates.update(parse_rate(r) for r in rate)
    if list_sets:
        if name != "oai" or base is None:
            raise UsageError("--list-sets needs an OAI-PMH provider: --oai URL")
        asyncio.run(_print_sets(oai_sets(base, tokens=token)))
        return
    stats = HarvestStats()
    printer = _Printer(chosen)
    show = not quiet and sys.stderr.isatty()
    hits = search(name, query, endpoint=base, tokens=token, rates=rates, on_page=_progress(show), stats=stats)
    try:
        asyncio.run(_drain(hits, printer))
        printer.close()
    except BrokenPipeError:  # the reader stopped (`| head`): stop too, quietly; nothing was lost
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return
    finally:
        if show:
            click.echo("\r" + " " * 60 + "\r", err=True, nl=False)
    if not quiet:
        click.echo(_closing_note(printer, stats, chosen), err=True)


async def _drain(hits: Any, printer: _Printer) -> None:
    try:
        async for hit in hits:
            printer.hit(hit)
    finally:
        await hits.aclose()


async def _print_sets(sets: Any) -> None:
    async for spec, label in sets:
        click.echo(f"{spec}\t{label}" if label else spec)


def _closing_note(printer: _Printer, stats: Any, fmt: str) -> str:
    parts = [f"{printer.count:,} hit(s)" if printer.count else "no matches"]
    if stats.deleted:
        parts.append(f"{stats.deleted:,} deleted record(s) skipped")
    if printer.without_doi:
        parts.append(f"{printer.without_doi:,} without a DOI" + (" (not printed)" if fmt == "dois" else ""))
    return "note: " + "; ".join(parts)


def register(group: click.Group) -> None:
    group.add_command(search_command)
