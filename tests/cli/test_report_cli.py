"""`report`, `accounts`, `accounts check` and `simulate` from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backupbridge.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "ndjson", "html"])
def test_report_sandbox_every_format(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    code, out, err = run(
        capsys, "report", "--sandbox", "--size", "12", "--format", fmt, "--state-file", str(tmp_path / "s.json")
    )
    assert code == 0, err
    assert out.strip()
    if fmt == "json":
        data = json.loads(out)
        assert {c["vendor"] for c in data["companies"]} == {"idrive360", "cleverfox", "managedbackup", "vprotect"}
        assert data["problems"] and data["failures"] == []


def test_report_is_deterministic_with_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "report", "--sandbox", "--seed", "9", "--format", "json", "--no-alerts")[1]
    second = run(capsys, "report", "--sandbox", "--seed", "9", "--format", "json", "--no-alerts")[1]
    other = run(capsys, "report", "--sandbox", "--seed", "10", "--format", "json", "--no-alerts")[1]
    assert first == second != other


def test_report_policy_knobs_change_the_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    strict = json.loads(run(capsys, "report", "--sandbox", "--format", "json", "--no-alerts")[1])["totals"]
    lenient = json.loads(
        run(
            capsys,
            "report",
            "--sandbox",
            "--format",
            "json",
            "--no-alerts",
            "--treat-warning-as-success",
            "--max-age",
            "30d",
            "--grace",
            "48h",
            "--rollup",
            "best",
        )[1]
    )["totals"]
    assert lenient["ok"] > strict["ok"]


def test_report_alerts_open_once_and_recover(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state, events = tmp_path / "state.json", tmp_path / "events.ndjson"
    args = [
        "report",
        "--sandbox",
        "--size",
        "10",
        "--format",
        "json",
        "--state-file",
        str(state),
        "--alerts-ndjson",
        str(events),
    ]
    run(capsys, *args)
    first = [json.loads(line) for line in events.read_text().splitlines()]
    assert first and {e["event"] for e in first} == {"problem"}
    run(capsys, *args)
    assert len(events.read_text().splitlines()) == len(first)  # the same problems: no new events
    run(
        capsys,
        *args[:-2],
        "--alerts-ndjson",
        str(events),
        "--max-age",
        "60d",
        "--grace",
        "30d",
        "--treat-warning-as-success",
        "--rollup",
        "best",
    )
    events_now = [json.loads(line) for line in events.read_text().splitlines()]
    assert any(e["event"] == "recovered" for e in events_now[len(first) :])


def test_report_html_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, out, err = run(capsys, "report", "--sandbox", "--format", "html", "-o", str(target), "--no-alerts")
    assert code == 0 and out == "" and "wrote" in err
    assert target.read_text().startswith("<!DOCTYPE html>")


def test_report_lists_a_failing_account_and_exits_non_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[accounts.broken]\nvendor = "idrive360"\n[accounts.broken.credentials]\napi_key = {env = "BB_TEST_KEY"}\n'
    )
    monkeypatch.setenv("BB_TEST_KEY", "not-a-real-key-123")
    monkeypatch.setattr("backupbridge.connection.USER_AGENT", "backupbridge-test")
    import backupbridge.bridge as bridge_module
    from backupbridge.sandbox import SimulatorTransport
    from backupbridge_idrive360 import IDrive360Simulator

    real_connect = bridge_module.connect  # type: ignore[attr-defined]  # the name the Bridge calls
    monkeypatch.setattr(
        bridge_module,
        "connect",
        lambda vendor, **kw: real_connect(vendor, transport=SimulatorTransport(IDrive360Simulator().handle), **kw),
    )
    code, out, err = run(capsys, "report", "--config", str(config), "--format", "json", "--no-alerts")
    assert code == 1
    assert json.loads(out)["failures"][0]["account"] == "broken"
    assert "not-a-real-key-123" not in out + err and "AuthenticationError" in out
    # stderr: one line for the account, naming every operation that failed.
    lines = [line for line in err.splitlines() if line.startswith("error: account")]
    assert len(lines) == 1 and lines[0].startswith("error: account idrive360/broken failed (list_companies, ")


def test_accounts_and_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[accounts.main]\nvendor = "cleverfox"\n[accounts.main.credentials]\napi_key = {env = "BB_CF_KEY"}\n'
    )
    monkeypatch.setenv("BB_CF_KEY", "cf-secret-value-777")
    code, out, _ = run(capsys, "accounts", "--config", str(config))
    assert (
        code == 0
        and "main\tcleverfox" in out
        and "api_key from env BB_CF_KEY" in out
        and "cf-secret-value-777" not in out
    )
    code, out, err = run(capsys, "accounts", "--config", str(config), "check")
    assert code == 1 and "main\tcleverfox\t" in out and "cf-secret-value-777" not in out + err


def test_simulate_serves_on_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    from backupbridge.sandbox import SimulatorOptions, make_simulator
    from backupbridge.sandbox.server import serve

    sim: Any = make_simulator("idrive360", SimulatorOptions(size=5))
    server = serve(sim, port=0)
    try:
        port = server.server_address[1]
        response = httpx.get(
            f"http://127.0.0.1:{port}/api/msp/device/summary", headers={"Authorization": f"Bearer {sim.api_key}"}
        )
        assert response.status_code == 200 and len(response.json()) == 5
        import backupbridge

        conn = backupbridge.connect("idrive360", base_url=f"http://127.0.0.1:{port}/api/msp", **sim.credentials)
        assert len(list(conn.list_devices())) == 5
    finally:
        server.shutdown()


def test_simulate_refuses_non_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate", "idrive360", "--host", "0.0.0.0")
    assert code == 1 and "loopback" in err


def test_report_progress_is_quiet_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "--sandbox", "--size", "5", "--no-alerts", "--format", "csv")
    assert code == 0 and err == ""


@pytest.mark.parametrize("quiet", [False, True])
def test_report_progress_on_a_terminal_unless_quiet(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, quiet: bool
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    args = ["report", "--sandbox", "--tenants", "2", "--size", "3", "--no-alerts", "--format", "csv"]
    code, out, err = run(capsys, *args, *(["--quiet"] if quiet else []))
    assert code == 0 and out.startswith("vendor,")
    if quiet:
        assert err == ""
    else:
        # The bar names the account that finished last and shows every account done.
        assert "sandbox-" in err and "100%" in err


@pytest.fixture
def two_accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``unset`` (first in the file): a CleverFox account whose environment variable is not set; ``good``:
    an IDrive 360 simulator served on loopback, its key in the environment."""
    from backupbridge.sandbox import SimulatorOptions, make_simulator
    from backupbridge.sandbox.server import serve

    sim: Any = make_simulator("idrive360", SimulatorOptions(size=4))
    server = serve(sim, port=0)
    config = tmp_path / "c.toml"
    config.write_text(
        '[accounts.unset]\nvendor = "cleverfox"\n[accounts.unset.credentials]\napi_key = {env = "BB_UNSET_KEY"}\n'
        f'[accounts.good]\nvendor = "idrive360"\nbase_url = "http://127.0.0.1:{server.server_address[1]}/api/msp"\n'
        '[accounts.good.credentials]\napi_key = {env = "BB_GOOD_KEY"}\n'
    )
    monkeypatch.setenv("BB_GOOD_KEY", sim.api_key)
    monkeypatch.delenv("BB_UNSET_KEY", raising=False)
    try:
        yield config
    finally:
        server.shutdown()


def test_one_accounts_missing_secret_is_that_accounts_problem_alone(
    capsys: pytest.CaptureFixture[str], two_accounts: Path
) -> None:
    config = str(two_accounts)
    # Listing the accounts reads no secret at all.
    code, out, err = run(capsys, "accounts", "--config", config)
    assert code == 0 and "good\tidrive360" in out and "unset\tcleverfox" in out and "env BB_UNSET_KEY" in out
    # `check` tries every account and prints one line each; --config goes before or after `check`.
    for args in (["accounts", "--config", config, "check"], ["accounts", "check", "--config", config]):
        code, out, err = run(capsys, *args)
        unset, good = out.splitlines()
        assert code == 1 and good == "good\tidrive360\tok", (out, err)
        assert unset.startswith("unset\tcleverfox\tMissingCredentialsError: ") and "BB_UNSET_KEY" in unset
    # Choosing the good account never touches the other one's environment.
    code, out, err = run(capsys, "devices", "--config", config, "--account", "good", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 4, err
    # The report covers the good account and lists the other as a failure beside it.
    code, out, _ = run(capsys, "report", "--config", config, "--format", "json", "--no-alerts")
    data = json.loads(out)
    assert code == 1 and {c["account"] for c in data["companies"]} == {"good"}
    assert [(f["account"], "BB_UNSET_KEY" in f["message"]) for f in data["failures"]] == [("unset", True)]


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_a_listing_over_several_accounts_keeps_going_past_a_failed_one(
    capsys: pytest.CaptureFixture[str], two_accounts: Path, fmt: str
) -> None:
    """`unset` comes first in the file and cannot be opened: `good` is still listed, `unset` is one line on
    stderr, and the exit code says something failed."""
    from backupbridge.sandbox import connect_sandbox

    companies = len(list(connect_sandbox("idrive360", size=4).list_companies()))
    code, out, err = run(capsys, "companies", "--config", str(two_accounts), "--format", fmt)
    assert code == 1
    prefix = "idrive360 good " if fmt == "table" else "idrive360,good,"
    assert sum(line.startswith(prefix) for line in out.splitlines()) == companies > 0
    assert "unset" not in out
    errors = err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: account cleverfox/unset failed: ")
    assert "BB_UNSET_KEY" in errors[0]


def test_accounts_check_tries_accounts_concurrently(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both accounts must be in their first listing at once to pass the barrier; one after the other, the
    first would wait for the second forever (the barrier gives up after 10 s and the check says so)."""
    import threading

    import backupbridge.cli as cli_module

    barrier = threading.Barrier(2, timeout=10)

    class Meeting:
        def __init__(self, account: object) -> None:
            pass

        def __enter__(self) -> Meeting:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def list_devices(self) -> Iterator[object]:
            barrier.wait()
            return iter(())

    monkeypatch.setattr(cli_module, "_open_account", Meeting)
    config = tmp_path / "c.toml"
    config.write_text('[accounts.a]\nvendor = "cleverfox"\n[accounts.b]\nvendor = "idrive360"\n')
    code, out, err = run(capsys, "accounts", "check", "--config", str(config))
    assert (code, out) == (0, "a\tcleverfox\tok\nb\tidrive360\tok\n"), err
