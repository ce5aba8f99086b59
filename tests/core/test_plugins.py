"""The plugin manager: entry points, a broken plugin, duplicates, the allowlist, exporters."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import backupbridge
from backupbridge import (
    Capability,
    CredentialField,
    Driver,
    DuplicateVendorError,
    PluginError,
    UnknownVendorError,
    UnsupportedOperationError,
    Vendor,
    hookimpl,
    plugins,
)
from backupbridge.http import BearerAuth


def fake_vendor(name: str = "fakevendor") -> Vendor:
    return Vendor(
        name=name,
        title="Fake",
        credentials=(CredentialField(name="api_key", env="FAKE_API_KEY"),),
        make_auth=lambda creds, base_url: BearerAuth(creds["api_key"]),
        make_driver=Driver,
        capabilities=frozenset(),
        default_base_url="https://fake.example.test",
    )


class FakePlugin:
    def __init__(self, *vendors: Vendor) -> None:
        self.vendors = vendors

    @hookimpl
    def register_vendors(self, register: Callable[[Vendor], None]) -> None:
        for vendor in self.vendors:
            register(vendor)


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    plugins.reload_plugins()
    yield
    monkeypatch.undo()
    plugins.reload_plugins()


def test_builtin_vendor_is_loaded_through_its_entry_point() -> None:
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="backupbridge")}
    assert eps["idrive360"] == "backupbridge_idrive360"
    info = {p.name: p for p in plugins.list_plugins()}
    assert info["idrive360"].vendors == ("idrive360",)
    assert info["idrive360"].distribution == "backupbridge"


def test_registered_plugin_is_visible_then_removed() -> None:
    with plugins.registered_plugin(FakePlugin(fake_vendor()), "fake-plugin"):
        assert plugins.get_vendor("fakevendor").title == "Fake"
        conn = backupbridge.connect("fakevendor", api_key="k-123456")
        with pytest.raises(UnsupportedOperationError) as info:
            conn.list_devices()
        assert info.value.vendor == "fakevendor"
        assert info.value.operation == "list_devices"
        assert "fakevendor does not support list_devices" in str(info.value)
    with pytest.raises(UnknownVendorError):
        plugins.get_vendor("fakevendor")


def test_duplicate_vendor_names_are_refused() -> None:
    with pytest.raises(DuplicateVendorError, match="idrive360"):
        with plugins.registered_plugin(FakePlugin(fake_vendor("idrive360")), "impostor"):
            pass
    assert plugins.get_vendor("idrive360").title.startswith("IDrive 360")


def test_a_plugin_registering_garbage_is_refused() -> None:
    class Garbage:
        @hookimpl
        def register_vendors(self, register: Callable[[object], None]) -> None:
            register("not a vendor")

    with pytest.raises(PluginError, match="not a Vendor"):
        with plugins.registered_plugin(Garbage(), "garbage"):
            pass


def test_unknown_vendor_lists_the_known_ones() -> None:
    with pytest.raises(UnknownVendorError) as info:
        backupbridge.connect("nosuchvendor", api_key="x")
    assert "idrive360" in info.value.known
    assert isinstance(info.value, LookupError)


class BrokenEntryPoint:
    name = "broken"
    value = "broken_plugin_module"
    group = "backupbridge"
    dist = None

    def load(self) -> object:
        raise ImportError("No module named 'missing_dependency'")


def _with_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.entry_points

    def entry_points(**kwargs: Any) -> object:
        found: list[Any] = list(real(**kwargs))
        if kwargs.get("group") == "backupbridge":
            found.append(BrokenEntryPoint())
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_a_broken_plugin_is_reported_and_skipped(monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> None:
    _with_broken(monkeypatch)
    with pytest.warns(RuntimeWarning, match="broken"):
        plugins.reload_plugins(strict=False)
    assert [f.name for f in plugins.plugin_failures()] == ["broken"]
    assert "missing_dependency" in plugins.plugin_failures()[0].error
    assert plugins.get_vendor("idrive360")  # the others still load


def test_strict_mode_raises_for_a_broken_plugin(monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> None:
    _with_broken(monkeypatch)
    monkeypatch.setenv("BACKUPBRIDGE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="broken"):
        plugins.reload_plugins()


def test_allowlist_limits_what_loads(monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_LOAD_PLUGINS", "")
    plugins.reload_plugins()
    assert plugins.list_vendors() == []
    monkeypatch.setenv("BACKUPBRIDGE_LOAD_PLUGINS", "idrive360")
    plugins.reload_plugins()
    assert [v.name for v in plugins.list_vendors()] == ["idrive360"]


def test_builtin_exporters_are_registered_through_the_hook() -> None:
    assert {e.name for e in plugins.list_exporters()} >= {"table", "json", "csv", "ndjson"}
    with pytest.raises(PluginError, match="unknown output format"):
        plugins.get_exporter("xml")


def test_capabilities_are_the_enum() -> None:
    conn_caps = plugins.get_vendor("idrive360").capabilities
    assert all(isinstance(c, Capability) for c in conn_caps)
