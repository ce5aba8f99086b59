"""The command line: every command, every format, one-line errors, no secrets in the output."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

import backupbridge
from backupbridge.cli import main
from backupbridge_idrive360.simulator import SANDBOX_API_KEY


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["companies", "devices", "plans", "jobs"])
@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "table"])
def test_listing_commands_in_every_format(capsys: pytest.CaptureFixture[str], command: str, fmt: str) -> None:
    code, out, err = run(capsys, command, "--sandbox", "--vendor", "idrive360", "--size", "12", "--format", fmt)
    assert code == 0, err
    if fmt == "json":
        rows = json.loads(out)
    elif fmt == "ndjson":
        rows = [json.loads(line) for line in out.splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
    else:
        assert "idrive360" in out and "record" in out
        return
    assert rows and all(r["vendor"] == "idrive360" for r in rows)
    assert "raw" not in rows[0]


def test_listing_table_is_a_line_per_record_off_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backupbridge.sandbox import connect_sandbox

    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, err = run(capsys, "devices", "--sandbox", "--vendor", "idrive360", "--size", "9", "--seed", "4")
    assert code == 0, err
    lines = out.splitlines()
    # Lines are bounded off a terminal too (160 columns): a header may wrap at its spaces, a row does not.
    header = next(index for index, line in enumerate(lines) if line.startswith("---"))
    assert lines[header - 1].split()[:4] == ["vendor", "account", "id", "name"]
    devices = list(connect_sandbox("idrive360", size=9, seed=4).list_devices())
    for device in devices:
        row = next(line for line in lines if f" {device.id} " in line)
        if device.last_backup_at is not None:  # to the minute, with its offset, for people
            assert device.last_backup_at.isoformat(sep=" ", timespec="minutes") in row
    assert lines[-1] == f"{len(devices)} records"


@pytest.mark.parametrize("vendor", ["managedbackup", "cleverfox", "vprotect"])
def test_jobs_since_a_duration_counts_back_from_the_accounts_clock(
    capsys: pytest.CaptureFixture[str], vendor: str
) -> None:
    """The sandbox's clock is fixed; '--since 24h' means the 24 hours before it, not before today."""
    import datetime as dt

    from backupbridge.sandbox import connect_sandbox

    conn = connect_sandbox(vendor, size=10)
    everything = {j.id for j in conn.list_jobs()}
    recent = {j.id for j in conn.list_jobs(since=conn.now() - dt.timedelta(hours=24))}
    assert recent and recent < everything
    code, out, err = run(
        capsys, "jobs", "--sandbox", "--vendor", vendor, "--size", "10", "--since", "24h", "--format", "json"
    )
    assert code == 0, err
    assert {row["id"] for row in json.loads(out)} == recent


def test_plan_table_names_the_first_device_and_counts_the_rest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backupbridge.sandbox import connect_sandbox

    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, err = run(capsys, "plans", "--sandbox", "--vendor", "idrive360", "--size", "20")
    assert code == 0, err
    plans = list(connect_sandbox("idrive360", size=20).list_plans())
    assert any(len(p.device_ids) > 1 for p in plans)
    for plan in plans:
        row = next(line for line in out.splitlines() if f" {plan.id} " in line)
        others = [d for d in plan.device_ids[1:] if d in row]
        assert plan.device_ids[0] in row and not others
        if len(plan.device_ids) > 1:
            assert f"+{len(plan.device_ids) - 1} more" in row
    # CSV keeps every id.
    code, out, _ = run(capsys, "plans", "--sandbox", "--vendor", "idrive360", "--size", "20", "--format", "csv")
    by_id = {row["id"]: row["device_ids"].split(";") for row in csv.DictReader(io.StringIO(out))}
    assert all(by_id[p.id] == list(p.device_ids) for p in plans)


def test_listing_table_prints_markup_like_names_as_they_are(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backupbridge.exporters import write_table
    from backupbridge.models import Device

    monkeypatch.delenv("COLUMNS", raising=False)
    name = "SRV [/oops] [bold]x[/bold]"  # rich markup would raise MarkupError on the first tag
    stream = io.StringIO()
    write_table([Device(vendor="v", account="a", id="1", name=name)], stream)
    assert name in stream.getvalue()


@pytest.mark.parametrize("columns", [80, 100])
def test_listing_table_fits_the_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, err = run(capsys, "jobs", "--sandbox", "--vendor", "vprotect", "--size", "6")
    assert code == 0, err
    assert max(len(line.rstrip()) for line in out.splitlines()) <= columns and "…" not in out


def test_devices_json_matches_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    from backupbridge.sandbox import connect_sandbox

    _, out, _ = run(
        capsys, "devices", "--sandbox", "--vendor", "idrive360", "--size", "9", "--seed", "4", "--format", "json"
    )
    expected = [d.id for d in connect_sandbox("idrive360", size=9, seed=4).list_devices()]
    assert [r["id"] for r in json.loads(out)] == expected


@pytest.mark.parametrize("vendor", ["idrive360", "cleverfox", "managedbackup", "vprotect"])
@pytest.mark.parametrize("command", ["devices", "jobs"])
def test_each_vendor_from_the_sandbox(capsys: pytest.CaptureFixture[str], vendor: str, command: str) -> None:
    code, out, err = run(capsys, command, "--sandbox", "--vendor", vendor, "--format", "ndjson")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0, err
    assert rows and {r["vendor"] for r in rows} == {vendor}


def test_sandbox_without_vendor_covers_every_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "devices", "--sandbox", "--size", "5", "--format", "ndjson")
    simulated = {v.name for v in backupbridge.list_vendors() if v.simulator is not None}
    assert code == 0 and {json.loads(line)["vendor"] for line in out.splitlines()} == simulated


@pytest.mark.parametrize("vendor", ["vprotect", "cleverfox", "managedbackup"])
def test_failed_jobs_per_vendor(capsys: pytest.CaptureFixture[str], vendor: str) -> None:
    code, out, err = run(capsys, "jobs", "--sandbox", "--vendor", vendor, "--status", "failed", "--format", "ndjson")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0, err
    assert rows and {r["status"] for r in rows} == {"failed"} and {r["vendor"] for r in rows} == {vendor}


def test_jobs_status_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "jobs", "--sandbox", "--size", "40", "--status", "failed", "--format", "ndjson")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows and {r["status"] for r in rows} == {"failed"}


def test_vendors_shows_the_capability_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "vendors", "--format", "json")
    table = {row["vendor"]: row for row in json.loads(out)}
    assert code == 0
    assert table["idrive360"]["capabilities"]["job_history"] is False
    assert table["idrive360"]["capabilities"]["list_jobs"] is True
    assert "last run of each device only" in table["idrive360"]["notes"]["list_jobs"]
    code, out, _ = run(capsys, "vendors")
    assert code == 0 and "job_history" in out and "idrive360" in out


def test_plugins_lists_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0 and "idrive360\tbackupbridge" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["devices", "--vendor", "nosuch", "--sandbox"], "unknown vendor 'nosuch'"),
        (["devices", "--sandbox", "--format", "xml"], "unknown output format 'xml'"),
        (["jobs", "--sandbox", "--since", "last tuesday"], "--since"),
        (["devices", "--vendor", "idrive360"], "IDRIVE360_API_KEY"),
    ],
)
def test_errors_are_one_line_and_non_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.delenv("IDRIVE360_API_KEY", raising=False)
    code, _out, err = run(capsys, *args)
    assert code != 0
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_no_credentials_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "devices", "--vendor", "idrive360", "--api-key", "x")
    assert code == 2 and "No such option" in err


def test_config_file_account_with_env_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[accounts.main]\nvendor = "idrive360"\n[accounts.main.credentials]\napi_key = { env = "MY_IDRIVE_KEY" }\n'
    )
    monkeypatch.delenv("MY_IDRIVE_KEY", raising=False)
    code, _, err = run(capsys, "devices", "--config", str(config))
    assert code == 1 and "MY_IDRIVE_KEY" in err


def test_inline_secret_in_a_world_readable_config_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[accounts.main]\nvendor = "idrive360"\n[accounts.main.credentials]\napi_key = "inline-secret-value-123"\n'
    )
    os.chmod(config, 0o644)
    code, out, err = run(capsys, "devices", "--config", str(config))
    assert code == 1 and "chmod 600" in err
    assert "inline-secret-value-123" not in out + err


def test_secrets_never_reach_the_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With -vv (DEBUG logs) against the simulator, and with a rejected key: the key shows up nowhere."""
    for args in (["-vv", "devices", "--sandbox", "--format", "json"], ["-vv", "jobs", "--sandbox"]):
        code, out, err = run(capsys, *args)
        assert code == 0
        assert SANDBOX_API_KEY not in out + err
    monkeypatch.setenv("IDRIVE360_API_KEY", "rejected-key-0123456789")
    code, out, err = run(capsys, "-vv", "devices", "--vendor", "idrive360", "--config", "/nonexistent/x.toml")
    assert "rejected-key-0123456789" not in out + err
