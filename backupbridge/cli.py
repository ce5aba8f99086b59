"""The ``backupbridge`` command.

Credentials come from the config file or the environment, never from arguments. Errors print one
line and exit non-zero; a traceback is never shown (``-v`` logs requests, redacted, to stderr).

Starting is cheap: this module imports click and the standard library only, and the commands that live in
other modules (``collect``, ``history``, ``store``, ``customers``, ``migrate``) are loaded when they are run
(``_LAZY_COMMANDS``), so ``backupbridge --help`` imports neither httpx nor SQLAlchemy. Each command imports what
it uses when it runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import importlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .terminal import one_line

if TYPE_CHECKING:
    from .bridge import Bridge
    from .config import AccountConfig
    from .connection import Connection
    from .health import HealthPolicy
    from .pipeline import AlertOptions
    from .store import Store

EXIT_ERROR = 1
EXIT_USAGE = 2

# The choices and defaults the options show, without importing the modules that define them (``--help`` stays
# cheap); tests/cli/test_pipeline_cli.py checks each against its source.
ROLLUPS = ("worst", "last", "best", "warning-if-mixed")  # health.Rollup
JOB_STATUSES = ("success", "warning", "failed", "running", "queued", "missed", "cancelled", "unknown")  # JobStatus
DEFAULT_ACCOUNT_TIMEOUT = 300.0  # bridge.DEFAULT_ACCOUNT_TIMEOUT


def connect(vendor: str, **options: Any) -> Connection:
    """``backupbridge.connect``, imported when an account is opened."""
    from .connection import connect as connect_vendor

    return connect_vendor(vendor, **options)


def _sources(ctx: click.Context) -> Iterator[tuple[str, Callable[[], Connection]]]:
    """``(vendor/account, open)`` for each account the command covers; opening is left to the caller, so
    one account that cannot be opened (a missing secret) fails alone."""
    from . import plugins

    opts = ctx.obj
    vendor = opts["vendor"]
    if opts["sandbox"]:
        from .sandbox import connect_sandbox

        names = [vendor] if vendor else [v.name for v in plugins.list_vendors() if v.simulator is not None]
        tenants = _sandbox_accounts(names, opts["account"])
        for name, account in tenants:
            opener = functools.partial(connect_sandbox, name, seed=opts["seed"], size=opts["size"], account=account)
            yield f"{name}/{account}", opener
        return
    if opts["config"] is None and vendor:
        if opts["account"]:
            raise click.BadParameter("names an account of a configuration file: add --config", param_hint="--account")
        # No config file: one account of the named vendor, credentials from its environment variables.
        yield f"{vendor}/{vendor}", functools.partial(connect, vendor, account=vendor)
        return
    for chosen_account in _configured(opts["config"], opts["account"], [vendor] if vendor else []):
        yield f"{chosen_account.vendor}/{chosen_account.name}", functools.partial(_open_account, chosen_account)


def _sandbox_accounts(vendors: list[str], wanted: Sequence[str], tenants: int = 1) -> list[tuple[str, str]]:
    """``(vendor, account)`` of the sandbox tenants, only those named by ``--account`` if it is given.

    The sandbox's accounts are named ``sandbox-VENDOR`` (``sandbox-VENDOR-N`` with several tenants); a name
    that is none of them is a usage error that lists them."""
    every = [
        (vendor, f"sandbox-{vendor}" if tenants == 1 else f"sandbox-{vendor}-{index + 1}")
        for vendor in vendors
        for index in range(tenants)
    ]
    if not wanted:
        return every
    known = {account for _, account in every}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise click.BadParameter(
            f"no sandbox account {unknown[0]!r}{_did_you_mean(unknown[0], known)}; "
            f"the sandbox has {', '.join(sorted(known))}",
            param_hint="--account",
        )
    return [(vendor, account) for vendor, account in every if account in wanted]


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _configured(
    config: Path | None, wanted: Sequence[str], vendors: list[str], *, sandbox_hint: bool = True
) -> list[AccountConfig]:
    """The configured accounts ``--account``/``--vendor`` select; an ``--account`` that names none is a usage
    error naming it (with a did-you-mean)."""
    from .config import default_config_path, load_accounts
    from .errors import ConfigurationError

    if config is None and sandbox_hint and not default_config_path().exists():
        raise ConfigurationError(
            f"no configuration file at {default_config_path()} (pass --config FILE, set BACKUPBRIDGE_CONFIG, "
            "or try --sandbox)"
        )
    accounts = load_accounts(config)
    names = [a.name for a in accounts]
    for name in wanted:
        if name not in names:
            raise click.BadParameter(
                f"no account {name!r} in the configuration{_did_you_mean(name, names)}", param_hint="--account"
            )
    chosen = [a for a in accounts if (not wanted or a.name in wanted) and (not vendors or a.vendor in vendors)]
    if not chosen:
        raise click.UsageError("no account in the configuration matches --account/--vendor")
    return chosen


def _open_account(account: AccountConfig) -> Connection:
    return connect(account.vendor, **account.connect_kwargs())


def _emit(ctx: click.Context, records: Callable[[Connection], Iterator[Any]]) -> None:
    """Every account's records through the chosen exporter. An account that fails is one line on stderr
    (its records so far are kept), the others still run, and the exit code says something failed."""
    from .errors import BackupBridgeError

    exporter = _exporter(ctx.obj["format"], listing=True)
    failed: list[str] = []

    def all_records() -> Iterator[Any]:
        for label, open_connection in _sources(ctx):
            try:
                with open_connection() as conn:
                    yield from records(conn)
            except BackupBridgeError as exc:
                failed.append(label)
                click.echo(f"error: account {one_line(label)} failed: {one_line(str(exc))}", err=True)

    exporter.write(all_records(), sys.stdout)
    if failed:
        raise click.exceptions.Exit(EXIT_ERROR)


_DURATION = re.compile(r"^(\d+)([mhdw])$")
_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
# Durations reach back at most a century: further than any vendor keeps runs, and within datetime's range.
_MAX_DURATION = dt.timedelta(days=36500)


def _company_names(conn: Connection) -> dict[str, str]:
    from .errors import UnsupportedOperationError

    try:
        return {c.id: c.name for c in conn.list_companies()}
    except UnsupportedOperationError:  # a vendor without companies: the table shows ids
        return {}


def _since(value: str | None) -> dt.datetime | dt.timedelta | None:
    """``--since``: an ISO date/time (naive is UTC), or a duration back from each account's clock."""
    if value is None:
        return None
    if _DURATION.match(value):
        return duration(value, "--since")
    try:
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        raise click.BadParameter("use an ISO date/time or a duration like 24h, 7d", param_hint="--since") from None


def duration(value: str, option: str) -> dt.timedelta:
    """A duration option (``30m``, ``2h``, ``7d``, ``4w``, at most a century); else a usage error naming it."""
    match = _DURATION.match(value.strip())
    if not match:
        raise click.BadParameter("use a duration like 30m, 2h, 7d or 4w", param_hint=option)
    minutes = int(match.group(1)) * _MINUTES[match.group(2)]
    if minutes > _MAX_DURATION.total_seconds() // 60:
        raise click.BadParameter("at most 36500d (a century)", param_hint=option)
    return dt.timedelta(minutes=minutes)


def _options(*options: Callable[[Any], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def sandbox_options(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--sandbox --seed --size --tenants --vendor --account``, shared by ``report`` and ``collect``.

    ``what`` completes the ``--sandbox`` help: "Report on", "Collect from"."""
    return _options(
        click.option(
            "--sandbox", is_flag=True, help=f"{what} the built-in simulators (seeded tenants of every vendor)."
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Sandbox data seed."),
        click.option(
            "--size", type=click.IntRange(0, 100_000), default=40, show_default=True, help="Sandbox devices per tenant."
        ),
        click.option(
            "--tenants", type=click.IntRange(1, 50), default=1, show_default=True, help="Sandbox tenants per vendor."
        ),
        click.option("--vendor", multiple=True, help="Only these vendors (repeatable)."),
        click.option(
            "--account",
            multiple=True,
            help="Only these accounts (repeatable); with --sandbox the tenants' names, sandbox-VENDOR[-N].",
        ),
    )


health_options = _options(
    click.option("--window", default="7d", show_default=True, help="How far back to look."),
    click.option("--grace", default="2h", show_default=True, help="How late a run may be before it is missed."),
    click.option("--max-age", default="48h", show_default=True, help="No success for longer than this is OVERDUE."),
    click.option(
        "--offline-tolerance", default="0h", show_default=True, help="Extra age allowed to devices known to be offline."
    ),
    click.option("--treat-warning-as-success", is_flag=True, help="Runs with warnings count as successes."),
    click.option(
        "--rollup",
        type=click.Choice(ROLLUPS),
        default="worst",
        show_default=True,
        help="How several runs on one day combine.",
    ),
)
"""The health policy's options, shared by ``report`` and ``collect`` (``health_policy`` reads them)."""


def health_policy(opts: dict[str, Any]) -> HealthPolicy:
    """The ``HealthPolicy`` of ``health_options``' values (a malformed duration is a usage error naming it)."""
    from .health import HealthPolicy, Rollup

    return HealthPolicy(
        window=duration(opts["window"], "--window"),
        grace=duration(opts["grace"], "--grace"),
        max_age=duration(opts["max_age"], "--max-age"),
        offline_tolerance=duration(opts["offline_tolerance"], "--offline-tolerance"),
        treat_warning_as_success=opts["treat_warning_as_success"],
        rollup=Rollup(opts["rollup"]),
    )


alert_options = _options(
    click.option(
        "--state-file", type=click.Path(path_type=Path, dir_okay=False), help="Where open alerts are remembered."
    ),
    click.option(
        "--alerts-ndjson",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Append alert events (problem / recovered) to this NDJSON file.",
    ),
    click.option("--no-alerts", is_flag=True, help="Do not reconcile alerts (no hooks, no state file)."),
    click.option(
        "--alerts",
        "sandbox_alerts",
        is_flag=True,
        help="With --sandbox: deliver alerts to installed alert plugins too (by default only --alerts-ndjson).",
    ),
)
"""The alert options, shared by ``report`` and ``collect`` (``alert_choice`` reads them)."""


def alert_choice(opts: dict[str, Any]) -> AlertOptions | None:
    """The ``AlertOptions`` of ``alert_options``' values (None for ``--no-alerts``). Bad paths are usage errors,
    before any request (a missing directory is never created behind the user's back)."""
    from .pipeline import AlertOptions

    for option, name in (("state_file", "--state-file"), ("alerts_ndjson", "--alerts-ndjson")):
        if opts[option] is not None and not opts[option].parent.is_dir():
            raise click.BadParameter(f"directory {opts[option].parent} does not exist", param_hint=name)
    if opts["sandbox_alerts"] and not opts["sandbox"]:
        raise click.BadParameter(
            "only with --sandbox (real runs always deliver to alert plugins)", param_hint="--alerts"
        )
    if opts["no_alerts"]:
        return None
    return AlertOptions(
        state_file=opts["state_file"],
        ndjson=opts["alerts_ndjson"],
        sandbox=opts["sandbox"],
        deliver_to_plugins=opts["sandbox_alerts"],
    )


def chosen_vendors(names: Iterable[str]) -> list[str]:
    """``--vendor`` values, lower-cased; an unknown one is a usage error."""
    vendors = [name.lower() for name in names]
    for vendor in vendors:
        _vendor(vendor, "--vendor")
    return vendors


def accounts_bridge(
    opts: dict[str, Any],
    vendors: list[str],
    *,
    shard: tuple[int, int] | None = None,
    account_timeout: float | None = DEFAULT_ACCOUNT_TIMEOUT,
) -> Bridge:
    """The Bridge over the accounts ``sandbox_options`` chose (the sandbox's tenants, or the config's accounts),
    only those of ``shard`` (K, N) when given. In the console script the heap is frozen then (``freeze_heap``):
    the plugins' modules and the accounts' connections (the sandbox's simulators) live to the end."""
    bridge = _accounts_bridge(opts, vendors, shard=shard, account_timeout=account_timeout)
    freeze_heap(1)
    return bridge


def _accounts_bridge(
    opts: dict[str, Any],
    vendors: list[str],
    *,
    shard: tuple[int, int] | None,
    account_timeout: float | None,
) -> Bridge:
    from .bridge import Bridge

    def mine(account: str) -> bool:
        if shard is None:
            return True
        from .store.record import in_shard

        return in_shard(account, *shard)

    if opts["sandbox"]:
        from . import plugins
        from .sandbox import connect_sandbox, sandbox_tenants

        names = vendors or [v.name for v in plugins.list_vendors() if v.simulator is not None]
        chosen = set(_sandbox_accounts(names, opts["account"], opts["tenants"]))
        # Every tenant is seeded as Bridge.sandbox would seed it; only the chosen ones (of the shard) are read.
        tenants = sandbox_tenants(names, accounts_per_vendor=opts["tenants"], seed=opts["seed"], size=opts["size"])
        return Bridge(
            [
                connect_sandbox(vendor, simulator=sim, account=account)
                for vendor, account, sim in tenants
                if (vendor, account) in chosen and mine(account)
            ],
            account_timeout=account_timeout,
        )
    accounts = _configured(opts["config"], opts["account"], vendors)
    return Bridge(accounts=[a for a in accounts if mine(a.name)], account_timeout=account_timeout)


def _at_most_one(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
    """An option a listing takes once: given twice it is a usage error, never the last one silently."""
    if len(values) > 1:
        raise click.BadParameter(f"given {len(values)} times; this command takes one", ctx=ctx, param=param)
    return values[0] if values else None


def _source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--vendor",
                multiple=True,
                callback=_at_most_one,
                help="Only this vendor (with --sandbox: only its simulator).",
            ),
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
                help="Output format: table, json, csv, csv-raw, ndjson (or one a plugin adds).",
            ),
        ]
    ):
        func = option(func)
    return func


def _store(ctx: click.Context, **kwargs: Any) -> None:
    ctx.ensure_object(dict)
    _use_config(kwargs["config"])
    ctx.obj.update(
        vendor=kwargs["vendor"].lower() if kwargs["vendor"] else None,
        account=kwargs["account"],
        config=kwargs["config"],
        sandbox=kwargs["sandbox"],
        seed=kwargs["seed"],
        size=kwargs["size"],
        format=kwargs["fmt"],
    )
    _exporter(kwargs["fmt"], listing=True)  # an unknown format fails before any request
    if kwargs["vendor"]:
        _vendor(kwargs["vendor"], "--vendor")


def _use_config(config: Path | None) -> None:
    """``--config`` also names the ``[plugins]`` trust rules: taken before any plugin is loaded (and without
    it, the default file's: an embedding program's earlier ``--config`` does not stick)."""
    from . import plugins

    plugins.use_config(config)


def _exporter(name: str, *, listing: bool = False, report: bool = False) -> Any:
    """The exporter of ``--format``; an unknown one (or one that cannot write what the command writes: records
    for a listing) is a usage error (rc 2) listing the known ones."""
    from . import plugins
    from .errors import PluginError

    def fits(exporter: Any) -> bool:
        return (not listing or exporter.write is not None) and (not report or exporter.writes_reports)

    try:
        found = plugins.get_exporter(name)
    except PluginError:
        found = None
    if found is None or not fits(found):
        known = [e.name for e in plugins.list_exporters() if fits(e)]
        raise click.BadParameter(
            f"unknown output format {name!r}{_did_you_mean(name, known)}; known: {', '.join(known)}",
            param_hint="--format",
        ) from None
    return found


def _vendor(name: str, option: str) -> None:
    from . import plugins
    from .errors import UnknownVendorError

    try:
        plugins.get_vendor(name.lower())
    except UnknownVendorError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


class _PipeClosed(Exception):
    """The reader of stdout went away. Not an ``OSError``: click would turn that into ``sys.exit(1)``."""


# Commands of other modules, loaded when run: name -> ("module:attribute", the first paragraph of its help, as
# `backupbridge --help` lists it). tests/cli/test_pipeline_cli.py checks each text against the command's own.
_LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "collect": (
        "backupbridge.store.commands:collect",
        "Read every account once, record the run in the store and deliver its alerts (for cron, systemd timers, "
        "CronJobs).",
    ),
    "history": (
        "backupbridge.store.commands:history_command",
        "The daily history of a device, plan, company or account: S success, W warning, F failure, . no result, "
        "- unknown (not collected, or the listing failed).",
    ),
    "store": ("backupbridge.store.commands:store_group", "The history store: its schema, its size, its retention."),
    "customers": (
        "backupbridge.customers_cli:customers_group",
        "Each customer's companies across vendor accounts, with the mapping's status.",
    ),
    "migrate": (
        "backupbridge.migrate.commands:migrate_group",
        "Move companies and backup plans from one vendor account to another, in checked stages.",
    ),
}


class _Group(click.Group):
    """The root group: commands of other modules are imported when run (``--help`` lists them from
    ``_LAZY_COMMANDS``), and a closed stdout is told apart from other ``OSError``s."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _LAZY_COMMANDS:
            module, _, attribute = _LAZY_COMMANDS[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
            freeze_heap(1)  # the command's modules (the store's: SQLAlchemy) live to the end, walked once
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists them, without importing the lazy commands for their one line of help."""
        names = self.list_commands(ctx)
        rows = []
        limit = formatter.width - 6 - max(map(len, names))
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, click.Command(name, help=_LAZY_COMMANDS[name][1]).get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _PipeClosed from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Log requests (secrets redacted) to stderr; -vv for more.")
@click.version_option(package_name="backupbridge")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """backupbridge: your backup vendors' companies, devices, plans and runs, in one model."""
    import logging

    ctx.ensure_object(dict)
    level = {0: logging.ERROR, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if verbose:
        logging.getLogger("backupbridge").setLevel(logging.DEBUG)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file ([plugins]).")
def vendors(fmt: str, config: Path | None) -> None:
    """Registered vendors and their capability table."""
    from . import plugins
    from .exporters import write_capability_table
    from .models import Capability
    from .terminal import json_text

    _use_config(config)
    if fmt == "json":
        import json

        rows = [
            {
                "vendor": vendor.name,
                "title": vendor.title,
                "capabilities": {c.value: (c in vendor.capabilities) for c in Capability},
                "notes": dict(vendor.capability_notes),
                "simulator": vendor.simulator is not None,
            }
            for vendor in plugins.list_vendors()
        ]
        click.echo(json_text(json.dumps(rows, indent=2, ensure_ascii=False)))
        return
    write_capability_table(plugins.list_vendors(), sys.stdout)


@cli.command("plugins")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file ([plugins]).")
def plugins_command(config: Path | None) -> None:
    """Loaded plugins, their distributions, and plugins that failed to load or were left out."""
    from . import plugins
    from .exporters import write_plugin_list

    _use_config(config)
    write_plugin_list(plugins.list_plugins(), plugins.plugin_failures(), sys.stdout, plugins.skipped_plugins())


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
@click.option("--company", help="Only runs of this company's devices (its id).")
@click.option("--device", help="Only this device's runs.")
@click.option("--status", type=click.Choice(JOB_STATUSES), help="Only runs with this status.")
@click.option(
    "--since",
    help="Only runs since an ISO date/time, or a duration (30m, 24h, 7d) back from the account's clock.",
)
@click.pass_context
def jobs(
    ctx: click.Context,
    /,
    company: str | None,
    device: str | None,
    status: str | None,
    since: str | None,
    **kwargs: Any,
) -> None:
    """Backup runs (see `backupbridge vendors`: some vendors show only each device's last run).

    The table names each run's device and company; JSON, NDJSON and CSV carry the runs as the model has
    them (ids). Names cost one device and one company listing per account, never one request per run."""
    from .exporters import job_view
    from .models import JobStatus

    _store(ctx, **kwargs)
    wanted = JobStatus(status) if status else None
    after = _since(since)
    named = ctx.obj["format"] == "table"

    def runs(conn: Connection) -> Iterator[Any]:
        # A duration counts back from the account's own clock (a simulator's, with --sandbox).
        start = conn.now() - after if isinstance(after, dt.timedelta) else after
        devices = {d.id: d for d in conn.list_devices(company_id=company)} if company or named else {}
        companies = _company_names(conn) if named else {}
        for job in conn.list_jobs(device_id=device, since=start, status=wanted):
            if company is not None and job.device_id not in devices:
                continue
            yield job_view(job, devices.get(job.device_id or ""), companies) if named else job

    _emit(ctx, runs)


@cli.command()
@sandbox_options("Report on")
@click.option("--company", multiple=True, help="Only these companies, by id or name (repeatable).")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file.")
@click.option(
    "--format",
    "fmt",
    default="table",
    show_default=True,
    help="Output format: table, json, csv, csv-raw, ndjson, html (or one a plugin's exporter adds).",
)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here instead of stdout."
)
@health_options
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="Record into (or with --from-store read) this store: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
    "(default: $BACKUPBRIDGE_STORE, [store] url in the config file, else a file in the data directory).",
)
@click.option("--no-store", is_flag=True, help="Do not record this run into the store.")
@click.option(
    "--from-store",
    is_flag=True,
    help="Report from the store's last run of each account (what collect recorded): no vendor request.",
)
@click.option(
    "--stale-after",
    metavar="DURATION",
    help="With --from-store: an account whose stored run is older than this (e.g. 36h) is a failure, not judged.",
)
@alert_options
@click.option(
    "--csv-raw",
    is_flag=True,
    help="CSV cells exactly as the vendor sent them (by default a cell starting with = + - @ is quoted with ').",
)
@click.option(
    "--account-timeout",
    type=click.FloatRange(0, min_open=True),
    default=DEFAULT_ACCOUNT_TIMEOUT,
    show_default=True,
    help="Seconds one account may take (all its listings); past it that account alone fails.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def report(**opts: Any) -> None:
    """Across every account: a summary per company and every plan or device that is not OK.

    Each run is recorded into the store unless --no-store (docs/report.md); --from-store reports from what
    the store holds instead of asking the vendors."""
    from .errors import BackupBridgeError
    from .pipeline import UnknownCompanyError, run_report

    policy = health_policy(opts)
    _use_config(opts["config"])
    vendors = chosen_vendors(opts["vendor"])
    # Bad paths fail before any request (and a missing directory is never created behind the user's back).
    alerts = alert_choice(opts)
    if opts["output"] is not None and not opts["output"].parent.is_dir():
        raise click.BadParameter(f"directory {opts['output'].parent} does not exist", param_hint="--output")
    if opts["csv_raw"] and opts["fmt"] != "csv":
        raise click.BadParameter("only with --format csv", param_hint="--csv-raw")
    exporter = _exporter("csv-raw" if opts["csv_raw"] else opts["fmt"], report=True)
    if opts["no_store"] and (opts["from_store"] or opts["store_url"]):
        raise click.BadParameter("not with --from-store or --store", param_hint="--no-store")
    store = None if opts["no_store"] else store_opener(opts["store_url"], opts["config"], sandbox=opts["sandbox"])
    expected = None
    if opts["from_store"]:
        # A read never creates a store; every account asked for is in the report (a missing one: a failure row).
        store = store_reader(opts["store_url"], opts["config"], sandbox=opts["sandbox"])
        expected = _from_store_accounts(opts, vendors)
    elif opts["stale_after"] is not None:
        raise click.BadParameter("only with --from-store", param_hint="--stale-after")
    stale_after = duration(opts["stale_after"], "--stale-after") if opts["stale_after"] is not None else None
    stack = contextlib.ExitStack()

    def emit(result: Any) -> None:
        stack.close()  # the progress bar is gone before the report is printed
        # The report first: whatever happens to the store or the alerts after, it is out.
        if opts["output"]:
            try:
                with opts["output"].open("w", encoding="utf-8") as handle:
                    exporter.write_report(result, handle)
            except OSError as exc:
                raise BackupBridgeError(f"cannot write the report to {opts['output']}: {exc.strerror or exc}") from exc
            click.echo(f"wrote {one_line(str(opts['output']))}", err=True)
        else:
            exporter.write_report(result, sys.stdout)
            sys.stdout.flush()

    common: dict[str, Any] = {
        "companies": opts["company"],
        "store": store,
        "alerts": alerts,
        "config": opts["config"],
        "generated_at": "clocks" if opts["sandbox"] else None,
        "emit": emit,
        "strips": exporter.reads_history,
    }
    try:
        if opts["from_store"]:
            outcome = run_report(
                None,
                policy,
                from_store=True,
                vendors=vendors,
                accounts=opts["account"],
                expected=expected,
                stale_after=stale_after,
                **common,
            )
        else:
            with accounts_bridge(opts, vendors, account_timeout=opts["account_timeout"]) as bridge:
                bridge.progress = stack.enter_context(_progress(len(bridge.accounts), quiet=opts["quiet"]))
                outcome = run_report(bridge, policy, **common)
    except UnknownCompanyError as exc:
        raise click.BadParameter(exc.message, param_hint="--company") from None
    finally:
        stack.close()
    for line in outcome.messages:
        click.echo(line, err=True)
    if not outcome.ok:
        raise click.exceptions.Exit(EXIT_ERROR)


def store_opener(store_url: str | None, config: Path | None, *, sandbox: bool) -> Callable[[], Store]:
    """A function opening the store ``--store``/``$BACKUPBRIDGE_STORE``/``[store]``/the default names (the
    sandbox's own file with ``--sandbox``). What can be checked without reaching it is checked now, before any
    request: a ``--store`` that does not parse is a usage error, a malformed ``[store]`` table one line."""
    from .store import load_store_config, open_configured_store, parse_url
    from .store.errors import StoreURLError

    settings = load_store_config(config, url=store_url)
    if settings.url is not None:
        try:
            parse_url(settings.url)
        except StoreURLError as exc:
            if store_url:
                raise click.BadParameter(exc.message, param_hint="--store") from None
            raise StoreURLError(f"{exc.message} (from {settings.source})") from None
    return functools.partial(open_configured_store, store_url, config=config, sandbox=sandbox)


def store_reader(store_url: str | None, config: Path | None, *, sandbox: bool) -> Callable[[], Store]:
    """A function opening an existing store to read it (``report --from-store``): a store that does not exist
    is an error ("no store at PATH"), never a new empty one (a mistyped ``--store`` creates nothing)."""

    def open_existing() -> Store:
        from .store import default_store_path, load_store_config, open_store
        from .store.errors import StoreError, StoreURLError

        settings = load_store_config(config, url=store_url)
        hint = "report --from-store reads a store and never creates one: check --store, or run 'backupbridge collect'"
        if settings.url is None and not default_store_path(sandbox=sandbox).exists():
            raise StoreError(f"no store at {default_store_path(sandbox=sandbox)} ({hint})")
        try:
            url = settings.resolved_url(sandbox=sandbox)
        except StoreURLError as exc:
            raise StoreURLError(f"{exc.message} (from {settings.source})") from None
        database = url.database or ""
        if url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
            path = Path(database).expanduser()
            if not path.exists():
                raise StoreError(f"no store at {path} ({hint})")
        return open_store(url, busy_timeout=settings.busy_timeout, create=False)

    return open_existing


def _from_store_accounts(opts: dict[str, Any], vendors: list[str]) -> list[tuple[str, str]] | None:
    """The ``(vendor, account)`` pairs ``report --from-store`` covers: the sandbox's (``--sandbox``), else the
    configured accounts (``--account``/``--vendor`` select among them as in a live report); None when there is
    no configuration with accounts (then the store's own accounts are reported)."""
    if opts["sandbox"]:
        from . import plugins

        names = vendors or [v.name for v in plugins.list_vendors() if v.simulator is not None]
        return _sandbox_accounts(names, opts["account"], opts["tenants"])
    from .config import default_config_path, load_accounts

    if not (opts["config"] or default_config_path()).exists() or not load_accounts(opts["config"]):
        return None
    return [(a.vendor, a.name) for a in _configured(opts["config"], opts["account"], vendors, sandbox_hint=False)]


@contextlib.contextmanager
def _progress(total: int, *, quiet: bool) -> Iterator[Callable[[int, int, str], None] | None]:
    """A progress bar on stderr, when stderr is a terminal and not --quiet."""
    if quiet or not sys.stderr.isatty() or total < 2:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("accounts", total=total)

        def advance(done: int, total_: int, account: str) -> None:
            bar.update(task, completed=done, description=account)

        yield advance


def _account_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file."),
            click.option("--account", multiple=True, help="Only this configured account (repeatable)."),
            click.option("--vendor", multiple=True, callback=_at_most_one, help="Only this vendor's accounts."),
        ]
    ):
        func = option(func)
    return func


def _chosen_accounts(config: Path | None, account: tuple[str, ...], vendor: str | None) -> list[AccountConfig]:
    from .config import load_accounts

    _use_config(config)
    if vendor:
        _vendor(vendor, "--vendor")
    if not account and not vendor:
        return load_accounts(config)
    return _configured(config, account, [vendor.lower()] if vendor else [], sandbox_hint=False)


@cli.group(invoke_without_command=True)
@_account_options
@click.pass_context
def accounts(ctx: click.Context, config: Path | None, account: tuple[str, ...], vendor: str | None) -> None:
    """The configured accounts (never their secrets)."""
    ctx.ensure_object(dict)
    ctx.obj.update(config=config, account=account, vendor=vendor)
    if ctx.invoked_subcommand is None:
        for chosen in _chosen_accounts(config, account, vendor):
            sources = ", ".join(f"{k} from {v}" for k, v in chosen.sources.items()) or "no credentials"
            click.echo(f"{chosen.name}\t{chosen.vendor}\t{chosen.base_url or '-'}\t{chosen.timezone}\t{sources}")


@accounts.command("check")
@_account_options
@click.pass_context
def accounts_check(ctx: click.Context, config: Path | None, account: tuple[str, ...], vendor: str | None) -> None:
    """Try each account (a first listing) and print one line per account: ok, or the typed error."""
    from concurrent.futures import ThreadPoolExecutor

    from .errors import BackupBridgeError

    def check(account: AccountConfig) -> str:
        try:
            with _open_account(account) as conn:
                next(iter(conn.list_devices()), None)
        except BackupBridgeError as exc:
            return one_line(f"{type(exc).__name__}: {exc}")
        return "ok"

    accounts = _chosen_accounts(config or ctx.obj["config"], account or ctx.obj["account"], vendor or ctx.obj["vendor"])
    # Concurrently (an account that is down spends its retries waiting), printed in the file's order.
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(check, accounts))
    for chosen, outcome in zip(accounts, outcomes, strict=True):
        click.echo(f"{chosen.name}\t{chosen.vendor}\t{outcome}")
    if any(outcome != "ok" for outcome in outcomes):
        raise click.exceptions.Exit(EXIT_ERROR)


@cli.command()
@click.argument("vendor")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", type=click.IntRange(0, 1_000_000), default=40, show_default=True)
@click.option(
    "--clock",
    default="now",
    show_default=True,
    help="Where the seeded data is anchored: now (the present, to the second), fixed (the deterministic "
    "2026-11-02 09:00Z that tests use) or an ISO date/time.",
)
def simulate(vendor: str, port: int, host: str, seed: int, size: int, clock: str) -> None:
    """Serve one vendor's simulator on loopback, for tests written in other languages (Ctrl-C stops it)."""
    from .errors import BackupBridgeError
    from .sandbox import SimulatorOptions, make_simulator
    from .sandbox.server import serve

    _vendor(vendor, "VENDOR")
    sim = make_simulator(vendor.lower(), SimulatorOptions(seed=seed, size=size, now=_clock(clock)))
    try:
        server = serve(sim, host=host, port=port)
    except OSError as exc:
        raise BackupBridgeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc
    base_path = getattr(getattr(sim, "router", None), "base_path", "")
    click.echo(f"{vendor} simulator on http://{host}:{server.server_address[1]}{base_path}")
    for name, value in sim.credentials.items():
        if name != "base_url":
            click.echo(f"  {name} = {value}   (sandbox credential)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


def _clock(value: str) -> dt.datetime:
    """``simulate --clock``: ``now``, ``fixed`` or an ISO date/time (naive is UTC)."""
    from .sandbox import DEFAULT_NOW

    if value == "now":
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if value == "fixed":
        return DEFAULT_NOW
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use now, fixed or an ISO date/time", param_hint="--clock") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# The exit status of a command killed by SIGPIPE in a shell (128 + 13), as `yes | head` or `cat | head` end.
EXIT_BROKEN_PIPE = 141
EXIT_BUG = 70


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's capture)
        pass


_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*:)[^\s/?#@]*@")


def _without_url_secrets(message: str) -> str:
    """``message`` with the password of every ``scheme://user:PASSWORD@host`` (and ``password=``) masked."""
    from .redaction import redact

    return redact(_URL_PASSWORD.sub(r"\1***@", message))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every failure into one line on stderr and an exit code."""
    try:
        return _main(argv)
    finally:
        # A --config names the plugin rules for that command only, not for the program embedding main().
        if "backupbridge.plugins" in sys.modules:  # nothing to reset when no plugin was loaded (--help)
            sys.modules["backupbridge.plugins"].use_config(None)


def _main(argv: list[str] | None) -> int:
    if os.environ.get("_BACKUPBRIDGE_COMPLETE"):
        # click's shell completion (docs/quickstart.md) prints its answer and exits on its own.
        try:
            cli.main(args=argv, prog_name="backupbridge", standalone_mode=False)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 0
    try:
        # Without standalone mode, click hands back the code of a ``click.exceptions.Exit`` as the return value.
        code = cli.main(args=argv, prog_name="backupbridge", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        # click's messages quote the argv ("Got unexpected extra argument (...)"): a URL's password never shows.
        click.echo(f"error: {one_line(_without_url_secrets(exc.format_message()))} (see --help)", err=True)
        return EXIT_USAGE
    except (BrokenPipeError, _PipeClosed):
        # The reader went away (`report | head`): no message, and the status a shell gives such a command.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        click.echo("aborted", err=True)
        return 130
    except SystemExit as exc:  # only plugin code raises it here (click does not, outside standalone mode)
        click.echo(f"internal error: a plugin called exit({one_line(str(exc.code))})", err=True)
        return EXIT_BUG
    except BaseException as exc:  # ours: one line; anything else is the last line of defence, never a traceback
        from .errors import BackupBridgeError

        if isinstance(exc, BackupBridgeError):
            click.echo(f"error: {one_line(str(exc))}", err=True)
            return EXIT_ERROR
        from .redaction import redact

        click.echo(f"internal error: {type(exc).__name__}: {one_line(redact(str(exc)))}", err=True)
        return EXIT_BUG
    return 0


_OWNS_PROCESS = False
"""True in the console script only (``run``): the process is the command's, and exits when it ends."""


def freeze_heap(generation: int = 2) -> None:
    """In the console script only: collect the garbage of ``generation`` and younger, then move every object
    alive out of the cyclic garbage collector's passes (``gc.freeze``), so the rest of the command's passes
    walk only what it makes from here on.

    A command builds a large graph once and keeps it to the end (the modules, a lazily imported command's
    among them; the plugins and the accounts' connections; a collect's snapshot), and every full pass of the
    collector walked all of it again. The collection first frees the cycles already garbage and runs their
    finalizers: a frozen cycle is never freed and its finalizers never run, not even at exit. Past the start,
    only the young generations are collected (after ``collect``'s snapshot a full pass over it and, in the
    sandbox, the simulators' state cost ~200 ms, most of what the freeze saves): a cycle that was already in
    the oldest generation when it became garbage stays until exit, unfinalized. What the snapshot opened
    (clients, connections, files) is closed explicitly with the bridge, never left to a finalizer. Never in a
    program that calls ``main()`` (tests, an embedding application): its heap is not ours."""
    if _OWNS_PROCESS:
        gc.collect(generation)
        gc.freeze()


def run() -> None:
    """The console script: ``sys.exit(main())``, the heap imported so far frozen (``freeze_heap``)."""
    global _OWNS_PROCESS
    _OWNS_PROCESS = True
    freeze_heap()
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
