"""Built-in alert sinks (NDJSON, webhook, e-mail) and the delivery of the outbox's events to them.

``deliver_alerts`` is one pass's delivery: queue the new events for every plugin and sink, save the state,
deliver to the plugins (``AlertState.deliver``) and to the sinks (``deliver_to_sinks``), save again. A sink
is a ``Sink`` subclass (``EventSink`` or ``DigestSink``); docs/alerts.md has how to write one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from ..alerts import Alert, AlertBackend, DeliveryOutcome, NdjsonAlertSink, Receiver
from .base import (
    SINK_PREFIX,
    DigestSink,
    EventSink,
    Outbox,
    Sink,
    SinkError,
    SinkFailure,
    SinkOutcome,
    backoff,
    deliver_to_sinks,
)
from .config import SINK_TYPES, load_sinks
from .email import EmailSink
from .webhook import WebhookSink, verify_signature

__all__ = [
    "SINK_PREFIX",
    "SINK_TYPES",
    "AlertsOutcome",
    "DigestSink",
    "EmailSink",
    "EventSink",
    "NdjsonAlertSink",
    "Outbox",
    "Sink",
    "SinkError",
    "SinkFailure",
    "SinkOutcome",
    "WebhookSink",
    "backoff",
    "deliver_alerts",
    "deliver_to_sinks",
    "load_sinks",
    "sink_report_lines",
    "verify_signature",
]


@attrs.frozen(kw_only=True)
class AlertsOutcome:
    plugins: DeliveryOutcome
    sinks: SinkOutcome


def deliver_alerts(
    state: AlertBackend,
    opened: Iterable[Alert],
    recovered: Iterable[Alert],
    receivers: Sequence[Receiver],
    sinks: Sequence[Sink] = (),
    *,
    updated: Iterable[Alert] = (),
) -> AlertsOutcome:
    """Queue this pass's events (``updated``: the open problems with news, ``alerts.reconcile_events``) for
    every plugin and sink, save, deliver, save (the outbox first: a run killed mid-delivery delivers the rest
    next time). ``state`` is either backend (``alerts.open_alert_state``): the JSON file or the store, whose
    first ``save`` commits the pass's reconciliation and whose deliveries are claimed, so two collectors never
    deliver one event twice."""
    names = [sink.name for sink in sinks]
    state.enqueue(opened, recovered, receivers, sinks=names, updated=updated)
    state.save()
    plugins = state.deliver(receivers, sinks=set(names))
    outcome = deliver_to_sinks(state, sinks, open_alerts=state.open)
    state.save()
    return AlertsOutcome(plugins=plugins, sinks=outcome)


def sink_report_lines(outcome: SinkOutcome) -> list[str]:
    """One line per sink that failed this run (the first error, how many events it keeps)."""
    lines = []
    by_sink: dict[str, list[SinkFailure]] = {}
    for failure in outcome.failures:
        by_sink.setdefault(failure.sink, []).append(failure)
    for sink, failures in by_sink.items():
        first = failures[0]
        kind = "refused" if first.permanent else "failed"
        lines.append(
            f"error: alerts: sink {sink} {kind} {len(failures)} deliveries, kept for the next run: {first.error}"
        )
    return lines
