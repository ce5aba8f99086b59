"""``backupbridge migrate plan|apply|status|cutover``: the migration stages on the command line.

Accounts are configured accounts (``--config``), or with ``--sandbox`` the simulators' tenants
``sandbox-VENDOR``, whose state is kept between the stages (``sandbox_state``). Errors are ours or
click's, so ``cli.main`` prints each as one line (rc 2 usage, rc 1 the rest).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from ..config import load_accounts
from ..connection import Connection, connect
from ..plugins import list_vendors
from ..terminal import one_line
from .apply import apply_plan
from .cutover import cutover
from .journal import Journal
from .plan import build_plan
from .planfile import read_plan_file, write_plan_file
from .sandbox_state import default_state_dir, open_tenant, save_tenant
from .status import migration_status
from .translate import PLAN_FIELDS, STRUCTURAL

__all__ = ["migrate_group"]


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Configuration file."),
            click.option(
                "--store",
                "store_url",
                metavar="URL",
                help="The store holding the journal (default: as for 'history'; the sandbox store with --sandbox).",
            ),
            click.option(
                "--sandbox-state",
                type=click.Path(path_type=Path, file_okay=False),
                help="Where sandbox tenants keep their state between stages (default: the data directory).",
            ),
        ]
    ):
        func = option(func)
    return func


def _sandbox_vendor(account: str, option: str) -> str:
    names = sorted(v.name for v in list_vendors() if v.simulator is not None)
    vendor = account.removeprefix("sandbox-")
    if not account.startswith("sandbox-") or vendor not in names:
        raise click.BadParameter(
            f"no sandbox account {account!r}; the sandbox has {', '.join('sandbox-' + n for n in names)}",
            param_hint=option,
        )
    return vendor


@contextlib.contextmanager
def _account(
    account: str,
    *,
    sandbox: bool,
    config: Path | None,
    state_dir: Path | None,
    option: str,
    seed: int = 0,
    size: int = 40,
    fresh: bool = False,
) -> Iterator[Connection]:
    if sandbox:
        vendor = _sandbox_vendor(account, option)
        directory = state_dir or default_state_dir()
        conn = open_tenant(vendor, account, directory, seed=seed, size=size, fresh=fresh)
        try:
            yield conn
        finally:
            save_tenant(conn, directory)
            conn.close()
        return
    accounts = {a.name: a for a in load_accounts(config)}
    if account not in accounts:
        known = ", ".join(sorted(accounts)) or "none"
        raise click.BadParameter(f"no account {account!r} in the configuration (it has {known})", param_hint=option)
    with connect(accounts[account].vendor, **accounts[account].connect_kwargs()) as conn:
        yield conn


def _journal(data: dict[str, Any], store_url: str | None, config: Path | None) -> Journal:
    from ..store import open_configured_store

    sandbox = bool(data["target"]["sandbox"])
    return Journal(open_configured_store(store_url, config=config, sandbox=sandbox), data["migration_id"])


def _read(path: Path) -> dict[str, Any]:
    return read_plan_file(path)


@click.group("migrate")
def migrate_group() -> None:
    """Move companies and backup plans from one vendor account to another, in checked stages."""


@migrate_group.command("plan")
@click.option("--from", "source", required=True, metavar="ACCOUNT", help="The account to move from.")
@click.option("--to", "target", required=True, metavar="ACCOUNT", help="The account to move to.")
@click.option("--company", "companies", multiple=True, metavar="ID", help="Only this source company (repeatable).")
@click.option("--map", "maps", multiple=True, metavar="SOURCE=TARGET", help="Match a company explicitly (repeatable).")
@click.option(
    "--accept-loss",
    multiple=True,
    type=click.Choice([f for f in PLAN_FIELDS if f not in STRUCTURAL]),
    help="Migrate plans even though the target cannot carry this field (repeatable).",
)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Plan file.")
@click.option("--sandbox", is_flag=True, help="Between the simulators' tenants (sandbox-VENDOR).")
@click.option("--seed", type=int, default=0, show_default=True, help="Sandbox data seed (fresh tenants).")
@click.option("--size", type=click.IntRange(0, 100_000), default=40, show_default=True, help="Sandbox size.")
@click.option("--keep-sandbox", is_flag=True, help="Start from the tenants' kept state instead of fresh ones.")
@_common
def plan_command(
    source: str,
    target: str,
    companies: tuple[str, ...],
    maps: tuple[str, ...],
    accept_loss: tuple[str, ...],
    output: Path,
    sandbox: bool,
    seed: int,
    size: int,
    keep_sandbox: bool,
    config: Path | None,
    store_url: str | None,
    sandbox_state: Path | None,
) -> None:
    """Write the migration plan for review: company matches, plan verdicts, device enrollment."""
    company_map: dict[str, str] = {}
    for item in maps:
        left, sep, right = item.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise click.BadParameter(f"{item!r}: use SOURCE_ID=TARGET_ID", param_hint="--map")
        company_map[left.strip()] = right.strip()
    if source == target:
        raise click.BadParameter("the source and the target are the same account", param_hint="--to")
    common = {"sandbox": sandbox, "config": config, "state_dir": sandbox_state, "fresh": not keep_sandbox}
    # Fresh sandbox tenants differ (seed, seed + 1), so their data does not mirror each other.
    with (
        _account(source, option="--from", seed=seed, size=size, **common) as src,  # type: ignore[arg-type]
        _account(target, option="--to", seed=seed + 1, size=size, **common) as tgt,  # type: ignore[arg-type]
    ):
        data = build_plan(
            src, tgt, company_ids=companies, company_map=company_map, accept_loss=accept_loss, sandbox=sandbox
        )
    write_plan_file(output, data)
    ready = sum(1 for p in data["plans"] if p["status"] == "ready")
    refused = len(data["plans"]) - ready
    creates = sum(1 for c in data["companies"] if c["action"] == "create")
    click.echo(
        f"{output}: {len(data['companies'])} companies ({creates} to create), {ready} plans ready, {refused} refused"
    )
    for plan in data["plans"]:
        if plan["status"] == "refused":
            click.echo(f"  refused {plan['source_name']!r} ({plan['source_id']}): {plan['refused_reason']}")


def _sides(data: dict[str, Any], sandbox_state: Path | None, config: Path | None) -> dict[str, Any]:
    return {"config": config, "state_dir": sandbox_state}


@migrate_group.command("apply")
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--dry-run", is_flag=True, help="Check every write (the vendor's dry run where it has one); change nothing."
)
@_common
def apply_command(
    plan_file: Path, dry_run: bool, config: Path | None, store_url: str | None, sandbox_state: Path | None
) -> None:
    """Carry out the plan file: every write journaled first; a second run changes nothing."""
    data = _read(plan_file)
    journal = None if dry_run else _journal(data, store_url, config)
    side = data["target"]
    with _account(
        side["account"], sandbox=side["sandbox"], option="plan file target", **_sides(data, sandbox_state, config)
    ) as tgt:
        result = apply_plan(data, tgt, journal, dry_run=dry_run)
    if dry_run:
        for step, what in result.dry_run.items():
            click.echo(f"{step}: {what}")
        click.echo(f"dry run: {len(result.dry_run)} steps checked, nothing changed")
    else:
        click.echo(
            f"applied: {len(result.written)} written, {len(result.found)} found on the target, "
            f"{len(result.skipped)} already done, {len(result.refused)} plans refused in the plan file, "
            f"{len(result.waiting)} waiting for their devices to enroll"
        )
        for step, why in result.waiting.items():
            click.echo(f"  waiting {step}: {why} (run 'migrate apply' again once they have)")


@migrate_group.command("status")
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@_common
def status_command(
    plan_file: Path, as_json: bool, config: Path | None, store_url: str | None, sandbox_state: Path | None
) -> None:
    """Per device: enrolled on the target? its plan applied? a first successful backup? ready?"""
    data = _read(plan_file)
    journal = _journal(data, store_url, config)
    side = data["target"]
    with _account(
        side["account"], sandbox=side["sandbox"], option="plan file target", **_sides(data, sandbox_state, config)
    ) as tgt:
        rows = migration_status(data, tgt, journal)
    if as_json:
        out = [
            {
                "device": r.hostname,
                "source_id": r.source_id,
                "company": r.company,
                "enrolled": r.enrolled,
                "plan_applied": r.plan_applied,
                "backed_up": r.backed_up,
                "ready": r.ready,
                "target_device_id": r.target_device_id,
                "reason": r.reason,
            }
            for r in rows
        ]
        click.echo(json.dumps(out, indent=2))
        return
    mark = {True: "yes", False: "no"}
    for r in rows:
        click.echo(
            f"{r.hostname:<24} {one_line(r.company)[:24]:<24} enrolled={mark[r.enrolled]:<3} "
            f"plan={mark[r.plan_applied]:<3} backup={mark[r.backed_up]:<3} "
            f"{'READY' if r.ready else r.reason}"
        )
    ready = sum(1 for r in rows if r.ready)
    click.echo(f"{ready} of {len(rows)} devices ready")


@migrate_group.command("cutover")
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=False))
@_common
def cutover_command(plan_file: Path, config: Path | None, store_url: str | None, sandbox_state: Path | None) -> None:
    """Disable (never delete) the source plans of devices that are ready; list what needs doing by hand."""
    data = _read(plan_file)
    journal = _journal(data, store_url, config)
    sides = _sides(data, sandbox_state, config)
    tside, sside = data["target"], data["source"]
    with _account(tside["account"], sandbox=tside["sandbox"], option="plan file target", **sides) as tgt:
        rows = migration_status(data, tgt, journal)
    with _account(sside["account"], sandbox=sside["sandbox"], option="plan file source", **sides) as src:
        result = cutover(data, src, rows, journal)
    for plan_id in result.disabled:
        click.echo(f"disabled source plan {plan_id}")
    for what in result.by_hand.values():
        click.echo(f"by hand: {what}")
    for plan_id, devices in result.waiting.items():
        click.echo(f"waiting: plan {plan_id} still backs up {', '.join(devices)} (not ready on the target)")
    click.echo(
        f"cutover: {len(result.disabled)} disabled, {len(result.already)} already, "
        f"{len(result.by_hand)} by hand, {len(result.waiting)} waiting"
    )
