"""Who may load and which names a plugin may take: built-in names, duplicates, SystemExit, trust lists."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import attrs
import pytest

import backupbridge
from backupbridge import (
    ConfigurationError,
    DuplicateVendorError,
    Exporter,
    PluginError,
    UnknownVendorError,
    Vendor,
    hookimpl,
    plugins,
)
from backupbridge.cli import main
from tests.core.test_plugins import FakePlugin, fake_vendor


@attrs.frozen
class FakeDistribution:
    name: str
    version: str = "1.0"


class FakeEntryPoint:
    """An installed plugin as ``importlib.metadata`` describes it, counting how often it is imported."""

    group = "backupbridge"

    def __init__(self, name: str, plugin: Callable[[], object], dist: str | None = "acme-backup") -> None:
        self.name = name
        self.value = f"{name.replace('-', '_')}_module"
        self.dist = FakeDistribution(dist) if dist else None
        self._plugin = plugin
        self.loads = 0

    def load(self) -> object:
        self.loads += 1
        return self._plugin()


def install(monkeypatch: pytest.MonkeyPatch, *fakes: FakeEntryPoint | importlib.metadata.EntryPoint) -> None:
    real = importlib.metadata.entry_points

    def entry_points(**kwargs: Any) -> Any:
        found: list[Any] = list(real(**kwargs))
        if kwargs.get("group") == "backupbridge":
            found.extend(fakes)
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # No user's config file, allowlist or strict mode leaks in; the real registry comes back afterwards.
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("BACKUPBRIDGE_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("BACKUPBRIDGE_STRICT_PLUGINS", raising=False)
    yield
    monkeypatch.undo()
    plugins.use_config(None)
    plugins.reload_plugins()


def load() -> None:
    """Load with a failing or refused plugin installed: the failure is also a warning."""
    with pytest.warns(RuntimeWarning, match="backupbridge plugin"):
        plugins.reload_plugins()


class Impostor:
    """Registers the built-in's name and records whether any of its code ever saw a credential."""

    def __init__(self, name: str = "idrive360") -> None:
        self.seen: list[object] = []

        def make_auth(creds: Any, base_url: str) -> Any:
            self.seen.append(creds)
            raise AssertionError("the impostor received credentials")

        self.vendor = attrs.evolve(fake_vendor(name), title="Impostor", make_auth=make_auth)

    @hookimpl
    def register_vendors(self, register: Callable[[Vendor], None]) -> None:
        register(self.vendor)

    @hookimpl
    def backup_problem(self, alert: object) -> None:
        self.seen.append(alert)


@pytest.mark.parametrize("entry_point", ["aaa-impostor", "zzz-impostor", "idrive360"])
def test_a_third_party_cannot_take_a_builtin_vendor_name(monkeypatch: pytest.MonkeyPatch, entry_point: str) -> None:
    impostor = Impostor()
    install(monkeypatch, FakeEntryPoint(entry_point, lambda: impostor, dist="evil-backup"))
    load()
    assert plugins.get_vendor("idrive360").title.startswith("IDrive 360")
    (failure,) = plugins.plugin_failures()
    assert failure.refused and failure.name == entry_point and failure.distribution == "evil-backup"
    assert "evil-backup" in failure.error and entry_point in failure.error
    assert entry_point not in {p.name for p in plugins.list_plugins() if not p.builtin}

    monkeypatch.setenv("IDRIVE360_API_KEY", "k-built-in-only-0123456789")
    with backupbridge.connect("idrive360", transport=_no_requests()):
        pass
    assert impostor.seen == []  # neither its auth nor (unregistered) its alert hook ever ran
    assert plugins.get_plugin_manager().get_plugin(entry_point) is not impostor


def _no_requests() -> Any:
    import httpx

    return httpx.MockTransport(lambda request: pytest.fail(f"a request was sent: {request.url}"))


def test_the_refusal_is_listed_by_the_plugins_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, FakeEntryPoint("aaa-impostor", Impostor, dist="evil-backup"))
    load()
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("aaa-impostor\t"))
    assert "idrive360" in line and "evil-backup" in line and ("REFUSED" in line or "FAILED" in line)
    assert "idrive360\tbackupbridge" in out


def test_builtins_are_told_by_distribution_and_module_not_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # A third party's module named like ours, from its own distribution, is still a third party.
    fake = FakeEntryPoint("zz-cleverfox", Impostor, dist="evil-backup")
    fake.value = "backupbridge_cleverfox"
    install(monkeypatch, fake)
    load()
    assert [f.name for f in plugins.plugin_failures()] == ["zz-cleverfox"]
    builtin = {p.name for p in plugins.list_plugins() if p.builtin}
    assert {"idrive360", "cleverfox", "managedbackup", "vprotect"} <= builtin and "zz-cleverfox" not in builtin


def test_a_builtin_name_stays_reserved_when_the_builtin_is_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeEntryPoint("impostor", Impostor, dist="evil-backup"))
    monkeypatch.setenv("BACKUPBRIDGE_LOAD_PLUGINS", "impostor")
    load()
    with pytest.raises(UnknownVendorError):
        plugins.get_vendor("idrive360")
    assert plugins.plugin_failures()[0].refused
    with pytest.raises(DuplicateVendorError, match="built in"):
        with plugins.registered_plugin(FakePlugin(fake_vendor("vprotect")), "late-impostor"):
            pass


def test_two_third_parties_registering_one_name_are_both_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = FakeEntryPoint("acme", lambda: FakePlugin(fake_vendor("acme")), dist="acme-backup")
    second = FakeEntryPoint("acme-fork", lambda: FakePlugin(fake_vendor("acme"), fake_vendor("other")), dist="fork")
    install(monkeypatch, second, first)
    load()
    with pytest.raises(UnknownVendorError):
        plugins.get_vendor("acme")
    with pytest.raises(UnknownVendorError):
        plugins.get_vendor("other")  # a refused plugin is refused as a whole
    refused = {f.name: f for f in plugins.plugin_failures()}
    assert set(refused) == {"acme", "acme-fork"} and all(f.refused for f in refused.values())
    assert "'acme-backup'" in refused["acme"].error and "'fork'" in refused["acme"].error

    # Blocking one lets the other have its name.
    config = tmp_path / "config.toml"
    config.write_text('[plugins]\nblock = ["acme-fork"]\n')
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(config))
    plugins.reload_plugins()
    assert plugins.get_vendor("acme").title == "Fake" and plugins.plugin_failures() == []


def test_a_later_registration_of_a_taken_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeEntryPoint("acme", lambda: FakePlugin(fake_vendor("acme"))))
    plugins.reload_plugins()
    with pytest.raises(DuplicateVendorError, match="held by plugin 'acme'"):
        with plugins.registered_plugin(FakePlugin(fake_vendor("acme")), "acme-again"):
            pass
    assert plugins.get_vendor("acme").title == "Fake"


def test_two_distributions_sharing_an_entry_point_name_are_both_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    install(
        monkeypatch,
        FakeEntryPoint("acme", lambda: FakePlugin(fake_vendor("acme")), dist="acme-backup"),
        FakeEntryPoint("acme", lambda: FakePlugin(fake_vendor("acme2")), dist="acme-typosquat"),
    )
    load()
    assert sorted(f.distribution or "" for f in plugins.plugin_failures()) == ["acme-backup", "acme-typosquat"]
    with pytest.raises(UnknownVendorError):
        plugins.get_vendor("acme")


class Exporting:
    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def register_exporters(self, register: Callable[[Exporter], None]) -> None:
        def hijack(records: Iterable[Any], stream: TextIO) -> None:
            stream.write("hijacked")

        register(Exporter(self.name, hijack))


def test_builtin_output_formats_cannot_be_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    install(
        monkeypatch,
        FakeEntryPoint("csv-hijack", lambda: Exporting("csv")),
        FakeEntryPoint("xml-a", lambda: Exporting("xml"), dist="a"),
        FakeEntryPoint("xml-b", lambda: Exporting("xml"), dist="b"),
        FakeEntryPoint("yaml", lambda: Exporting("yaml"), dist="c"),
    )
    load()
    from backupbridge.exporters import write_csv

    assert plugins.get_exporter("csv").write is write_csv
    assert {f.name for f in plugins.plugin_failures()} == {"csv-hijack", "xml-a", "xml-b"}
    with pytest.raises(PluginError, match="unknown output format"):
        plugins.get_exporter("xml")
    assert plugins.get_exporter("yaml")


@pytest.mark.parametrize("name", ["IDrive360", "idrive360\x1b[2J", "\u0456drive360", "", "a" * 65])
def test_vendor_names_are_plain_lower_case_ascii(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    install(monkeypatch, FakeEntryPoint("odd", lambda: FakePlugin(fake_vendor(name))))
    load()
    assert "vendor name" in plugins.plugin_failures()[0].error
    assert name not in {v.name for v in plugins.list_vendors()}


def test_a_plugin_that_swallows_its_refusal_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Sly:
        @hookimpl
        def register_vendors(self, register: Callable[[object], None]) -> None:
            try:
                register("not a vendor")
            except PluginError:
                pass
            register(fake_vendor("sly"))

    install(monkeypatch, FakeEntryPoint("sly", Sly))
    load()
    assert "not a Vendor" in plugins.plugin_failures()[0].error
    with pytest.raises(UnknownVendorError):
        plugins.get_vendor("sly")


class PluginAbort(BaseException):
    """Not an Exception: a plugin's own BaseException subclass."""


def _exit(code: int) -> object:
    raise SystemExit(code)


@pytest.mark.parametrize(
    ("raised", "name"),
    [(lambda: _exit(3), "SystemExit"), (lambda: _raise(PluginAbort("bye")), "PluginAbort")],
)
def test_systemexit_on_import_is_contained(
    monkeypatch: pytest.MonkeyPatch, raised: Callable[[], object], name: str
) -> None:
    install(monkeypatch, FakeEntryPoint("quitter", raised))
    load()
    assert plugins.plugin_failures()[0].error.startswith(name)
    assert plugins.get_vendor("idrive360")


def _raise(exc: BaseException) -> object:
    raise exc


def test_systemexit_in_a_registration_hook_is_contained_and_nothing_of_it_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class HalfWay:
        @hookimpl
        def register_vendors(self, register: Callable[[Vendor], None]) -> None:
            register(fake_vendor("halfway"))
            raise SystemExit("leaving")

    install(monkeypatch, FakeEntryPoint("halfway", HalfWay))
    load()
    assert plugins.plugin_failures()[0].error == "SystemExit: leaving"
    with pytest.raises(UnknownVendorError):
        plugins.get_vendor("halfway")
    assert plugins.get_plugin_manager().get_plugin("halfway") is None


def test_strict_mode_raises_systemexit_as_plugin_error_and_keeps_nothing_half_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(monkeypatch, FakeEntryPoint("quitter", lambda: _exit(3)))
    with pytest.raises(PluginError, match="quitter") as info:
        plugins.reload_plugins(strict=True)
    assert isinstance(info.value.__cause__, SystemExit)
    with pytest.raises(PluginError):  # tried again on next use, not cached as loaded
        plugins.get_plugin_manager(strict=True)


def test_strict_mode_raises_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeEntryPoint("aaa-impostor", Impostor, dist="evil-backup"))
    with pytest.raises(DuplicateVendorError, match="aaa-impostor"):
        plugins.reload_plugins(strict=True)


def test_ctrl_c_during_import_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeEntryPoint("slow", lambda: _raise(KeyboardInterrupt())))
    with pytest.raises(KeyboardInterrupt):
        plugins.reload_plugins()


def test_every_command_still_runs_beside_a_plugin_calling_sys_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, FakeEntryPoint("quitter", lambda: _exit(0)))
    plugins.use_config(None)
    plugins._registry.reset()  # the CLI loads them itself, lazily
    with pytest.warns(RuntimeWarning, match="quitter"):
        assert main(["devices", "--sandbox", "--vendor", "idrive360", "--size", "3", "--format", "json"]) == 0
    assert '"vendor": "idrive360"' in capsys.readouterr().out
    assert main(["plugins"]) == 0
    assert "quitter\tFAILED\tSystemExit" in capsys.readouterr().out


def _config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(path))
    return path


def _two_third_parties(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeEntryPoint, FakeEntryPoint]:
    acme = FakeEntryPoint("acme", lambda: FakePlugin(fake_vendor("acme")), dist="acme-backup")
    other = FakeEntryPoint("other", lambda: FakePlugin(fake_vendor("other")), dist="other-backup")
    install(monkeypatch, acme, other)
    return acme, other


def test_config_load_list_trusts_only_the_named_third_parties(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, other = _two_third_parties(monkeypatch)
    path = _config(tmp_path, '[plugins]\nload = ["acme"]\n', monkeypatch)
    plugins.reload_plugins()
    names = {v.name for v in plugins.list_vendors()}
    assert {"acme", "idrive360", "cleverfox", "managedbackup", "vprotect"} <= names and "other" not in names
    assert other.loads == 0  # never imported
    (skip,) = plugins.skipped_plugins()
    assert skip.name == "other" and str(path) in skip.reason


def test_env_and_config_lists_must_both_name_a_third_party(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _two_third_parties(monkeypatch)
    _config(tmp_path, '[plugins]\nload = ["acme"]\n', monkeypatch)
    monkeypatch.setenv("BACKUPBRIDGE_LOAD_PLUGINS", "acme,other,idrive360")
    plugins.reload_plugins()
    assert {v.name for v in plugins.list_vendors()} == {"acme", "idrive360"}


def test_config_block_list_blocks_a_builtin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _config(tmp_path, '[plugins]\nblock = ["vprotect"]\n', monkeypatch)
    plugins.reload_plugins()
    assert "vprotect" not in {v.name for v in plugins.list_vendors()}
    assert "idrive360" in {v.name for v in plugins.list_vendors()}
    assert [s.name for s in plugins.skipped_plugins()] == ["vprotect"]


def test_loading_is_lazy_and_idempotent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    acme, _ = _two_third_parties(monkeypatch)
    path = _config(tmp_path, '[plugins]\nload = ["acme"]\n', monkeypatch)
    plugins._registry.reset()
    assert acme.loads == 0
    path.write_text('[plugins]\nload = ["acme"]\n', encoding="utf-8")
    for _ in range(3):
        plugins.get_vendor("acme")
        plugins.list_plugins()
    assert acme.loads == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[plugins]\nlaod = ["acme"]\n', "unknown key 'laod' in \\[plugins\\]"),
        ('[plugins]\nload = "acme"\n', "load must be a list"),
        ("[plugins]\nblock = [1]\n", "block must be a list"),
        ('plugins = "acme"\n', "plugins must be a table"),
        ("[plugins\n", "cannot read"),
    ],
)
def test_an_invalid_plugins_table_loads_nothing_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, message: str
) -> None:
    _config(tmp_path, text, monkeypatch)
    with pytest.raises(ConfigurationError, match=message):
        plugins.reload_plugins()
    with pytest.raises(ConfigurationError):  # not cached as "loaded with no list"
        plugins.list_vendors()


def test_an_invalid_plugins_table_is_one_line_from_the_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, '[plugins]\nlaod = ["acme"]\n', monkeypatch)
    plugins._registry.reset()
    assert main(["vendors"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'laod'" in err and len(err.strip().splitlines()) == 1


def test_use_config_points_at_another_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _two_third_parties(monkeypatch)
    plugins.reload_plugins()
    assert "other" in {v.name for v in plugins.list_vendors()}
    chosen = tmp_path / "chosen.toml"
    chosen.write_text('[plugins]\nload = ["acme"]\n', encoding="utf-8")
    plugins.use_config(chosen)
    assert "other" not in {v.name for v in plugins.list_vendors()}
    plugins.use_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigurationError, match="no configuration file"):
        plugins.list_vendors()
    plugins.use_config(None)
    assert "other" in {v.name for v in plugins.list_vendors()}


def test_a_config_file_without_a_plugins_table_changes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _two_third_parties(monkeypatch)
    _config(tmp_path, '[accounts.x]\nvendor = "idrive360"\n', monkeypatch)
    plugins.reload_plugins()
    assert {"acme", "other"} <= {v.name for v in plugins.list_vendors()}


def test_registering_under_a_loaded_plugins_name_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match="'idrive360' cannot be registered"):
        with plugins.registered_plugin(FakePlugin(fake_vendor("acme")), "idrive360"):
            pass
    assert plugins.get_vendor("idrive360").title.startswith("IDrive 360")


def test_one_distribution_seen_twice_on_the_path_is_one_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = next(ep for ep in importlib.metadata.entry_points(group="backupbridge") if ep.name == "idrive360")
    acme = FakeEntryPoint("acme", lambda: FakePlugin(fake_vendor("acme")))
    twin = FakeEntryPoint("acme", lambda: FakePlugin(fake_vendor("acme")))
    install(monkeypatch, builtin, acme, twin)
    plugins.reload_plugins()
    assert plugins.plugin_failures() == []
    assert plugins.get_vendor("acme") and plugins.get_vendor("idrive360").title.startswith("IDrive 360")
