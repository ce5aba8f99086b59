"""What a sink is, and how the outbox's events reach the sinks: each on its own, at least once, with backoff.

A sink is configured in the config file (``[[sinks]]``) and is owed every alert event from the moment it is
queued (``AlertState.enqueue(..., sinks=...)``). ``deliver_to_sinks`` hands each sink the events it is owed:

- ``EventSink.send_event`` one event at a time (a webhook, a PSA), an alert's later events waiting behind an
  earlier one that failed (a recovery never overtakes its problem);
- ``DigestSink.send_digest`` all of them at once (an e-mail digest), with the alerts still open.

A sink that raises ``SinkError`` (or anything else) keeps the event; the failure is recorded on the event
(``SinkRetry``: attempts, the error, the next attempt's time) and one sink's failure never stops another.
Retryable failures back off: the next run tries again, then after 1, 2, 4 ... minutes (at most an hour), and
an event sink's first retryable failure in a run ends that sink's run (a receiver that is down costs one
timeout, not one per event; the rest waits, untried). ``permanent`` failures (the receiver refused that
request: fix the configuration) are tried again every run, and the sink's other events still go.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import attrs

from ..alerts import Alert, Delivery, SinkRetry
from ..errors import BackupBridgeError
from ..redaction import redact

__all__ = [
    "DigestSink",
    "EventSink",
    "Outbox",
    "Sink",
    "SinkError",
    "SinkFailure",
    "SinkOutcome",
    "backoff",
    "deliver_to_sinks",
]

log = logging.getLogger("backupbridge.sinks")

SINK_PREFIX = "backupbridge.sink."
"""Sinks are owed events under ``backupbridge.sink.<name>`` (plugin names never start so)."""

MAX_BACKOFF = dt.timedelta(hours=1)


class SinkError(BackupBridgeError):
    """A delivery did not land. ``permanent``: the receiver refused it and retrying as it is will not help."""

    def __init__(self, message: str, *, permanent: bool = False, status_code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status_code = status_code


class Outbox(Protocol):
    """Where the events owed to sinks wait: ``AlertState`` (the JSON file) or ``StoreAlertState`` (the store)."""

    def owed(self, name: str) -> list[Delivery]:
        """The events still owed to ``name``, oldest first."""

    def mark_delivered(self, entry: Delivery, name: str) -> None:
        """``name`` has ``entry``: it is owed no more."""

    def mark_failed(self, entry: Delivery, name: str, retry: SinkRetry) -> None:
        """``name`` failed ``entry``; keep it, with ``retry`` recorded."""


class Sink:
    """A built-in or plugin sink. ``label`` is its configured name (``webhook``, ``ops-mail``)."""

    kind: str = "sink"

    def __init__(self, label: str) -> None:
        self.label = label

    @property
    def name(self) -> str:
        """The name the outbox owes events to."""
        return SINK_PREFIX + self.label

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


class EventSink(Sink):
    """A sink that takes one event at a time."""

    @abc.abstractmethod
    def send_event(self, entry: Delivery) -> None:
        """Deliver one event; ``entry.idempotency_key`` goes with it on every attempt.

        ``entry.event`` is ``problem``, ``recovered`` or ``updated`` (a problem still open, with news: a new
        failed run or a higher severity); a sink that has nothing to do for ``updated`` returns.

        Raises:
            SinkError: it did not land (``permanent`` when the receiver refused it).
        """


class DigestSink(Sink):
    """A sink that takes every event owed to it in one delivery (an e-mail digest per run)."""

    @abc.abstractmethod
    def send_digest(self, entries: Sequence[Delivery], open_alerts: Mapping[str, Alert]) -> None:
        """Deliver ``entries`` together; ``open_alerts`` are the problems still open after this pass.

        Raises:
            SinkError: it did not land; every entry stays owed.
        """


@attrs.frozen(kw_only=True)
class SinkFailure:
    sink: str
    key: str
    event: str
    error: str
    permanent: bool


@attrs.frozen(kw_only=True)
class SinkOutcome:
    """What ``deliver_to_sinks`` did: events delivered, failures (one per failed event), events left waiting
    for their backoff."""

    delivered: int = 0
    failures: tuple[SinkFailure, ...] = ()
    waiting: int = 0


def backoff(attempts: int) -> dt.timedelta:
    """How long after its ``attempts``-th failure an event waits: the next run, then 1, 2, 4 ... minutes."""
    if attempts <= 1:
        return dt.timedelta(0)
    return min(MAX_BACKOFF, dt.timedelta(minutes=2 ** (attempts - 2)))


def _message(exc: BaseException) -> tuple[str, bool]:
    if isinstance(exc, SinkError):
        return redact(str(exc)), exc.permanent
    return redact(f"{type(exc).__name__}: {exc}"), False


def deliver_to_sinks(
    outbox: Outbox,
    sinks: Sequence[Sink],
    *,
    open_alerts: Mapping[str, Alert] | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> SinkOutcome:
    """Deliver every event each sink is owed, each sink on its own (see the module docstring)."""
    delivered, waiting = 0, 0
    failures: list[SinkFailure] = []
    now = clock()
    for sink in sinks:
        owed = outbox.owed(sink.name)
        due = []
        for entry in owed:
            retry = entry.retries.get(sink.name)
            if retry is not None and not retry.permanent and retry.next_attempt_at and retry.next_attempt_at > now:
                waiting += 1
            else:
                due.append(entry)
        if not due:
            continue
        due_ids = {id(e) for e in due}  # by identity: comparing deliveries field by field is quadratic
        if isinstance(sink, DigestSink):
            blocked = {e.alert.key for e in owed if id(e) not in due_ids}
            batch = [e for e in due if e.alert.key not in blocked]
            waiting += len(due) - len(batch)
            if not batch:
                continue
            try:
                sink.send_digest(batch, dict(open_alerts or {}))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # one sink's failure is its own, never the run's (GeneratorExit too)
                failures.extend(_failed(outbox, sink, entry, exc, now) for entry in batch)
            else:
                for entry in batch:
                    outbox.mark_delivered(entry, sink.name)
                delivered += len(batch)
            continue
        held = {e.alert.key for e in owed if id(e) not in due_ids}
        for index, entry in enumerate(due):
            if entry.alert.key in held:  # an earlier event of this alert failed or waits: keep the order
                waiting += 1
                continue
            try:
                if not isinstance(sink, EventSink):
                    raise TypeError(f"{type(sink).__name__} is neither an EventSink nor a DigestSink")
                sink.send_event(entry)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                failures.append(failure := _failed(outbox, sink, entry, exc, now))
                held.add(entry.alert.key)
                if not failure.permanent:
                    # Down (or failing): the rest waits for the next run rather than each costing a timeout.
                    waiting += len(due) - index - 1
                    break
            else:
                outbox.mark_delivered(entry, sink.name)
                delivered += 1
    return SinkOutcome(delivered=delivered, failures=tuple(failures), waiting=waiting)


def _failed(outbox: Outbox, sink: Sink, entry: Delivery, exc: BaseException, now: dt.datetime) -> SinkFailure:
    message, permanent = _message(exc)
    previous = entry.retries.get(sink.name)
    attempts = (previous.attempts if previous else 0) + 1
    retry = SinkRetry(
        attempts=attempts,
        next_attempt_at=None if permanent else now + backoff(attempts),
        last_error=message[:500],
        permanent=permanent,
    )
    outbox.mark_failed(entry, sink.name, retry)
    log.warning("alert %s %s not delivered to sink %s: %s", entry.event, entry.alert.key, sink.label, message)
    return SinkFailure(sink=sink.label, key=entry.alert.key, event=entry.event, error=message, permanent=permanent)
