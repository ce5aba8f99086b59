"""The plugin manager: entry-point loading, the vendor and exporter registries.

Loading is lazy (on first use) and idempotent. A plugin that fails to import is reported (a warning
and ``plugin_failures()``) and skipped, so one broken third-party plugin never breaks the CLI; with
``BACKUPBRIDGE_STRICT_PLUGINS=1`` (or ``strict=True``) the failure is raised instead. The environment
variable ``BACKUPBRIDGE_LOAD_PLUGINS`` is an allowlist: a comma-separated list of entry-point names to
load (empty loads none).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import DuplicateVendorError, PluginError, UnknownVendorError
from .exporters import BUILTIN_EXPORTERS, Exporter
from .vendors import Vendor

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginFailure",
    "get_exporter",
    "get_plugin_manager",
    "get_vendor",
    "list_exporters",
    "list_plugins",
    "list_vendors",
    "plugin_failures",
    "registered_plugin",
]

ENTRY_POINT_GROUP = "backupbridge"
log = logging.getLogger("backupbridge.plugins")


@attrs.frozen
class PluginFailure:
    """A plugin that could not be loaded or broke the contract."""

    name: str
    distribution: str | None
    error: str


@attrs.frozen
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    vendors: tuple[str, ...]


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pm: pluggy.PluginManager | None = None
        self.vendors: dict[str, Vendor] = {}
        self.vendor_owner: dict[str, str] = {}
        self.exporters: dict[str, Exporter] = {}
        self.failures: list[PluginFailure] = []
        self.distributions: dict[str, tuple[str | None, str | None]] = {}

    def reset(self) -> None:
        with self.lock:
            self.pm = None
            self.vendors.clear()
            self.vendor_owner.clear()
            self.exporters.clear()
            self.failures.clear()
            self.distributions.clear()


_registry = _Registry()


def _strict_default() -> bool:
    return os.environ.get("BACKUPBRIDGE_STRICT_PLUGINS", "").lower() in ("1", "true", "yes")


def _allowlist() -> set[str] | None:
    raw = os.environ.get("BACKUPBRIDGE_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _collect(pm: pluggy.PluginManager, plugin: Any, name: str, strict: bool) -> None:
    """Run one plugin's registration hooks, recording what it registered."""

    def register_vendor(vendor: Vendor) -> None:
        if not isinstance(vendor, Vendor):
            raise PluginError(f"plugin {name!r} registered {vendor!r}, not a Vendor", plugin_name=name)
        owner = _registry.vendor_owner.get(vendor.name)
        if owner is not None:
            raise DuplicateVendorError(
                f"vendor {vendor.name!r} registered by both {owner!r} and {name!r}", plugin_name=name
            )
        _registry.vendors[vendor.name] = vendor
        _registry.vendor_owner[vendor.name] = name

    def register_exporter(exporter: Exporter) -> None:
        if not isinstance(exporter, Exporter):
            raise PluginError(f"plugin {name!r} registered {exporter!r}, not an Exporter", plugin_name=name)
        _registry.exporters[exporter.name] = exporter

    hook = pm.subset_hook_caller("register_vendors", remove_plugins=[p for p in pm.get_plugins() if p is not plugin])
    hook(register=register_vendor)
    hook = pm.subset_hook_caller("register_exporters", remove_plugins=[p for p in pm.get_plugins() if p is not plugin])
    hook(register=register_exporter)


def _add_plugin(
    pm: pluggy.PluginManager, plugin: Any, name: str, dist: tuple[str | None, str | None], strict: bool
) -> None:
    try:
        pm.register(plugin, name=name)
        _collect(pm, plugin, name, strict)
        _registry.distributions[name] = dist
    except Exception as exc:
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        for vname in [v for v, owner in _registry.vendor_owner.items() if owner == name]:
            del _registry.vendors[vname]
            del _registry.vendor_owner[vname]
        _fail(name, dist[0], exc, strict)


def _fail(name: str, dist: str | None, exc: BaseException, strict: bool) -> None:
    failure = PluginFailure(name, dist, f"{type(exc).__name__}: {exc}")
    _registry.failures.append(failure)
    if strict:
        if isinstance(exc, PluginError):
            raise exc
        raise PluginError(
            f"plugin {name!r} failed to load: {failure.error}", plugin_name=name, distribution=dist
        ) from exc
    warnings.warn(f"backupbridge plugin {name!r} skipped: {failure.error}", RuntimeWarning, stacklevel=4)
    log.warning("plugin %s skipped: %s", name, failure.error)


def get_plugin_manager(*, strict: bool | None = None) -> pluggy.PluginManager:
    """The plugin manager, loading entry-point plugins on first call."""
    strict = _strict_default() if strict is None else strict
    with _registry.lock:
        if _registry.pm is not None:
            return _registry.pm
        pm = pluggy.PluginManager("backupbridge")
        pm.add_hookspecs(hookspecs)
        _registry.pm = pm
        from . import exporters

        _add_plugin(pm, exporters, "backupbridge.exporters", ("backupbridge", None), strict=True)
        allow = _allowlist()
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if allow is not None and ep.name not in allow:
                continue
            dist = (ep.dist.name, ep.dist.version) if ep.dist else (None, None)
            try:
                plugin = ep.load()
            except Exception as exc:
                _fail(ep.name, dist[0], exc, strict)
                continue
            _add_plugin(pm, plugin, ep.name, dist, strict)
        return pm


@contextmanager
def registered_plugin(plugin: Any, name: str) -> Iterator[None]:
    """Register ``plugin`` for the duration of a ``with`` block (tests, embedding)."""
    pm = get_plugin_manager()
    with _registry.lock:
        _add_plugin(pm, plugin, name, (None, None), strict=True)
    try:
        yield
    finally:
        with _registry.lock:
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            for vname in [v for v, owner in _registry.vendor_owner.items() if owner == name]:
                del _registry.vendors[vname]
                del _registry.vendor_owner[vname]
            _registry.distributions.pop(name, None)


def reload_plugins(*, strict: bool | None = None) -> None:
    """Forget every loaded plugin and load them again (after changing the allowlist)."""
    _registry.reset()
    get_plugin_manager(strict=strict)


def list_vendors() -> list[Vendor]:
    get_plugin_manager()
    return [_registry.vendors[name] for name in sorted(_registry.vendors)]


def get_vendor(name: str) -> Vendor:
    """The registered vendor ``name``; ``UnknownVendorError`` (listing the known ones) otherwise."""
    get_plugin_manager()
    try:
        return _registry.vendors[name.lower()]
    except KeyError:
        raise UnknownVendorError(name, _registry.vendors) from None


def list_exporters() -> list[Exporter]:
    get_plugin_manager()
    return [_registry.exporters[name] for name in sorted(_registry.exporters)]


def get_exporter(name: str) -> Exporter:
    get_plugin_manager()
    try:
        return _registry.exporters[name]
    except KeyError:
        raise PluginError(
            f"unknown output format {name!r}; known: {', '.join(sorted(_registry.exporters))}", plugin_name=name
        ) from None


def plugin_failures() -> list[PluginFailure]:
    get_plugin_manager()
    return list(_registry.failures)


def list_plugins() -> list[PluginInfo]:
    """Every loaded plugin, its distribution and the vendors it registered."""
    get_plugin_manager()
    result = []
    for name, (dist, version) in sorted(_registry.distributions.items()):
        vendors = tuple(sorted(v for v, owner in _registry.vendor_owner.items() if owner == name))
        result.append(PluginInfo(name, dist, version, vendors))
    return result


__all__ += ["BUILTIN_EXPORTERS", "PluginInfo", "reload_plugins"]
