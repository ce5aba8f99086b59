"""The store's commands: ``collect``, ``history`` and ``store upgrade|prune|info``.

Registered on the ``backupbridge`` group by ``backupbridge.cli``. Errors are ours or click's, so
``cli.main`` prints each as one line (rc 2 for usage, rc 1 for the rest), never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from ..cli import (
    ROLLUPS,
    accounts_bridge,
    alert_choice,
    alert_options,
    chosen_vendors,
    duration,
    freeze_heap,
    health_options,
    health_policy,
    sandbox_options,
)
from ..errors import ValidationError
from ..health import Assessment, Rollup, assess_snapshot
from ..terminal import one_line
from .config import open_configured_store
from .engine import Store
from .errors import StoreURLError
from .history import DayStatus, History, Scope, extend_snapshot, history, snapshot_history
from .maintenance import prune, store_info
from .record import begin_run, parse_shard, record_snapshot

if TYPE_CHECKING:
    from ..bridge import Snapshot
    from ..pipeline import AlertOptions

__all__ = ["collect", "history_command", "store_group"]

EXIT_ERROR = 1
_SYMBOL = {
    DayStatus.SUCCESS: "S",
    DayStatus.WARNING: "W",
    DayStatus.FAILURE: "F",
    DayStatus.NO_RESULT: ".",
    DayStatus.UNKNOWN: "-",
}


def _store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--store",
                "store_url",
                metavar="URL",
                help="The store: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
                "(default: $BACKUPBRIDGE_STORE, [store] url in the config file, else a file in the data directory).",
            ),
            click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file."),
        ]
    ):
        func = option(func)
    return func


def _open(
    store_url: str | None, config: Path | None, *, sandbox: bool, check: bool = True, create: bool = True
) -> Store:
    """The store, or a usage error when ``--store`` itself is malformed."""
    try:
        return open_configured_store(store_url, config=config, sandbox=sandbox, check=check, create=create)
    except StoreURLError as exc:
        if store_url:
            raise click.BadParameter(exc.message, param_hint="--store") from None
        raise


@click.command()
@sandbox_options("Collect from")
@click.option("--shard", metavar="K/N", help="Only the accounts of shard K of N (by a hash of the account name).")
@_store_options
@health_options
@alert_options
def collect(**opts: Any) -> None:
    """Read every account once, record the run in the store and deliver its alerts (for cron, systemd timers,
    CronJobs).

    The alerts are reconciled as ``report`` reconciles them, with their open problems and outbox in the store
    (the JSON file with --state-file or --sandbox): an account whose listing failed keeps its alerts, and
    --shard K/N reconciles its own accounts only. Collectors running at once never deliver an alert twice."""
    policy = health_policy(opts)
    try:
        shard = parse_shard(opts["shard"]) if opts["shard"] else None
    except ValidationError as exc:
        raise click.BadParameter(exc.message, param_hint="--shard") from None
    alerts = alert_choice(opts)
    vendors = chosen_vendors(opts["vendor"])
    store = _open(opts["store_url"], opts["config"], sandbox=opts["sandbox"])
    messages: list[str] = []
    alerts_ok = True
    with store:
        bridge = accounts_bridge(opts, vendors, shard=shard)
        started = dt.datetime.now(dt.UTC)
        run_id = begin_run(store, started)  # the id of a run is when it began (see store.record.begin_run)
        with bridge:
            snapshot = bridge.snapshot()
        freeze_heap(1)  # the snapshot is kept to the end: the collector's passes need not walk it again
        # Judged once, with the store's history (read before this run is written): recorded and alerted alike.
        stored = snapshot_history(store, snapshot, policy=policy, accounts=bridge.accounts)
        assessment = assess_snapshot(snapshot, policy=policy, history=stored)
        run = record_snapshot(
            store, snapshot, started, assessment=assessment, policy=policy, accounts=bridge.accounts, run_id=run_id
        )
        where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
        click.echo(
            f"recorded run {run.run_id}{where} into {store.url}: {run.accounts_ok + run.accounts_failed} accounts "
            f"({run.accounts_ok} ok, {run.accounts_failed} failed), {run.companies} companies, {run.devices} devices, "
            f"{run.plans} plans, {run.jobs} runs ({run.new_jobs} new)"
        )
        if alerts is not None:  # after the recording: on SQLite the alert pass holds the write lock until saved
            alerts_ok = _deliver(
                store, extend_snapshot(snapshot, stored), assessment, alerts, opts, messages, run.run_id
            )
    by_account: dict[tuple[str, str], list[str]] = {}
    reasons: dict[tuple[str, str], str] = {}
    for failure in run.failures:
        by_account.setdefault((failure.vendor, failure.account), []).append(failure.operation)
        reasons.setdefault((failure.vendor, failure.account), failure.message)
    for (vendor, account), operations in by_account.items():
        # As report says it: an account the engine could not judge keeps its alerts (a failure is never a recovery).
        unjudged = alerts is not None and (vendor, account) in assessment.incomplete
        left = "; health unknown this run, alerts left as they were" if unjudged else ""
        click.echo(
            f"error: account {one_line(vendor)}/{one_line(account)} failed ({', '.join(operations)}): "
            f"{one_line(reasons[(vendor, account)])}{left}",
            err=True,
        )
    for line in messages:
        click.echo(line, err=True)
    if run.failures or not alerts_ok:
        raise click.exceptions.Exit(EXIT_ERROR)


def _deliver(
    store: Store,
    snapshot: Snapshot,
    assessment: Assessment,
    alerts: AlertOptions,
    opts: dict[str, Any],
    messages: list[str],
    run_id: int,
) -> bool:
    """The pipeline's alert pass over this collect (``report``'s, shared): reconcile the collected accounts'
    alerts and deliver the outbox (an account a collector begun later has reconciled already is left to it);
    False when something failed (its line is in ``messages``)."""
    from ..customers import customers_for_run
    from ..errors import BackupBridgeError
    from ..pipeline import reconcile_alerts

    mapping = customers_for_run(opts["config"])
    messages.extend(f"error: customers: {one_line(line)}" for line in mapping.errors)
    # The same backend as report's: the store, unless an explicit --state-file or a sandbox run (their JSON file).
    in_store = alerts.state_file is None and not alerts.sandbox
    # A sandbox run is judged at its simulators' clocks, as report --sandbox is.
    when = max(snapshot.clocks.values()) if alerts.sandbox and snapshot.clocks else None
    try:
        ok = reconcile_alerts(
            assessment,
            snapshot,
            alerts,
            opts["config"],
            when,
            mapping,
            messages,
            False,
            store if in_store else None,
            run_id=run_id,
        )
    except BackupBridgeError as exc:  # the state file, a sink table or the store: one line
        messages.append(f"error: {one_line(str(exc))}")
        return False
    return ok and not mapping.errors


@click.command("history")
@click.option("--device", help="A device's id (or its current name).")
@click.option("--plan", help="A plan's id (or its current name).")
@click.option("--company", help="A company's id (or its name): its devices and plans.")
@click.option("--account", help="An account's name (or VENDOR/NAME): all its devices and plans.")
@click.option("--customer", help="A customer of the config's [customers.NAME]: its companies in every vendor.")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True, help="The window, in days.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--sandbox", is_flag=True, help="Read the sandbox store (what 'collect --sandbox' wrote).")
@click.option(
    "--rollup",
    type=click.Choice(ROLLUPS),
    default="worst",
    show_default=True,
    help="How several runs on one day combine.",
)
@click.option("--treat-warning-as-success", is_flag=True, help="A warning day counts as a good one.")
@_store_options
def history_command(**opts: Any) -> None:
    """The daily history of a device, plan, company or account: S success, W warning, F failure,
    . no result, - unknown (not collected, or the listing failed)."""
    chosen = [(scope, opts[scope.value]) for scope in Scope if opts[scope.value]]
    if len(chosen) != 1:
        raise click.UsageError("name exactly one of --device, --plan, --company, --account or --customer")
    scope, query = chosen[0]
    lookup = None
    if scope is Scope.CUSTOMER:
        from ..customers import load_customers

        mapping = load_customers(opts["config"])
        for line in mapping.errors:  # a company mapped twice belongs to no customer: never grouped under a guess
            click.echo(f"error: customers: {one_line(line)}", err=True)
        lookup = mapping.lookup
    with _open(opts["store_url"], opts["config"], sandbox=opts["sandbox"]) as store:
        result = history(
            store,
            scope,
            query,
            days=opts["days"],
            rollup=Rollup(opts["rollup"]),
            treat_warning_as_success=opts["treat_warning_as_success"],
            customers=lookup,
        )
    {"table": _history_table, "json": _history_json, "csv": _history_csv}[opts["fmt"]](result, sys.stdout)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _days(value: int | None) -> str:
    return "never" if value is None else str(value)


def _history_table(result: History, stream: TextIO) -> None:
    from ..exporters import compact_table, table_console

    console = table_console(stream, markup=False)
    table = compact_table(f"{result.scope.value} {result.query}: {result.start} to {result.end}")
    for column in (
        "kind",
        "account",
        "id",
        "name",
        "days",
        "status",
        "in status",
        "since result",
        "since good",
        "rate",
    ):
        table.add_column(column, no_wrap=column == "days")
    for entity in result.entities:
        name = entity.name if len(entity.names) < 2 else f"{entity.name} (was {', '.join(entity.names[:-1])})"
        table.add_row(
            entity.kind.value,
            f"{entity.vendor}/{entity.account}",
            entity.id,
            name,
            "".join(_SYMBOL[cell.status] for cell in entity.days),
            entity.status.value,
            f"{entity.days_in_status}d",
            _days(entity.days_since_result),
            _days(entity.days_since_success),
            _percent(entity.success_rate),
        )
    console.print(table)
    compliance = compact_table("compliance (share of days judged OK)")
    for column in ("company", "account", "device-days", "devices ok", "plan-days", "plans ok"):
        compliance.add_column(column)
    for company in result.compliance:
        compliance.add_row(
            company.company,
            f"{company.vendor}/{company.account}",
            str(company.device_days),
            _percent(company.device_compliance),
            str(company.plan_days),
            _percent(company.plan_compliance),
        )
    console.print(compliance)
    collected = result.last_collected.isoformat(timespec="minutes") if result.last_collected else "never"
    console.print(f"S success, W warning, F failure, . no result, - unknown; last collected {collected}")


def _history_document(result: History) -> dict[str, Any]:
    return {
        "scope": result.scope.value,
        "query": result.query,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "last_collected": result.last_collected.isoformat() if result.last_collected else None,
        "entities": [
            {
                "kind": e.kind.value,
                "vendor": e.vendor,
                "account": e.account,
                "id": e.id,
                "name": e.name,
                "names": list(e.names),
                "company_id": e.company_id,
                "first_seen": e.first_seen.isoformat(),
                "last_seen": e.last_seen.isoformat(),
                "status": e.status.value,
                "days_in_status": e.days_in_status,
                "days_since_result": e.days_since_result,
                "days_since_success": e.days_since_success,
                "success_rate": e.success_rate,
                "days": [
                    {
                        "day": c.day.isoformat(),
                        "status": c.status.value,
                        "runs": c.runs,
                        "verdict": c.verdict.value if c.verdict else None,
                    }
                    for c in e.days
                ],
            }
            for e in result.entities
        ],
        "compliance": [
            {
                "vendor": c.vendor,
                "account": c.account,
                "company_id": c.company_id,
                "company": c.company,
                "device_days": c.device_days,
                "device_days_ok": c.device_days_ok,
                "device_compliance": c.device_compliance,
                "plan_days": c.plan_days,
                "plan_days_ok": c.plan_days_ok,
                "plan_compliance": c.plan_compliance,
            }
            for c in result.compliance
        ],
    }


def _history_json(result: History, stream: TextIO) -> None:
    from ..terminal import json_text

    stream.write(json_text(json.dumps(_history_document(result), indent=2, ensure_ascii=False)) + "\n")


_CSV_COLUMNS = (
    "record",
    "kind",
    "vendor",
    "account",
    "id",
    "name",
    "day",
    "status",
    "runs",
    "verdict",
    "days_in_status",
    "days_since_result",
    "days_since_success",
    "success_rate",
    "device_days",
    "device_days_ok",
    "plan_days",
    "plan_days_ok",
)


def _csv_rows(result: History) -> Iterator[list[str]]:
    def row(**values: Any) -> list[str]:
        return ["" if values.get(c) is None else str(values[c]) for c in _CSV_COLUMNS]

    yield list(_CSV_COLUMNS)
    for e in result.entities:
        identity = {"kind": e.kind.value, "vendor": e.vendor, "account": e.account, "id": e.id, "name": e.name}
        for cell in e.days:
            verdict = cell.verdict.value if cell.verdict else None
            yield row(record="day", **identity, day=cell.day, status=cell.status.value, runs=cell.runs, verdict=verdict)
        yield row(
            record="summary",
            **identity,
            day=result.end,
            status=e.status.value,
            days_in_status=e.days_in_status,
            days_since_result=e.days_since_result,
            days_since_success=e.days_since_success,
            success_rate=None if e.success_rate is None else f"{e.success_rate:.4f}",
        )
    for c in result.compliance:
        yield row(
            record="compliance",
            kind="company",
            vendor=c.vendor,
            account=c.account,
            id=c.company_id,
            name=c.company,
            day=result.end,
            device_days=c.device_days,
            device_days_ok=c.device_days_ok,
            plan_days=c.plan_days,
            plan_days_ok=c.plan_days_ok,
        )


def _history_csv(result: History, stream: TextIO) -> None:
    from ..exporters import write_csv_rows

    write_csv_rows(stream, _csv_rows(result))


@click.group("store")
def store_group() -> None:
    """The history store: its schema, its size, its retention."""


@store_group.command("upgrade")
@click.option("--sandbox", is_flag=True, help="The sandbox store.")
@_store_options
def store_upgrade(store_url: str | None, config: Path | None, sandbox: bool) -> None:
    """Create or upgrade the store's schema to this version's (safe to run by several at once)."""
    with _open(store_url, config, sandbox=sandbox, check=False, create=False) as store:
        found, head = store.upgrade()
        if found == head:
            click.echo(f"store {store.url}: schema {head}, up to date")
        else:
            click.echo(f"store {store.url}: schema {found or '(empty)'} -> {head}")


@store_group.command("prune")
@click.option("--older-than", required=True, metavar="AGE", help="Delete what is older than this, like 400d or 52w.")
@click.option("--sandbox", is_flag=True, help="The sandbox store.")
@_store_options
def store_prune(older_than: str, store_url: str | None, config: Path | None, sandbox: bool) -> None:
    """Delete runs, results and verdicts older than AGE, and backups not seen since."""
    age = duration(older_than, "--older-than")
    if age < dt.timedelta(days=1):
        raise click.BadParameter("keep at least one day", param_hint="--older-than")
    with _open(store_url, config, sandbox=sandbox) as store:
        result = prune(store, age)
        counts = ", ".join(f"{n} {table}" for table, n in result.deleted.items() if n)
        click.echo(f"store {store.url}: kept from {result.kept_from}; deleted {counts or 'nothing'}")


@store_group.command("info")
@click.option("--sandbox", is_flag=True, help="The sandbox store.")
@_store_options
def store_info_command(store_url: str | None, config: Path | None, sandbox: bool) -> None:
    """Where the store is, its schema, what it holds."""
    with _open(store_url, config, sandbox=sandbox, check=False, create=False) as store:
        info = store_info(store)
    click.echo(f"store: {info.url} ({info.dialect})")
    if not info.up_to_date:
        click.echo(
            f"schema: {info.revision or '(empty)'}, this backupbridge needs {info.expected_revision}: "
            "run 'backupbridge store upgrade'"
        )
        return
    click.echo(f"schema: {info.revision} (current)")
    for table, count in info.rows.items():
        click.echo(f"  {table}: {count} rows")
    first = info.first_run.isoformat(timespec="seconds") if info.first_run else "none"
    last = info.last_run.isoformat(timespec="seconds") if info.last_run else "none"
    click.echo(f"runs: first {first}, last {last}")
    if info.size_bytes is not None:
        click.echo(f"size: {info.size_bytes / 1e6:.1f} MB")
