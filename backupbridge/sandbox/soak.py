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
from collections.abc import Sequence
from typing import Any

import attrs

from ..bridge import Bridge
from ..errors import BackupBridgeError
from ..http import RetryPolicy
from ..vendors import Simulator
from .faults import PAGING_FAULTS, FaultKind, Faults, PagingFault

__all__ = ["SoakResult", "ground_truth", "run_soak", "secrets_of"]


def ground_truth(vendor: str, simulator: Simulator) -> set[str]:
    """The ids of every device ``simulator`` holds, as it declares them (``vendor`` names it in messages)."""
    return set(simulator.device_ids())


def secrets_of(simulator: Simulator) -> set[str]:
    """Every secret a simulator declares: its credentials, and the tokens and session cookies it minted
    (only those long enough to be looked for in text)."""
    return {s for s in simulator.secrets() if isinstance(s, str) and len(s) >= 6}


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
    shortened: int = 0
    false_recoveries: int = 0
    false_opens: int = 0
    partly_failed_accounts: int = 0
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
            or self.shortened
            or self.false_recoveries
            or self.false_opens
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
            "silently_shortened": self.shortened,
            "false_recoveries": self.false_recoveries,
            "false_opens": self.false_opens,
            "partly_failed_accounts": self.partly_failed_accounts,
            "failed_accounts": self.failed_accounts,
            "typed_failures": self.typed_failures,
            "untyped_errors": self.untyped_errors,
            "failures_missing_context": self.failures_missing_context,
            "leaks": self.leaks,
        }


_LISTINGS = ("companies", "devices", "plans", "jobs")


def _ids_by_account(snapshot: Any) -> dict[tuple[str, str], dict[str, list[str]]]:
    """``{(vendor, account): {listing: [record ids, in order]}}`` of a snapshot."""
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    for listing in _LISTINGS:
        for record in getattr(snapshot, listing):
            found.setdefault((record.vendor, record.account), {name: [] for name in _LISTINGS})[listing].append(
                record.id
            )
    return found


def _unknown_jobs(snapshot: Any) -> set[tuple[str, str, str]]:
    from ..models import JobStatus

    return {(j.vendor, j.account, j.id) for j in snapshot.jobs if j.status is JobStatus.UNKNOWN}


def _check_alerts(result: SoakResult, clean: Any, outcome: Any, *, comparable: set[tuple[str, str]]) -> None:
    """Yesterday's alerts come from the fault-free pass; today's pass under faults must neither recover nor
    open any of them, since nothing really changed: a listing that failed is no news, never health."""
    from pathlib import Path

    from ..alerts import AlertState, alerts_from, reconcile
    from ..health import assess

    def pass_of(snapshot: Any) -> tuple[list[Any], Any]:
        assessment = assess(
            snapshot.devices,
            snapshot.plans,
            snapshot.jobs,
            now=snapshot.clocks,
            timezones=snapshot.timezones,
            incomplete=snapshot.incomplete,
        )
        now = max(snapshot.clocks.values()) if snapshot.clocks else None
        alerts = alerts_from(assessment, now) if now else []
        return [a for a in alerts if (a.vendor, a.account) in comparable], assessment

    state = AlertState(Path("soak-state-is-never-saved.json"))
    yesterday, assessment = pass_of(clean)
    reconcile(state, yesterday, scope=clean.clocks.keys(), incomplete=assessment.incomplete)
    today, assessment = pass_of(outcome)
    opened, recovered = reconcile(
        state, today, scope=[k for k in outcome.clocks if k in comparable], incomplete=assessment.incomplete
    )
    result.false_recoveries += len(recovered)
    result.false_opens += len(opened)
    for alert in [*recovered, *opened]:
        kind = "recovered" if alert in recovered else "opened"
        result.problems.append(f"{alert.vendor}/{alert.account}: alert {alert.key} {kind} though nothing changed")


def run_soak(
    *,
    vendors: Sequence[str] | None = None,
    accounts_per_vendor: int = 2,
    size: int = 30,
    rate: float = 0.1,
    rounds: int = 1,
    seed: int = 0,
    kinds: Sequence[FaultKind | PagingFault] = (*FaultKind, *PAGING_FAULTS),
) -> SoakResult:
    """Inventory every simulated account ``rounds`` times with ``rate`` of requests meeting a fault.

    The truth is the same simulators read once without faults: every listing (companies, devices, plans,
    runs) of an account that did not fail must hold exactly the records of the fault-free pass, and a
    listing that failed must be reported as failed, never returned short. Only the requests of the faulty
    pass are counted.
    """
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
    retry = RetryPolicy(attempts=6, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
    try:
        for round_number in range(rounds):
            tenants = sandbox_tenants(
                vendors, accounts_per_vendor=accounts_per_vendor, seed=seed + round_number, size=size
            )
            clean_connections = [
                connect_sandbox(vendor, simulator=sim, account=account, retry=retry) for vendor, account, sim in tenants
            ]
            with Bridge(clean_connections, max_workers=4) as bridge:
                clean = bridge.snapshot()
            for failure in clean.failures:  # the truth itself must be whole
                result.problems.append(
                    f"the fault-free pass failed: {failure.vendor}/{failure.account}: {failure.error}"
                )
                result.unexpected += 1
            truth = _ids_by_account(clean)
            connections = []
            for index, (vendor, account, sim) in enumerate(tenants):
                faults = Faults(rate=rate, kinds=tuple(kinds), seed=seed * 7919 + round_number * 101 + index)
                connections.append(connect_sandbox(vendor, simulator=sim, account=account, faults=faults, retry=retry))
            with Bridge(connections, max_workers=4) as bridge:
                outcome = bridge.snapshot()
            result.accounts += len(tenants)
            got_all = _ids_by_account(outcome)
            unknown_jobs = _unknown_jobs(outcome)
            failed_listings: dict[tuple[str, str], set[str]] = {}
            untyped: set[tuple[str, str]] = set()
            for failure in outcome.failures:
                key = (failure.vendor, failure.account)
                failed_listings.setdefault(key, set()).add(failure.operation.removeprefix("list_"))
                error = failure.error
                if not isinstance(error, BackupBridgeError):  # pragma: no cover - the Bridge wraps everything
                    untyped.add(key)
                    continue
                if not (error.vendor == failure.vendor and error.account == failure.account and error.operation):
                    result.failures_missing_context += 1
                    result.problems.append(f"{key}: failure without context: {error!r}")
            # Counted per account (an account may fail several listings): typed when all its failures are.
            result.failed_accounts += len(failed_listings)
            result.partly_failed_accounts += sum(
                1 for failed in failed_listings.values() if "snapshot" not in failed and len(failed) < len(_LISTINGS)
            )
            altered: set[tuple[str, str]] = set()
            result.untyped_errors += len(untyped)
            result.typed_failures += len(failed_listings) - len(untyped)
            for conn, (vendor, account, _) in zip(connections, tenants, strict=True):
                transport = conn.transport
                result.requests += transport.requests
                result.faults.update(kind.value for kind in transport.faults_injected.elements())
                key = (vendor, account)
                if transport.faults_injected[FaultKind.UNKNOWN_ENUM]:
                    altered.add(key)  # its data differ from the truth on purpose: verdicts may differ too
                failed = failed_listings.get(key, set())
                expected = truth.get(key, {name: [] for name in _LISTINGS})
                got = got_all.get(key, {name: [] for name in _LISTINGS})
                for listing in _LISTINGS:
                    want, have = expected[listing], got[listing]
                    if "snapshot" in failed or listing in failed:
                        # A failed listing contributes nothing: records of it would be a silently short list.
                        if have:
                            result.shortened += 1
                            result.problems.append(f"{key}: {listing} failed but returned {len(have)} records")
                        continue
                    result.records_checked += len(have)
                    duplicated = len(have) - len(set(have))
                    lost = len(set(want) - set(have))
                    extra = {i for i in set(have) - set(want) if not (listing == "jobs" and (*key, i) in unknown_jobs)}
                    result.duplicated += duplicated
                    result.lost += lost
                    result.unexpected += len(extra)
                    if lost:
                        result.shortened += 1
                    if duplicated or lost or extra:
                        result.problems.append(
                            f"{vendor}/{account} {listing}: {lost} lost, {duplicated} duplicated, {len(extra)} "
                            f"unexpected ({len(have)} of {len(want)})"
                        )
            _check_alerts(result, clean, outcome, comparable={key for key in truth if key not in altered})
            texts = [log_stream.getvalue()] + [f"{f.error!s} {f.error!r} {vars(f.error)}" for f in outcome.failures]
            for _, _, sim in tenants:
                for secret in secrets_of(sim):
                    leaked = sum(text.count(secret) for text in texts)
                    result.leaks += leaked
                    if leaked:
                        result.problems.append(f"a secret of {sim!r} leaked {leaked} times")
            for conn in [*clean_connections, *connections]:
                conn.close()
    finally:
        for logger, level in zip(watched, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    return result
