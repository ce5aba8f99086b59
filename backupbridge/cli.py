"""The ``backupbridge`` command.

Credentials come from the config file or the environment, never from arguments. Errors print one
line and exit non-zero; a traceback is never shown (``-v`` logs requests, redacted, to stderr).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from . import plugins
from .bridge import DEFAULT_ACCOUNT_TIMEOUT
from .config import AccountConfig, load_accounts
from .connection import Connection, connect
from .errors import BackupBridgeError
from .exporters import table_console
from .health import Rollup
from .models import Capability, JobStatus
from .terminal import one_line

log = logging.getLogger("backupbridge.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2


def _sources(ctx: click.Context) -> Iterator[tuple[str, Callable[[], Connection]]]:
    """``(vendor/account, open)`` for each account the command covers; opening is left to the caller, so
    one account that cannot be opened (a missing secret) fails alone."""
    opts = ctx.obj
    vendor = opts["vendor"]
    if opts["sandbox"]:
        from .sandbox import connect_sandbox

        names = [vendor] if vendor else [v.name for v in plugins.list_vendors() if v.simulator is not None]
        for name in names:
            opener = functools.partial(
                connect_sandbox, name, seed=opts["seed"], size=opts["size"], account=f"sandbox-{name}"
            )
            yield f"{name}/sandbox-{name}", opener
        return
    if opts["config"] is None and vendor:
        # No config file: one account of the named vendor, credentials from its environment variables.
        yield f"{vendor}/{vendor}", functools.partial(connect, vendor, account=vendor)
        return
    accounts = load_accounts(opts["config"])
    chosen = [
        a for a in accounts if (not opts["account"] or a.name in opts["account"]) and (not vendor or a.vendor == vendor)
    ]
    if not chosen:
        raise click.UsageError("no account in the configuration matches --account/--vendor")
    for chosen_account in chosen:
        yield f"{chosen_account.vendor}/{chosen_account.name}", functools.partial(_open_account, chosen_account)


def _open_account(account: AccountConfig) -> Connection:
    return connect(account.vendor, **account.connect_kwargs())


def _emit(ctx: click.Context, records: Callable[[Connection], Iterator[Any]]) -> None:
    """Every account's records through the chosen exporter. An account that fails is one line on stderr
    (its records so far are kept), the others still run, and the exit code says something failed."""
    fmt = ctx.obj["format"]
    exporter = plugins.get_exporter(fmt)
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


_DURATION = re.compile(r"^(\d+)([hdm])$")


def _since(value: str | None) -> dt.datetime | dt.timedelta | None:
    """``--since``: an ISO date/time (naive is UTC), or a duration back from each account's clock."""
    if value is None:
        return None
    if _DURATION.match(value):
        return _duration(value, "--since")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO date/time or a duration like 24h, 7d", param_hint="--since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _duration(value: str, option: str) -> dt.timedelta:
    match = _DURATION.match(value)
    if not match:
        raise click.BadParameter("use a duration like 30m, 2h or 7d", param_hint=option)
    amount, unit = int(match.group(1)), match.group(2)
    return {"h": dt.timedelta(hours=amount), "d": dt.timedelta(days=amount), "m": dt.timedelta(minutes=amount)}[unit]


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
    if verbose:
        logging.getLogger("backupbridge").setLevel(logging.DEBUG)


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
    from rich.table import Table

    table = Table(title="Capabilities (yes / no, with notes)")
    table.add_column("operation")
    for row in rows:
        table.add_column(one_line(row["vendor"]))
    for cap in Capability:
        cells = []
        for row in rows:
            mark = "yes" if row["capabilities"][cap.value] else "no"
            note = row["notes"].get(cap.value)
            cells.append(f"{mark}: {one_line(note)}" if note else mark)
        table.add_row(cap.value, *cells)
    table_console(sys.stdout, markup=False).print(table)  # plugin-written notes are not markup


@cli.command("plugins")
def plugins_command() -> None:
    """Loaded plugins, their distributions, and plugins that failed to load."""
    for info in plugins.list_plugins():
        dist = f"{info.distribution} {info.version or ''}".strip() if info.distribution else "(not installed)"
        vendors_text = ", ".join(info.vendors) or "-"
        click.echo(f"{one_line(info.name)}\t{one_line(dist)}\tvendors: {one_line(vendors_text)}")
    for failure in plugins.plugin_failures():
        click.echo(f"{one_line(failure.name)}\tFAILED\t{one_line(str(failure.error))}")


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
@click.option(
    "--since",
    help="Only runs since an ISO date/time, or a duration (30m, 24h, 7d) back from the account's clock.",
)
@click.pass_context
def jobs(ctx: click.Context, /, device: str | None, status: str | None, since: str | None, **kwargs: Any) -> None:
    """Backup runs (see `backupbridge vendors`: some vendors show only each device's last run)."""
    _store(ctx, **kwargs)
    wanted = JobStatus(status) if status else None
    after = _since(since)

    def runs(conn: Connection) -> Iterator[Any]:
        # A duration counts back from the account's own clock (a simulator's, with --sandbox).
        start = conn.now() - after if isinstance(after, dt.timedelta) else after
        return conn.list_jobs(device_id=device, since=start, status=wanted)

    _emit(ctx, runs)


@cli.command()
@click.option("--sandbox", is_flag=True, help="Report on the built-in simulators (seeded tenants of every vendor).")
@click.option("--seed", type=int, default=0, show_default=True, help="Sandbox data seed.")
@click.option(
    "--size", type=click.IntRange(0, 100_000), default=40, show_default=True, help="Sandbox devices per tenant."
)
@click.option("--tenants", type=click.IntRange(1, 50), default=1, show_default=True, help="Sandbox tenants per vendor.")
@click.option("--vendor", multiple=True, help="Only these vendors (repeatable).")
@click.option("--account", multiple=True, help="Only these configured accounts (repeatable).")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "ndjson", "html"]), default="table", show_default=True
)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here instead of stdout."
)
@click.option("--window", default="7d", show_default=True, help="How far back to look.")
@click.option("--grace", default="2h", show_default=True, help="How late a run may be before it is missed.")
@click.option("--max-age", default="48h", show_default=True, help="No success for longer than this is OVERDUE.")
@click.option(
    "--offline-tolerance", default="0h", show_default=True, help="Extra age allowed to devices known to be offline."
)
@click.option("--treat-warning-as-success", is_flag=True, help="Runs with warnings count as successes.")
@click.option(
    "--rollup",
    type=click.Choice([r.value for r in Rollup]),
    default="worst",
    show_default=True,
    help="How several runs on one day combine.",
)
@click.option("--state-file", type=click.Path(path_type=Path, dir_okay=False), help="Where open alerts are remembered.")
@click.option(
    "--alerts-ndjson",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append alert events (problem / recovered) to this NDJSON file.",
)
@click.option("--no-alerts", is_flag=True, help="Do not reconcile alerts (no hooks, no state file).")
@click.option(
    "--alerts",
    "sandbox_alerts",
    is_flag=True,
    help="With --sandbox: deliver alerts to installed alert plugins too (by default only --alerts-ndjson).",
)
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
    """Across every account: a summary per company and every plan or device that is not OK."""
    from .bridge import Bridge
    from .health import HealthPolicy, assess
    from .report import RENDERERS, build_report, failures_by_account, render_csv

    policy = HealthPolicy(
        window=_duration(opts["window"], "--window"),
        grace=_duration(opts["grace"], "--grace"),
        max_age=_duration(opts["max_age"], "--max-age"),
        offline_tolerance=_duration(opts["offline_tolerance"], "--offline-tolerance"),
        treat_warning_as_success=opts["treat_warning_as_success"],
        rollup=Rollup(opts["rollup"]),
    )
    vendors = [v.lower() for v in opts["vendor"]]
    for vendor in vendors:
        plugins.get_vendor(vendor)
    # Bad paths fail before any request (and a missing directory is never created behind the user's back).
    for option, name in (("state_file", "--state-file"), ("output", "--output"), ("alerts_ndjson", "--alerts-ndjson")):
        if opts[option] is not None and not opts[option].parent.is_dir():
            raise click.BadParameter(f"directory {opts[option].parent} does not exist", param_hint=name)
    if opts["sandbox_alerts"] and not opts["sandbox"]:
        raise click.BadParameter(
            "only with --sandbox (real runs always deliver to alert plugins)", param_hint="--alerts"
        )
    if opts["csv_raw"] and opts["fmt"] != "csv":
        raise click.BadParameter("only with --format csv", param_hint="--csv-raw")
    if opts["sandbox"]:
        bridge = Bridge.sandbox(
            vendors or None,
            accounts_per_vendor=opts["tenants"],
            seed=opts["seed"],
            size=opts["size"],
            account_timeout=opts["account_timeout"],
        )
    else:
        accounts = [
            a
            for a in load_accounts(opts["config"])
            if (not opts["account"] or a.name in opts["account"]) and (not vendors or a.vendor in vendors)
        ]
        if not accounts:
            raise click.UsageError("no account in the configuration matches --account/--vendor")
        bridge = Bridge(accounts=accounts, account_timeout=opts["account_timeout"])
    with bridge, _progress(len(bridge.accounts), quiet=opts["quiet"]) as progress:
        bridge.progress = progress
        snapshot = bridge.snapshot(since=None)
    assessment = assess(
        snapshot.devices,
        snapshot.plans,
        snapshot.jobs,
        now=snapshot.clocks,
        policy=policy,
        timezones=snapshot.timezones,
        incomplete=snapshot.incomplete,
    )
    generated = max(snapshot.clocks.values()) if opts["sandbox"] and snapshot.clocks else None
    result = build_report(snapshot, assessment, generated_at=generated)
    render = functools.partial(render_csv, raw=True) if opts["csv_raw"] else RENDERERS[opts["fmt"]]
    # The report first: whatever happens to the alerts after (a broken plugin, a corrupt state file), it is out.
    if opts["output"]:
        try:
            with opts["output"].open("w", encoding="utf-8") as handle:
                render(result, handle)
        except OSError as exc:
            raise BackupBridgeError(f"cannot write the report to {opts['output']}: {exc.strerror or exc}") from exc
        click.echo(f"wrote {one_line(str(opts['output']))}", err=True)
    else:
        render(result, sys.stdout)
        sys.stdout.flush()
    # One line per account on stderr (the output above may be going to a file): its operations, first error.
    unjudged = {(a.vendor, a.account) for a in result.accounts if not a.judged}
    for (vendor, account), failures in failures_by_account(result.failures).items():
        operations = ", ".join(f.operation for f in failures)
        verdict = "; health unknown this run, alerts left as they were" if (vendor, account) in unjudged else ""
        click.echo(
            f"error: account {one_line(vendor)}/{one_line(account)} failed ({operations}): "
            f"{one_line(failures[0].message)}{verdict}",
            err=True,
        )
    alerts_ok = True
    if not opts["no_alerts"]:
        try:
            alerts_ok = _alerts(assessment, snapshot, opts, generated)
        except BackupBridgeError as exc:  # the state file: one line naming it; the report is already out
            click.echo(f"error: {one_line(str(exc))}", err=True)
            alerts_ok = False
    if result.failures or not alerts_ok:
        raise click.exceptions.Exit(EXIT_ERROR)


def _alerts(assessment: Any, snapshot: Any, opts: dict[str, Any], generated: dt.datetime | None) -> bool:
    """Reconcile and deliver this pass's alerts; False when a delivery failed (it stays queued)."""
    from .alerts import NDJSON_SINK_NAME, AlertState, NdjsonAlertSink, alerts_from, hook_receivers, reconcile
    from .config import default_state_dir

    now = generated or dt.datetime.now(dt.UTC)
    state_file = opts["state_file"]
    if state_file is None:
        state_file = default_state_dir() / ("sandbox-alerts.json" if opts["sandbox"] else "alerts.json")
        try:
            state_file.parent.mkdir(parents=True, exist_ok=True)  # the default directory only
        except OSError as exc:
            raise BackupBridgeError(f"cannot create the state directory {state_file.parent}: {exc.strerror}") from exc
    pm = plugins.get_plugin_manager()
    try:
        sink_file = opts["alerts_ndjson"].open("a", encoding="utf-8") if opts["alerts_ndjson"] else None
    except OSError as exc:
        raise BackupBridgeError(f"cannot open --alerts-ndjson {opts['alerts_ndjson']}: {exc.strerror or exc}") from exc
    sink = NdjsonAlertSink(sink_file) if sink_file else None
    try:
        if sink is not None:
            pm.register(sink, name=NDJSON_SINK_NAME)
        # Simulated problems never reach a real PSA unless asked for: a sandbox run feeds the built-in sink only.
        only = {NDJSON_SINK_NAME} if opts["sandbox"] and not opts["sandbox_alerts"] else None
        receivers = hook_receivers(pm, only=only)
        with AlertState.locked(state_file) as state:
            opened, recovered = reconcile(
                state,
                alerts_from(assessment, now),
                scope=snapshot.clocks.keys(),
                incomplete=assessment.incomplete.keys(),
            )
            state.enqueue(opened, recovered, receivers)
            state.save()  # the outbox first: a run killed mid-delivery delivers the rest next time
            outcome = state.deliver(receivers)
            state.save()
    finally:
        if sink is not None:
            pm.unregister(sink)
        if sink_file is not None:
            sink_file.close()
    log.info(
        "alerts: %d opened, %d recovered, %d open, %d deliveries, %d still queued",
        len(opened),
        len(recovered),
        len(state.open),
        outcome.delivered,
        outcome.pending,
    )
    if outcome.absent:
        waiting = sum(name in outcome.absent for entry in state.outbox for name in entry.pending)
        click.echo(
            f"note: {waiting} alert events stay queued for plugins not loaded in this run: "
            f"{', '.join(one_line(name) for name in outcome.absent)}",
            err=True,
        )
    if outcome.failures:
        first = outcome.failures[0]
        click.echo(
            f"error: alerts: {len(outcome.failures)} of {len(outcome.failures) + outcome.delivered} deliveries failed "
            f"and stay queued for the next run (first: plugin {one_line(first.plugin)}, backup_{first.event} "
            f"{one_line(first.key)}: {one_line(first.error)})",
            err=True,
        )
        return False
    return True


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


@cli.group(invoke_without_command=True)
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file.")
@click.pass_context
def accounts(ctx: click.Context, config: Path | None) -> None:
    """The configured accounts (never their secrets)."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    if ctx.invoked_subcommand is None:
        for account in load_accounts(config):
            sources = ", ".join(f"{k} from {v}" for k, v in account.sources.items()) or "no credentials"
            click.echo(f"{account.name}\t{account.vendor}\t{account.base_url or '-'}\t{account.timezone}\t{sources}")


@accounts.command("check")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file.")
@click.pass_context
def accounts_check(ctx: click.Context, config: Path | None) -> None:
    """Try each account (a first listing) and print one line per account: ok, or the typed error."""
    from concurrent.futures import ThreadPoolExecutor

    def check(account: AccountConfig) -> str:
        try:
            with _open_account(account) as conn:
                next(iter(conn.list_devices()), None)
        except BackupBridgeError as exc:
            return one_line(f"{type(exc).__name__}: {exc}")
        return "ok"

    accounts = load_accounts(config or ctx.obj["config"])
    # Concurrently (an account that is down spends its retries waiting), printed in the file's order.
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(check, accounts))
    for account, outcome in zip(accounts, outcomes, strict=True):
        click.echo(f"{account.name}\t{account.vendor}\t{outcome}")
    if any(outcome != "ok" for outcome in outcomes):
        raise click.exceptions.Exit(EXIT_ERROR)


@cli.command()
@click.argument("vendor")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", type=click.IntRange(0, 1_000_000), default=40, show_default=True)
def simulate(vendor: str, port: int, host: str, seed: int, size: int) -> None:
    """Serve one vendor's simulator on loopback, for tests written in other languages (Ctrl-C stops it)."""
    from .sandbox import SimulatorOptions, make_simulator
    from .sandbox.server import serve

    sim = make_simulator(vendor.lower(), SimulatorOptions(seed=seed, size=size))
    server = serve(sim, host=host, port=port)
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


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every failure into one line on stderr and an exit code."""
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
        click.echo(f"error: {one_line(exc.format_message())} (see --help)", err=True)
        return EXIT_USAGE
    except BackupBridgeError as exc:
        click.echo(f"error: {one_line(str(exc))}", err=True)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # the last line of defence: one line, never a traceback
        from .redaction import redact

        click.echo(f"internal error: {type(exc).__name__}: {one_line(redact(str(exc)))}", err=True)
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def run() -> None:
    """The console script: ``sys.exit(main())``."""
    sys.exit(main())


# The history store's commands (backupbridge/store/commands.py): collect, history, store upgrade|prune|info.
from .store.commands import collect, history_command, store_group  # noqa: E402

cli.add_command(collect)
cli.add_command(history_command)
cli.add_command(store_group)
