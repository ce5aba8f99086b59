"""The ``report``: across every account, a summary per company and every row that is not OK.

Rendered as a table (for people), JSON, CSV, NDJSON, or one self-contained HTML file (no network) with a
chart per company. An account whose listing failed is listed in every format; when the failed listing is one
health is built from, the account is "not judged": its devices count as unknown, it has no problem rows, and
one account line (a CSV row) says why. Vendor text is stripped of control characters and escape sequences
for the terminal, escaped for HTML, and CSV cells are neutralised against formulas (``raw=True`` keeps them).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from .alerts import Alert, DeviceKind, ProblemContext
from .bridge import AccountFailure, Snapshot
from .exporters import compact_table, record_to_dict, table_console
from .health import Assessment, Health
from .terminal import csv_cell, one_line, printable

if TYPE_CHECKING:
    from .bridge import Bridge
    from .health import HealthPolicy
    from .pipeline import ReportRun
    from .store.history import EntityHistory, ReportHistory

__all__ = [
    "RENDERERS",
    "AccountStatus",
    "CompanySummary",
    "ProblemRow",
    "Report",
    "build_report",
    "render_csv",
    "run",
]

HEALTHS = tuple(Health)
NO_COMPANY = "(no company)"


@attrs.frozen(kw_only=True)
class CompanySummary:
    vendor: str
    account: str
    company_id: str | None
    company: str
    devices: int
    counts: dict[str, int]
    last_success_at: dt.datetime | None
    oldest_last_success_at: dt.datetime | None
    customer: str | None = None


@attrs.frozen(kw_only=True)
class ProblemRow:
    """A plan or device that is not OK, with the fields its alert carries (docs/alerts.md).

    ``company``, ``device`` and ``plan`` are names for people (the id when no name is known); ``key`` is the
    alert's key (ids only), also for ``unknown`` rows, which open no alert."""

    vendor: str
    account: str
    company: str
    device: str | None
    plan: str | None
    health: Health
    reason: str
    last_success_at: dt.datetime | None
    last_run_at: dt.datetime | None
    key: str = ""
    customer: str | None = None
    company_id: str | None = None
    device_id: str | None = None
    plan_id: str | None = None
    severity: str = ""
    device_kind: DeviceKind = DeviceKind.UNKNOWN
    consecutive_failures: int = 0
    failing_since: dt.datetime | None = None
    vendor_reason: str | None = None
    console_url: str | None = None

    @classmethod
    def from_alert(cls, alert: Alert, *, company: str, device: str | None, plan: str | None) -> ProblemRow:
        return cls(
            vendor=alert.vendor,
            account=alert.account,
            company=company,
            device=device,
            plan=plan,
            health=alert.problem,
            reason=alert.reason,
            last_success_at=alert.last_success_at,
            last_run_at=alert.last_run_at,
            key=alert.key,
            customer=alert.customer,
            company_id=alert.company_id,
            device_id=alert.device_id,
            plan_id=alert.plan_id,
            severity=alert.severity,
            device_kind=alert.device_kind,
            consecutive_failures=alert.consecutive_failures,
            failing_since=alert.failing_since,
            vendor_reason=alert.vendor_reason,
            console_url=alert.console_url,
        )


@attrs.frozen(kw_only=True)
class AccountStatus:
    """An account with a failed operation this pass.

    ``judged`` is False when a listing health is built from failed (``Snapshot.incomplete``): its health is
    ``unknown`` for the pass, its devices and plans are not judged, and its alerts were left as they were."""

    vendor: str
    account: str
    judged: bool
    operations: tuple[str, ...]
    message: str
    devices_not_judged: int = 0
    plans_not_judged: int = 0

    @property
    def health(self) -> Health | None:
        return None if self.judged else Health.UNKNOWN

    @property
    def reason(self) -> str:
        failed = f"{', '.join(self.operations)} failed: {self.message}"
        if self.judged:
            return f"{failed} (health judged from the listings that answered)"
        counted = (
            f"{self.devices_not_judged} devices and {self.plans_not_judged} plans unknown, their"
            if self.devices_not_judged or self.plans_not_judged
            else "its"
        )
        return f"not judged this run, {failed}; {counted} alerts left as they were"

    def to_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "account": self.account,
            "health": self.health.value if self.health else None,
            "judged": self.judged,
            "failed_operations": list(self.operations),
            "message": self.message,
            "devices_not_judged": self.devices_not_judged,
            "plans_not_judged": self.plans_not_judged,
            "reason": self.reason,
        }


@attrs.frozen(kw_only=True)
class Report:
    generated_at: dt.datetime
    companies: tuple[CompanySummary, ...]
    problems: tuple[ProblemRow, ...]
    failures: tuple[AccountFailure, ...]
    accounts: tuple[AccountStatus, ...] = ()
    history: ReportHistory | None = None  # from the store: the HTML strip and compliance (store.history)

    @property
    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys((h.value for h in HEALTHS), 0)
        for summary in self.companies:
            for key, value in summary.counts.items():
                totals[key] += value
        return totals

    def customer_totals(self) -> list[dict[str, Any]]:
        """Per mapped customer: its companies (``vendor/account/id``), devices and counts per health."""
        found: dict[str, dict[str, Any]] = {}
        for c in self.companies:
            if c.customer is None:
                continue
            entry = found.setdefault(
                c.customer,
                {"customer": c.customer, "companies": [], "devices": 0, "counts": dict.fromkeys(c.counts, 0)},
            )
            entry["companies"].append(f"{c.vendor}/{c.account}/{c.company_id}")
            entry["devices"] += c.devices
            for health, count in c.counts.items():
                entry["counts"][health] += count
        return [found[name] for name in sorted(found)]

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "totals": self.totals,
            "companies": [record_to_dict(c) for c in self.companies],
            "customers": self.customer_totals(),
            "problems": [record_to_dict(p) for p in self.problems],
            "failures": [
                {
                    "vendor": f.vendor,
                    "account": f.account,
                    "operation": f.operation,
                    "error": type(f.error).__name__,
                    "message": f.message,
                }
                for f in self.failures
            ],
            "accounts": [a.to_json() for a in self.accounts],
        }


def build_report(
    snapshot: Snapshot,
    assessment: Assessment,
    *,
    generated_at: dt.datetime | None = None,
    customers: Mapping[tuple[str, str, str], str] | None = None,
    console_urls: Mapping[str, str] | None = None,
) -> Report:
    """The report of one pass.

    Args:
        customers: ``(vendor, account, company_id)`` -> customer (``customers.CustomerMap.lookup``): companies
            and problem rows of a mapped company carry it, and JSON totals each customer.
        console_urls: vendor -> console-link template (``alerts.console_templates()``).
    """
    now = generated_at or dt.datetime.now(dt.UTC)
    context = ProblemContext(snapshot, customers=customers, console_urls=console_urls)
    names = context.companies
    devices = {key: d.name for key, d in context.devices.items()}

    def company_name(vendor: str, account: str, company_id: str | None) -> str:
        if company_id is None:
            return NO_COMPANY
        return names.get((vendor, account, company_id), company_id)

    groups: dict[tuple[str, str, str | None], list[Any]] = {}
    for device in assessment.devices:
        groups.setdefault((device.vendor, device.account, device.company_id), []).append(device)
    for company in snapshot.companies:
        groups.setdefault((company.vendor, company.account, company.id), [])
    summaries = []
    for (vendor, account, company_id), members in groups.items():
        counts = dict.fromkeys((h.value for h in HEALTHS), 0)
        for member in members:
            counts[member.health.value] += 1
        successes = [m.last_success_at for m in members if m.last_success_at is not None]
        summaries.append(
            CompanySummary(
                vendor=vendor,
                account=account,
                company_id=company_id,
                company=company_name(vendor, account, company_id),
                devices=len(members),
                counts=counts,
                last_success_at=max(successes, default=None),
                oldest_last_success_at=min(successes, default=None),
                customer=context.customer(vendor, account, company_id),
            )
        )
    summaries.sort(key=lambda s: (s.vendor, s.account, s.company))
    problems: list[ProblemRow] = []
    for plan in assessment.plans:
        if plan.health is not Health.OK and assessment.judged(plan.vendor, plan.account):
            alert = context.alert(
                plan.vendor, plan.account, plan.company_id, plan.device_id, plan.plan_id, plan.health, plan.reason,
                now, last_success_at=plan.last_success_at, last_run_at=plan.last_run_at, plan_name=plan.plan_name,
                consecutive_failures=plan.consecutive_failures, failing_since=plan.failing_since,
            )  # fmt: skip
            problems.append(
                ProblemRow.from_alert(
                    alert,
                    company=company_name(plan.vendor, plan.account, plan.company_id),
                    device=devices.get((plan.vendor, plan.account, plan.device_id or ""), plan.device_id),
                    plan=plan.plan_name,
                )
            )
    for device in assessment.devices:
        if device.health is not Health.OK and not device.plans and assessment.judged(device.vendor, device.account):
            alert = context.alert(
                device.vendor, device.account, device.company_id, device.device_id, None, device.health,
                device.reason, now, last_success_at=device.last_success_at, device_name=device.device_name,
                consecutive_failures=device.consecutive_failures, failing_since=device.failing_since,
            )  # fmt: skip
            problems.append(
                ProblemRow.from_alert(
                    alert,
                    company=company_name(device.vendor, device.account, device.company_id),
                    device=device.device_name,
                    plan=None,
                )
            )
    problems.sort(key=lambda p: (-p.health.rank, p.vendor, p.account, p.company, p.device or "", p.plan or ""))
    return Report(
        generated_at=now,
        companies=tuple(summaries),
        problems=tuple(problems),
        failures=tuple(snapshot.failures),
        accounts=_account_statuses(snapshot.failures, assessment),
    )


def run(bridge: Bridge | None, policy: HealthPolicy | None = None, **options: Any) -> ReportRun:
    """The whole report pass from a Bridge and a policy: snapshot, health, this report, the store, the alerts.

    ``backupbridge.pipeline.run_report`` with the same arguments (its doc lists them); what
    ``backupbridge report`` runs::

        from backupbridge.bridge import Bridge
        from backupbridge.report import run

        with Bridge.sandbox(seed=7) as bridge:
            outcome = run(bridge, store=None, alerts=None)
        print(outcome.report.totals)
    """
    from .pipeline import run_report

    return run_report(bridge, policy, **options)


def _account_statuses(failures: Iterable[AccountFailure], assessment: Assessment) -> tuple[AccountStatus, ...]:
    statuses = []
    for (vendor, account), failed in failures_by_account(failures).items():
        judged = assessment.judged(vendor, account)
        mine = (vendor, account)
        statuses.append(
            AccountStatus(
                vendor=vendor,
                account=account,
                judged=judged,
                operations=tuple(f.operation for f in failed),
                message=failed[0].message,
                devices_not_judged=0 if judged else sum((d.vendor, d.account) == mine for d in assessment.devices),
                plans_not_judged=0 if judged else sum((p.vendor, p.account) == mine for p in assessment.plans),
            )
        )
    return tuple(statuses)


def _when(value: dt.datetime | None) -> str:
    """A time for people, in UTC (the report spans time zones)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") + "Z" if value else ""


def _short_when(value: dt.datetime | None, now: dt.datetime) -> str:
    """A time for a table cell, in UTC: the year only when it is not the report's year."""
    if value is None:
        return ""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%m-%d %H:%M" if utc.year == now.astimezone(dt.UTC).year else "%Y-%m-%d")


def render_json(report: Report, stream: TextIO) -> None:
    json.dump(report.to_json(), stream, indent=2)
    stream.write("\n")


def render_ndjson(report: Report, stream: TextIO) -> None:
    for summary in report.companies:
        stream.write(json.dumps({"kind": "company", **record_to_dict(summary)}) + "\n")
    for problem in report.problems:
        stream.write(json.dumps({"kind": "problem", **record_to_dict(problem)}) + "\n")
    data = report.to_json()
    for failure in data["failures"]:
        stream.write(json.dumps({"kind": "failure", **failure}) + "\n")
    for account in data["accounts"]:
        stream.write(json.dumps({"kind": "account", **account}) + "\n")


# The alert's fields, after the original columns (an import keyed by column name keeps working).
_CSV_ALERT_COLUMNS = (
    "key", "customer", "company_id", "device_id", "plan_id", "severity", "device_kind", "consecutive_failures",
    "failing_since", "vendor_reason", "console_url",
)  # fmt: skip


def _csv_alert_cells(p: ProblemRow) -> tuple[str, ...]:
    return (
        p.key, p.customer or "", p.company_id or "", p.device_id or "", p.plan_id or "", p.severity,
        p.device_kind.value, str(p.consecutive_failures), _when(p.failing_since), p.vendor_reason or "",
        p.console_url or "",
    )  # fmt: skip


def render_csv(report: Report, stream: TextIO, *, raw: bool = False) -> None:
    """The problem rows (what a ticketing import wants), one per line, then one row per account with a failed
    operation (device and plan empty; health ``unknown`` when it was not judged, empty when it was).

    Vendor names are untrusted: unless ``raw`` (``report --csv-raw``), every cell loses its escape sequences
    and control characters (newlines and tabs kept), and a cell a spreadsheet would read as a formula (``=``,
    ``+``, ``-``, ``@``, tab, CR...) gets a leading ``'``."""
    cell: Callable[[str], str] = (lambda value: value) if raw else (lambda value: csv_cell(printable(value)))
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["vendor", "account", "company", "device", "plan", "health", "reason", "last_success_at",
                     "last_run_at", *_CSV_ALERT_COLUMNS])  # fmt: skip
    for p in report.problems:
        writer.writerow(
            [
                cell(value)
                for value in (
                    p.vendor,
                    p.account,
                    p.company,
                    p.device or "",
                    p.plan or "",
                    p.health.value,
                    p.reason,
                    _when(p.last_success_at),
                    _when(p.last_run_at),
                    *_csv_alert_cells(p),
                )
            ]
        )
    for a in report.accounts:
        health = a.health.value if a.health else ""
        blank = [""] * len(_CSV_ALERT_COLUMNS)
        writer.writerow([cell(value) for value in (a.vendor, a.account, "", "", "", health, a.reason, "", "", *blank)])


_STYLE = {
    Health.OK: "green",
    Health.WARNING: "yellow",
    Health.FAILED: "red",
    Health.MISSED: "magenta",
    Health.OVERDUE: "bright_red",
    Health.NEVER_RUN: "cyan",
    Health.UNKNOWN: "white",
}


# Below 100 columns the summary's headers are abbreviated (a legend says so) rather than cut.
_NARROW = 100
# From this width on, a problem's reason is a column of its own; below it, a line under the problem.
_WIDE = 120
_SHORT_HEADERS = {
    "devices": "dev",
    "warning": "warn",
    "failed": "fail",
    "missed": "miss",
    "overdue": "over",
    "never run": "never",
    "unknown": "unk",
    "last success": "last ok",
    "oldest last success": "oldest ok",
}


def problem_groups(problems: Iterable[ProblemRow]) -> list[tuple[tuple[str, str, str], list[ProblemRow]]]:
    """Problems grouped by company (vendor, account, company), the group with the worst problem first and,
    inside a group, worst first (the order ``build_report`` gives)."""
    groups: dict[tuple[str, str, str], list[ProblemRow]] = {}
    for problem in problems:
        groups.setdefault((problem.vendor, problem.account, problem.company), []).append(problem)
    return sorted(groups.items(), key=lambda item: (-max(p.health.rank for p in item[1]), item[0]))


def render_table(report: Report, stream: TextIO) -> None:
    """The report for a terminal (or, plain and ``output_width`` wide, for a file or a pipe): a summary per
    account with a row per company, then the problems grouped by company. Columns are as wide as their
    contents; names wrap only at spaces; only the reason (free text) wraps anywhere. Below 120 columns a
    problem's reason is the line under it, so it has the whole width."""
    from rich.markup import escape as markup_escape

    from .exporters import is_plain, longest_word

    def escape(text: str) -> str:
        """Vendor text (names, reasons, messages) as text: never markup, never an escape sequence."""
        return markup_escape(one_line(text))

    console = table_console(stream)
    plain = is_plain(stream)
    width = console.width
    narrow = width < _NARROW

    def header(name: str) -> str:
        return _SHORT_HEADERS.get(name, name) if narrow else name

    now = report.generated_at
    console.print(f"[bold]Backup health, {_when(now)}[/] (times in UTC)")
    if narrow:
        console.print("[dim]" + ", ".join(f"{short} = {name}" for name, short in _SHORT_HEADERS.items()) + "[/]")
    accounts: dict[tuple[str, str], list[CompanySummary]] = {}
    for c in report.companies:
        accounts.setdefault((c.vendor, c.account), []).append(c)
    from rich.cells import cell_len

    company_floor = longest_word(
        one_line(c.company + (f" ({c.customer})" if c.customer else "")) for c in report.companies
    )
    # Every column but the company's keeps its width; when the company's longest word would not fit beside
    # them, the oldest last success (the least needed) is left out rather than a word or a time cut.
    counts_w = sum(
        max([cell_len(header(h.value.replace("_", " "))), *(len(str(c.counts[h.value])) for c in report.companies)])
        for h in HEALTHS
    )
    devices_w = max([cell_len(header("devices")), *(len(str(c.devices)) for c in report.companies)])
    fixed = devices_w + counts_w + 2 * 11 + len(HEALTHS) + 3
    with_oldest = company_floor + fixed <= width
    if not with_oldest:
        console.print(f"[dim]({header('oldest last success')} left out at this width: --format json has it)[/]")
    customers = report.customer_totals()
    if customers:
        # Grouped by customer first: each mapped customer's companies across vendors, totalled.
        by_customer = compact_table("customers", plain=plain)
        by_customer.add_column("customer", overflow="fold")
        by_customer.add_column(header("devices"), justify="right", no_wrap=True)
        for h in HEALTHS:
            style = _STYLE[h] if h is not Health.OK else ""
            by_customer.add_column(header(h.value.replace("_", " ")), justify="right", style=style, no_wrap=True)
        by_customer.add_column("companies", overflow="fold")
        for entry in customers:
            counts = entry["counts"]
            by_customer.add_row(
                escape(entry["customer"]),
                str(entry["devices"]),
                *[str(counts[h.value]) if counts[h.value] else "[dim]0[/]" for h in HEALTHS],
                "\n".join(escape(member) for member in entry["companies"]),  # one member a line
            )
        console.print(by_customer)
        console.print()
    for (vendor, account), companies in accounts.items():
        summary = compact_table(escape(f"{vendor} / {account}"), plain=plain)
        summary.add_column("company", overflow="fold", min_width=company_floor)
        summary.add_column(header("devices"), justify="right", no_wrap=True)
        for h in HEALTHS:
            # Header words wrap at spaces when the terminal is narrow; a word is never cut.
            style = _STYLE[h] if h is not Health.OK else ""
            summary.add_column(header(h.value.replace("_", " ")), justify="right", style=style, no_wrap=True)
        summary.add_column(header("last success"), no_wrap=True)
        if with_oldest:
            summary.add_column(header("oldest last success"), no_wrap=True)
        for c in companies:
            summary.add_row(
                escape(c.company) + (f" [dim]({escape(c.customer)})[/]" if c.customer else ""),
                str(c.devices),
                *[str(c.counts[h.value]) if c.counts[h.value] else "[dim]0[/]" for h in HEALTHS],
                _short_when(c.last_success_at, now),
                *([_short_when(c.oldest_last_success_at, now)] if with_oldest else []),
            )
        console.print(summary)
        console.print()
    if report.problems:
        _render_problems(console, report, plain=plain, wide=width >= _WIDE, escape=escape)
    elif report.failures:
        # Not "No problems": the accounts that could not be read may well have some.
        console.print("No problems in the accounts that answered.")
    else:
        console.print("No problems.")
    statuses = {(a.vendor, a.account): a for a in report.accounts}
    for (vendor, account), failures in failures_by_account(report.failures).items():
        console.print(f"[red]account failed[/]: {escape(vendor)}/{escape(account)}")
        for failure in failures:
            console.print(f"  {escape(failure.operation)}: {escape(failure.message)}")
        status = statuses.get((vendor, account))
        if status is not None and not status.judged:
            console.print(
                f"  [bold]health unknown[/] this run: {status.devices_not_judged} devices and "
                f"{status.plans_not_judged} plans not judged; the account's alerts are left as they were"
            )


def _render_problems(console: Any, report: Report, *, plain: bool, wide: bool, escape: Callable[[str], str]) -> None:
    """The problems: a heading per company and its problems under it, with the same column widths for every
    company. Wide: health, device, plan, reason, last success. Narrow: the reason on the line under the
    problem, as wide as the terminal allows."""
    from rich.cells import cell_len
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from .exporters import longest_word

    now = report.generated_at
    problems = report.problems
    groups = problem_groups(problems)
    console.print(f"[bold]{len(problems)} problems[/] in {len(groups)} companies, worst first")
    width = console.width
    health_w = max(cell_len(h.value) for h in HEALTHS)
    when_w = max(
        [len("last success") if wide else 0]
        + [cell_len(_short_when(p.last_success_at, now) or "never") for p in problems]
    )
    devices = [one_line(p.device or "") for p in problems]
    plans = [one_line(p.plan or "") for p in problems]
    device_w = max(cell_len(d) for d in [*devices, "device"])
    plan_w = max(cell_len(p) for p in [*plans, "plan"])
    reason_min = 30 if wide else 0
    room = width - health_w - when_w - 3 - (reason_min + 1 if wide else 0)
    # Names shrink (wrapping at spaces, never inside a word) only when both do not fit side by side.
    for _ in range(2):
        over = device_w + plan_w - room
        if over > 0:
            plan_w = max(longest_word([*plans, "plan"]), plan_w - over)
            over = device_w + plan_w - room
        if over > 0:
            device_w = max(longest_word([*devices, "device"]), device_w - over)
    reason_w = max(reason_min, width - health_w - device_w - plan_w - when_w - 4)

    def table(header: bool) -> Table:
        t = compact_table(plain=plain, show_header=header)
        t.add_column("health", width=health_w, no_wrap=True)
        if wide:
            t.add_column("device", width=device_w, overflow="fold")
            t.add_column("plan", width=plan_w, overflow="fold")
            t.add_column("last success", width=when_w, no_wrap=True)
            # Last, so a reason that wraps reads on as one text under itself.
            t.add_column("reason", width=reason_w, overflow="fold")
        else:
            t.add_column("problem", width=max(10, width - health_w - 1), overflow="fold")
        return t

    for index, ((vendor, account, company), rows) in enumerate(groups):
        heading = Text.assemble(
            "\n" if index else "", (one_line(company), "bold"), f"  {one_line(vendor)} / {one_line(account)}"
        )
        customer = next((p.customer for p in rows if p.customer), None)
        if customer:
            heading.append(f"  customer {one_line(customer)}")
        heading.append(f"  {len(rows)} problem{'s' if len(rows) != 1 else ''}", style="dim")
        console.print(heading, overflow="fold")
        t = table(header=wide and index == 0)
        for p in rows:
            health = Text(p.health.value, style="" if plain else _STYLE[p.health])
            when = _short_when(p.last_success_at, now) or "never"
            if wide:
                t.add_row(
                    health, Text(one_line(p.device or "")), Text(one_line(p.plan or "")), when, Text(one_line(p.reason))
                )
                continue
            line = Table.grid(padding=(0, 1))
            line.add_column(width=device_w, overflow="fold")
            line.add_column(width=plan_w, overflow="fold")
            line.add_column(width=when_w, no_wrap=True)
            line.add_row(Text(one_line(p.device or "")), Text(one_line(p.plan or "")), when)
            t.add_row(health, Group(line, Text(one_line(p.reason), style="" if plain else "dim", overflow="fold")))
        console.print(t)


def failures_by_account(failures: Iterable[AccountFailure]) -> dict[tuple[str, str], list[AccountFailure]]:
    """Failures grouped by ``(vendor, account)``, in the order the accounts first failed."""
    grouped: dict[tuple[str, str], list[AccountFailure]] = {}
    for failure in failures:
        grouped.setdefault((failure.vendor, failure.account), []).append(failure)
    return grouped


# Each health's colour: its label's text and its share of the bar, on white. Every one reads at WCAG AA
# (4.5:1 for text, on white and on the header grey), which is tested (tests/cli/test_html_browser.py).
_COLOURS = {
    Health.OK: "#2e7d32",
    Health.WARNING: "#7a5d00",
    Health.FAILED: "#c62828",
    Health.MISSED: "#6a1b9a",
    Health.OVERDUE: "#a84300",
    Health.NEVER_RUN: "#006978",
    Health.UNKNOWN: "#616161",
}
HTML_TEXT = "#1f1f1f"
HTML_MUTED = "#595959"
HTML_BACKGROUND = "#ffffff"
HTML_HEADER_BACKGROUND = "#f3f4f6"
HTML_LINK = "#0b57d0"


def html_contrast_pairs() -> list[tuple[str, str, str]]:
    """``(what, foreground, background)`` for every text colour of the HTML report on each background it is
    shown on (the contrast test computes their ratios)."""
    pairs = [
        ("text", HTML_TEXT, HTML_BACKGROUND),
        ("header text", HTML_TEXT, HTML_HEADER_BACKGROUND),
        ("muted text", HTML_MUTED, HTML_BACKGROUND),
        ("link", HTML_LINK, HTML_BACKGROUND),
        ("skip link", HTML_BACKGROUND, HTML_LINK),
    ]
    for health, colour in _COLOURS.items():
        pairs.append((f"{health.value} label", colour, HTML_BACKGROUND))
        pairs.append((f"{health.value} label on a header", colour, HTML_HEADER_BACKGROUND))
    for status, colour in _DAY_COLOURS.items():
        pairs.append((f"{status} day of the history strip", colour, HTML_BACKGROUND))
    return pairs


def _chart(summary: CompanySummary) -> str:
    """A stacked bar of the company's device healths, as inline SVG that scales to its cell (its numbers
    also in data- attributes, and in the row's own cells for a screen reader)."""
    width, height, x = 420, 22, 0.0
    total = max(summary.devices, 1)
    parts = []
    for health in HEALTHS:
        count = summary.counts[health.value]
        if not count:
            continue
        w = width * count / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{_COLOURS[health]}">'
            f"<title>{health.value}: {count}</title></rect>"
        )
        x += w
    data = " ".join(f'data-{h.value.replace("_", "-")}="{summary.counts[h.value]}"' for h in HEALTHS)
    label = _html(f"{summary.company}: device health")
    return (
        f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" data-devices="{summary.devices}" {data}>{"".join(parts)}</svg>'
    )


def _html(text: str) -> str:
    return html.escape(printable(text))


def _label(name: str) -> str:
    return name.replace("_", " ").replace("-", " ")


# A day of the history strip (store.history.DayStatus) in the colour of the health it stands for; an unknown
# day (no collect, or a failed listing) is a thin grey line, so it never reads as a result.
_DAY_COLOURS = {
    "success": _COLOURS[Health.OK],
    "warning": _COLOURS[Health.WARNING],
    "failure": _COLOURS[Health.FAILED],
    "no-result": _COLOURS[Health.MISSED],
    "unknown": _COLOURS[Health.UNKNOWN],
}
_STRIP_HEIGHT = 10


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _strip(device: str, entity: Any) -> str:
    """One device's days (``store.history.EntityHistory``) as inline SVG: one bar per run of equal days,
    each with a ``<title>``, day marks from the page's one shared pattern, and the whole as text in
    ``aria-label`` (counts per status, the current status and how long it has held)."""
    days = entity.days
    width = len(days)
    parts, start = [], 0
    for index in range(1, width + 1):
        if index < width and days[index].status == days[start].status:
            continue
        status = days[start].status.value
        span = index - start
        first, last = days[start].day.isoformat(), days[index - 1].day.isoformat()
        when = first if span == 1 else f"{first} to {last}"
        y, h = (_STRIP_HEIGHT * 0.4, _STRIP_HEIGHT * 0.2) if status == "unknown" else (0, _STRIP_HEIGHT)
        parts.append(
            f'<rect x="{start}" y="{y:g}" width="{span}" height="{h:g}" class="d-{status}">'
            f"<title>{when}: {_label(status)}</title></rect>"
        )
        start = index
    counts: dict[str, int] = {}
    for day in days:
        counts[day.status.value] = counts.get(day.status.value, 0) + 1
    said = ", ".join(f"{number} {_label(status)}" for status, number in counts.items())
    now = f"{_label(entity.status.value)} for {_days(entity.days_in_status)}" if entity.days_in_status else ""
    label = _html(
        f"{device}, {days[0].day.isoformat()} to {days[-1].day.isoformat()}: {said}" + (f"; now {now}" if now else "")
    )
    return (
        f'<svg class="strip" role="img" aria-label="{label}" viewBox="0 0 {width} {_STRIP_HEIGHT}" '
        f'preserveAspectRatio="none" data-days="{width}" '
        + " ".join(f'data-{status}="{number}"' for status, number in counts.items())
        + f'>{"".join(parts)}<use href="#strip-days-{width}"/></svg>'
    )


def _strip_marks(lengths: Iterable[int]) -> str:
    """The white day marks every strip of a length shares (one ``<use>`` each, not thirty lines a device)."""
    paths = "".join(
        f'<path id="strip-days-{n}" d="{"".join(f"M{d} 0V{_STRIP_HEIGHT}" for d in range(1, n))}" '
        f'stroke="{HTML_BACKGROUND}" stroke-width=".12"/>'
        for n in sorted(set(lengths))
    )
    return f'<svg class="marks" aria-hidden="true" focusable="false"><defs>{paths}</defs></svg>' if paths else ""


def _percent(value: float | None) -> str:
    """A share as a whole percentage, never rounded up to 100% (one bad day in 300 is 99%, not 100%)."""
    if value is None:
        return ""
    return "100%" if value >= 1 else f"{min(99, round(value * 100))}%"


def _compliance_cell(report: Report, c: CompanySummary) -> str:
    """The company's compliance over the history's days: the share of device-days judged OK."""
    assert report.history is not None
    found = report.history.compliance.get((c.vendor, c.account, c.company_id))
    if found is None or not found.device_days:
        return '<td class="num zero" data-field="compliance" data-label="compliance">no days judged</td>'
    return (
        f'<td class="num" data-field="compliance" data-label="compliance" data-device-days="{found.device_days}" '
        f'data-device-days-ok="{found.device_days_ok}">{_percent(found.device_compliance)}'
        f'<span class="muted"> of {found.device_days} device-days</span></td>'
    )


def _history_rows(report: Report) -> tuple[list[str], list[int]]:
    """The history table's rows (one per device of the report's companies, by company and name) and the
    strips' lengths."""
    history = report.history
    if not history:
        return [], []
    esc = _html
    companies = {(c.vendor, c.account, c.company_id): c.company for c in report.companies}
    chosen = sorted(
        (
            (companies[(e.vendor, e.account, e.company_id)], e)
            for e in history.devices.values()
            if (e.vendor, e.account, e.company_id) in companies and e.days
        ),
        key=lambda item: (item[0], item[1].name, item[1].vendor, item[1].account, item[1].id),
    )
    rows, lengths = [], []
    for company, e in chosen:
        lengths.append(len(e.days))
        since = e.days_since_success
        # The store's memory, not the backup's: no stored success is "none stored", never "never" (the store
        # may be younger than the backup, or every stored day a failed listing).
        last_good = _no_success(e) if since is None else "today" if since == 0 else f"{_days(since)} ago"
        now = f'<span class="{_DAY_CLASS[e.status.value]}">{_label(e.status.value)}</span>' + (
            f", {_days(e.days_in_status)}" if e.days_in_status else ""
        )
        rows.append(
            f'<tr tabindex="0" data-device="{esc(e.id)}" data-vendor="{esc(e.vendor)}" data-account="{esc(e.account)}">'
            f'<th scope="row">{esc(e.name)}</th><td data-label="company">{esc(company)}</td>'
            f'<td data-label="account">{esc(e.vendor)} / {esc(e.account)}</td>'
            f'<td class="strip" data-label="last {len(e.days)} days">{_strip(e.name, e)}</td>'
            f'<td data-label="now">{now}</td>'
            f'<td class="num" data-field="success-rate" data-label="success rate">'
            f"{_percent(e.success_rate) or 'no result yet'}</td>"
            f'<td data-label="last success">{last_good}</td></tr>'
        )
    return rows, lengths


# The class of a day status's text (the health whose colour it has).
_DAY_CLASS = {"success": "ok", "warning": "warning", "failure": "failed", "no-result": "missed", "unknown": "unknown"}


# Below this width the tables become one card per row (each cell labelled), so nothing is wider than a phone.
_CARDS_BELOW_PX = 1024

_HTML_STYLE = f"""
*{{box-sizing:border-box}}
body{{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:{HTML_TEXT};
background:{HTML_BACKGROUND}}}
.page{{max-width:1880px;margin:0 auto;padding:1rem clamp(.75rem,2vw,2rem) 2rem}}
h1{{font-size:1.6rem;margin:.5rem 0}} h2{{font-size:1.25rem;margin:1.5rem 0 .5rem}}
a{{color:{HTML_LINK}}}
a:focus-visible,tr:focus-visible,[tabindex]:focus-visible{{outline:3px solid {HTML_LINK};outline-offset:-3px}}
.skip{{position:absolute;left:.5rem;top:-3rem;background:{HTML_LINK};color:{HTML_BACKGROUND};padding:.5rem .75rem;
z-index:1;text-decoration:none;border-radius:4px}}
.skip:focus{{top:.5rem}}
nav ul{{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}}
.muted,caption{{color:{HTML_MUTED}}}
.legend{{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:.5rem 0}}
.key i{{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-.05rem}}
table{{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}}
caption{{text-align:left;padding:.25rem 0;caption-side:top}}
th,td{{border-bottom:1px solid #d0d4da;padding:.35rem .45rem;text-align:left;vertical-align:top;
overflow-wrap:break-word}}
td.reason{{overflow-wrap:anywhere}}
thead th{{background:{HTML_HEADER_BACKGROUND};vertical-align:bottom;overflow-wrap:normal;hyphens:manual}}
tbody th{{font-weight:600}}
.num{{text-align:right;font-variant-numeric:tabular-nums}}
td.when{{min-width:6.5rem}}
td.bar{{width:14%;min-width:6rem}}
svg.chart{{display:block;width:100%;max-width:420px;height:1.3rem}}
svg.strip{{display:block;width:100%;max-width:420px;height:1.1rem}}
svg.marks{{position:absolute;width:0;height:0;overflow:hidden}}
td.strip{{width:24%;min-width:8rem}}
{"".join(f".d-{status}{{fill:{colour}}}" for status, colour in _DAY_COLOURS.items())}
td.reason{{min-width:14rem}}
@media screen and (min-width:1400px){{td.when{{white-space:nowrap}}}}
.zero{{color:{HTML_MUTED}}}
{"".join(f".{h.value}{{color:{_COLOURS[h]};font-weight:600}}" for h in HEALTHS)}
@media screen and (max-width:{_CARDS_BELOW_PX - 1}px){{
  table,thead,tbody,tr,th,td{{display:block;width:100%}}
  caption{{display:block}}
  thead{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}}
  tbody tr{{border:1px solid #d0d4da;border-radius:6px;margin:0 0 .75rem;padding:.4rem .6rem}}
  th,td{{border:0;padding:.15rem 0;min-width:0}}
  td.when,td.bar,td.reason{{min-width:0;width:100%}}
  td[data-label]::before{{content:attr(data-label) ": ";color:{HTML_MUTED}}}
  td.num{{display:inline-block;width:auto;margin-right:.9rem;text-align:left}}
  td.num[data-label]::before{{content:attr(data-label) " "}}
  svg.chart,svg.strip{{max-width:none}}
  td.strip{{min-width:0;width:100%}}
}}
@media print{{
  @page{{size:landscape;margin:1cm}}
  body{{font-size:9pt}} .page{{max-width:none;padding:0}}
  .skip,nav{{display:none}}
  a{{color:inherit;text-decoration:none}}
  tr{{break-inside:avoid}} thead{{display:table-header-group}}
  td.bar{{display:none}} th.bar{{display:none}}
  td.strip{{min-width:0}}
  td.when{{min-width:0}} td.reason{{min-width:0}}
  *{{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
}}
"""


def _html_section(name: str, title: str, items: str) -> str:
    if not items:
        return ""
    return (
        f'<section aria-labelledby="{name}-heading"><h2 id="{name}-heading">{title}</h2>'
        f'<ul id="{name}">{items}</ul></section>'
    )


def _no_success(entity: EntityHistory) -> str:
    """The strip's last-success cell when the store holds no good day of the device."""
    return "none stored" if entity.days_since_result is not None else "no result stored"


def render_html(report: Report, stream: TextIO) -> None:
    """One self-contained page (no scripts, no network) that reads from a 360 px phone to a 1920 px screen
    and on paper: the tables become one labelled card per row below 1024 px; a skip link, a section list,
    captions and scoped headers for a keyboard or a screen reader (every row can take the focus); text
    colours at WCAG AA contrast."""
    esc = _html
    legend = "".join(
        f'<span class="key"><i aria-hidden="true" style="background:{_COLOURS[h]}"></i>{_label(h.value)}</span>'
        for h in HEALTHS
    )
    customers = report.customer_totals()
    # The customer column (and the per-customer table) only where a customer is mapped.
    mapped = bool(customers)
    # The history (from the store) only when there is one: a compliance column and the 30-day strips.
    history_rows, strip_lengths = _history_rows(report)
    with_history = bool(report.history)
    days = report.history.days if report.history else 0
    not_judged = {(a.vendor, a.account) for a in report.accounts if not a.judged}

    def missing(company: CompanySummary) -> str:
        """A company's empty last-success cell: "never" only when its devices were judged (a failed listing
        is never read as "never backed up")."""
        if (company.vendor, company.account) in not_judged:
            return "not judged"
        if company.counts.get(Health.UNKNOWN.value, 0) >= company.devices:
            return "unknown"
        return "never"

    rows = []
    for c in report.companies:
        counts = "".join(
            f'<td class="num{"" if c.counts[h.value] else " zero"}" data-health="{h.value}" '
            f'data-label="{_label(h.value)}">{c.counts[h.value]}</td>'
            for h in HEALTHS
        )
        customer_cell = f'<td data-label="customer">{esc(c.customer or "")}</td>' if mapped else ""
        rows.append(
            f'<tr tabindex="0" data-company="{esc(c.company)}" data-vendor="{esc(c.vendor)}" '
            f'data-account="{esc(c.account)}"'
            + (f' data-customer="{esc(c.customer)}"' if c.customer else "")
            + f'><th scope="row">{esc(c.company)}</th>{customer_cell}'
            f'<td data-label="account">{esc(c.vendor)} / {esc(c.account)}</td>'
            f'<td class="num" data-field="devices" data-label="devices">{c.devices}</td>{counts}'
            f'<td class="bar">{_chart(c)}</td>'
            f'<td class="when" data-label="last success">{esc(_when(c.last_success_at)) or missing(c)}</td>'
            f'<td class="when" data-label="oldest last success">'
            f"{esc(_when(c.oldest_last_success_at)) or missing(c)}</td>"
            + (_compliance_cell(report, c) if with_history else "")
            + "</tr>"
        )
    problem_rows = [
        f'<tr class="problem" tabindex="0" data-health="{p.health.value}"'
        + (f' data-customer="{esc(p.customer)}"' if p.customer else "")
        + ">"
        f'<td class="{p.health.value}" data-label="health">{_label(p.health.value)}</td>'
        f'<th scope="row">{esc(p.company)}</th>'
        + (f'<td data-label="customer">{esc(p.customer or "")}</td>' if mapped else "")
        + f'<td data-label="account">{esc(p.vendor)} / {esc(p.account)}</td>'
        f'<td data-label="device">{esc(p.device or "")}</td><td data-label="plan">{esc(p.plan or "")}</td>'
        f'<td class="when" data-label="last success">'
        f"{esc(_when(p.last_success_at)) or ('unknown' if p.health is Health.UNKNOWN else 'never')}</td>"
        f'<td class="reason" data-label="reason">{esc(p.reason)}</td></tr>'
        for p in report.problems
    ]
    failures = "".join(
        f"<li>{esc(f.vendor)}/{esc(f.account)} {esc(f.operation)}: {esc(f.message)}</li>" for f in report.failures
    )
    unjudged = "".join(
        f'<li class="unknown" data-vendor="{esc(a.vendor)}" data-account="{esc(a.account)}" '
        f'data-devices-not-judged="{a.devices_not_judged}" data-plans-not-judged="{a.plans_not_judged}">'
        f"{esc(a.vendor)}/{esc(a.account)}: health unknown, {esc(a.reason)}</li>"
        for a in report.accounts
        if not a.judged
    )
    customer_rows = "".join(
        f'<tr tabindex="0" data-customer="{esc(entry["customer"])}"><th scope="row">{esc(entry["customer"])}</th>'
        f'<td class="num" data-field="devices" data-label="devices">{entry["devices"]}</td>'
        + "".join(
            f'<td class="num{"" if entry["counts"][h.value] else " zero"}" data-health="{h.value}" '
            f'data-label="{_label(h.value)}">{entry["counts"][h.value]}</td>'
            for h in HEALTHS
        )
        + f'<td data-label="companies">{esc(", ".join(entry["companies"]))}</td></tr>'
        for entry in customers
    )
    totals = " · ".join(f"{count} {_label(name)}" for name, count in report.totals.items() if count)
    head_counts = "".join(f'<th scope="col" class="num">{_label(h.value)}</th>' for h in HEALTHS)
    sections = [
        *([("customers-heading", f"Customers ({len(customers)})")] if mapped else []),
        ("companies-heading", f"Companies ({len(report.companies)})"),
        ("problems-heading", f"Problems ({len(report.problems)})"),
    ]
    if history_rows:
        sections.append(("history-heading", f"History ({days} days)"))
    if unjudged:
        sections.append(("not-judged-heading", "Accounts not judged"))
    if failures:
        sections.append(("failures-heading", "Accounts that failed"))
    nav = "".join(f'<li><a href="#{anchor}">{esc(text)}</a></li>' for anchor, text in sections)
    generated = esc(_when(report.generated_at))
    customer_head = '<th scope="col">customer</th>' if mapped else ""
    customers_section = (
        '<section aria-labelledby="customers-heading">\n'
        '<h2 id="customers-heading" tabindex="-1">Customers</h2>\n'
        '<table id="customers"><caption>Devices per customer by health, over its companies in every vendor\n'
        '</caption><thead><tr><th scope="col">customer</th><th scope="col" class="num">devices</th>\n'
        f'{head_counts}<th scope="col">companies</th></tr></thead><tbody>\n{customer_rows}\n</tbody></table>\n'
        "</section>\n"
        if mapped
        else ""
    )
    compliance_head = f'<th scope="col" class="num">compliance, {days} days</th>' if with_history else ""
    day_legend = "".join(
        f'<span class="key"><i aria-hidden="true" style="background:{colour}"></i>{_label(status)}</span>'
        for status, colour in _DAY_COLOURS.items()
    )
    history_section = (
        '<section aria-labelledby="history-heading">\n'
        f'<h2 id="history-heading" tabindex="-1">History ({days} days)</h2>\n'
        f'<p class="legend" aria-label="Colours of the history strip">{day_legend}</p>\n'
        f"{_strip_marks(strip_lengths)}"
        f"<table id=\"history\"><caption>Each device's last {days} days from the store, oldest first: the day's "
        "runs rolled up (no result: the runs were listed and there was none; unknown: not collected, or the "
        "listing failed)\n"
        '</caption><thead><tr><th scope="col">device</th><th scope="col">company</th><th scope="col">account</th>\n'
        f'<th scope="col" class="strip">last {days} days</th><th scope="col">now</th>'
        '<th scope="col" class="num">success rate</th><th scope="col">last success</th></tr></thead><tbody>\n'
        f"{''.join(history_rows)}\n</tbody></table>\n</section>\n"
        if history_rows
        else ""
    )
    stream.write(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backup health report, {generated}</title>
<style>{_HTML_STYLE}</style></head><body>
<a class="skip" href="#problems-heading">Skip to the problems</a>
<div class="page">
<header><h1>Backup health</h1>
<p>Generated {generated} (times in UTC). Devices: <span id="totals">{esc(totals)}</span>.</p>
<nav aria-label="Sections"><ul>{nav}</ul></nav></header>
<main>
{customers_section}<section aria-labelledby="companies-heading">
<h2 id="companies-heading" tabindex="-1">Companies</h2>
<p class="legend" aria-label="Colours of the health bar">{legend}</p>
<table id="companies"><caption>Devices per company by health, with the newest and the oldest last success
</caption><thead><tr><th scope="col">company</th>{customer_head}<th scope="col">account</th>
<th scope="col" class="num">devices</th>
{head_counts}<th scope="col" class="bar">devices by health</th><th scope="col">last success</th>
<th scope="col">oldest last success</th>{compliance_head}</tr></thead><tbody>
{"".join(rows)}
</tbody></table>
</section>
<section aria-labelledby="problems-heading">
<h2 id="problems-heading" tabindex="-1">Problems ({len(report.problems)})</h2>
<table id="problems"><caption>Every plan or device that is not OK, the worst first
</caption><thead><tr><th scope="col">health</th><th scope="col">company</th>{customer_head}<th scope="col">account</th>
<th scope="col">device</th><th scope="col">plan</th><th scope="col">last success</th><th scope="col">reason</th></tr>
</thead><tbody>
{"".join(problem_rows)}
</tbody></table>
</section>
{history_section}{_html_section("not-judged", "Accounts not judged", unjudged)}
{_html_section("failures", "Accounts that failed", failures)}
</main></div>
</body></html>
""")


RENDERERS: dict[str, Callable[[Report, TextIO], None]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "ndjson": render_ndjson,
    "html": render_html,
}
