"""``report`` and the store from the command line: the default store, ``--no-store``, and a store that fails
(locked, of a newer schema, unreachable, malformed): the report is printed first, then one line, rc 1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from backupbridge.cli import main
from backupbridge.store import default_store_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


SANDBOX = ("report", "--sandbox", "--vendor", "cleverfox", "--size", "4", "--format", "json")


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))


def test_the_readme_command_records_into_the_default_sandbox_store(capsys: pytest.CaptureFixture[str]) -> None:
    """``backupbridge report --sandbox`` (the README's first command) records into the sandbox's own store
    in the data directory (tests/conftest.py points the data directory at a temporary one)."""
    assert not default_store_path(sandbox=True).exists()
    code, _, err = cli(capsys, "report", "--sandbox", "--size", "4")
    assert code in (0, 1), err
    path = default_store_path(sandbox=True)
    assert path.is_file() and not default_store_path().exists()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT source FROM runs").fetchall() == [("report",)]
        assert db.execute("SELECT count(*) FROM run_accounts").fetchone() == (4,)


def test_no_store_writes_no_store(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, *SANDBOX, "--no-store")
    assert code == 0, err
    assert json.loads(out)["companies"] and not default_store_path(sandbox=True).exists()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--no-store", "--from-store"), "--no-store"),
        (("--no-store", "--store", "sqlite:////tmp/x.db"), "--no-store"),
        (("--store", "mysql://x@y/z"), "--store"),
    ],
)
def test_store_usage_errors_are_rc_2_before_any_request(
    capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], words: str
) -> None:
    code, out, err = cli(capsys, *SANDBOX, *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def _one_store_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error: store:")]
    assert len(lines) == 1 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_locked_store_is_one_line_after_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "locked.sqlite3"
    assert cli(capsys, *SANDBOX, "--store", f"sqlite:///{path}")[0] == 0  # created, with the schema
    config = tmp_path / "config.toml"
    config.write_text("[store]\nbusy_timeout = 0.2\n")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, out, err = cli(capsys, *SANDBOX, "--store", f"sqlite:///{path}", "--config", str(config))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1
    assert json.loads(out)["companies"]  # the report is out, whole
    line = _one_store_line(err)
    assert "locked" in line and "this run was not recorded" in line
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (1,)  # nothing half-written


def test_a_newer_schema_is_one_line_after_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "newer.sqlite3"
    assert cli(capsys, *SANDBOX, "--store", f"sqlite:///{path}")[0] == 0
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    code, out, err = cli(capsys, *SANDBOX, "--store", f"sqlite:///{path}")
    assert code == 1 and json.loads(out)["companies"]
    line = _one_store_line(err)
    assert "9999" in line and "newer" in line


def test_an_unreachable_store_is_one_line_after_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, *SANDBOX, "--store", "postgresql://u:pw-123@127.0.0.1:1/x")
    assert code == 1 and json.loads(out)["companies"]
    line = _one_store_line(err)
    assert "cannot reach the store" in line and "pw-123" not in err


def test_a_real_run_keeps_its_alerts_in_the_store_and_leaves_them_when_the_store_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --state-file a real run's alerts live in the store; when the store cannot be opened they are left
    as they were (never moved to a JSON file behind the store's back), and the one store line says so."""
    from backupbridge import pipeline
    from backupbridge.bridge import Bridge
    from backupbridge.config import default_state_dir
    from backupbridge.store import Store, StoreError

    def unreachable() -> Store:
        raise StoreError("cannot reach the store x")

    with Bridge.sandbox(["cleverfox"], size=4) as bridge:
        result = pipeline.run_report(bridge, store=unreachable, alerts=pipeline.AlertOptions())
    assert not result.store_ok and not result.alerts_ok
    assert result.messages[0] == (
        "error: store: cannot reach the store x; this run was not recorded and its alerts were left as they were"
    )
    assert not (default_state_dir() / "alerts.json").exists()
