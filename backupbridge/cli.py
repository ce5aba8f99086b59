"""The ``backupbridge`` command.

Credentials come from the config file or the environment, never from arguments. Errors print one
line and exit non-zero; a traceback is never shown (``-v`` logs requests, redacted, to stderr).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import click

from . import plugins
from .bridge import DEFAULT_ACCOUNT_TIMEOUT, Snapshot
from .config import AccountConfig, default_config_path, load_accounts
from .connection import Connection, connect
from .errors import BackupBridgeError, ConfigurationError, PluginError, UnknownVendorError, UnsupportedOperationError
from .exporters import job_view, write_capability_table, write_plugin_list
from .health import Rollup
from .models import Capability, JobStatus
from .terminal import json_text, one_line

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


def _sandbox_accounts(vendors: list[str], wanted: tuple[str, ...], tenants: int = 1) -> list[tuple[str, str]]:
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
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _configured(
    config: Path | None, wanted: tuple[str, ...], vendors: list[str], *, sandbox_hint: bool = True
) -> list[AccountConfig]:
    """The configured accounts ``--account``/``--vendor`` select; an ``--account`` that names none is a usage
    error naming it (with a did-you-mean)."""
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
# Durations reach back at most a century: further than any vendor keeps runs, and within datetime's range.
_MAX_DURATION = dt.timedelta(days=36500)


def _company_names(conn: Connection) -> dict[str, str]:
    try:
        return {c.id: c.name for c in conn.list_companies()}
    except UnsupportedOperationError:  # a vendor without companies: the table shows ids
        return {}


def _since(value: str | None) -> dt.datetime | dt.timedelta | None:
    """``--since``: an ISO date/time (naive is UTC), or a duration back from each account's clock."""
    if value is None:
        return None
    if _DURATION.match(value):
        return _duration(value, "--since")
    try:
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        raise click.BadParameter("use an ISO date/time or a duration like 24h, 7d", param_hint="--since") from None


def _duration(value: str, option: str) -> dt.timedelta:
    match = _DURATION.match(value)
    if not match:
        raise click.BadParameter("use a duration like 30m, 2h or 7d", param_hint=option)
    amount, unit = int(match.group(1)), match.group(2)
    minutes = amount * {"m": 1, "h": 60, "d": 1440}[unit]
    if minutes > _MAX_DURATION.total_seconds() // 60:
        raise click.BadParameter("at most 36500d (a century)", param_hint=option)
    return dt.timedelta(minutes=minutes)


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
    _exporter(kwargs["fmt"])  # an unknown format fails before any request
    if kwargs["vendor"]:
        _vendor(kwargs["vendor"], "--vendor")


def _use_config(config: Path | None) -> None:
    """``--config`` also names the ``[plugins]`` trust rules: taken before any plugin is loaded (and without
    it, the default file's: an embedding program's earlier ``--config`` does not stick)."""
    plugins.use_config(config)


def _exporter(name: str) -> Any:
    """The exporter of ``--format``; an unknown one is a usage error (rc 2) listing the known ones."""
    try:
        return plugins.get_exporter(name)
    except PluginError:
        known = [e.name for e in plugins.list_exporters()]
        raise click.BadParameter(
            f"unknown output format {name!r}{_did_you_mean(name, known)}; known: {', '.join(known)}",
            param_hint="--format",
        ) from None


def _vendor(name: str, option: str) -> None:
    try:
        plugins.get_vendor(name.lower())
    except UnknownVendorError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


class _PipeClosed(Exception):
    """The reader of stdout went away. Not an ``OSError``: click would turn that into ``sys.exit(1)``."""


class _Group(click.Group):
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
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), help="Only runs with this status.")
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
@click.option("--sandbox", is_flag=True, help="Report on the built-in simulators (seeded tenants of every vendor).")
@click.option("--seed", type=int, default=0, show_default=True, help="Sandbox data seed.")
@click.option(
    "--size", type=click.IntRange(0, 100_000), default=40, show_default=True, help="Sandbox devices per tenant."
)
@click.option("--tenants", type=click.IntRange(1, 50), default=1, show_default=True, help="Sandbox tenants per vendor.")
@click.option("--vendor", multiple=True, help="Only these vendors (repeatable).")
@click.option(
    "--account",
    multiple=True,
    help="Only these accounts (repeatable); with --sandbox the tenants' names, sandbox-VENDOR[-N].",
)
@click.option("--company", multiple=True, help="Only these companies, by id or name (repeatable).")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "ndjson", "html"]),
    default="table",
    show_default=True,
    help="Output format (csv-raw is --format csv --csv-raw).",
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
    _use_config(opts["config"])
    vendors = [v.lower() for v in opts["vendor"]]
    for vendor in vendors:
        _vendor(vendor, "--vendor")
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
        from .sandbox import connect_sandbox, sandbox_tenants

        names = vendors or [v.name for v in plugins.list_vendors() if v.simulator is not None]
        chosen = set(_sandbox_accounts(names, opts["account"], opts["tenants"]))
        tenants = sandbox_tenants(names, accounts_per_vendor=opts["tenants"], seed=opts["seed"], size=opts["size"])
        bridge = Bridge(
            [
                connect_sandbox(vendor, simulator=sim, account=account)
                for vendor, account, sim in tenants
                if (vendor, account) in chosen
            ],
            account_timeout=opts["account_timeout"],
        )
    else:
        accounts = _configured(opts["config"], opts["account"], vendors)
        bridge = Bridge(accounts=accounts, account_timeout=opts["account_timeout"])
    with bridge, _progress(len(bridge.accounts), quiet=opts["quiet"]) as progress:
        bridge.progress = progress
        snapshot = bridge.snapshot(since=None)
    if opts["company"]:
        snapshot = _only_companies(snapshot, opts["company"])
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
    result = build_report(snapshot, assessment, generated_at=generated, customers=_customer_lookup(opts))
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


def _only_companies(snapshot: Snapshot, wanted: tuple[str, ...]) -> Snapshot:
    """The snapshot cut to the companies named by id or name (case-insensitive), their devices, plans and
    runs. A name that matches no company of an account that answered is a usage error; the failures stay."""
    folded = {w.casefold() for w in wanted}
    keep = {(c.vendor, c.account, c.id) for c in snapshot.companies if c.id in wanted or c.name.casefold() in folded}
    if not keep and not snapshot.failures:
        names = sorted({c.name for c in snapshot.companies})
        raise click.BadParameter(
            f"no company {wanted[0]!r}{_did_you_mean(wanted[0], names)} in the accounts read", param_hint="--company"
        )
    devices = [d for d in snapshot.devices if (d.vendor, d.account, d.company_id) in keep]
    device_ids = {(d.vendor, d.account, d.id) for d in devices}
    plans = [p for p in snapshot.plans if (p.vendor, p.account, p.company_id) in keep]
    plan_ids = {(p.vendor, p.account, p.id) for p in plans}
    runs = [
        j
        for j in snapshot.jobs
        if (j.vendor, j.account, j.device_id) in device_ids or (j.vendor, j.account, j.plan_id) in plan_ids
    ]
    return attrs.evolve(
        snapshot,
        companies=[c for c in snapshot.companies if (c.vendor, c.account, c.id) in keep],
        devices=devices,
        plans=plans,
        jobs=runs,
    )


def _alerts(assessment: Any, snapshot: Any, opts: dict[str, Any], generated: dt.datetime | None) -> bool:
    """Reconcile and deliver this pass's alerts; False when a delivery failed (it stays queued)."""
    from .alerts import (
        NDJSON_SINK_NAME,
        AlertState,
        NdjsonAlertSink,
        alerts_from,
        console_templates,
        hook_receivers,
        reconcile_events,
    )
    from .config import default_state_dir
    from .customers import customers_for_run
    from .sinks import deliver_alerts, load_sinks, sink_report_lines

    # Configured sinks are read first: a sink table in error stops the alerts before anything is reconciled.
    sinks = [] if opts["sandbox"] and not opts["sandbox_alerts"] else load_sinks(opts["config"])
    customers = customers_for_run(opts["config"])
    for line in customers.errors:
        click.echo(f"error: customers: {one_line(line)}", err=True)

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
            changes = reconcile_events(
                state,
                alerts_from(
                    assessment, now, snapshot=snapshot, customers=customers.lookup, console_urls=console_templates()
                ),
                scope=snapshot.clocks.keys(),
                incomplete=assessment.incomplete.keys(),
                # --company: the other companies were not looked at, so their alerts are no news either way.
                companies={(c.vendor, c.account, c.id) for c in snapshot.companies} if opts["company"] else None,
            )
            opened, recovered = changes.opened, changes.recovered
            # The outbox is saved first; updated: open problems with news (a new failed run, an escalation).
            delivered = deliver_alerts(state, opened, recovered, receivers, sinks, updated=changes.updated)
            outcome = delivered.plugins
    finally:
        if sink is not None:
            pm.unregister(sink)
        if sink_file is not None:
            sink_file.close()
    log.info(
        "alerts: %d opened, %d recovered, %d updated, %d open, %d deliveries, %d still queued",
        len(opened),
        len(recovered),
        len(changes.updated),
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
    for line in sink_report_lines(delivered.sinks):
        click.echo(one_line(line), err=True)
    if outcome.failures:
        first = outcome.failures[0]
        click.echo(
            f"error: alerts: {len(outcome.failures)} of {len(outcome.failures) + outcome.delivered} deliveries failed "
            f"and stay queued for the next run (first: plugin {one_line(first.plugin)}, backup_{first.event} "
            f"{one_line(first.key)}: {one_line(first.error)})",
            err=True,
        )
        return False
    return not delivered.sinks.failures and not customers.errors


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
            click.option("--vendor", help="Only this vendor's accounts."),
        ]
    ):
        func = option(func)
    return func


def _chosen_accounts(config: Path | None, account: tuple[str, ...], vendor: str | None) -> list[AccountConfig]:
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


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every failure into one line on stderr and an exit code."""
    try:
        return _main(argv)
    finally:
        # A --config names the plugin rules for that command only, not for the program embedding main().
        plugins.use_config(None)


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
        click.echo(f"error: {one_line(exc.format_message())} (see --help)", err=True)
        return EXIT_USAGE
    except BackupBridgeError as exc:
        click.echo(f"error: {one_line(str(exc))}", err=True)
        return EXIT_ERROR
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
    except BaseException as exc:  # the last line of defence: one line, never a traceback
        from .redaction import redact

        click.echo(f"internal error: {type(exc).__name__}: {one_line(redact(str(exc)))}", err=True)
        return EXIT_BUG
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


# Customers across vendor accounts (backupbridge/customers_cli.py): customers, customers suggest.
from .customers_cli import customers_group  # noqa: E402


def _customer_lookup(opts: dict[str, Any]) -> Any:
    from .customers import customers_for_run

    return customers_for_run(opts["config"]).lookup


cli.add_command(customers_group)


# Migration between accounts (backupbridge/migrate/commands.py): migrate plan|apply|status|cutover.
from .migrate.commands import migrate_group  # noqa: E402

cli.add_command(migrate_group)
