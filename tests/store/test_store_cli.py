"""The store's commands through ``backupbridge.cli.main``: one summary line, one error line, rc 1 / rc 2."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from backupbridge.cli import main
from backupbridge.sandbox import sandbox_tenants
from backupbridge.store import Store, in_shard, parse_shard
from backupbridge.store import schema as tables

from .conftest import NOW
from .snapshots import job, snapshot


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("BACKUPBRIDGE_STORE", raising=False)


def test_collect_records_and_prints_one_line(store: Store, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--sandbox", "--size", "6", "--store", store_url]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and out.startswith("recorded run 1 into ")
    assert "4 accounts (4 ok, 0 failed)" in out and err == ""
    with store.read() as conn:
        accounts = conn.execute(sa.select(tables.run_accounts.c.account)).scalars().all()
    assert sorted(accounts) == [f"sandbox-{v}" for v in ("cleverfox", "idrive360", "managedbackup", "vprotect")]


def test_history_in_three_formats(store: Store, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from backupbridge.store import record_snapshot

    record_snapshot(store, snapshot(NOW, jobs=[job("j1", NOW)]), NOW)
    assert main(["history", "--device", "d1", "--days", "3", "--store", store_url]) == 0
    table = capsys.readouterr().out
    assert "SRV-01" in table and "--S" in table and "Contoso" in table
    assert main(["history", "--company", "c1", "--days", "2", "--format", "json", "--store", store_url]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [d["status"] for d in document["entities"][0]["days"]] == ["unknown", "success"]
    assert document["compliance"][0]["device_days"] == 1
    assert main(["history", "--account", "main", "--days", "1", "--format", "csv", "--store", store_url]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["record"] for r in rows] == ["day", "summary", "compliance"]
    assert rows[0]["status"] == "success" and rows[2]["device_days_ok"] == "1"


def test_history_needs_exactly_one_scope(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--store", store_url]) == 2
    assert main(["history", "--device", "a", "--plan", "b", "--store", store_url]) == 2
    assert "exactly one of --device" in capsys.readouterr().err


def test_history_of_something_unknown_is_rc_1(store: Store, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--device", "ghost", "--store", store_url]) == 1
    err = capsys.readouterr().err
    assert err == "error: the store knows no device 'ghost' (collect first, or check the id)\n"


def test_a_bad_store_url_is_a_usage_error_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--sandbox", "--store", "mysql://x@y/z"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--store" in err and "Traceback" not in err


def test_an_unreachable_store_is_rc_1_and_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "info", "--store", "postgresql://u:pw-123@127.0.0.1:1/x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the store") and err.count("\n") == 1 and "pw-123" not in err


def test_an_old_schema_says_what_to_run(store: Store, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with store.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    assert main(["collect", "--sandbox", "--size", "2", "--store", store_url]) == 1
    assert "run 'backupbridge store upgrade'" in capsys.readouterr().err
    assert main(["store", "info", "--store", store_url]) == 0
    assert "this backupbridge needs 0005: run 'backupbridge store upgrade'" in capsys.readouterr().out


def test_store_upgrade_info_and_prune(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "upgrade", "--store", store_url]) == 0
    assert "schema (empty) -> 0005" in capsys.readouterr().out
    assert main(["store", "upgrade", "--store", store_url]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["collect", "--sandbox", "--size", "4", "--store", store_url]) == 0
    assert main(["store", "info", "--store", store_url]) == 0
    info = capsys.readouterr().out
    assert "schema: 0005 (current)" in info and "runs: 1 rows" in info
    assert main(["store", "prune", "--older-than", "400d", "--store", store_url]) == 0
    assert "deleted nothing" in capsys.readouterr().out
    assert main(["store", "prune", "--older-than", "soon", "--store", store_url]) == 2


def test_the_default_store_is_a_file_in_the_data_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--sandbox", "--size", "2", "--vendor", "cleverfox"]) == 0
    assert (tmp_path / "data" / "backupbridge" / "sandbox.sqlite3").is_file()
    assert "sandbox.sqlite3" in capsys.readouterr().out


def test_parse_shard_accepts_k_of_n_only() -> None:
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0"):
        with pytest.raises(ValueError, match="K/N"):
            parse_shard(bad)


def test_three_shards_cover_every_account_exactly_once() -> None:
    names = [f"customer-{n}" for n in range(500)]
    owners = [[k for k in (1, 2, 3) if in_shard(name, k, 3)] for name in names]
    assert all(len(found) == 1 for found in owners)
    assert all(sum(found == [k] for found in owners) > 100 for k in (1, 2, 3))


def test_three_collectors_with_shards_cover_every_sandbox_account_once(
    store: Store, store_url: str, capsys: pytest.CaptureFixture[str], count: Callable[..., int]
) -> None:
    for k in (1, 2, 3):
        assert (
            main(["collect", "--sandbox", "--tenants", "3", "--size", "2", "--shard", f"{k}/3", "--store", store_url])
            == 0
        )
    expected = sorted(account for _, account, _ in sandbox_tenants(accounts_per_vendor=3, size=0))
    with store.read() as conn:
        recorded = conn.execute(sa.select(tables.run_accounts.c.account)).scalars().all()
    assert sorted(recorded) == expected
    assert count("runs") == 3
    assert "(shard 1/3)" in capsys.readouterr().out


def test_a_bad_shard_is_a_usage_error(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--sandbox", "--shard", "4/3", "--store", store_url]) == 2
    assert "--shard" in capsys.readouterr().err


def test_vendor_text_cannot_act_on_the_terminal(
    store: Store, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from backupbridge.store import record_snapshot

    from .snapshots import device

    hostile = "SRV\x1b]0;pwned\x07\u202e\x9b31m"
    record_snapshot(store, snapshot(NOW, devices=[device(name=hostile)], jobs=[job("j1", NOW)]), NOW)
    for fmt in ("table", "json"):  # CSV off a terminal keeps the text exact (formulas neutralised)
        assert main(["history", "--device", "d1", "--days", "1", "--format", fmt, "--store", store_url]) == 0
        out = capsys.readouterr().out
        assert not any(ch in out for ch in ("\x1b", "\x07", "\u202e", "\x9b")), fmt


def test_collect_from_the_config_records_an_account_that_cannot_connect(
    store: Store, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[accounts.office]\nvendor = "idrive360"\n[accounts.office.credentials]\n'
        'api_key = { env = "BB_TEST_NO_SUCH_KEY" }\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("BB_TEST_NO_SUCH_KEY", raising=False)
    assert main(["collect", "--config", str(config), "--store", store_url]) == 1
    out, err = capsys.readouterr()
    assert "1 accounts (0 ok, 1 failed)" in out
    assert err.startswith("error: account idrive360/office failed (snapshot): ") and "BB_TEST_NO_SUCH_KEY" in err
    with store.read() as conn:
        row = conn.execute(sa.select(tables.run_accounts.c.ok, tables.run_accounts.c.error_class)).one()
    assert tuple(row) == (False, "MissingCredentialsError")
