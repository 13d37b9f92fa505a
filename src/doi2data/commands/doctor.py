"""``doi2data doctor``: the environment, then one probe per service host, with advice per problem."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence

import click

from ..errors import NetworkError, UsageError


def _targets(extra: Sequence[str], only: Sequence[str]) -> list[tuple[str, str]]:
    from ..doctor import DEFAULT_TARGETS

    targets = list(DEFAULT_TARGETS)
    if only:
        wanted = {o.lower() for o in only}
        targets = [t for t in targets if t[0].lower() in wanted or t[1].split("/")[2] in wanted]
    for spec in extra:
        name, sep, url = spec.partition("=")
        if not sep or not url.startswith(("https://", "http://")) or len(spec) > 2000:
            raise UsageError(f"--host takes NAME=URL (http or https), got {spec[:80]!r}")
        targets.append((name.strip() or url, url.strip()))
    if not targets:
        raise UsageError("--only matched no host; names are: " + ", ".join(n for n, _ in DEFAULT_TARGETS))
    return targets


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="one JSON document (environment, checks, problems)")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 300),
              help="seconds per host")
@click.option("--host", "extra", multiple=True, metavar="NAME=URL", help="also probe this URL (repeatable)")
@click.option("--only", multiple=True, metavar="NAME", help="probe only these hosts (name or host name; repeatable)")
@click.option("--live", is_flag=True,
              help="also run the live conformance checks (one small public DOI per repository; needs internet)")
def doctor_command(as_json: bool, timeout: float, extra: Sequence[str], only: Sequence[str], live: bool) -> None:
    """Check the route to doi.org, DataCite and every repository: proxy, TLS (intercepted?), clock, limits.

    Exit 0 when every host is reachable with trusted TLS; exit 8 (network) otherwise.
    """
    from ..doctor import has_problems, run_checks, to_json

    info, checks = asyncio.run(run_checks(_targets(extra, only), timeout=timeout))
    live_rows = None
    if live:
        from ..conformance import run_all

        live_rows = run_all()
    if as_json:
        document = to_json(info, checks)
        if live_rows is not None:
            document["live"] = [row.to_json() for row in live_rows]
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print(info, checks)
        if live_rows is not None:
            from ..conformance import print_table

            print_table(live_rows)
    failed_live = live_rows is not None and any(not row.ok for row in live_rows)
    if has_problems(info, checks) or failed_live:
        raise NetworkError("doctor found problems (see above)")


def _print(info: object, checks: Sequence[object]) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..doctor import Environment, HostCheck

    assert isinstance(info, Environment)
    console = Console(soft_wrap=True)
    console.print(f"doi2data {info.doi2data}, Python {info.python}, httpx {info.httpx}")
    if info.proxies:
        for name, value in info.proxies.items():
            console.print(f"  {name}={value}", markup=False)
    else:
        console.print("  no proxy variables set: direct connections")
    console.print(f"  CA bundle: {info.ca_bundle} ({info.ca_source})", markup=False)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("host", "reachable", "status", "ms", "TLS", "issuer", "via", "rate limit"):
        table.add_column(column, overflow="fold")
    for check in checks:
        assert isinstance(check, HostCheck)
        table.add_row(check.name, "yes" if check.reachable else "NO", str(check.status or "-"),
                      f"{check.latency_ms:.0f}" if check.latency_ms is not None else "-", check.tls,
                      check.issuer or "-", check.proxy or "direct",
                      ", ".join(f"{k}: {v}" for k, v in check.rate_limit.items()) or "-")
    console.print(table)
    skews = [c.skew_s for c in checks if c.skew_s is not None]
    if skews:
        console.print(f"clock: {sorted(skews)[len(skews) // 2]:+.1f} s against the servers' Date headers (median)")
    problems = ([("environment", info.ca_problem, "")] if info.ca_problem else []) + \
        [(c.name, c.problem, c.advice) for c in checks if c.problem]
    if not problems:
        console.print("no problems found")
    for name, problem, advice in problems:
        console.print(f"[bold]{name}[/]: {problem}", highlight=False)
        if advice:
            console.print(f"  -> {advice}", markup=False, highlight=False)


def register(group: click.Group) -> None:
    group.add_command(doctor_command)
