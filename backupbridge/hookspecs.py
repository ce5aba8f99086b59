"""The plugin contract: pluggy hook specifications.

A plugin is a module (or object) with ``@backupbridge.hookimpl`` functions, registered through the
entry-point group ``backupbridge``. Hooks take a ``register`` callback instead of returning values, so
the host validates and deduplicates at registration, and new keyword arguments can be added later
without breaking plugins. Parameters are only ever added, never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .alerts import Alert
    from .exporters import Exporter
    from .vendors import Vendor

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("backupbridge")
hookimpl = pluggy.HookimplMarker("backupbridge")


@hookspec
def register_vendors(register: Callable[[Vendor], None]) -> None:
    """Register the backup vendors this plugin provides.

    Call ``register(Vendor(...))`` once per vendor. The ``Vendor`` names the vendor (lower-case ASCII
    letters, digits, ``-`` and ``_``, starting with a letter; unique across all plugins), says how to
    authenticate and build a driver, declares its capabilities (honestly: the contract suite checks them),
    and may carry a simulator factory.

    A third-party plugin that registers a built-in vendor's name (``idrive360``, ``cleverfox``,
    ``managedbackup``, ``vprotect``), or a name another third-party plugin also registers, is refused as a
    whole (docs/plugins.md, "Trust"). Anything this hook raises, ``SystemExit`` included, fails only this
    plugin.

    Raises (through ``register``):
        PluginError: not a ``Vendor``, an invalid name, or the same name twice; the plugin is refused even
            if it catches the error.
    """


@hookspec
def register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register output formats for records (``backupbridge devices --format NAME``).

    Call ``register(Exporter(name, write))`` where ``write(records, stream)`` writes the neutral
    records to a text stream. CSV (and ``csv-raw``), JSON, NDJSON and table are built in and use this same
    hook; their names cannot be taken. Vendor text is untrusted: pass it through
    ``backupbridge.terminal.printable`` for people, ``csv_cell`` for spreadsheets.
    """


@hookspec
def backup_problem(alert: Alert) -> None:
    """A backup problem appeared: a plan (or a device without plans) is FAILED, MISSED, OVERDUE, NEVER_RUN
    or WARNING. Called once per problem, keyed by ``alert.key`` (vendor, account, company, device, plan,
    problem): a ticketing plugin opens one ticket per key. ``alert.severity`` is critical, high, medium or low.

    Delivery is at least once: if this hook raises, the event is delivered again on the next run (and a run
    killed mid-delivery repeats it), so treat ``alert.key`` as the idempotency key.
    """


@hookspec
def backup_recovered(alert: Alert) -> None:
    """A problem reported earlier through ``backup_problem`` is gone: close the ticket for ``alert.key``.

    At least once, like ``backup_problem``, and never before that problem's own delivery to this plugin."""


@hookspec
def backup_updated(alert: Alert) -> None:
    """A problem reported earlier through ``backup_problem`` is still open and has news: a new failed run
    (``alert.consecutive_failures`` grew, or a new failure streak began: a later ``alert.failing_since``) or a
    higher ``alert.severity`` (an escalation). Add a note to the open ticket for ``alert.key`` (and raise its
    priority on escalation). Never called for a pass that saw nothing new, so a note per call is no spam.

    Optional: a plugin without this hook is owed no ``updated`` events (it still gets problems and recoveries).
    At least once, like ``backup_problem``, in order after that problem's own delivery to this plugin; the same
    news may come twice (a raise, a killed run), so a plugin that must not write twice keys its note on
    ``alert.key`` with ``alert.consecutive_failures`` and ``alert.severity``."""
