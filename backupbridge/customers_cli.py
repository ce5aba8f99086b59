"""``backupbridge customers`` (each mapping's status) and ``backupbridge customers suggest``.

Registered on the ``backupbridge`` command at the end of ``cli.py``. Every line of vendor text printed here is
stripped of escape sequences; errors are one line (``cli.main``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import plugins
from .bridge import Bridge
from .config import load_accounts
from .customers import CustomerMap, MemberStatus, check_mapping, load_customers, member_text, suggest, suggestions_toml
from .exporters import compact_table, record_to_dict, table_console
from .models import Company
from .terminal import one_line

__all__ = ["customers_group"]


def _companies(opts: dict[str, Any]) -> tuple[list[Company], set[tuple[str, str]], dict[str, str], CustomerMap]:
    """Every account's companies now, the accounts whose listing failed, account -> vendor, the mapping."""
    if opts["sandbox"]:
        bridge = Bridge.sandbox(seed=opts["seed"], size=opts["size"])
    else:
        bridge = Bridge(accounts=load_accounts(opts["config"]))
    accounts = {account: vendor for vendor, account in bridge.accounts}
    mapping = load_customers(opts["config"], accounts=accounts, required=opts["config"] is not None)
    with bridge:
        result = bridge.list_companies()
    for failure in result.failures:
        click.echo(
            f"error: account {one_line(failure.vendor)}/{one_line(failure.account)} failed (list_companies): "
            f"{one_line(failure.message)}",
            err=True,
        )
    return list(result.records), {(f.vendor, f.account) for f in result.failures}, accounts, mapping


def _source_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file."),
            click.option("--sandbox", is_flag=True, help="The built-in simulators' companies, not real accounts."),
            click.option("--seed", type=int, default=0, show_default=True, help="Sandbox data seed."),
            click.option("--size", type=click.IntRange(0, 100_000), default=40, show_default=True),
        ]
    ):
        func = option(func)
    return func


@click.group("customers", invoke_without_command=True)
@_source_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def customers_group(ctx: click.Context, /, fmt: str, **opts: Any) -> None:
    """Each customer's companies across vendor accounts, with the mapping's status.

    ok, renamed (the id is there under another name; the mapping holds), missing (the account no longer lists
    the id), invalid (unknown vendor or account, or a company mapped to two customers), unknown (the account's
    listing failed). Exit 1 when any is missing, invalid or unknown."""
    if ctx.invoked_subcommand is not None:
        return
    companies, failed, accounts, mapping = _companies(opts)
    verdicts = check_mapping(
        mapping, companies, accounts=accounts, failed=failed, vendors=[v.name for v in plugins.list_vendors()]
    )
    for line in mapping.errors:
        click.echo(f"error: customers: {one_line(line)}", err=True)
    if fmt == "json":
        rows = [record_to_dict(v) for v in verdicts]
        click.echo(json.dumps(rows, indent=2))
    elif not verdicts:
        click.echo("No customers are mapped yet: see 'backupbridge customers suggest --format toml'.")
    else:
        table = compact_table(f"{len({v.customer for v in verdicts})} customers, {len(verdicts)} companies")
        for column in ("customer", "company", "status", "name now", "name accepted", "detail"):
            table.add_column(column, overflow="fold")
        for v in verdicts:
            table.add_row(v.customer, v.member, v.status.value, v.current_name or "", v.recorded_name or "", v.detail)
        table_console(sys.stdout, markup=False).print(table)  # vendor names are not markup
    bad = {MemberStatus.MISSING, MemberStatus.INVALID, MemberStatus.UNKNOWN}
    if failed or mapping.errors or any(v.status in bad for v in verdicts):
        raise click.exceptions.Exit(1)


@customers_group.command("suggest")
@_source_options
@click.option("--format", "fmt", type=click.Choice(["table", "toml", "json"]), default="table", show_default=True)
@click.option(
    "--threshold",
    type=click.FloatRange(0.5, 1.0),
    default=0.85,
    show_default=True,
    help="How similar two normalised names must be for a soft match (difflib ratio).",
)
def suggest_command(fmt: str, threshold: float, **opts: Any) -> None:
    """Propose customers from the companies not yet mapped: exact, normalised and soft matches, each marked.

    Review, then paste ``--format toml`` into the config file; nothing is written for you."""
    companies, failed, _, mapping = _companies(opts)
    for line in mapping.errors:
        click.echo(f"error: customers: {one_line(line)}", err=True)
    proposals = suggest(companies, mapped=mapping.lookup.keys() | mapping.twice, threshold=threshold)
    if fmt == "toml":
        click.echo(suggestions_toml(proposals), nl=False)
    elif fmt == "json":
        rows = [
            {
                "customer": s.customer,
                "members": [
                    {"company": member_text(c), "name": c.name, "match": m.value, "score": score}
                    for c, m, score in s.members
                ],
            }
            for s in proposals
        ]
        click.echo(json.dumps(rows, indent=2))
    else:
        table = compact_table(f"{sum(len(s.members) > 1 for s in proposals)} proposed customers")
        for column in ("customer", "match", "company", "name"):
            table.add_column(column, overflow="fold")
        for s in proposals:
            for c, m, score in s.members:
                how = f"{m.value} {score:.2f}" if score < 1 else m.value
                table.add_row(s.customer, how, member_text(c), c.name)
        table_console(sys.stdout, markup=False).print(table)  # vendor names are not markup
    if failed:
        raise click.exceptions.Exit(1)
