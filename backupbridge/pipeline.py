"""The report pipeline: from a Bridge and a policy to a report, recorded in the store and reconciled into alerts.

    from backupbridge.bridge import Bridge
    from backupbridge.health import HealthPolicy
    from backupbridge.pipeline import AlertOptions, run_report

    with Bridge.sandbox(seed=7) as bridge:
        run = run_report(bridge, HealthPolicy(), store=None, alerts=None)
    print(run.report.totals, run.ok)

One pass, in this order: open the store (when one is given) -> snapshot every account -> cut to ``companies``
-> judge (``health.assess``) -> build the report -> ``emit(report)`` (the CLI prints it here) -> record the pass
into the store (``store.record_snapshot(..., source="report")``) -> reconcile and deliver the alerts (hooks,
configured sinks, ``--alerts-ndjson``). ``backupbridge report`` is this call plus option parsing and printing.

**The report comes first.** Whatever fails after it (the store is locked, unreachable or of a newer schema;
the alert state file is corrupt; a plugin raises), the report has been emitted; each such failure is one line
in ``ReportRun.messages`` and makes ``ReportRun.ok`` false. A store that cannot be opened costs the recording
(and the alerts that live in it), never the report. ``from_store=True`` builds the report from the store's
last run of each account (``store.stored.stored_snapshot``) without any vendor request; there a store that
cannot be read is an error (``StoreError``), since there is nothing else to report from.

docs/report.md describes each step and its options.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import attrs

from .bridge import Snapshot
from .errors import BackupBridgeError, ValidationError
from .health import Assessment, HealthPolicy, assess_snapshot

if TYPE_CHECKING:
    from .alerts import Alert
    from .bridge import Bridge
    from .customers import CustomerMap
    from .health import RunHistory
    from .report import Report
    from .store import RunRecord, Store

__all__ = ["AlertOptions", "ReportRun", "UnknownCompanyError", "only_companies", "reconcile_alerts", "run_report"]

log = logging.getLogger("backupbridge.pipeline")

StoreOpener = Callable[[], "Store"]


class UnknownCompanyError(ValidationError):
    """``companies`` names no company of an account that answered (the CLI's ``--company``)."""


@attrs.frozen(kw_only=True)
class AlertOptions:
    """How the pass's alerts are reconciled and delivered.

    Attributes:
        state_file: the JSON file the open alerts and the outbox live in (``--state-file``). None: the default
            file in the platform's state directory (``sandbox-alerts.json`` for a sandbox run).
        ndjson: append one JSON line per event to this file (the built-in sink, ``--alerts-ndjson``).
        sandbox: simulated problems: delivered to the built-in sink only, unless ``deliver_to_plugins``.
        deliver_to_plugins: with ``sandbox``, deliver to the installed alert plugins and configured sinks too
            (``report --sandbox --alerts``). Real runs always do.
    """

    state_file: Path | None = None
    ndjson: Path | None = None
    sandbox: bool = False
    deliver_to_plugins: bool = False


@attrs.frozen(kw_only=True)
class ReportRun:
    """What ``run_report`` did.

    Attributes:
        report: the report (what ``emit`` received).
        snapshot / assessment: what it was built from (cut to ``companies``).
        recorded: the run written into the store (None: no store, ``record=False``, or the store failed).
        messages: one line each, for stderr, in order: failed accounts, the store, customers, alerts.
        store_ok / alerts_ok: False when the store / the alerts failed (their line is in ``messages``).
    """

    report: Report
    snapshot: Snapshot
    assessment: Assessment
    recorded: RunRecord | None = None
    messages: tuple[str, ...] = ()
    store_ok: bool = True
    alerts_ok: bool = True

    @property
    def ok(self) -> bool:
        """No account failed, and the store and the alerts did their part."""
        return not self.report.failures and self.store_ok and self.alerts_ok


def only_companies(snapshot: Snapshot, wanted: Sequence[str]) -> Snapshot:
    """The snapshot cut to the companies named by id or name (case-insensitive), their devices, plans and
    runs; the failures stay.

    Raises:
        UnknownCompanyError: no name matched a company, and every account answered.
    """
    import difflib

    folded = {w.casefold() for w in wanted}
    keep = {(c.vendor, c.account, c.id) for c in snapshot.companies if c.id in wanted or c.name.casefold() in folded}
    if not keep and not snapshot.failures:
        names = sorted({c.name for c in snapshot.companies})
        close = difflib.get_close_matches(wanted[0], names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownCompanyError(f"no company {wanted[0]!r}{hint} in the accounts read", field="company")
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


def run_report(
    bridge: Bridge | None,
    policy: HealthPolicy | None = None,
    *,
    companies: Sequence[str] = (),
    store: Store | StoreOpener | None = None,
    record: bool = True,
    from_store: bool = False,
    vendors: Sequence[str] = (),
    accounts: Sequence[str] = (),
    expected: Sequence[tuple[str, str]] | None = None,
    stale_after: dt.timedelta | None = None,
    alerts: AlertOptions | None = None,
    customers: CustomerMap | None = None,
    config: Path | None = None,
    generated_at: dt.datetime | Literal["clocks"] | None = None,
    emit: Callable[[Report], None] | None = None,
    strips: bool = True,
) -> ReportRun:
    """One report pass (see the module doc for the order of its steps).

    Args:
        bridge: the accounts to read (an open ``Bridge``; the caller closes it). None with ``from_store``.
        policy: the health engine's knobs (default ``HealthPolicy()``).
        companies: only these companies, by id or name (``--company``); their alerts only.
        store: a ``Store``, or a function opening one (its failure is then one line, not an exception); None
            for no store (``report --no-store``). A store this call opened is closed by it.
        record: record the pass into ``store`` (``record_snapshot(..., source="report")``).
        from_store: build the report from the store's last run of each account: no vendor request.
        vendors: with ``from_store``, only the store's accounts of these vendors.
        accounts: with ``from_store``, only the store's accounts of these names.
        expected: with ``from_store``, the ``(vendor, account)`` pairs the report covers (the configured or
            sandbox accounts): only those, and each one the store holds no run of is a failure row ("never
            collected"), so the report is never a silent partial all-clear.
        stale_after: with ``from_store``, an account whose stored run is older than this (before ``generated_at``,
            or now; never with ``"clocks"``) is not judged: a ``stale`` failure row, its alerts left as they were.
            None: no limit.
        alerts: reconcile and deliver alerts this way; None for none (``--no-alerts``).
        customers: the customers mapping (default: read from ``config``, ``customers.customers_for_run``).
        config: the configuration file (sinks, customers); None for the default one.
        generated_at: the report's time; ``"clocks"`` for the latest account clock (the simulators' clocks,
            so a sandbox report is deterministic); None for now.
        emit: called with the report as soon as it is built, before the store and the alerts are touched.
        strips: read each device's 30-day strip and each company's compliance from the store into
            ``Report.history`` (what the HTML shows; ``Exporter.reads_history``). False spares a format that
            shows neither the read.

    Raises:
        UnknownCompanyError: ``companies`` matched no company (before anything is recorded or delivered).
        StoreError, StoreSchemaError: with ``from_store``, the store cannot be read.
    """
    from .customers import customers_for_run
    from .report import build_report, failures_by_account
    from .terminal import one_line

    policy = policy or HealthPolicy()
    messages: list[str] = []
    # Alerts live in the store when one is used (a sandbox run or an explicit state file: the JSON file).
    store_alerts = store is not None and alerts is not None and alerts.state_file is None and not alerts.sandbox
    held = _StoreUse(messages, " and its alerts were left as they were" if store_alerts else "")
    try:
        if callable(store):
            if from_store:
                held.store = held.opened = store()  # nothing to report from without it: its error is raised
            else:
                held.run("this run was not recorded", lambda: held.adopt(store()))
        else:
            held.store = store
        started = dt.datetime.now(dt.UTC)
        run_id: int | None = None
        if record and not from_store and held.store is not None:
            from .store.record import begin_run

            # Taken before the listings are read: run ids are the order runs began (store.record.begin_run).
            recording_into = held.store
            run_id = held.run("this run was not recorded", lambda: begin_run(recording_into, started, source="report"))
        history = None
        stored_runs: dict[tuple[str, str], int] = {}
        if from_store:
            if held.store is None:
                raise ValidationError("from_store needs a store", field="store")
            from .store.stored import stored_run_ids, stored_snapshot

            # "clocks" (the sandbox): simulated clocks have no "now" to be old against.
            reference = generated_at if isinstance(generated_at, dt.datetime) else dt.datetime.now(dt.UTC)
            if generated_at == "clocks":
                stale_after = None
            full, stored_assessment = stored_snapshot(
                held.store,
                policy=policy,
                vendors=vendors,
                accounts=accounts,
                expected=expected,
                stale_before=reference - stale_after if stale_after is not None else None,
            )
            stored_runs = stored_run_ids(held.store, full.clocks)  # the runs the alert pass judges from
            if full.clocks:
                oldest, newest = min(full.clocks.values()), max(full.clocks.values())
                messages.append(
                    f"note: from the store: {len(full.clocks)} accounts, collected {_stamp(oldest)}"
                    + (f" to {_stamp(newest)}" if newest != oldest else "")
                )
        else:
            if bridge is None:
                raise ValidationError("a report needs a bridge (or from_store=True)", field="bridge")
            full = bridge.snapshot(since=None)
            stored_assessment = None
            history = held.run("history not read; this run was not recorded", lambda: _history(held, full, policy))
        snapshot = only_companies(full, companies) if companies else full
        if stored_assessment is not None:
            assessment = _cut_assessment(stored_assessment, snapshot) if companies else stored_assessment
        else:
            assessment = assess_snapshot(snapshot, policy=policy, history=history)
        if history is not None:
            from .store.history import extend_snapshot

            # The stored runs the vendor no longer shows count in the failure streaks of rows and alerts.
            snapshot = extend_snapshot(snapshot, history)
        when = (
            (max(snapshot.clocks.values()) if snapshot.clocks else None) if generated_at == "clocks" else generated_at
        )
        mapping = customers if customers is not None else customers_for_run(config)
        report = build_report(snapshot, assessment, generated_at=when, customers=mapping.lookup)
        unjudged = {(a.vendor, a.account) for a in report.accounts if not a.judged}
        for (vendor, account), failures in failures_by_account(report.failures).items():
            operations = ", ".join(f.operation for f in failures)
            verdict = "; health unknown this run, alerts left as they were" if (vendor, account) in unjudged else ""
            messages.append(
                f"error: account {one_line(vendor)}/{one_line(account)} failed ({operations}): "
                f"{one_line(failures[0].message)}{verdict}"
            )
        recorded: RunRecord | None = None
        if record and not from_store:

            def write(store_: Store) -> RunRecord:
                from .store import record_snapshot

                return record_snapshot(
                    store_,
                    full,
                    started,
                    # Judged over the whole snapshot: a --company pass records every company it read.
                    assessment=None if companies else assessment,
                    policy=policy,
                    accounts=bridge.accounts if bridge is not None else (),
                    source="report",
                    run_id=run_id,
                )

            recorded = held.run("this run was not recorded", lambda: write(held.store) if held.store else None)
        # After the recording, so today's run is in each device's strip (the HTML shows them).
        if strips:
            with_strips = held.run(
                "the report has no history strips", lambda: _with_strips(held.store, report, snapshot, policy)
            )
            report = with_strips or report
        if emit is not None:
            emit(report)
        alerts_ok = True
        if alerts is not None:
            for line in mapping.errors:
                messages.append(f"error: customers: {one_line(line)}")
            if store_alerts and held.store is None:
                alerts_ok = False  # their state is in the store that failed (its line says so): left as they were
            else:
                try:
                    alerts_ok = reconcile_alerts(
                        assessment,
                        snapshot,
                        alerts,
                        config,
                        when,
                        mapping,
                        messages,
                        bool(companies),
                        held.store if store_alerts else None,
                        stored_clocks=snapshot.clocks if from_store else None,
                        run_id=(stored_runs if from_store else recorded.run_id if recorded else None)
                        if store_alerts
                        else None,
                    )
                except BackupBridgeError as exc:  # the state file or the store: one line; the report is already out
                    messages.append(f"error: {one_line(str(exc))}")
                    alerts_ok = False
            alerts_ok = alerts_ok and not mapping.errors
        return ReportRun(
            report=report,
            snapshot=snapshot,
            assessment=assessment,
            recorded=recorded,
            messages=tuple(messages),
            store_ok=held.ok,
            alerts_ok=alerts_ok,
        )
    finally:
        if held.opened is not None:
            held.opened.close()


T = TypeVar("T")


def _pass_runs(
    run_id: int | Mapping[tuple[str, str], int] | None, accounts: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Each account's run its pass judges from: the one ``run_id``, or each account's own."""
    if run_id is None:
        return {}
    if isinstance(run_id, int):
        return dict.fromkeys(accounts, run_id)
    return {key: run_id[key] for key in accounts if key in run_id}


def _reconciled_later(state: object, runs: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """``StoreAlertState.reconciled_after`` of a pass with its alerts in the store its runs were recorded in
    (else nothing: a JSON state file knows no runs)."""
    from .store.alerts import StoreAlertState

    if not runs or not isinstance(state, StoreAlertState):
        return {}
    return state.reconciled_after(runs)


def _mark_reconciled(state: object, runs: Mapping[tuple[str, str], int]) -> None:
    """``StoreAlertState.mark_reconciled``, likewise."""
    from .store.alerts import StoreAlertState

    if runs and isinstance(state, StoreAlertState):
        state.mark_reconciled(runs)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%MZ")


class _StoreUse:
    """The store of one pass: its first failure is one line, and the store is not used after it."""

    def __init__(self, messages: list[str], alerts: str) -> None:
        self.messages = messages
        self.alerts = alerts
        self.store: Store | None = None
        self.opened: Store | None = None
        self.ok = True

    def adopt(self, store: Store) -> None:
        self.store = self.opened = store

    def run(self, consequence: str, work: Callable[[], T]) -> T | None:
        if not self.ok:  # the store failed once this pass: not asked again
            return None
        try:
            return work()
        except BackupBridgeError as exc:
            from .terminal import one_line

            self.messages.append(f"error: store: {one_line(str(exc))}; {consequence}{self.alerts}")
            self.ok = False
            self.store = None
            return None


def _history(held: _StoreUse, snapshot: Snapshot, policy: HealthPolicy) -> RunHistory | None:
    """What the store remembers of the snapshot's accounts, for the health engine."""
    if held.store is None:
        return None
    from .store.history import snapshot_history

    return snapshot_history(held.store, snapshot, policy=policy)


def _with_strips(store: Store | None, report: Report, snapshot: Snapshot, policy: HealthPolicy) -> Report:
    """The report with each device's 30-day strip and each company's compliance (the HTML shows them)."""
    if store is None:
        return report
    from .store.history import report_history

    strips = report_history(
        store,
        {*snapshot.clocks, *((f.vendor, f.account) for f in snapshot.failures)},
        days=30,
        rollup=policy.rollup,
        treat_warning_as_success=policy.treat_warning_as_success,
        devices=[(d.vendor, d.account, d.id) for d in snapshot.devices],
    )
    return attrs.evolve(report, history=strips)


def _cut_assessment(assessment: Assessment, snapshot: Snapshot) -> Assessment:
    """The stored verdicts of the devices and plans ``snapshot`` kept (``companies``)."""
    devices = {(d.vendor, d.account, d.id) for d in snapshot.devices}
    plans = {(p.vendor, p.account, p.id) for p in snapshot.plans}
    return attrs.evolve(
        assessment,
        devices=tuple(d for d in assessment.devices if (d.vendor, d.account, d.device_id) in devices),
        plans=tuple(
            p
            for p in assessment.plans
            if (p.vendor, p.account, p.plan_id) in plans or (p.vendor, p.account, p.device_id) in devices
        ),
    )


def _stale_accounts(
    open_alerts: Iterable[Alert], stored_clocks: Mapping[tuple[str, str], dt.datetime] | None
) -> dict[tuple[str, str], dt.datetime]:
    """The accounts (-> their stored run's time) with an open alert seen after that run."""
    if stored_clocks is None:
        return {}
    stale: dict[tuple[str, str], dt.datetime] = {}
    for alert in open_alerts:
        key = (alert.vendor, alert.account)
        when = stored_clocks.get(key)
        if when is not None and alert.last_seen > when:
            stale[key] = when
    return stale


def reconcile_alerts(
    assessment: Assessment,
    snapshot: Snapshot,
    options: AlertOptions,
    config: Path | None,
    generated: dt.datetime | None,
    customers: CustomerMap,
    messages: list[str],
    company_scoped: bool,
    store: Store | None,
    *,
    stored_clocks: Mapping[tuple[str, str], dt.datetime] | None = None,
    run_id: int | Mapping[tuple[str, str], int] | None = None,
) -> bool:
    """Reconcile and deliver this pass's alerts; False when a delivery failed (it stays queued). The alert
    step of ``run_report``, public so ``collect`` (and a caller's own pipeline) runs the same one.

    Args:
        assessment: the pass's verdicts.
        snapshot: what was listed (an account's failed listings keep its alerts as they were).
        options: where the state lives and what is delivered.
        config: the config file (sinks, console templates).
        generated: the pass's time (``None``: now).
        customers: the customer mapping for the alerts.
        messages: stderr lines are appended here.
        company_scoped: a ``--company`` pass (recovers only those companies' alerts).
        store: the store holding the alert state and outbox, or ``None`` for the JSON file.
        stored_clocks: see below.
        run_id: see below.

    ``stored_clocks``: a pass over the store (``from_store``), each account's stored run's time. An account
    with an open alert whose latest news is newer than its stored run is left as it was (nothing opened,
    recovered or updated): an older run never recovers a newer problem.

    ``run_id``: the run of ``store`` this pass judges from, with the alert state in that store: the one it
    recorded (``store.begin_run``), or each account's stored run (``from_store``: a mapping). Under the
    alert lock, an account whose alerts a run begun later has reconciled already (two collectors at once,
    this one the older) is left as it was, with a note line: an older view neither re-opens what the newer
    one recovered nor recovers what it opened. The accounts this pass reconciles are marked with their run
    (``store.schema.alert_reconciled``; not by a ``--company`` pass, which looked at some of an account's
    companies only). A run that never reconciles marks nothing, so it holds no pass back. A run id that is
    not one of the store's runs is a ``ValidationError`` before anything is written."""
    from . import plugins
    from .alerts import (
        NDJSON_SINK_NAME,
        NdjsonAlertSink,
        alerts_from,
        console_templates,
        hook_receivers,
        open_alert_state,
        reconcile_events,
    )
    from .config import default_state_dir
    from .sinks import deliver_alerts, load_sinks, sink_report_lines
    from .terminal import one_line

    # Simulated problems never reach a real PSA unless asked for: a sandbox run feeds the built-in sink only.
    builtin_only = options.sandbox and not options.deliver_to_plugins
    # Configured sinks are read first: a sink table in error stops the alerts before anything is reconciled.
    sinks = [] if builtin_only else load_sinks(config)
    now = generated or dt.datetime.now(dt.UTC)
    state_file = options.state_file
    if state_file is None:
        state_file = default_state_dir() / ("sandbox-alerts.json" if options.sandbox else "alerts.json")
    if options.state_file is None and store is None:
        try:
            state_file.parent.mkdir(parents=True, exist_ok=True)  # the default directory only
        except OSError as exc:
            raise BackupBridgeError(f"cannot create the state directory {state_file.parent}: {exc.strerror}") from exc
    pm = plugins.get_plugin_manager()
    try:
        sink_file = options.ndjson.open("a", encoding="utf-8") if options.ndjson else None
    except OSError as exc:
        raise BackupBridgeError(f"cannot open --alerts-ndjson {options.ndjson}: {exc.strerror or exc}") from exc
    sink = NdjsonAlertSink(sink_file) if sink_file else None
    try:
        if sink is not None:
            pm.register(sink, name=NDJSON_SINK_NAME)
        only = {NDJSON_SINK_NAME} if builtin_only else None
        receivers = hook_receivers(pm, only=only)
        # With the store: its open problems and outbox (the default JSON file, if any, is imported once).
        with open_alert_state(state_file, store=store) as state:
            stale = _stale_accounts(state.open.values(), stored_clocks)
            for vendor, account in sorted(stale):
                messages.append(
                    f"note: alerts of account {one_line(vendor)}/{one_line(account)} left as they were: an open "
                    f"alert is newer than its stored run (collected {_stamp(stale[(vendor, account)])})"
                )
            # An account left as it was already (its listing failed, or stale) needs no second reason.
            runs = _pass_runs(run_id, [k for k in snapshot.clocks if k not in assessment.incomplete and k not in stale])
            later = _reconciled_later(state, runs)
            for vendor, account in sorted(later):
                messages.append(
                    f"note: alerts of account {one_line(vendor)}/{one_line(account)} left as they were: run "
                    f"{later[(vendor, account)]} has reconciled them already, and it began after run "
                    f"{runs[(vendor, account)]}, this pass's"
                )
            left = {*assessment.incomplete, *stale, *later}
            changes = reconcile_events(
                state,
                alerts_from(
                    assessment, now, snapshot=snapshot, customers=customers.lookup, console_urls=console_templates()
                ),
                scope=snapshot.clocks.keys(),
                incomplete=left,
                # --company: the other companies were not looked at, so their alerts are no news either way.
                companies={(c.vendor, c.account, c.id) for c in snapshot.companies} if company_scoped else None,
            )
            if not company_scoped:
                _mark_reconciled(state, {key: run for key, run in runs.items() if key not in left})
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
        messages.append(
            f"note: {waiting} alert events stay queued for plugins not loaded in this run: "
            f"{', '.join(one_line(name) for name in outcome.absent)}"
        )
    messages.extend(one_line(line) for line in sink_report_lines(delivered.sinks))
    if outcome.failures:
        first = outcome.failures[0]
        messages.append(
            f"error: alerts: {len(outcome.failures)} of {len(outcome.failures) + outcome.delivered} deliveries failed "
            f"and stay queued for the next run (first: plugin {one_line(first.plugin)}, backup_{first.event} "
            f"{one_line(first.key)}: {one_line(first.error)})"
        )
        return False
    return not delivered.sinks.failures
