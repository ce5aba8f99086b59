"""The plugin manager: entry-point loading, the vendor and exporter registries, and who may load.

Loading is lazy (on first use) and idempotent. A plugin that fails (its import or a registration hook
raises anything, ``SystemExit`` included; only ``KeyboardInterrupt`` goes through) is reported (a warning
and ``plugin_failures()``) and skipped, so one broken third-party plugin never breaks the CLI; with
``BACKUPBRIDGE_STRICT_PLUGINS=1`` (or ``strict=True``) the failure is raised instead, as ``PluginError``.

Trust (docs/plugins.md):

- The built-in plugins are the modules shipped in the ``backupbridge`` distribution (``BUILTIN_MODULES``).
  Their vendor names (``BUILTIN_VENDOR_NAMES``) and the built-in output formats cannot be taken by a third
  party, whatever the load order: such a plugin is refused as a whole (``REFUSED`` in ``backupbridge
  plugins``) and the built-in keeps the name.
- Two third-party plugins registering one name are both refused: which one is genuine cannot be told, and
  the winner must not depend on how their entry points sort.
- ``BACKUPBRIDGE_LOAD_PLUGINS`` (comma-separated entry-point names, empty loads none) and the config file's
  ``[plugins] load = [...]`` are allowlists: a third-party plugin loads only if every list that is set names
  it. Built-in plugins load unless the environment list leaves them out or ``[plugins] block`` names them.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .config import PluginSettings, load_plugin_settings
from .errors import DuplicateVendorError, PluginError, UnknownVendorError
from .exporters import BUILTIN_EXPORTERS, Exporter
from .terminal import one_line
from .vendors import Vendor

__all__ = [
    "BUILTIN_EXPORTERS",
    "BUILTIN_MODULES",
    "BUILTIN_VENDOR_NAMES",
    "ENTRY_POINT_GROUP",
    "PluginFailure",
    "PluginInfo",
    "PluginSkip",
    "get_exporter",
    "get_plugin_manager",
    "get_vendor",
    "list_exporters",
    "list_plugins",
    "list_vendors",
    "plugin_failures",
    "registered_plugin",
    "reload_plugins",
    "skipped_plugins",
    "use_config",
]

ENTRY_POINT_GROUP = "backupbridge"
DISTRIBUTION = "backupbridge"
BUILTIN_MODULES = frozenset(
    {
        "backupbridge_idrive360",
        "backupbridge_cleverfox",
        "backupbridge_managedbackup",
        "backupbridge_vprotect",
        "backupbridge_connectwise",
    }
)
"""The plugins shipped in the ``backupbridge`` distribution: the four vendors and the ConnectWise PSA sink."""
BUILTIN_VENDOR_NAMES = frozenset({"idrive360", "cleverfox", "managedbackup", "vprotect"})
"""Vendor names only a built-in plugin may register (reserved even when the built-in is blocked)."""
_EXPORTERS_PLUGIN = "backupbridge.exporters"
_VENDOR_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_EXPORTER_NAME = re.compile(r"[a-z0-9][a-z0-9_.+-]{0,63}")
log = logging.getLogger("backupbridge.plugins")


@attrs.frozen
class PluginFailure:
    """A plugin that could not be loaded, broke the contract, or was refused (``refused``: it registered a
    name that is not its to take)."""

    name: str
    distribution: str | None
    error: str
    refused: bool = False


@attrs.frozen
class PluginInfo:
    """A loaded plugin: its entry-point name, distribution and version, and the vendors it registered."""

    name: str
    distribution: str | None
    version: str | None
    vendors: tuple[str, ...]
    builtin: bool = False


@attrs.frozen
class PluginSkip:
    """An installed plugin that was not loaded, and why (an allowlist leaves it out, or it is blocked)."""

    name: str
    distribution: str | None
    reason: str


@attrs.frozen
class _Candidate:
    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    plugin: Any


@attrs.frozen
class _Claims:
    vendors: tuple[Vendor, ...]
    exporters: tuple[Exporter, ...]


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.config_path: Path | None = None
        self.pm: pluggy.PluginManager | None = None
        self.vendors: dict[str, Vendor] = {}
        self.vendor_owner: dict[str, str] = {}
        self.exporters: dict[str, Exporter] = {}
        self.exporter_owner: dict[str, str] = {}
        self.failures: list[PluginFailure] = []
        self.skipped: list[PluginSkip] = []
        self.loaded: dict[str, _Candidate] = {}

    def reset(self) -> None:
        with self.lock:
            self.pm = None
            for table in (self.vendors, self.vendor_owner, self.exporters, self.exporter_owner, self.loaded):
                table.clear()
            self.failures.clear()
            self.skipped.clear()


_registry = _Registry()


def _strict_default() -> bool:
    return os.environ.get("BACKUPBRIDGE_STRICT_PLUGINS", "").lower() in ("1", "true", "yes")


def _env_allowlist() -> set[str] | None:
    raw = os.environ.get("BACKUPBRIDGE_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _skip_reason(name: str, builtin: bool, settings: PluginSettings, env: set[str] | None) -> str | None:
    """Why the plugin ``name`` is not to be loaded, or ``None`` to load it (the rules in the module docstring)."""
    if name in settings.block:
        return f"blocked by [plugins] block in {settings.source}"
    if env is not None and name not in env:
        return "not in BACKUPBRIDGE_LOAD_PLUGINS"
    if not builtin and settings.load is not None and name not in settings.load:
        return f"not in [plugins] load in {settings.source}"
    return None


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _is_builtin(ep: Any) -> bool:
    """Shipped with backupbridge: the entry point comes from the backupbridge distribution and names one of
    its vendor modules. Never decided by the entry point's name or its place in the load order."""
    dist = getattr(ep, "dist", None)
    module = str(ep.value).partition(":")[0].strip()
    return dist is not None and _normalise(str(dist.name)) == DISTRIBUTION and module in BUILTIN_MODULES


def _contained(exc: BaseException) -> bool:
    """A plugin's exception to contain: anything but Ctrl-C (``SystemExit`` too: a plugin may not end the
    program)."""
    return not isinstance(exc, KeyboardInterrupt | GeneratorExit)


def _origin(candidate: _Candidate) -> str:
    dist = f"distribution {candidate.distribution!r}" if candidate.distribution else "no distribution"
    return f"plugin {candidate.name!r} ({dist})"


def _claims(pm: pluggy.PluginManager, candidate: _Candidate) -> _Claims:
    """What one plugin registers through its hooks, checked (types, names) but not yet committed.

    Raises:
        PluginError: a registration broke the contract, even if the plugin caught the error ``register``
            raised for it.
    """
    vendors: dict[str, Vendor] = {}
    exporters: dict[str, Exporter] = {}
    broken: list[PluginError] = []

    def refuse(error: PluginError) -> None:
        broken.append(error)
        raise error

    def register_vendor(vendor: Vendor) -> None:
        if not isinstance(vendor, Vendor):
            refuse(
                PluginError(f"{_origin(candidate)} registered {vendor!r:.80}, not a Vendor", plugin_name=candidate.name)
            )
        if not isinstance(vendor.name, str) or not _VENDOR_NAME.fullmatch(vendor.name):
            refuse(
                PluginError(
                    f"{_origin(candidate)} registered the vendor name {vendor.name!r:.80}: a vendor name is "
                    "lower-case ASCII letters, digits, '-' and '_', starting with a letter",
                    plugin_name=candidate.name,
                )
            )
        if vendor.name in vendors:
            refuse(
                DuplicateVendorError(
                    f"{_origin(candidate)} registered the vendor {vendor.name!r} twice", plugin_name=candidate.name
                )
            )
        vendors[vendor.name] = vendor

    def register_exporter(exporter: Exporter) -> None:
        if not isinstance(exporter, Exporter):
            refuse(
                PluginError(
                    f"{_origin(candidate)} registered {exporter!r:.80}, not an Exporter", plugin_name=candidate.name
                )
            )
        if not isinstance(exporter.name, str) or not _EXPORTER_NAME.fullmatch(exporter.name):
            refuse(
                PluginError(
                    f"{_origin(candidate)} registered the output format {exporter.name!r:.80}: a format name is "
                    "lower-case ASCII letters, digits and '_.+-'",
                    plugin_name=candidate.name,
                )
            )
        if exporter.name in exporters:
            refuse(
                PluginError(
                    f"{_origin(candidate)} registered the output format {exporter.name!r} twice",
                    plugin_name=candidate.name,
                )
            )
        exporters[exporter.name] = exporter

    others = [p for p in pm.get_plugins() if p is not candidate.plugin]
    pm.subset_hook_caller("register_vendors", remove_plugins=others)(register=register_vendor)
    pm.subset_hook_caller("register_exporters", remove_plugins=others)(register=register_exporter)
    if broken:
        raise broken[0]
    return _Claims(tuple(vendors.values()), tuple(exporters.values()))


def _failure(candidate: _Candidate, exc: BaseException, *, refused: bool = False) -> PluginFailure:
    # A plugin's error text is its own: kept on one line without escape sequences, as it reaches a terminal.
    return PluginFailure(
        candidate.name, candidate.distribution, one_line(f"{type(exc).__name__}: {exc}"), refused=refused
    )


def _report(failure: PluginFailure, exc: BaseException, strict: bool) -> None:
    """Record a failure; in strict mode raise it (as ``PluginError``)."""
    _registry.failures.append(failure)
    if strict:
        if isinstance(exc, PluginError):
            raise exc
        raise PluginError(
            f"plugin {failure.name!r} failed to load: {failure.error}",
            plugin_name=failure.name,
            distribution=failure.distribution,
        ) from exc
    what = "refused" if failure.refused else "skipped"
    name = one_line(failure.name)  # an entry point's name is the plugin's text too
    warnings.warn(f"backupbridge plugin {name!r} {what}: {failure.error}", RuntimeWarning, stacklevel=5)
    log.warning("plugin %s %s: %s", name, what, failure.error)


def _conflicts(claims: dict[str, _Claims], candidates: dict[str, _Candidate]) -> dict[str, list[str]]:
    """Plugin name -> why it is refused: a built-in's name taken, or a name two third parties both claim."""
    reasons: dict[str, list[str]] = {}
    kinds: tuple[tuple[str, dict[str, list[str]], set[str]], ...] = (
        ("vendor", {p: [v.name for v in c.vendors] for p, c in claims.items()}, set(BUILTIN_VENDOR_NAMES)),
        (
            "output format",
            {p: [e.name for e in c.exporters] for p, c in claims.items()},
            {e.name for e in BUILTIN_EXPORTERS},
        ),
    )
    for kind, names_by_plugin, reserved in kinds:
        claimants: dict[str, list[str]] = {}
        for plugin_name in sorted(names_by_plugin):
            for claimed in names_by_plugin[plugin_name]:
                claimants.setdefault(claimed, []).append(plugin_name)
        reserved |= {n for n, owners in claimants.items() if any(candidates[o].builtin for o in owners)}
        for claimed, owners in sorted(claimants.items()):
            third = [o for o in owners if not candidates[o].builtin]
            if claimed in reserved:
                for owner in third:
                    reasons.setdefault(owner, []).append(
                        f"{_origin(candidates[owner])} registered the {kind} name {claimed!r}, which is built in "
                        "and cannot be taken by a third-party plugin"
                    )
            elif len(third) > 1:
                listed = " and ".join(_origin(candidates[o]) for o in third)
                for owner in third:
                    reasons.setdefault(owner, []).append(
                        f"the {kind} name {claimed!r} is registered by {listed}; all of them are refused "
                        "(block or uninstall all but one)"
                    )
    return reasons


def _commit(candidate: _Candidate, claims: _Claims) -> None:
    for vendor in claims.vendors:
        _registry.vendors[vendor.name] = vendor
        _registry.vendor_owner[vendor.name] = candidate.name
    for exporter in claims.exporters:
        _registry.exporters[exporter.name] = exporter
        _registry.exporter_owner[exporter.name] = candidate.name
    _registry.loaded[candidate.name] = candidate


def _entry_points() -> list[Any]:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted(found, key=lambda ep: (ep.name, _distribution(ep)[0] or "", ep.value))


def _distribution(ep: Any) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    return (str(dist.name), str(dist.version)) if dist is not None else (None, None)


def _import(settings: PluginSettings, strict: bool) -> list[_Candidate]:
    """Import every entry point the trust rules allow; refuse third parties reusing a built-in's entry-point
    name, and entry-point names that several third-party distributions share."""
    env = _env_allowlist()
    by_name: dict[str, list[Any]] = {}
    seen: set[tuple[str, str | None, str]] = set()
    for ep in _entry_points():
        # One distribution found twice on sys.path (an editable and a regular install) is one plugin.
        key = (ep.name, _normalise(_distribution(ep)[0] or ""), ep.value)
        if key not in seen:
            seen.add(key)
            by_name.setdefault(ep.name, []).append(ep)
    candidates: list[_Candidate] = []
    for name, eps in by_name.items():
        builtin = [ep for ep in eps if _is_builtin(ep)]
        for ep in eps:
            dist, version = _distribution(ep)
            candidate = _Candidate(name, dist, version, bool(builtin) and ep is builtin[0], None)
            if not candidate.builtin and (builtin or name == _EXPORTERS_PLUGIN):
                error = PluginError(f"{_origin(candidate)} uses the entry-point name of a built-in plugin")
                _report(_failure(candidate, error, refused=True), error, strict)
                continue
            if not candidate.builtin and len({(_distribution(e)[0], e.value) for e in eps}) > 1:
                others = ", ".join(repr(_distribution(e)[0]) for e in eps if e is not ep)
                error = PluginError(f"{_origin(candidate)} shares its entry-point name with distribution {others}")
                _report(_failure(candidate, error, refused=True), error, strict)
                continue
            reason = _skip_reason(name, candidate.builtin, settings, env)
            if reason is not None:
                _registry.skipped.append(PluginSkip(name, dist, reason))
                continue
            try:
                plugin = ep.load()
            except BaseException as exc:
                if not _contained(exc):
                    raise
                _report(_failure(candidate, exc), exc, strict)
                continue
            candidates.append(attrs.evolve(candidate, plugin=plugin))
    return candidates


def _load(pm: pluggy.PluginManager, settings: PluginSettings, strict: bool) -> None:
    from . import exporters

    candidates = [_Candidate(_EXPORTERS_PLUGIN, DISTRIBUTION, None, True, exporters), *_import(settings, strict)]
    by_name = {c.name: c for c in candidates}
    claims: dict[str, _Claims] = {}
    for candidate in candidates:
        try:
            pm.register(candidate.plugin, name=candidate.name)
            claims[candidate.name] = _claims(pm, candidate)
        except BaseException as exc:
            if not _contained(exc):
                raise
            if pm.is_registered(candidate.plugin):
                pm.unregister(candidate.plugin)
            _report(_failure(candidate, exc), exc, strict or candidate.name == _EXPORTERS_PLUGIN)
    refusals = _conflicts(claims, by_name)
    for candidate in candidates:
        if candidate.name not in claims:
            continue
        if candidate.name in refusals:
            pm.unregister(candidate.plugin)
            error = DuplicateVendorError(
                "; ".join(refusals[candidate.name]), plugin_name=candidate.name, distribution=candidate.distribution
            )
            _report(_failure(candidate, error, refused=True), error, strict)
            continue
        _commit(candidate, claims[candidate.name])


def get_plugin_manager(*, strict: bool | None = None) -> pluggy.PluginManager:
    """The plugin manager, loading entry-point plugins on first call.

    Raises:
        ConfigurationError: the config file's ``[plugins]`` table cannot be read or is invalid (nothing is
            loaded on a trust list that cannot be read).
        PluginError: in strict mode, the first plugin that fails or is refused (nothing stays loaded).
    """
    strict = _strict_default() if strict is None else strict
    with _registry.lock:
        if _registry.pm is not None:
            return _registry.pm
        settings = load_plugin_settings(_registry.config_path, required=_registry.config_path is not None)
        pm = pluggy.PluginManager("backupbridge")
        pm.add_hookspecs(hookspecs)
        try:
            _load(pm, settings, strict)
        except BaseException:
            _registry.reset()  # strict mode, or Ctrl-C: no half-loaded registry is kept
            raise
        _registry.pm = pm
        return pm


def use_config(path: Path | None) -> None:
    """Take the ``[plugins]`` table from ``path`` (the CLI's ``--config``) instead of the default config file;
    plugins already loaded under other rules are loaded again on next use. ``None`` goes back to the default."""
    with _registry.lock:
        if path != _registry.config_path:
            _registry.config_path = path
            _registry.reset()


@contextmanager
def registered_plugin(plugin: Any, name: str) -> Iterator[None]:
    """Register ``plugin`` for the duration of a ``with`` block (tests, embedding).

    It is a third-party plugin: a built-in's vendor or format name, or one another loaded plugin holds,
    is refused.

    Raises:
        DuplicateVendorError: the plugin registers a vendor name that is taken.
        PluginError: it broke the contract in another way (the error it raised, if it raised one).
    """
    pm = get_plugin_manager()
    candidate = _Candidate(name, None, None, False, plugin)
    with _registry.lock:
        try:
            pm.register(plugin, name=name)
        except ValueError as exc:  # pluggy: the name or the object is registered already
            raise PluginError(f"plugin {name!r} cannot be registered: {exc}", plugin_name=name) from exc
        try:
            claims = _claims(pm, candidate)
            taken = [
                f"the vendor name {v.name!r} is held by plugin {_registry.vendor_owner[v.name]!r}"
                if v.name in _registry.vendor_owner
                else f"the vendor name {v.name!r} is built in"
                for v in claims.vendors
                if v.name in _registry.vendor_owner or v.name in BUILTIN_VENDOR_NAMES
            ]
            taken += [
                f"the output format {e.name!r} is held by plugin {_registry.exporter_owner[e.name]!r}"
                for e in claims.exporters
                if e.name in _registry.exporter_owner
            ]
            if taken:
                raise DuplicateVendorError(f"{_origin(candidate)} refused: {'; '.join(taken)}", plugin_name=name)
        except BaseException:
            pm.unregister(plugin)
            raise
        _commit(candidate, claims)
    try:
        yield
    finally:
        with _registry.lock:
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            for vname in [v for v, owner in _registry.vendor_owner.items() if owner == name]:
                del _registry.vendors[vname]
                del _registry.vendor_owner[vname]
            for ename in [e for e, owner in _registry.exporter_owner.items() if owner == name]:
                del _registry.exporters[ename]
                del _registry.exporter_owner[ename]
            _registry.loaded.pop(name, None)


def reload_plugins(*, strict: bool | None = None) -> None:
    """Forget every loaded plugin and load them again (after changing the allowlist)."""
    with _registry.lock:
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
    """Plugins that failed to load or were refused, in the order it happened."""
    get_plugin_manager()
    return list(_registry.failures)


def skipped_plugins() -> list[PluginSkip]:
    """Installed plugins left out by an allowlist or the block list."""
    get_plugin_manager()
    return list(_registry.skipped)


def list_plugins() -> list[PluginInfo]:
    """Every loaded plugin, its distribution and the vendors it registered."""
    get_plugin_manager()
    result = []
    for name, candidate in sorted(_registry.loaded.items()):
        vendors = tuple(sorted(v for v, owner in _registry.vendor_owner.items() if owner == name))
        result.append(PluginInfo(name, candidate.distribution, candidate.version, vendors, candidate.builtin))
    return result
