"""Alerts for PSA/RMM integrations: one per problem, opened once, closed on recovery.

Each unhealthy plan (or device without plans) is an ``Alert`` with a stable dedupe key
``vendor|account|company|device|plan|problem`` and a severity. ``reconcile`` compares this pass with the
previous one (kept in a small JSON state file) and fires the ``backup_problem`` hook for new problems and
``backup_recovered`` for the ones that are gone, so a ticketing plugin opens one ticket per problem and
closes it when it recovers. A problem that changes kind (FAILED -> MISSED) recovers and opens anew.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import attrs

from .exporters import record_to_dict
from .health import Assessment, Health
from .hookspecs import hookimpl

__all__ = ["SEVERITY", "Alert", "AlertState", "NdjsonAlertSink", "alerts_from", "reconcile"]

SEVERITY: Mapping[Health, str] = {
    Health.FAILED: "critical",
    Health.MISSED: "high",
    Health.OVERDUE: "high",
    Health.NEVER_RUN: "medium",
    Health.WARNING: "low",
    Health.UNKNOWN: "info",
}


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

    @staticmethod
    def make_key(
        vendor: str, account: str, company: str | None, device: str | None, plan: str | None, problem: Health
    ) -> str:
        return "|".join((vendor, account, company or "-", device or "-", plan or "-", problem.value))

    def to_json(self) -> dict[str, Any]:
        return record_to_dict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Alert:
        return cls(
            key=data["key"],
            vendor=data["vendor"],
            account=data["account"],
            company_id=data.get("company_id"),
            device_id=data.get("device_id"),
            plan_id=data.get("plan_id"),
            problem=Health(data["problem"]),
            severity=data["severity"],
            reason=data.get("reason", ""),
            first_seen=dt.datetime.fromisoformat(data["first_seen"]),
            last_seen=dt.datetime.fromisoformat(data["last_seen"]),
        )


def alerts_from(assessment: Assessment, now: dt.datetime) -> list[Alert]:
    """Every problem of an assessment: each plan that is not OK, and each unhealthy device without plans."""
    found: dict[str, Alert] = {}
    items: list[tuple[str, str, str | None, str | None, str | None, Health, str]] = [
        (p.vendor, p.account, p.company_id, p.device_id, p.plan_id, p.health, p.reason) for p in assessment.plans
    ]
    items += [
        (d.vendor, d.account, d.company_id, d.device_id, None, d.health, d.reason)
        for d in assessment.devices
        if not d.plans
    ]
    for vendor, account, company, device, plan, health, reason in items:
        if health is Health.OK or health is Health.UNKNOWN:
            continue
        key = Alert.make_key(vendor, account, company, device, plan, health)
        found[key] = Alert(
            key=key,
            vendor=vendor,
            account=account,
            company_id=company,
            device_id=device,
            plan_id=plan,
            problem=health,
            severity=SEVERITY[health],
            reason=reason,
            first_seen=now,
            last_seen=now,
        )
    return list(found.values())


@attrs.define
class AlertState:
    """The open alerts, persisted between passes (written atomically)."""

    path: Path
    open: dict[str, Alert] = attrs.field(factory=dict)

    @classmethod
    def load(cls, path: Path) -> AlertState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            from .errors import ConfigurationError

            raise ConfigurationError(f"cannot read the alert state {path}: {exc}") from exc
        return cls(path, {key: Alert.from_json(value) for key, value in data.get("open", {}).items()})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"open": {k: a.to_json() for k, a in sorted(self.open.items())}}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".alerts-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(tmp, self.path)


def reconcile(
    state: AlertState, current: Iterable[Alert], *, scope: Iterable[tuple[str, str]] | None = None
) -> tuple[list[Alert], list[Alert]]:
    """Update ``state`` with this pass; returns ``(opened, recovered)``.

    ``scope``: the ``(vendor, account)`` pairs this pass actually saw. Alerts of accounts outside it (an
    account that failed to answer) are kept open, not recovered: silence is not health.
    """
    seen = set(scope) if scope is not None else None
    now_open = {a.key: a for a in current}
    opened = [a for key, a in now_open.items() if key not in state.open]
    recovered = [
        a for key, a in state.open.items() if key not in now_open and (seen is None or (a.vendor, a.account) in seen)
    ]
    for alert in recovered:
        del state.open[alert.key]
    for key, alert in now_open.items():
        previous = state.open.get(key)
        state.open[key] = attrs.evolve(alert, first_seen=previous.first_seen) if previous else alert
    return opened, recovered


class NdjsonAlertSink:
    """The built-in sink: one JSON line per event (``{"event": "problem" | "recovered", ...alert}``)."""

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
