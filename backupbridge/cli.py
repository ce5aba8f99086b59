"""The ``backupbridge`` command.

Credentials come from the config file or the environment, never from arguments. Errors print one
line and exit non-zero; a traceback is never shown (``-v`` logs requests, redacted, to stderr).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from . import plugins
from .config import load_accounts
from .connection import Connection, connect
from .errors import BackupBridgeError
from .models import Capability, JobStatus

log = logging.getLogger("backupbridge.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2


def _connections(ctx: click.Context) -> Iterator[Connection]:
    opts = ctx.obj
    vendor = opts["vendor"]
    if opts["sandbox"]:
        from .sandbox import connect_sandbox

        names = [vendor] if vendor else [v.name for v in plugins.list_vendors() if v.simulator is not None]
        for name in names:
            yield connect_sandbox(name, seed=opts["seed"], size=opts["size"], account=f"sandbox-{name}")
        return
    if opts["config"] is None and vendor:
        # No config file: one account of the named vendor, credentials from its environment variables.
        yield connect(vendor, account=vendor)
        return
    accounts = load_accounts(opts["config"])
    chosen = [
        a for a in accounts if (not opts["account"] or a.name in opts["account"]) and (not vendor or a.vendor == vendor)
    ]
    if not chosen:
        raise click.UsageError("no account in the configuration matches --account/--vendor")
    for account in chosen:
        yield connect(account.vendor, **account.connect_kwargs())


def _emit(ctx: click.Context, records: Callable[[Connection], Iterator[Any]]) -> None:
    fmt = ctx.obj["format"]
    exporter = plugins.get_exporter(fmt)

    def all_records() -> Iterator[Any]:
        for conn in _connections(ctx):
            with conn:
                yield from records(conn)

    exporter.write(all_records(), sys.stdout)


_DURATION = re.compile(r"^(\d+)([hdm])$")


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    match = _DURATION.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"h": dt.timedelta(hours=amount), "d": dt.timedelta(days=amount), "m": dt.timedelta(minutes=amount)}[
            unit
        ]
        return dt.datetime.now(dt.UTC) - delta
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO date/time or a duration like 24h, 7d", param_hint="--since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--vendor", help="Only this vendor (with --sandbox: only its simulator)."),
            click.option("--account", multiple=True, help="Only this configured account (repeatable)."),
            click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file."),
            click.option("--sandbox", is_flag=True, help="Use the built-in simulators, not real accounts."),
            click.option("--seed", type=int, default=0, show_default=True, help="Sandbox data seed."),
            click.option(
                "--size",
                type=click.IntRange(0, 1_000_000),
                default=40,
                show_default=True,
                help="Sandbox devices per vendor.",
            ),
            click.option(
                "--format",
                "fmt",
                default="table",
                show_default=True,
                help="Output format: table, json, csv, ndjson (or one a plugin adds).",
            ),
        ]
    ):
        func = option(func)
    return func


def _store(ctx: click.Context, **kwargs: Any) -> None:
    ctx.ensure_object(dict)
    ctx.obj.update(
        vendor=kwargs["vendor"].lower() if kwargs["vendor"] else None,
        account=kwargs["account"],
        config=kwargs["config"],
        sandbox=kwargs["sandbox"],
        seed=kwargs["seed"],
        size=kwargs["size"],
        format=kwargs["fmt"],
    )
    plugins.get_exporter(kwargs["fmt"])  # an unknown format fails before any request
    if kwargs["vendor"]:
        plugins.get_vendor(kwargs["vendor"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Log requests (secrets redacted) to stderr; -vv for more.")
@click.version_option(package_name="backupbridge")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """backupbridge: your backup vendors' companies, devices, plans and runs, in one model."""
    ctx.ensure_object(dict)
    level = {0: logging.ERROR, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("backupbridge").setLevel(logging.DEBUG if verbose else logging.WARNING)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def vendors(fmt: str) -> None:
    """Registered vendors and their capability table."""
    rows: list[dict[str, Any]] = []
    for vendor in plugins.list_vendors():
        caps = {c.value: (c in vendor.capabilities) for c in Capability}
        rows.append(
            {
                "vendor": vendor.name,
                "title": vendor.title,
                "capabilities": caps,
                "notes": dict(vendor.capability_notes),
                "simulator": vendor.simulator is not None,
            }
        )
    if fmt == "json":
        import json

        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Capabilities (yes / no, with notes)")
    table.add_column("operation")
    for row in rows:
        table.add_column(row["vendor"])
    for cap in Capability:
        cells = []
        for row in rows:
            mark = "yes" if row["capabilities"][cap.value] else "no"
            note = row["notes"].get(cap.value)
            cells.append(f"{mark}: {note}" if note else mark)
        table.add_row(cap.value, *cells)
    Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160).print(table)


@cli.command("plugins")
def plugins_command() -> None:
    """Loaded plugins, their distributions, and plugins that failed to load."""
    for info in plugins.list_plugins():
        dist = f"{info.distribution} {info.version or ''}".strip() if info.distribution else "(not installed)"
        vendors_text = ", ".join(info.vendors) or "-"
        click.echo(f"{info.name}\t{dist}\tvendors: {vendors_text}")
    for failure in plugins.plugin_failures():
        click.echo(f"{failure.name}\tFAILED\t{failure.error}")


@cli.command()
@_source_options
@click.pass_context
def companies(ctx: click.Context, /, **kwargs: Any) -> None:
    """Companies (customers), sub-companies flattened with parent_id."""
    _store(ctx, **kwargs)
    _emit(ctx, lambda conn: conn.list_companies())


@cli.command()
@_source_options
@click.option("--company", help="Only this company's devices.")
@click.pass_context
def devices(ctx: click.Context, /, company: str | None, **kwargs: Any) -> None:
    """Devices with their status and last backup."""
    _store(ctx, **kwargs)
    _emit(ctx, lambda conn: conn.list_devices(company_id=company))


@cli.command()
@_source_options
@click.option("--company", help="Only this company's plans.")
@click.pass_context
def plans(ctx: click.Context, /, company: str | None, **kwargs: Any) -> None:
    """Backup plans with their schedules."""
    _store(ctx, **kwargs)
    _emit(ctx, lambda conn: conn.list_plans(company_id=company))


@cli.command()
@_source_options
@click.option("--device", help="Only this device's runs.")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), help="Only runs with this status.")
@click.option("--since", help="Only runs since (ISO date/time, or a duration: 24h, 7d).")
@click.pass_context
def jobs(ctx: click.Context, /, device: str | None, status: str | None, since: str | None, **kwargs: Any) -> None:
    """Backup runs (see `backupbridge vendors`: some vendors show only each device's last run)."""
    _store(ctx, **kwargs)
    wanted = JobStatus(status) if status else None
    after = _since(since)
    _emit(ctx, lambda conn: conn.list_jobs(device_id=device, since=after, status=wanted))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every failure into one line on stderr and an exit code."""
    try:
        cli.main(args=argv, prog_name="backupbridge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()} (see --help)", err=True)
        return EXIT_USAGE
    except BackupBridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # the last line of defence: one line, never a traceback
        from .redaction import redact

        click.echo(f"internal error: {type(exc).__name__}: {redact(str(exc))}", err=True)
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def run() -> None:
    """The console script: ``sys.exit(main())``."""
    sys.exit(main())
