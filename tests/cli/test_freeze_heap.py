"""The console script freezes the heap it has built (``gc.freeze``); a program calling ``main()`` never does."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import backupbridge.cli as cli
from backupbridge.bridge import Bridge


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What happened, in order: each ``gc.collect`` (done), each ``gc.freeze`` (recorded, not done: the test
    process is not ours) and each snapshot taken."""
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("BACKUPBRIDGE_STORE", raising=False)
    seen: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: seen.append("freeze"))
    collect = gc.collect

    def collected(*args: int) -> int:
        seen.append("collect")
        return collect(*args)

    monkeypatch.setattr(gc, "collect", collected)
    snapshot = Bridge.snapshot

    def recorded(self: Bridge, *args: object, **kwargs: object) -> object:
        result = snapshot(self, *args, **kwargs)  # type: ignore[arg-type]
        seen.append("snapshot")
        return result

    monkeypatch.setattr(Bridge, "snapshot", recorded)
    return seen


_MAIN = cli.main


def _collect(tmp_path: Path) -> int:
    return _MAIN(["collect", "--sandbox", "--size", "4", "--store", f"sqlite:///{tmp_path / 's.sqlite3'}"])


def test_main_never_freezes(events: list[str], tmp_path: Path) -> None:
    assert _collect(tmp_path) == 0
    assert events == ["snapshot"]


def test_the_console_script_freezes_at_start_and_collect_after_its_snapshot(
    events: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_OWNS_PROCESS", False)  # restored after the test: run() sets it
    monkeypatch.delitem(cli.cli.commands, "collect", raising=False)  # loaded lazily again, as in a new process
    monkeypatch.setattr(cli, "main", lambda argv=None: _collect(tmp_path))
    with pytest.raises(SystemExit) as exited:
        cli.run()
    assert exited.value.code == 0
    # Each freeze after a collection: a cycle already garbage is freed (its finalizers run), never frozen. At
    # start, once the collect command's modules are imported (the store's), once its accounts are connected
    # (the plugins, the simulators), and after the snapshot.
    assert events == ["collect", "freeze"] * 3 + ["snapshot", "collect", "freeze"]
