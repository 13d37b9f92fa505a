"""``doi2data cite DOI --format bibtex|ris|csl|text``: a citation by DOI content negotiation."""

from __future__ import annotations

from collections.abc import Sequence

import click


@click.command("cite")
@click.argument("identifier")
@click.option("-f", "--format", "fmt", default="bibtex", show_default=True,
              type=click.Choice(["bibtex", "ris", "csl", "text"], case_sensitive=False), help="citation format")
@click.option("--style", default="apa", show_default=True, metavar="CSL-STYLE",
              help="citation style for --format text (e.g. apa, ieee, harvard-cite-them-right)")
@click.option("--locale", default="en-US", show_default=True, help="locale for --format text")
@click.option("--token", multiple=True, metavar="HOST=TOKEN", help="API token sent only to HOST")
def cite_command(identifier: str, fmt: str, style: str, locale: str, token: Sequence[str]) -> None:
    """Print a citation for a dataset DOI, as its registration agency formats it.

    Asks https://doi.org/DOI with an Accept header (content negotiation) and follows the
    redirect to DataCite / Crossref. A landing-page URL or handle is resolved to its DOI first.
    """
    from ..cite import cite

    click.echo(cite(identifier, fmt.lower(), style=style, locale=locale, tokens=token), nl=False)


def register(group: click.Group) -> None:
    group.add_command(cite_command)
