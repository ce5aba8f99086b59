"""Alerts for PSA/RMM integrations: one per problem, opened once, closed on recovery, delivered at least once.

Each unhealthy plan (or device without plans) is an ``Alert`` with a stable dedupe key
``vendor|account|company|device|plan|problem`` and a severity. ``reconcile`` compares this pass with the
previous one (kept in a small JSON state file) and finds the new problems (``backup_problem``) and the ones
that are gone (``backup_recovered``), so a ticketing plugin opens one ticket per problem and closes it when it
recovers. A problem that changes kind (FAILED -> MISSED) recovers and opens anew. An account that was not
judged this pass (a listing failed) keeps its alerts exactly as they were.

Delivery goes through an outbox in the state file: each event is queued for every receiving plugin, the
state is saved, then each plugin is called on its own; an event a plugin raised on stays queued for that
plugin and is delivered again next pass (at least once: ``alert.key`` is the idempotency key). The state file
is locked (``AlertState.locked``) across load, delivery and save, and written atomically.

Keys escape their parts (``%`` as ``%25``, ``|`` as ``%7C``, an id that is exactly ``-`` as ``%2D``), so no
id can make two problems share a key; an id without those characters keeps the key it always had.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import attrs
import pluggy

from .errors import ConfigurationError
from .exporters import record_to_dict
from .health import Assessment, Health
from .hookspecs import hookimpl

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "NDJSON_SINK_NAME",
    "SEVERITY",
    "Alert",
    "AlertState",
    "AlertStateError",
    "Delivery",
    "DeliveryFailure",
    "DeliveryOutcome",
    "NdjsonAlertSink",
    "Receiver",
    "alerts_from",
    "hook_receivers",
    "reconcile",
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

STATE_VERSION = 2
EVENTS = ("problem", "recovered")
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
        )


def alerts_from(assessment: Assessment, now: dt.datetime) -> list[Alert]:
    """Every problem of an assessment: each plan that is not OK, and each unhealthy device without plans.

    Accounts the assessment did not judge (``Assessment.incomplete``) give none."""
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
        if health is Health.OK or health is Health.UNKNOWN or not assessment.judged(vendor, account):
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
class Delivery:
    """An event in the outbox: ``event`` ("problem" or "recovered") of ``alert``, still owed to ``pending``."""

    event: str
    alert: Alert
    pending: list[str]
    attempts: int = 0
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "alert": self.alert.to_json(),
            "pending": list(self.pending),
            "attempts": self.attempts,
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        event, pending = data["event"], data["pending"]
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        if not isinstance(pending, list) or not all(isinstance(name, str) for name in pending):
            raise TypeError("'pending' is not a list of plugin names")
        error = data.get("last_error")
        return cls(
            event=event,
            alert=Alert.from_json(data["alert"]),
            pending=pending,
            attempts=int(data.get("attempts", 0)),
            last_error=None if error is None else str(error),
        )


@attrs.frozen
class Receiver:
    """One plugin's alert hooks (``None`` where it implements no such hook)."""

    name: str
    problem: Callable[[Alert], object] | None = None
    recovered: Callable[[Alert], object] | None = None

    def hook(self, event: str) -> Callable[[Alert], object] | None:
        return self.problem if event == "problem" else self.recovered


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
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise AlertStateError(f"cannot read the alert state file {path}: {exc}") from exc
        try:
            data = json.loads(text)
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
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise _shape_error(path, f"open alert {str(key)[:80]!r}: {type(exc).__name__}: {exc}") from exc
            state.open[alert.key] = alert
        for index, value in enumerate(stored_outbox):
            try:
                state.outbox.append(Delivery.from_json(value))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
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
            target.parent.mkdir(parents=True, exist_ok=True)
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
            target.parent.mkdir(parents=True, exist_ok=True)
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

    def enqueue(self, opened: Iterable[Alert], recovered: Iterable[Alert], receivers: Iterable[Receiver]) -> int:
        """Queue ``problem`` events for ``opened`` and ``recovered`` events for ``recovered``, each owed to every
        receiver with that hook. Returns how many events were queued."""
        chosen = list(receivers)
        queued = 0
        for event, alerts in (("problem", opened), ("recovered", recovered)):
            names = [r.name for r in chosen if r.hook(event) is not None]
            for alert in alerts:
                if names:
                    self.outbox.append(Delivery(event=event, alert=alert, pending=list(names)))
                    queued += 1
        return queued

    def deliver(self, receivers: Iterable[Receiver]) -> DeliveryOutcome:
        """Call each receiver for each event it is owed, in order, each call on its own.

        A call that raises is logged (redacted) and counted; the event stays owed to that plugin, and later
        events of the same alert wait behind it (a recovery never overtakes its problem). Events owed to a
        plugin not loaded this run stay queued for it."""
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
                except (Exception, SystemExit) as exc:  # one plugin's failure is its own, never the run's
                    message = redact(f"{type(exc).__name__}: {exc}")
                    entry.last_error = message[:500]
                    blocked.add((name, entry.alert.key))
                    failures.append(DeliveryFailure(plugin=name, event=entry.event, key=entry.alert.key, error=message))
                    log.warning("alert %s %s not delivered to %s: %s", entry.event, entry.alert.key, name, message)
                else:
                    entry.pending.remove(name)
                    delivered += 1
        self.outbox = [entry for entry in self.outbox if entry.pending]
        absent = sorted({name for entry in self.outbox for name in entry.pending if name not in by_name})
        return DeliveryOutcome(
            delivered=delivered,
            failures=tuple(failures),
            pending=sum(len(e.pending) for e in self.outbox),
            absent=tuple(absent),
        )


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


def reconcile(
    state: AlertState,
    current: Iterable[Alert],
    *,
    scope: Iterable[tuple[str, str]] | None = None,
    incomplete: Iterable[tuple[str, str]] = (),
) -> tuple[list[Alert], list[Alert]]:
    """Update ``state`` with this pass; returns ``(opened, recovered)``.

    ``scope``: the ``(vendor, account)`` pairs this pass actually saw. Alerts of accounts outside it (an
    account that failed to answer) are kept open, not recovered: silence is not health.
    ``incomplete``: accounts seen but not judged (``Assessment.incomplete``: a listing failed). Their alerts
    neither open nor recover, and stay as they were.
    """
    skipped = set(incomplete)
    seen = set(scope) - skipped if scope is not None else None
    now_open = {a.key: a for a in current if (a.vendor, a.account) not in skipped}
    opened = [a for key, a in now_open.items() if key not in state.open]
    recovered = [
        a
        for key, a in state.open.items()
        if key not in now_open
        and (a.vendor, a.account) not in skipped
        and (seen is None or (a.vendor, a.account) in seen)
    ]
    for alert in recovered:
        del state.open[alert.key]
    for key, alert in now_open.items():
        previous = state.open.get(key)
        state.open[key] = attrs.evolve(alert, first_seen=previous.first_seen) if previous else alert
    return opened, recovered


def hook_receivers(pm: pluggy.PluginManager, *, only: Container[str] | None = None) -> list[Receiver]:
    """Every plugin implementing ``backup_problem`` or ``backup_recovered`` (or those named in ``only``)."""
    found: dict[str, dict[str, Callable[[Alert], object]]] = {}
    for event, caller in (("problem", pm.hook.backup_problem), ("recovered", pm.hook.backup_recovered)):
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper or (only is not None and impl.plugin_name not in only):
                continue
            found.setdefault(impl.plugin_name, {})[event] = _bound(impl.function, impl.argnames)
    return [Receiver(name, hooks.get("problem"), hooks.get("recovered")) for name, hooks in found.items()]


def _bound(function: Callable[..., object], argnames: tuple[str, ...]) -> Callable[[Alert], object]:
    # pluggy passes a hook implementation only the arguments it names.
    def call(alert: Alert) -> object:
        return function(**{name: alert for name in argnames if name == "alert"})

    return call


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
