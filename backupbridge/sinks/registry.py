"""Sink types that plugins provide: the ``register_sink_types`` hook and what a plugin's factory is given.

A plugin adds a ``[[sinks]] type = "NAME"`` by implementing::

    @hookimpl
    def register_sink_types(register):
        register(SinkType(name="connectwise", keys=frozenset({...}), build=build_my_sink))

``build(settings)`` gets the sink's table as ``SinkSettings`` (its place in the file for messages, its
label, its keys, and the helpers the built-in sinks use to read strings, numbers and secrets) and returns a
``Sink``, or raises ``ConfigurationError`` naming the key. The built-in types (webhook, email) cannot be
taken; a plugin whose hook raises is left out (logged), and only a table asking for its type fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pluggy

from ..errors import ConfigurationError
from ..hookspecs import hookspec
from ..redaction import Secret
from .base import Sink

__all__ = ["SinkSettings", "SinkType", "plugin_sink_types"]

log = logging.getLogger("backupbridge.sinks")


@attrs.frozen(kw_only=True)
class SinkSettings:
    """One ``[[sinks]]`` table as a plugin's factory reads it."""

    where: str
    label: str
    table: Mapping[str, Any]

    def error(self, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.where}: {message}")

    def string(self, key: str, default: str | None = None) -> str:
        """A non-empty string (``default`` when the key is absent and a default is given)."""
        if key not in self.table and default is not None:
            return default
        value = self.table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f'needs {key} = "..."')
        return value.strip()

    def number(self, key: str, default: float) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.error(f"{key} must be a positive number")
        return float(value)

    def secret(self, prefix: str, *, required: bool = True) -> Callable[[], str | Secret] | None:
        """``PREFIX_env`` or ``PREFIX_keyring``, read when a delivery is made (never written in the file)."""
        from .config import _secret

        return _secret(self.where, self.table, prefix, required=required)


@attrs.frozen(kw_only=True)
class SinkType:
    """A sink type a plugin provides: its ``type`` name, the keys its table may hold besides ``type`` and
    ``name``, and the factory building a sink from a table."""

    name: str
    keys: frozenset[str]
    build: Callable[[SinkSettings], Sink]


class SinkHookSpecs:
    @hookspec
    def register_sink_types(self, register: Callable[[SinkType], None]) -> None:
        """Register ``[[sinks]]`` types: call ``register(SinkType(...))`` once per type."""


def _hook(pm: pluggy.PluginManager) -> Any:
    caller = getattr(pm.hook, "register_sink_types", None)
    if caller is None or not caller.has_spec():
        pm.add_hookspecs(SinkHookSpecs)
    return pm.hook.register_sink_types


def plugin_sink_types(builtin: tuple[str, ...]) -> dict[str, SinkType]:
    """The sink types loaded plugins register, by name (a plugin that fails here is logged and left out)."""
    from ..plugins import get_plugin_manager

    pm = get_plugin_manager()
    found: dict[str, SinkType] = {}
    for impl in _hook(pm).get_hookimpls():
        mine: list[SinkType] = []

        def register(kind: SinkType, mine: list[SinkType] = mine) -> None:
            if not isinstance(kind, SinkType) or not isinstance(kind.name, str):
                raise TypeError(f"registered {kind!r:.80}, not a SinkType")
            if kind.name in builtin or kind.name in found:
                raise ValueError(f"the sink type {kind.name!r} is taken")
            mine.append(kind)

        try:
            impl.function(register=register)
        except Exception as exc:  # one broken plugin leaves out its own sink types only
            log.warning("plugin %s: its sink types are left out: %s: %s", impl.plugin_name, type(exc).__name__, exc)
            continue
        found.update((kind.name, kind) for kind in mine)
    return found
