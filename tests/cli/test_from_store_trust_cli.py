"""``report --from-store`` from the command line (review 2 findings 2, 8, 10): every account asked for is in the
report (a missing one is a failure row, rc 1), reading never creates a store, and a usage error never echoes a
store URL's password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backupbridge.cli import main


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("BACKUPBRIDGE_STORE", raising=False)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cleverfox_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    code, _, err = cli(
        capsys, "report", "--sandbox", "--vendor", "cleverfox", "--size", "3", "--store", url, "--no-alerts"
    )
    assert code in (0, 1), err
    return url


def _failed_accounts(out: str) -> set[tuple[str, str, str]]:
    document = json.loads(out)
    return {(f["vendor"], f["account"], f["operation"]) for f in document["failures"]}


def test_from_store_sandbox_names_each_sandbox_account_never_collected(
    cleverfox_only: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "report", "--sandbox", "--from-store", "--store", cleverfox_only, "--no-alerts", "--format", "json"
    )
    assert code == 1, err
    missing = {(v, a) for v, a, op in _failed_accounts(out) if op == "snapshot"}
    assert {"sandbox-idrive360", "sandbox-managedbackup", "sandbox-vprotect"} <= {a for _, a in missing}
    assert ("cleverfox", "sandbox-cleverfox") not in missing
    assert "never collected" in err


def test_from_store_account_named_but_not_stored_is_a_failure_row(
    cleverfox_only: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys,
        "report",
        "--sandbox",
        "--from-store",
        "--store",
        cleverfox_only,
        "--no-alerts",
        "--account",
        "sandbox-cleverfox",
        "--account",
        "sandbox-idrive360",
        "--format",
        "json",
    )
    assert code == 1, err
    assert ("idrive360", "sandbox-idrive360", "snapshot") in _failed_accounts(out)


def test_from_store_configured_accounts_are_the_ones_reported(
    cleverfox_only: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cfg.toml"
    config.write_text(
        '[accounts.alpha]\nvendor = "cleverfox"\nbase_url = "https://example.invalid/api"\n'
        '[accounts.beta]\nvendor = "idrive360"\nbase_url = "https://example.invalid/api"\n'
    )
    code, out, err = cli(
        capsys,
        "report",
        "--from-store",
        "--store",
        cleverfox_only,
        "--no-alerts",
        "--config",
        str(config),
        "--format",
        "json",
    )
    assert code == 1, err
    document = json.loads(out)
    assert {(f["vendor"], f["account"]) for f in document["failures"]} == {
        ("cleverfox", "alpha"),
        ("idrive360", "beta"),
    }
    assert {c["account"] for c in document["companies"]} <= {"alpha", "beta"}  # sandbox-cleverfox is not configured


def test_from_store_with_a_mistyped_store_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    typo = tmp_path / "typo.sqlite3"
    code, _, err = cli(capsys, "report", "--from-store", "--store", f"sqlite:///{typo}", "--no-alerts")
    assert code == 1
    assert not typo.exists()
    assert err.count("\n") == 1 and "no store at" in err, err
    code, _, err = cli(capsys, "report", "--from-store", "--no-alerts")  # the default store, never created
    assert code == 1 and "no store at" in err, err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:Sup3rS3cretPw@127.0.0.1:1/db",
        "postgresql+psycopg://u:Sup3rS3cretPw@127.0.0.1:1/db",
        "postgresql+psycopg://u@127.0.0.1:1/db?password=Sup3rS3cretPw",
    ],
)
def test_a_usage_error_never_echoes_a_store_urls_password(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "history", "--device", "x", url)  # a stray argument: click echoes it
    assert code == 2
    assert "Sup3rS3cretPw" not in out + err
    assert "127.0.0.1" in err  # the rest of the message is kept


def test_stale_after_flags_an_old_stored_run(cleverfox_only: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The sandbox's data were collected at its simulated clock (2026-11-02), long before now.
    args = ("report", "--from-store", "--store", cleverfox_only, "--no-alerts", "--format", "json")
    code, out, err = cli(capsys, *args, "--stale-after", "36h")
    assert code == 1, err
    document = json.loads(out)
    assert [(f["account"], f["operation"]) for f in document["failures"]] == [("sandbox-cleverfox", "stale")]
    assert document["problems"] == [] and document["accounts"][0]["judged"] is False
    assert cli(capsys, *args, "--stale-after", "soon")[0] == 2
    assert cli(capsys, "report", "--sandbox", "--no-store", "--no-alerts", "--stale-after", "36h")[0] == 2


def test_a_store_url_with_a_broken_host_is_a_usage_error_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = cli(
        capsys, "report", "--from-store", "--no-alerts", "--store", "postgresql+psycopg://u:Sup3rS3cretPw@[::1:1/db"
    )
    assert code == 2, err  # was an internal error (rc 70): int() of the port ':1:1'
    assert err.count("\n") == 1 and "does not parse" in err
    assert "Sup3rS3cretPw" not in out + err
