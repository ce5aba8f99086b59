"""Soak: a full inventory through the Bridge under injected faults, checked against the simulators' truth.

For every simulated account, the devices the Bridge returned must equal the simulator's own table: none
lost, none duplicated. An account may fail instead (a malformed body is not retried), but then its failure
must be a typed ``BackupBridgeError`` naming the vendor, the account and the operation. Secrets (keys,
passwords, minted tokens, session cookies) must appear in no error and no log line.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..bridge import Bridge
from ..errors import BackupBridgeError
from ..http import RetryPolicy
from .faults import FaultKind, Faults

__all__ = ["SoakResult", "ground_truth", "run_soak", "secrets_of"]

# Each vendor's simulator, and how to read the ids of its devices (the ground truth) off it.
GROUND_TRUTH: Mapping[str, Callable[[Any], set[str]]] = {
    "idrive360": lambda sim: set(sim.devices),
    "cleverfox": lambda sim: {str(k) for k in sim.tables["devices"]},
    "managedbackup": lambda sim: set(sim.computers),
    "vprotect": lambda sim: set(sim.vms),
}


def _mb_run_ids(sim: Any) -> set[str]:
    import datetime as dt

    ids = set()
    for plans in sim.plans.values():
        for plan in plans:
            started = plan["LastStart"]
            when = dt.datetime.fromisoformat(started).replace(tzinfo=dt.UTC).isoformat() if started else "never"
            ids.add(f"{plan['Id']}:{when}")
    return ids


# The runs (neutral job ids) each simulator must yield, and those it may yield: a vProtect task in a state the
# client cannot read is kept as an UNKNOWN run rather than dropped, so finished tasks are allowed, not required.
JOB_TRUTH: Mapping[str, Callable[[Any], tuple[set[str], set[str]]]] = {
    "idrive360": lambda sim: (
        ids := {f"{k}:last" for k, d in sim.devices.items() if d["backup_status"] or d["last_backup"]},
        ids,
    ),
    "cleverfox": lambda sim: (ids := {str(k) for k in sim.tables["logs"]}, ids),
    "managedbackup": lambda sim: (ids := _mb_run_ids(sim), ids),
    "vprotect": lambda sim: (
        set(sim.backups) | {f"task:{k}" for k, t in sim.tasks.items() if t["state"]["name"] != "FINISHED"},
        set(sim.backups) | {f"task:{k}" for k in sim.tasks},
    ),
}


def ground_truth(vendor: str, simulator: Any) -> set[str]:
    return GROUND_TRUTH[vendor](simulator)


def secrets_of(simulator: Any) -> set[str]:
    """Every secret a simulator knows: its credentials, and the tokens and session cookies it minted."""
    found = {str(v) for k, v in simulator.credentials.items() if k in ("api_key", "password")}
    found |= {t for t in getattr(simulator, "tokens", {}) or {} if isinstance(t, str)}
    found |= set(getattr(simulator, "sessions", {}) or {})
    return {s for s in found if isinstance(s, str) and len(s) >= 6}


@attrs.define
class SoakResult:
    """The figures of one soak run."""

    accounts: int = 0
    requests: int = 0
    faults: Counter[str] = attrs.field(factory=Counter)
    records_checked: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    failed_accounts: int = 0
    typed_failures: int = 0
    untyped_errors: int = 0
    failures_missing_context: int = 0
    leaks: int = 0
    problems: list[str] = attrs.field(factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.unexpected
            or self.untyped_errors
            or self.failures_missing_context
            or self.leaks
        )

    def add(self, other: SoakResult) -> None:
        """Add another run's figures to these (the counts summed, the faults and problems merged)."""
        for field in attrs.fields(SoakResult):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            elif isinstance(mine, list):
                mine.extend(theirs)
            else:
                setattr(self, field.name, mine + theirs)

    def summary(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "requests": self.requests,
            "faults_injected": dict(sorted(self.faults.items())),
            "faults_total": sum(self.faults.values()),
            "records_checked": self.records_checked,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "unexpected": self.unexpected,
            "failed_accounts": self.failed_accounts,
            "typed_failures": self.typed_failures,
            "untyped_errors": self.untyped_errors,
            "failures_missing_context": self.failures_missing_context,
            "leaks": self.leaks,
        }


def run_soak(
    *,
    vendors: Sequence[str] | None = None,
    accounts_per_vendor: int = 2,
    size: int = 30,
    rate: float = 0.1,
    rounds: int = 1,
    seed: int = 0,
    kinds: Sequence[FaultKind] = tuple(FaultKind),
) -> SoakResult:
    """Inventory every simulated account ``rounds`` times with ``rate`` of requests meeting a fault."""
    from . import connect_sandbox, sandbox_tenants

    result = SoakResult()
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    handler.setLevel(logging.DEBUG)
    watched = [logging.getLogger(name) for name in ("backupbridge", "backupbridge.http", "httpx", "stamina")]
    levels = [logger.level for logger in watched]
    for logger in watched:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        for round_number in range(rounds):
            tenants = sandbox_tenants(
                vendors, accounts_per_vendor=accounts_per_vendor, seed=seed + round_number, size=size
            )
            connections = []
            for index, (vendor, account, sim) in enumerate(tenants):
                faults = Faults(rate=rate, kinds=tuple(kinds), seed=seed * 7919 + round_number * 101 + index)
                connections.append(
                    connect_sandbox(
                        vendor,
                        simulator=sim,
                        account=account,
                        faults=faults,
                        retry=RetryPolicy(attempts=6, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0),
                    )
                )
            with Bridge(connections, max_workers=4) as bridge:
                outcome = bridge.snapshot()
            result.accounts += len(tenants)
            failed: dict[tuple[str, str], Any] = {}
            for failure in outcome.failures:
                failed.setdefault((failure.vendor, failure.account), failure)
            for conn, (vendor, account, sim) in zip(connections, tenants, strict=True):
                transport = conn.transport  # type: ignore[attr-defined]
                result.requests += transport.requests
                result.faults.update(kind.value for kind in transport.faults_injected.elements())
                found_failure = failed.get((vendor, account))
                if found_failure is not None:
                    failure = found_failure
                    result.failed_accounts += 1
                    if isinstance(failure.error, BackupBridgeError):
                        result.typed_failures += 1
                    else:  # pragma: no cover - the Bridge wraps everything; this would be a bug
                        result.untyped_errors += 1
                    error = failure.error
                    if not (error.vendor == vendor and error.account == account and error.operation):
                        result.failures_missing_context += 1
                        result.problems.append(f"{vendor}/{account}: failure without context: {error!r}")
                    continue
                got = [d.id for d in outcome.devices if (d.vendor, d.account) == (vendor, account)]
                truth = ground_truth(vendor, sim)
                jobs = [j.id for j in outcome.jobs if (j.vendor, j.account) == (vendor, account)]
                required, allowed = JOB_TRUTH[vendor](sim)
                result.records_checked += len(got) + len(jobs)
                duplicated = len(got) - len(set(got)) + len(jobs) - len(set(jobs))
                lost = len(truth - set(got)) + len(required - set(jobs))
                unexpected = len(set(got) - truth) + len(set(jobs) - allowed)
                result.duplicated += duplicated
                result.lost += lost
                result.unexpected += unexpected
                if duplicated or lost or unexpected:
                    result.problems.append(
                        f"{vendor}/{account}: {lost} lost, {duplicated} duplicated, {unexpected} unexpected "
                        f"(devices {len(got)}/{len(truth)}, runs {len(jobs)}/{len(required)})"
                    )
            texts = [log_stream.getvalue()] + [f"{f.error!s} {f.error!r} {vars(f.error)}" for f in outcome.failures]
            for _, _, sim in tenants:
                for secret in secrets_of(sim):
                    leaked = sum(text.count(secret) for text in texts)
                    result.leaks += leaked
                    if leaked:
                        result.problems.append(f"a secret of {sim!r} leaked {leaked} times")
            for conn in connections:
                conn.close()
    finally:
        for logger, level in zip(watched, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    return result
