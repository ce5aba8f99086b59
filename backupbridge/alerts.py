"""Alerts for PSA/RMM integrations: one per problem, opened once, closed on recovery, delivered at least once.

Each unhealthy plan (or device without plans) is an ``Alert`` with a stable dedupe key
``vendor|account|company|device|plan|problem`` and a severity. ``reconcile`` compares this pass with the
previous one (kept in a small JSON state file) and finds the new problems (``backup_problem``) and the ones
that are gone (``backup_recovered``), so a ticketing plugin opens one ticket per problem and closes it when it
recovers; ``reconcile_events`` also finds the problems still open with news (``backup_updated``: a new failed
run, a higher severity), so the ticket gets a note, and a re-run with nothing new sends nothing. A problem
that changes kind (FAILED -> MISSED) recovers and opens anew. An account that was not judged this pass (a
listing failed) keeps its alerts exactly as they were.

The state lives in one of two backends behind one protocol (``AlertBackend``, opened by ``open_alert_state``):
the JSON state file (``AlertState``) or the history store (``backupbridge.store.alerts.StoreAlertState``, which
imports the JSON file once and then leaves it alone).

Delivery goes through an outbox in the state file: each event is queued for every receiving plugin, the
state is saved, then each plugin is called on its own; an event a plugin raised on stays queued for that
plugin and is delivered again next pass (at least once: ``alert.key`` is the idempotency key). The state file
is locked (``AlertState.locked``) across load, delivery and save, and written atomically.

Keys escape their parts (``%`` as ``%25``, ``|`` as ``%7C``, an id that is exactly ``-`` as ``%2D``), so no
id can make two problems share a key; an id without those characters keeps the key it always had.

Given the pass's ``Snapshot``, an alert also carries what a technician acts on (docs/alerts.md): the customer,
the names of its company, device and plan, the device's kind (server, workstation, VM, mailbox), a severity
from the problem and that kind, the last success, the consecutive failures and the vendor's own reason. Names
are display only: the key is ids only, so a rename never opens a second ticket.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import attrs
import pluggy

from .errors import ConfigurationError
from .exporters import record_to_dict
from .health import Assessment, Health
from .hookspecs import hookimpl
from .models import Device, Job, JobStatus, OSFamily

if TYPE_CHECKING:
    from .bridge import Snapshot
    from .store import Store

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "NDJSON_SINK_NAME",
    "SEVERITY",
    "Alert",
    "AlertBackend",
    "AlertState",
    "AlertStateError",
    "Changes",
    "Delivery",
    "DeliveryFailure",
    "DeliveryOutcome",
    "DeviceKind",
    "NdjsonAlertSink",
    "ProblemContext",
    "Receiver",
    "SinkRetry",
    "alerts_from",
    "console_templates",
    "device_kind",
    "has_news",
    "hook_receivers",
    "open_alert_state",
    "reconcile",
    "reconcile_events",
    "severity_for",
]

log = logging.getLogger("backupbridge.alerts")

SEVERITY: Mapping[Health, str] = {
    Health.FAILED: "critical",
    Health.MISSED: "high",
    Health.OVERDUE: "high",
    Health.NEVER_RUN: "medium",
    Health.WARNING: "low",
    Health.UNKNOWN: "info",
}

_LEVELS = ("info", "low", "medium", "high", "critical")


class DeviceKind(enum.StrEnum):
    """What kind of thing a device is, as far as the neutral model tells (``device_kind``)."""

    SERVER = "server"
    WORKSTATION = "workstation"
    VM = "vm"
    MAILBOX = "mailbox"
    UNKNOWN = "unknown"


# Raised a level for a server or VM (a business stops), lowered one for a workstation (one person waits):
# N-able Cove's HaloPSA rule (server high, workstation low), applied on top of the problem's own severity.
_KIND_SHIFT = {DeviceKind.SERVER: 1, DeviceKind.VM: 1, DeviceKind.WORKSTATION: -1}
_MAILBOX_WORDS = ("mailbox", "exchange online", "microsoft 365", "office 365", "m365", "o365")
_HYPERVISOR_WORDS = (
    "kvm",
    "vmware",
    "esx",
    "hyper-v",
    "hyperv",
    "ovirt",
    "rhv",
    "proxmox",
    "xen",
    "nutanix",
    "openstack",
    "virtual machine",
    "citrix",
)


def device_kind(device: Device | None) -> DeviceKind:
    """A device's kind from the neutral fields: ``os``/``vendor_os``, and ``raw`` where a vendor says more.

    A mailbox is named so in its OS or type text; a VM is a hypervisor family, a hypervisor type (vProtect's
    ``hvType``) or a "virtual" OS text; a server has "server" in its OS text, or runs Linux; Windows and
    macOS without "server" are workstations; anything else is ``unknown`` (the problem's severity unchanged).
    """
    if device is None:
        return DeviceKind.UNKNOWN
    raw = device.raw if isinstance(device.raw, Mapping) else {}
    texts = [device.vendor_os or ""]
    for field in ("type", "Type", "deviceType", "DeviceType", "kind", "osType", "OsType"):
        value = raw.get(field)
        if isinstance(value, str):
            texts.append(value)
    text = " ".join(texts).lower()
    if any(word in text for word in _MAILBOX_WORDS):
        return DeviceKind.MAILBOX
    if device.os is OSFamily.HYPERVISOR or "hvType" in raw or any(word in text for word in _HYPERVISOR_WORDS):
        return DeviceKind.VM
    if "server" in text or device.os is OSFamily.LINUX:
        return DeviceKind.SERVER
    if device.os in (OSFamily.WINDOWS, OSFamily.MACOS):
        return DeviceKind.WORKSTATION
    return DeviceKind.UNKNOWN


def severity_for(problem: Health, kind: DeviceKind = DeviceKind.UNKNOWN) -> str:
    """The problem's severity (``SEVERITY``), one level up for a server or VM (at most critical), one down for a
    workstation (at least low)."""
    base = _LEVELS.index(SEVERITY[problem])
    if base == 0:
        return _LEVELS[0]
    return _LEVELS[max(1, min(len(_LEVELS) - 1, base + _KIND_SHIFT.get(kind, 0)))]


STATE_VERSION = 2
EVENTS = ("problem", "recovered", "updated")
NDJSON_SINK_NAME = "backupbridge.alerts-ndjson"
"""The plugin name of the built-in NDJSON sink (``report --alerts-ndjson``)."""


class AlertStateError(ConfigurationError):
    """The alert state file cannot be read, written or locked; the message names the file."""


def _key_part(value: str | None) -> str:
    if value is None:
        return "-"
    if value == "-":
        return "%2D"
    return value.replace("%", "%25").replace("|", "%7C")


@attrs.frozen(kw_only=True)
class Alert:
    key: str
    vendor: str
    account: str
    company_id: str | None
    device_id: str | None
    plan_id: str | None
    problem: Health
    severity: str
    reason: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    customer: str | None = None
    company_name: str | None = None
    device_name: str | None = None
    device_kind: DeviceKind = DeviceKind.UNKNOWN
    plan_name: str | None = None
    last_success_at: dt.datetime | None = None
    last_run_at: dt.datetime | None = None
    consecutive_failures: int = 0
    failing_since: dt.datetime | None = None
    vendor_reason: str | None = None
    console_url: str | None = None

    @property
    def title(self) -> str:
        """One line for a ticket or a subject: ``Acme / SRV-01 (Nightly): backup failed``, names where known."""
        who = self.customer or self.company_name or self.company_id or "(no company)"
        what = self.device_name or self.device_id or "(no device)"
        plan = self.plan_name or self.plan_id
        return f"{who} / {what}{f' ({plan})' if plan else ''}: backup {self.problem.value.replace('_', ' ')}"

    @staticmethod
    def make_key(
        vendor: str, account: str, company: str | None, device: str | None, plan: str | None, problem: Health
    ) -> str:
        """``vendor|account|company|device|plan|problem``, each part escaped (``None`` is ``-``)."""
        return "|".join((*(_key_part(p) for p in (vendor, account, company, device, plan)), problem.value))

    def to_json(self) -> dict[str, Any]:
        return record_to_dict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Alert:
        """An alert from its JSON; the key is rebuilt from the fields, so a state file written before keys were
        escaped is read with today's keys."""
        problem = Health(data["problem"])
        parts: list[Any] = [
            data["vendor"],
            data["account"],
            data.get("company_id"),
            data.get("device_id"),
            data.get("plan_id"),
        ]
        for index, part in enumerate(parts):
            if not isinstance(part, str) and (part is not None or index < 2):
                raise TypeError(f"an id is {type(part).__name__}, not text")
        first_seen = dt.datetime.fromisoformat(data["first_seen"])
        last_seen = dt.datetime.fromisoformat(data["last_seen"])
        if first_seen.tzinfo is None or last_seen.tzinfo is None:
            raise ValueError("a time has no zone")
        # The technician's fields came later: a state file without them reads as unknown, never as an error.
        failures = data.get("consecutive_failures", 0)
        if not isinstance(failures, int) or isinstance(failures, bool):
            raise TypeError("consecutive_failures is not a number")
        return cls(
            key=cls.make_key(parts[0], parts[1], parts[2], parts[3], parts[4], problem),
            vendor=parts[0],
            account=parts[1],
            company_id=parts[2],
            device_id=parts[3],
            plan_id=parts[4],
            problem=problem,
            severity=str(data["severity"]),
            reason=str(data.get("reason", "")),
            first_seen=first_seen,
            last_seen=last_seen,
            customer=_text(data, "customer"),
            company_name=_text(data, "company_name"),
            device_name=_text(data, "device_name"),
            device_kind=DeviceKind(data.get("device_kind") or "unknown"),
            plan_name=_text(data, "plan_name"),
            last_success_at=_time(data, "last_success_at"),
            last_run_at=_time(data, "last_run_at"),
            consecutive_failures=failures,
            failing_since=_time(data, "failing_since"),
            vendor_reason=_text(data, "vendor_reason"),
            console_url=_text(data, "console_url"),
        )


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} is {type(value).__name__}, not text")
    return value


def _time(data: Mapping[str, Any], name: str) -> dt.datetime | None:
    value = _text(data, name)
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{name} has no zone")
    return moment


_FAILED_RUNS = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.MISSED)
_GOOD_RUNS = (JobStatus.SUCCESS, JobStatus.WARNING)


def _run_time(job: Job) -> dt.datetime | None:
    return job.finished_at or job.started_at


class ProblemContext:
    """What the snapshot says about a problem besides its verdict: names, device kind, run streaks, customer
    and console link. Shared by ``alerts_from`` and the report's problem rows, so both carry the same fields.

    Args:
        snapshot: the pass's listings (``None``: ids only, as before names were known).
        customers: ``(vendor, account, company_id)`` -> customer name (``customers.CustomerMap.lookup``).
        console_urls: vendor -> a ``str.format`` template of a console link with ``{company_id}``,
            ``{device_id}``, ``{plan_id}`` (URL-quoted); vendors without one get no link. ``None``: the
            templates the registered vendors carry (``console_templates()``); ``{}`` for no links.
    """

    def __init__(
        self,
        snapshot: Snapshot | None = None,
        *,
        customers: Mapping[tuple[str, str, str], str] | None = None,
        console_urls: Mapping[str, str] | None = None,
    ) -> None:
        self.customers = customers or {}
        self.console_urls = console_templates() if console_urls is None else console_urls
        self.companies = {(c.vendor, c.account, c.id): c.name for c in snapshot.companies} if snapshot else {}
        self.devices = {(d.vendor, d.account, d.id): d for d in snapshot.devices} if snapshot else {}
        self.plans = {(p.vendor, p.account, p.id): p.name for p in snapshot.plans} if snapshot else {}
        self.runs: dict[tuple[str, str, str | None, str | None], list[Job]] = {}
        for job in snapshot.jobs if snapshot else ():
            if _run_time(job) is not None:
                self.runs.setdefault((job.vendor, job.account, job.plan_id, job.device_id), []).append(job)
        for runs in self.runs.values():
            runs.sort(key=lambda j: _run_time(j))  # type: ignore[arg-type, return-value]

    def customer(self, vendor: str, account: str, company_id: str | None) -> str | None:
        return self.customers.get((vendor, account, company_id)) if company_id is not None else None

    def company_name(self, vendor: str, account: str, company_id: str | None) -> str | None:
        return self.companies.get((vendor, account, company_id)) if company_id is not None else None

    def device(self, vendor: str, account: str, device_id: str | None) -> Device | None:
        return self.devices.get((vendor, account, device_id)) if device_id is not None else None

    def plan_name(self, vendor: str, account: str, plan_id: str | None) -> str | None:
        return self.plans.get((vendor, account, plan_id)) if plan_id is not None else None

    def streak(
        self, vendor: str, account: str, device_id: str | None, plan_id: str | None
    ) -> tuple[int, dt.datetime | None, str | None]:
        """``(consecutive failures, when the streak began, the vendor's error of its latest run)``, counted back
        from the newest run until a success (runs still going are passed over)."""
        runs = self.runs.get((vendor, account, plan_id, device_id), [])
        if plan_id is not None and device_id is not None and not runs and (vendor, account, plan_id, None) in self.runs:
            runs = self.runs[(vendor, account, plan_id, None)]
        if plan_id is not None and not runs:  # vendors that do not link runs to plans
            runs = self.runs.get((vendor, account, None, device_id), [])
        count, since, error = 0, None, None
        for job in reversed(runs):
            if job.status in _GOOD_RUNS:
                break
            if job.status in _FAILED_RUNS:
                count, since = count + 1, _run_time(job)
                error = error or job.error
        return count, since, error

    def console_url(
        self, vendor: str, company_id: str | None, device_id: str | None, plan_id: str | None
    ) -> str | None:
        template = self.console_urls.get(vendor)
        if not template:
            return None
        from urllib.parse import quote

        try:
            return template.format(
                company_id=quote(company_id or "", safe=""),
                device_id=quote(device_id or "", safe=""),
                plan_id=quote(plan_id or "", safe=""),
            )
        except (KeyError, IndexError, ValueError):  # a plugin's template naming a field we do not have
            return None

    def alert(
        self,
        vendor: str,
        account: str,
        company_id: str | None,
        device_id: str | None,
        plan_id: str | None,
        problem: Health,
        reason: str,
        now: dt.datetime,
        *,
        last_success_at: dt.datetime | None = None,
        last_run_at: dt.datetime | None = None,
        device_name: str | None = None,
        plan_name: str | None = None,
        consecutive_failures: int | None = None,
        failing_since: dt.datetime | None = None,
    ) -> Alert:
        """The alert for one problem, with everything known about it.

        ``consecutive_failures`` and ``failing_since``: the health engine's streak of the verdict, when it has
        one. It also counts the runs without a time it placed (a last-run vendor's failed run, placed where the
        store first saw it), which the snapshot's runs cannot be ordered by: the longer streak is kept."""
        device = self.device(vendor, account, device_id)
        kind = device_kind(device)
        failures, since, vendor_reason = self.streak(vendor, account, device_id, plan_id)
        if consecutive_failures is not None and consecutive_failures > failures:
            failures, since = consecutive_failures, failing_since
        return Alert(
            key=Alert.make_key(vendor, account, company_id, device_id, plan_id, problem),
            vendor=vendor,
            account=account,
            company_id=company_id,
            device_id=device_id,
            plan_id=plan_id,
            problem=problem,
            severity=severity_for(problem, kind),
            reason=reason,
            first_seen=now,
            last_seen=now,
            customer=self.customer(vendor, account, company_id),
            company_name=self.company_name(vendor, account, company_id),
            device_name=device.name if device is not None else device_name,
            device_kind=kind,
            plan_name=plan_name or self.plan_name(vendor, account, plan_id),
            last_success_at=last_success_at,
            last_run_at=last_run_at,
            consecutive_failures=failures,
            failing_since=since,
            vendor_reason=vendor_reason,
            console_url=self.console_url(vendor, company_id, device_id, plan_id),
        )


def console_templates() -> dict[str, str]:
    """vendor -> the console-link template its registration carries (a ``console_url`` attribute of its
    ``Vendor``), for vendors that have one. No built-in vendor documents a console deep link, so today this is
    empty unless a plugin's vendor provides one."""
    from . import plugins

    found: dict[str, str] = {}
    for vendor in plugins.list_vendors():
        template = getattr(vendor, "console_url", None)
        if isinstance(template, str) and template.startswith("https://"):
            found[vendor.name] = template
    return found


def alerts_from(
    assessment: Assessment,
    now: dt.datetime,
    *,
    snapshot: Snapshot | None = None,
    customers: Mapping[tuple[str, str, str], str] | None = None,
    console_urls: Mapping[str, str] | None = None,
) -> list[Alert]:
    """Every problem of an assessment: each plan that is not OK, and each unhealthy device without plans.

    Accounts the assessment did not judge (``Assessment.incomplete``) give none. With the pass's ``snapshot``
    (and ``customers``, ``console_urls``: see ``ProblemContext``) each alert carries names, the device kind,
    the run streak and the customer; the key is the same either way."""
    context = ProblemContext(snapshot, customers=customers, console_urls=console_urls)
    found: dict[str, Alert] = {}
    for p in assessment.plans:
        if p.health is Health.OK or p.health is Health.UNKNOWN or not assessment.judged(p.vendor, p.account):
            continue
        alert = context.alert(
            p.vendor, p.account, p.company_id, p.device_id, p.plan_id, p.health, p.reason, now,
            last_success_at=p.last_success_at, last_run_at=p.last_run_at, plan_name=p.plan_name,
            consecutive_failures=p.consecutive_failures, failing_since=p.failing_since,
        )  # fmt: skip
        found[alert.key] = alert
    for d in assessment.devices:
        if d.plans or d.health is Health.OK or d.health is Health.UNKNOWN or not assessment.judged(d.vendor, d.account):
            continue
        alert = context.alert(
            d.vendor, d.account, d.company_id, d.device_id, None, d.health, d.reason, now,
            last_success_at=d.last_success_at, device_name=d.device_name,
            consecutive_failures=d.consecutive_failures, failing_since=d.failing_since,
        )  # fmt: skip
        found[alert.key] = alert
    return list(found.values())


@attrs.define
class SinkRetry:
    """How one sink's delivery of one event has gone: failed ``attempts`` times, not to be tried again before
    ``next_attempt_at``; ``permanent`` when the receiver refused it (a 4xx: a person fixes the configuration,
    and it is tried again every run)."""

    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    permanent: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "last_error": self.last_error,
            "permanent": self.permanent,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SinkRetry:
        attempts = data.get("attempts", 0)
        if not isinstance(attempts, int) or isinstance(attempts, bool):
            raise TypeError("attempts is not a number")
        return cls(
            attempts=attempts,
            next_attempt_at=_time(data, "next_attempt_at"),
            last_error=_text(data, "last_error"),
            permanent=bool(data.get("permanent", False)),
        )


@attrs.define
class Delivery:
    """An event in the outbox: ``event`` ("problem", "recovered" or "updated") of ``alert``, owed to ``pending``.

    ``retries`` records, per sink, the failed attempts and when the next may be made (the backoff)."""

    event: str
    alert: Alert
    pending: list[str]
    attempts: int = 0
    last_error: str | None = None
    retries: dict[str, SinkRetry] = attrs.field(factory=dict)

    @property
    def idempotency_key(self) -> str:
        """The same on every delivery of this event (every retry, every run), different for another event: the
        recovery of the problem, or the same problem opening again after it recovered (a new ``first_seen``)."""
        text = f"{self.event}|{self.alert.key}|{self.alert.first_seen.isoformat()}"
        if self.event == "updated":  # each piece of news is its own event: one note per new failure or escalation
            since = self.alert.failing_since.isoformat() if self.alert.failing_since else "-"
            text += f"|{self.alert.consecutive_failures}|{self.alert.severity}|{since}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        data = {
            "event": self.event,
            "alert": self.alert.to_json(),
            "pending": list(self.pending),
            "attempts": self.attempts,
            "last_error": self.last_error,
        }
        if self.retries:
            data["retries"] = {name: retry.to_json() for name, retry in sorted(self.retries.items())}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        event, pending = data["event"], data["pending"]
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        if not isinstance(pending, list) or not all(isinstance(name, str) for name in pending):
            raise TypeError("'pending' is not a list of plugin names")
        error = data.get("last_error")
        retries = data.get("retries", {})
        if not isinstance(retries, dict):
            raise TypeError("'retries' is not an object")
        return cls(
            event=event,
            alert=Alert.from_json(data["alert"]),
            pending=pending,
            attempts=int(data.get("attempts", 0)),
            last_error=None if error is None else str(error),
            retries={str(name): SinkRetry.from_json(value) for name, value in retries.items()},
        )


@attrs.frozen
class Receiver:
    """One plugin's alert hooks (``None`` where it implements no such hook)."""

    name: str
    problem: Callable[[Alert], object] | None = None
    recovered: Callable[[Alert], object] | None = None
    updated: Callable[[Alert], object] | None = None

    def hook(self, event: str) -> Callable[[Alert], object] | None:
        return {"problem": self.problem, "recovered": self.recovered, "updated": self.updated}.get(event)


@attrs.frozen(kw_only=True)
class DeliveryFailure:
    plugin: str
    event: str
    key: str
    error: str


@attrs.frozen(kw_only=True)
class DeliveryOutcome:
    """What one ``AlertState.deliver`` did: calls that worked, calls that raised, events still owed after it."""

    delivered: int = 0
    failures: tuple[DeliveryFailure, ...] = ()
    pending: int = 0
    absent: tuple[str, ...] = ()
    """Plugins owed events that were not loaded in this run (their events wait for them)."""


def _resolved(path: Path) -> Path:
    """The file a (possibly symlinked) state path names: written in place of the link, the link kept."""
    return Path(os.path.realpath(path))


def _make_parent(path: Path, target: Path) -> None:
    """Create the state file's directory, but only where the path itself points: a symlink is followed to its
    target, never to create directories there (a dangling link could name any place)."""
    if path.is_symlink():
        if not target.parent.is_dir():
            raise AlertStateError(f"alert state file {path} is a link into {target.parent}, which does not exist")
        return
    target.parent.mkdir(parents=True, exist_ok=True)


def _shape_error(path: Path, what: str) -> AlertStateError:
    return AlertStateError(
        f"alert state file {path} is not a backupbridge alert state ({what}); "
        "fix or move it away (its open alerts would be forgotten)"
    )


@attrs.define
class AlertState:
    """The open alerts and the outbox of undelivered events, persisted between passes.

    Use ``AlertState.locked(path)`` around load, delivery and save, so two runs on one file never deliver an
    alert twice; ``save`` writes atomically (fsync, rename, fsync of the directory) with mode 0600.
    """

    path: Path
    open: dict[str, Alert] = attrs.field(factory=dict)
    outbox: list[Delivery] = attrs.field(factory=list)

    @classmethod
    def load(cls, path: Path) -> AlertState:
        """The state in ``path`` (empty when the file does not exist).

        Raises:
            AlertStateError: the file cannot be read, is not JSON, or is not shaped like a state file.
        """
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would hang the run, a device never end
                raise AlertStateError(f"alert state file {path} is not a regular file")
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise AlertStateError(f"cannot read the alert state file {path}: {exc}") from exc
        try:
            data = json.loads(text)
        except RecursionError:
            raise _shape_error(path, "nested too deeply") from None
        except ValueError as exc:
            raise AlertStateError(f"alert state file {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise _shape_error(path, f"the top level is {type(data).__name__}, not an object")
        stored_open, stored_outbox = data.get("open", {}), data.get("outbox", [])
        if not isinstance(stored_open, dict) or not isinstance(stored_outbox, list):
            raise _shape_error(path, "'open' must be an object and 'outbox' a list")
        state = cls(path)
        for key, value in stored_open.items():
            try:
                alert = Alert.from_json(value)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
                raise _shape_error(path, f"open alert {str(key)[:80]!r}: {type(exc).__name__}: {exc}") from exc
            state.open[alert.key] = alert
        for index, value in enumerate(stored_outbox):
            try:
                state.outbox.append(Delivery.from_json(value))
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
                raise _shape_error(path, f"outbox entry {index}: {type(exc).__name__}: {exc}") from exc
        return state

    @classmethod
    @contextlib.contextmanager
    def locked(cls, path: Path, *, timeout: float = 120.0) -> Iterator[AlertState]:
        """The state, loaded under an exclusive lock on ``<file>.lock`` beside it, held until the block ends.

        Raises:
            AlertStateError: the lock was not obtained within ``timeout`` seconds, or the file is unreadable.
        """
        target = _resolved(Path(path))
        lock_path = target.with_name(target.name + ".lock")
        try:
            _make_parent(Path(path), target)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AlertStateError(f"cannot lock the alert state file {path}: {exc}") from exc
        try:
            if fcntl is not None:
                give_up = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= give_up:
                            raise AlertStateError(
                                f"alert state file {path} is locked by another run (waited {timeout:g} s)"
                            ) from None
                        time.sleep(0.02)
            yield cls.load(Path(path))
        finally:
            os.close(fd)  # releases the lock

    def save(self) -> None:
        """Write the state atomically to the file ``path`` names (through a symlink, to its target).

        Raises:
            AlertStateError: it could not be written (nothing is left behind: no temporary file).
        """
        target = _resolved(Path(self.path))
        payload = json.dumps(
            {
                "version": STATE_VERSION,
                "open": {k: a.to_json() for k, a in sorted(self.open.items())},
                "outbox": [d.to_json() for d in self.outbox],
            },
            indent=1,
        )
        tmp: str | None = None
        try:
            _make_parent(Path(self.path), target)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            tmp = None
            _fsync_directory(target.parent)
        except OSError as exc:
            raise AlertStateError(f"cannot write the alert state file {self.path}: {exc}") from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def enqueue(
        self,
        opened: Iterable[Alert],
        recovered: Iterable[Alert],
        receivers: Iterable[Receiver],
        *,
        sinks: Iterable[str] = (),
        updated: Iterable[Alert] = (),
    ) -> int:
        """Queue ``problem`` events for ``opened``, ``recovered`` events for ``recovered`` and ``updated`` events
        for ``updated``, each owed to every receiver with that hook (``backup_updated`` for ``updated``: a plugin
        without it is owed none) and to every sink named in ``sinks`` (``Sink.name``). Returns how many events
        were queued."""
        chosen = list(receivers)
        sink_names = list(sinks)
        queued = 0
        for event, alerts in (("problem", opened), ("recovered", recovered), ("updated", updated)):
            names = [r.name for r in chosen if r.hook(event) is not None] + sink_names
            for alert in alerts:
                if names:
                    self.outbox.append(Delivery(event=event, alert=alert, pending=list(names)))
                    queued += 1
        return queued

    # The outbox as sinks see it (backupbridge.sinks.Outbox): the history store implements the same three.
    def owed(self, name: str) -> list[Delivery]:
        """The events still owed to ``name``, oldest first."""
        return [entry for entry in self.outbox if name in entry.pending]

    def mark_delivered(self, entry: Delivery, name: str) -> None:
        if name in entry.pending:
            entry.pending.remove(name)
        entry.retries.pop(name, None)
        self.outbox = [e for e in self.outbox if e.pending]

    def mark_failed(self, entry: Delivery, name: str, retry: SinkRetry) -> None:
        entry.attempts += 1
        entry.last_error = retry.last_error
        entry.retries[name] = retry

    def deliver(self, receivers: Iterable[Receiver], *, sinks: Container[str] = ()) -> DeliveryOutcome:
        """Call each receiver for each event it is owed, in order, each call on its own.

        A call that raises is logged (redacted) and counted; the event stays owed to that plugin, and later
        events of the same alert wait behind it (a recovery never overtakes its problem). Events owed to a
        plugin not loaded this run stay queued for it. Names in ``sinks`` are delivered by
        ``backupbridge.sinks.deliver_to_sinks``, not here, and are not reported absent."""
        from .redaction import redact

        by_name = {r.name: r for r in receivers}
        delivered, failures = 0, []
        blocked: set[tuple[str, str]] = set()
        for entry in self.outbox:
            for name in list(entry.pending):
                receiver = by_name.get(name)
                hook = receiver.hook(entry.event) if receiver is not None else None
                if hook is None or (name, entry.alert.key) in blocked:
                    continue
                entry.attempts += 1
                try:
                    hook(entry.alert)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # one plugin's failure is its own, never the run's (GeneratorExit too)
                    message = redact(f"{type(exc).__name__}: {exc}")
                    entry.last_error = message[:500]
                    blocked.add((name, entry.alert.key))
                    failures.append(DeliveryFailure(plugin=name, event=entry.event, key=entry.alert.key, error=message))
                    log.warning("alert %s %s not delivered to %s: %s", entry.event, entry.alert.key, name, message)
                else:
                    entry.pending.remove(name)
                    delivered += 1
        self.outbox = [entry for entry in self.outbox if entry.pending]
        absent = sorted(
            {name for entry in self.outbox for name in entry.pending if name not in by_name and name not in sinks}
        )
        return DeliveryOutcome(
            delivered=delivered,
            failures=tuple(failures),
            pending=sum(len(e.pending) for e in self.outbox),
            absent=tuple(absent),
        )


class AlertBackend(Protocol):
    """Where the open problems and the outbox of deliveries live between passes: ``AlertState`` (a JSON file)
    or ``backupbridge.store.alerts.StoreAlertState`` (the history store). ``reconcile_events`` reads and
    updates ``open``; ``backupbridge.sinks.deliver_alerts`` queues, saves and delivers through the rest."""

    @property
    def open(self) -> dict[str, Alert]:
        """The open problems by key; ``reconcile_events`` updates it in place, ``save`` keeps it."""

    @property
    def outbox(self) -> list[Delivery]:
        """The events still owed, oldest first, each with the names it is still owed to."""

    def enqueue(
        self,
        opened: Iterable[Alert],
        recovered: Iterable[Alert],
        receivers: Iterable[Receiver],
        *,
        sinks: Iterable[str] = (),
        updated: Iterable[Alert] = (),
    ) -> int:
        """Queue this pass's events for every receiver and sink; how many were queued."""

    def save(self) -> None:
        """Keep the open problems and the queued events (and give back what this run holds but did not
        deliver)."""

    def deliver(self, receivers: Iterable[Receiver], *, sinks: Container[str] = ()) -> DeliveryOutcome:
        """Call each plugin receiver for each event it is owed (see ``AlertState.deliver``)."""

    def owed(self, name: str) -> list[Delivery]:
        """The events still owed to ``name``, oldest first (the sinks' ``Outbox``)."""

    def mark_delivered(self, entry: Delivery, name: str) -> None:
        """``name`` has ``entry``: it is owed no more."""

    def mark_failed(self, entry: Delivery, name: str, retry: SinkRetry) -> None:
        """``name`` failed ``entry``; keep it, with ``retry`` recorded."""


@contextlib.contextmanager
def open_alert_state(
    state_file: Path | None = None, *, store: Store | None = None, timeout: float = 120.0
) -> Iterator[AlertBackend]:
    """The alert state of a pass, held for the block: the JSON file, or the store when one is given.

    Without ``store``: ``AlertState.locked(state_file)`` (the file, locked across load, delivery and save).
    With ``store``: the store's open problems and outbox (``StoreAlertState.locked``); ``state_file``, if it
    exists and was never imported into this store, is imported first (in the same transaction), and is left
    alone from then on.

    Raises:
        AlertStateError: the state file cannot be read, locked, or is not an alert state (nothing imported).
        StoreError: the store cannot be used now (locked, unreachable); nothing was written.
    """
    if store is None:
        if state_file is None:
            raise ValueError("open_alert_state needs a state file or a store")
        with AlertState.locked(state_file, timeout=timeout) as state:
            yield state
        return
    from .store.alerts import StoreAlertState

    with StoreAlertState.locked(store, import_file=state_file, timeout=timeout) as stored:
        yield stored


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


@attrs.frozen
class Changes:
    """What one pass changed (``reconcile_events``): alerts ``opened``, ``recovered``, and ``updated``: still
    open, with news since the state's last view of them (a new failed run or a higher severity)."""

    opened: list[Alert]
    recovered: list[Alert]
    updated: list[Alert]


def _rank(severity: str) -> int:
    return _LEVELS.index(severity) if severity in _LEVELS else -1


def has_news(previous: Alert, alert: Alert) -> bool:
    """Whether ``alert`` (this pass) says more than ``previous`` (the state's last view of the same key): more
    consecutive failures (a new failed run), a new failure streak (a later ``failing_since``: it succeeded and
    failed again between two passes), or a higher severity (escalation). A re-run that saw nothing new, or
    fewer failures, is no news."""
    if _rank(alert.severity) > _rank(previous.severity):
        return True
    if alert.consecutive_failures > previous.consecutive_failures:
        return True
    return (
        alert.consecutive_failures > 0
        and alert.failing_since is not None
        and previous.failing_since is not None
        and alert.failing_since > previous.failing_since
    )


def reconcile(
    state: AlertBackend,
    current: Iterable[Alert],
    *,
    scope: Iterable[tuple[str, str]] | None = None,
    incomplete: Iterable[tuple[str, str]] = (),
    companies: Container[tuple[str, str, str | None]] | None = None,
) -> tuple[list[Alert], list[Alert]]:
    """Update ``state`` with this pass; returns ``(opened, recovered)`` (``reconcile_events`` has the updated
    alerts too; this keeps the old return shape)."""
    changes = reconcile_events(state, current, scope=scope, incomplete=incomplete, companies=companies)
    return changes.opened, changes.recovered


def reconcile_events(
    state: AlertBackend,
    current: Iterable[Alert],
    *,
    scope: Iterable[tuple[str, str]] | None = None,
    incomplete: Iterable[tuple[str, str]] = (),
    companies: Container[tuple[str, str, str | None]] | None = None,
) -> Changes:
    """Update ``state`` with this pass; returns the alerts opened, recovered and updated (``has_news``).

    ``scope``: the ``(vendor, account)`` pairs this pass actually saw. Alerts of accounts outside it (an
    account that failed to answer) are kept open, not recovered: silence is not health.
    ``incomplete``: accounts seen but not judged (``Assessment.incomplete``: a listing failed). Their alerts
    neither open nor recover, and stay as they were.
    ``companies``: when the pass looked at some companies only (``report --company``), the
    ``(vendor, account, company_id)`` it covered: alerts of every other company are left as they were.
    """
    skipped = set(incomplete)
    seen = set(scope) - skipped if scope is not None else None

    def covered(alert: Alert) -> bool:
        return companies is None or (alert.vendor, alert.account, alert.company_id) in companies

    now_open = {a.key: a for a in current if (a.vendor, a.account) not in skipped and covered(a)}
    opened = [a for key, a in now_open.items() if key not in state.open]
    updated = [a for key, a in now_open.items() if key in state.open and has_news(state.open[key], a)]
    recovered = [
        a
        for key, a in state.open.items()
        if key not in now_open
        and (a.vendor, a.account) not in skipped
        and (seen is None or (a.vendor, a.account) in seen)
        and covered(a)
    ]
    for alert in recovered:
        del state.open[alert.key]
    for key, alert in now_open.items():
        previous = state.open.get(key)
        state.open[key] = attrs.evolve(alert, first_seen=previous.first_seen) if previous else alert
    updated = [state.open[a.key] for a in updated]  # with their first_seen kept, as the state holds them
    return Changes(opened, recovered, updated)


def hook_receivers(pm: pluggy.PluginManager, *, only: Container[str] | None = None) -> list[Receiver]:
    """Every plugin implementing ``backup_problem``, ``backup_recovered`` or ``backup_updated`` (or those named
    in ``only``)."""
    found: dict[str, dict[str, Callable[[Alert], object]]] = {}
    for event, caller in (
        ("problem", pm.hook.backup_problem),
        ("recovered", pm.hook.backup_recovered),
        ("updated", pm.hook.backup_updated),
    ):
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper or (only is not None and impl.plugin_name not in only):
                continue
            found.setdefault(impl.plugin_name, {})[event] = _bound(impl.function, impl.argnames)
    return [
        Receiver(name, hooks.get("problem"), hooks.get("recovered"), hooks.get("updated"))
        for name, hooks in found.items()
    ]


def _bound(function: Callable[..., object], argnames: tuple[str, ...]) -> Callable[[Alert], object]:
    # pluggy passes a hook implementation only the arguments it names.
    def call(alert: Alert) -> object:
        return function(**{name: alert for name in argnames if name == "alert"})

    return call


class NdjsonAlertSink:
    """The built-in sink: one JSON line per event (``{"event": "problem" | "recovered" | "updated", ...alert}``)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _write(self, event: str, alert: Alert) -> None:
        self.stream.write(json.dumps({"event": event, **alert.to_json()}) + "\n")
        self.stream.flush()

    @hookimpl
    def backup_problem(self, alert: Alert) -> None:
        self._write("problem", alert)

    @hookimpl
    def backup_recovered(self, alert: Alert) -> None:
        self._write("recovered", alert)

    @hookimpl
    def backup_updated(self, alert: Alert) -> None:
        self._write("updated", alert)
