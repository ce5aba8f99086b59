"""`report` under failed listings, broken alert plugins, corrupt or shared state files and hostile vendor text:
the report is always printed, a failure is never read as health, an alert is never lost or sent twice."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import plugins
from backupbridge.alerts import Alert
from backupbridge.cli import main
from backupbridge.http import RetryPolicy

RUN_LISTING = {"cleverfox": "/logs", "managedbackup": "/Monitoring", "vprotect": "/backups"}
EVIL = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\x9b31m"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class FailingEndpoint:
    """A simulator answering 503 (or ``response``) to every request for one endpoint."""

    def __init__(self, sim: Any, suffix: str, response: httpx.Response | None = None) -> None:
        self.sim, self.suffix, self.response = sim, suffix, response

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self.suffix):
            return self.response or httpx.Response(503, headers={"content-type": "text/plain"}, content=b"down")
        answer: httpx.Response = self.sim.handle(request)
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sim, name)


def fail_endpoint(
    monkeypatch: pytest.MonkeyPatch, vendor: str, suffix: str, response: httpx.Response | None = None
) -> None:
    """Every sandbox connection of ``vendor`` (the report's and the listing commands') fails ``suffix``."""
    import backupbridge.sandbox as sandbox

    real = sandbox.connect_sandbox

    def patched(name: str, *, simulator: Any = None, **kwargs: Any) -> Any:
        if name == vendor:
            sim = simulator or sandbox.make_simulator(
                name, sandbox.SimulatorOptions(seed=kwargs.pop("seed", 0), size=kwargs.pop("size", 40))
            )
            simulator, kwargs["retry"] = FailingEndpoint(sim, suffix, response), RetryPolicy(attempts=1)
        return real(name, simulator=simulator, **kwargs)

    monkeypatch.setattr(sandbox, "connect_sandbox", patched)


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- false recoveries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", sorted(RUN_LISTING))
def test_a_failed_run_listing_fires_no_recovery_and_opens_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor: str
) -> None:
    state, sink = tmp_path / "state.json", tmp_path / "events.ndjson"
    args = ["report", "--sandbox", "--size", "20", "--format", "json", "--state-file", str(state)]
    args += ["--alerts-ndjson", str(sink)]
    code, _, err = run(capsys, *args)
    assert code == 0, err
    first = events(sink)
    assert sum(e["vendor"] == vendor for e in first) > 5

    fail_endpoint(monkeypatch, vendor, RUN_LISTING[vendor])
    code, out, err = run(capsys, *args)
    assert code == 1
    assert events(sink) == first  # today: every open alert of the account recovers, never_run problems open
    data = json.loads(out)
    (account,) = data["accounts"]
    assert (account["vendor"], account["health"], account["judged"]) == (vendor, "unknown", False)
    assert account["failed_operations"] == ["list_jobs"] and account["devices_not_judged"] > 0
    assert not any(p["vendor"] == vendor for p in data["problems"])
    line = next(line for line in err.splitlines() if line.startswith("error: account"))
    assert f"error: account {vendor}/sandbox-{vendor} failed (list_jobs)" in line
    assert line.endswith("health unknown this run, alerts left as they were")
    assert "Traceback" not in err


def test_every_format_says_the_account_was_not_judged(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_endpoint(monkeypatch, "cleverfox", "/logs")
    base = ["report", "--sandbox", "--size", "8", "--no-alerts", "--format"]
    monkeypatch.setenv("COLUMNS", "200")
    table = run(capsys, *base, "table")[1]
    assert "account failed: cleverfox/sandbox-cleverfox" in table and "health unknown this run" in table
    rows = list(csv.DictReader(io.StringIO(run(capsys, *base, "csv")[1])))
    (row,) = [r for r in rows if r["vendor"] == "cleverfox"]
    assert row["health"] == "unknown" and row["device"] == "" and row["reason"].startswith("not judged this run")
    page = run(capsys, *base, "html")[1]
    assert 'id="not-judged"' in page and 'data-vendor="cleverfox"' in page
    kinds = [json.loads(line)["kind"] for line in run(capsys, *base, "ndjson")[1].splitlines()]
    assert kinds.count("account") == 1


# -- alert delivery ------------------------------------------------------------------------------------------


PSA_KEY = "psa-api-key-7f3a9c"


class PSA:
    """A ticketing plugin that can be broken."""

    def __init__(self, *, broken: bool = False, report: Path | None = None) -> None:
        self.broken, self.report, self.opened, self.closed = broken, report, [], []  # type: ignore[var-annotated]
        self.report_written_first: list[bool] = []

    @backupbridge.hookimpl
    def backup_problem(self, alert: Alert) -> None:
        if self.report is not None:
            self.report_written_first.append(self.report.read_text().rstrip().endswith("</html>"))
        if self.broken:
            raise ConnectionError(f"PSA unreachable with key {PSA_KEY}")
        self.opened.append(alert.key)

    @backupbridge.hookimpl
    def backup_recovered(self, alert: Alert) -> None:
        self.closed.append(alert.key)


@pytest.fixture
def psa() -> Iterator[PSA]:
    plugin = PSA()
    with plugins.registered_plugin(plugin, "psa"):
        yield plugin


def test_a_raising_hook_costs_nothing_and_is_redelivered(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, psa: PSA
) -> None:
    state, sink = tmp_path / "state.json", tmp_path / "events.ndjson"
    args = ["report", "--sandbox", "--alerts", "--size", "8", "--format", "json", "--state-file", str(state)]
    args += ["--alerts-ndjson", str(sink)]
    from backupbridge.redaction import register_secret

    register_secret(PSA_KEY)  # a plugin's own secret, registered as plugins are told to
    psa.broken = True
    code, out, err = run(capsys, *args)
    assert code == 1 and json.loads(out)["problems"]  # the report is out
    lines = err.splitlines()
    (line,) = [x for x in lines if x.startswith("error: alerts:")]
    assert "deliveries failed and stay queued for the next run" in line and "plugin psa" in line
    assert PSA_KEY not in err + state.read_text() and "Traceback" not in err
    saved = json.loads(state.read_text())
    assert saved["open"] and len(saved["outbox"]) == len(saved["open"])
    assert all(entry["pending"] == ["psa"] for entry in saved["outbox"])
    assert sorted(e["key"] for e in events(sink)) == sorted(saved["open"])  # the working sink was served

    psa.broken = False
    code, _, err = run(capsys, *args)
    assert code == 0, err
    assert sorted(psa.opened) == sorted(saved["open"])  # each pending alert once, under its stable key
    run(capsys, *args)
    assert len(psa.opened) == len(saved["open"]) and json.loads(state.read_text())["outbox"] == []
    assert len(events(sink)) == len(saved["open"])  # and never twice: today a raising hook resends everything


def test_the_report_is_written_before_any_hook_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, psa: PSA
) -> None:
    psa.report = tmp_path / "r.html"
    code, _, err = run(
        capsys, "report", "--sandbox", "--alerts", "--size", "6", "--format", "html", "-o", str(psa.report),
        "--state-file", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert code == 0, err
    assert psa.report_written_first and all(psa.report_written_first)


@pytest.mark.parametrize("content", ["{broken", '{"open": {"k": {"vendor": 1}}}', "[1, 2]"])
def test_a_corrupt_state_file_is_one_line_and_the_report_is_still_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    code, out, err = run(capsys, "report", "--sandbox", "--size", "6", "--format", "json", "--state-file", str(state))
    assert code == 1 and json.loads(out)["companies"]
    assert err.count("\n") == 1 and err.startswith("error: alert state file ") and str(state) in err
    assert state.read_text() == content  # left for the user to look at


SLOW_PLUGIN_RUN = """
import sys, time
import backupbridge
from backupbridge import plugins
from backupbridge.cli import main

class Slow:  # a PSA that takes its time: without the lock, both runs would be delivering at once
    @backupbridge.hookimpl
    def backup_problem(self, alert):
        time.sleep(0.02)

with plugins.registered_plugin(Slow(), "slow-psa"):
    sys.exit(main(sys.argv[1:]))
"""


def test_two_processes_on_one_state_file_deliver_each_alert_once(tmp_path: Path) -> None:
    state, sink = tmp_path / "state.json", tmp_path / "events.ndjson"
    command = [sys.executable, "-c", SLOW_PLUGIN_RUN, "report", "--sandbox", "--alerts", "--size", "10", "--quiet"]
    command += ["--format", "json", "--state-file", str(state), "--alerts-ndjson", str(sink)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in runs]
    assert [process.returncode for process in runs] == [0, 0], [err.decode() for _, err in outputs]
    keys = [e["key"] for e in events(sink)]
    assert keys and len(keys) == len(set(keys))  # without the lock: every alert twice
    assert set(keys) == set(json.loads(state.read_text())["open"])


def test_sandbox_runs_feed_only_the_built_in_sink_unless_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, psa: PSA
) -> None:
    sink = tmp_path / "e.ndjson"
    args = ["report", "--sandbox", "--size", "6", "--format", "json", "--alerts-ndjson", str(sink)]
    code, _, err = run(capsys, *args, "--state-file", str(tmp_path / "one.json"))
    assert code == 0, err
    assert psa.opened == [] and events(sink)  # simulated problems never reach the PSA plugin
    code, _, err = run(capsys, *args, "--state-file", str(tmp_path / "two.json"), "--alerts")
    assert code == 0, err
    assert len(psa.opened) == len({e["key"] for e in events(sink)})


def test_a_state_file_in_a_missing_directory_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "state.json"
    code, out, err = run(capsys, "report", "--sandbox", "--size", "4", "--state-file", str(missing))
    assert code == 2 and out == "" and err.count("\n") == 1 and "does not exist" in err and "--state-file" in err
    assert not missing.parent.exists()
    code, _, err = run(capsys, "report", "--sandbox", "--size", "4", "-o", str(missing), "--no-alerts")
    assert code == 2 and "--output" in err and not missing.parent.exists()


def test_alerts_flag_needs_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "--alerts")
    assert code == 2 and "--alerts" in err


# -- output --------------------------------------------------------------------------------------------------


def hostile_names(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Every IDrive 360 sandbox company and device is called ``name``."""
    import backupbridge.sandbox as sandbox

    real = sandbox.make_simulator

    def patched(vendor: str, options: Any = None) -> Any:
        sim: Any = real(vendor, options)
        if vendor == "idrive360":
            for company in sim.companies.values():
                company.name = name
            for device in sim.devices.values():
                device["name"] = name
        return sim

    monkeypatch.setattr(sandbox, "make_simulator", patched)


def test_vendor_names_reach_the_terminal_without_escape_sequences(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile_names(monkeypatch, f"ACME{EVIL} Ltd")
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run(capsys, "report", "--sandbox", "--vendor", "idrive360", "--size", "8", "--no-alerts")
    assert code == 0, err
    assert "ACME" in out and "Ltd" in out
    assert not any(c in out for c in "\x1b\x07\x9b") and "pwned" not in out


def test_error_lines_carry_no_escape_sequences(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = httpx.Response(400, json={"ok": False, "type": "INVALID_PARAMETER", "message": f"bad{EVIL}\nsecond line"})
    fail_endpoint(monkeypatch, "idrive360", "/device/summary", evil)
    code, _, err = run(capsys, "devices", "--sandbox", "--vendor", "idrive360")
    assert code == 1 and err.count("\n") == 1 and "bad" in err
    assert not any(c in err for c in "\x1b\x07\x9b")
    code, out, err = run(capsys, "report", "--sandbox", "--vendor", "idrive360", "--size", "4", "--no-alerts")
    assert code == 1 and "bad" in err and "bad" in out
    assert not any(c in out + err for c in "\x1b\x07\x9b")
    assert len([line for line in err.splitlines() if line.startswith("error: account")]) == 1


def test_report_csv_cells_are_neutralised_unless_raw(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    formula = '=HYPERLINK("http://evil.example/","open")'
    hostile_names(monkeypatch, formula)
    base = ["report", "--sandbox", "--vendor", "idrive360", "--size", "8", "--no-alerts", "--format", "csv"]
    rows = list(csv.DictReader(io.StringIO(run(capsys, *base)[1])))
    assert rows and all(r["company"] == "'" + formula for r in rows)
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r.values())
    raw = list(csv.DictReader(io.StringIO(run(capsys, *base, "--csv-raw")[1])))
    assert raw and all(r["company"] == formula for r in raw)


def test_report_csv_on_a_terminal_carries_no_escape_sequences(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile_names(monkeypatch, f"ACME{EVIL} Ltd")
    base = ["report", "--sandbox", "--vendor", "idrive360", "--size", "8", "--no-alerts", "--format", "csv"]
    out = run(capsys, *base)[1]
    assert "ACME" in out and not any(c in out for c in "\x1b\x07\x9b")
    assert "\x1b" in run(capsys, *base, "--csv-raw")[1]  # raw is raw


def test_csv_raw_is_only_for_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "--sandbox", "--csv-raw", "--format", "json", "--no-alerts")
    assert code == 2 and "--csv-raw" in err


def test_report_account_timeout_fails_the_slow_account_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import backupbridge.sandbox as sandbox

    release = threading.Event()
    real = sandbox.connect_sandbox

    class Quiet(FailingEndpoint):
        def handle(self, request: httpx.Request) -> httpx.Response:
            release.wait(30)  # a vendor that accepted the connection and went quiet
            return super().handle(request)

    def patched(name: str, *, simulator: Any = None, **kwargs: Any) -> Any:
        return real(name, simulator=Quiet(simulator, "-") if name == "idrive360" else simulator, **kwargs)

    monkeypatch.setattr(sandbox, "connect_sandbox", patched)
    try:
        code, out, err = run(
            capsys, "report", "--sandbox", "--size", "4", "--account-timeout", "0.5", "--no-alerts", "--format", "json"
        )
        assert not release.is_set()  # the report did not wait for the quiet vendor
    finally:
        release.set()
    assert code == 1
    data = json.loads(out)
    (failure,) = data["failures"]
    assert (failure["vendor"], failure["operation"], failure["error"]) == (
        "idrive360",
        "snapshot",
        "DeadlineExceededError",
    )
    assert data["accounts"][0]["health"] == "unknown"
    assert {c["vendor"] for c in data["companies"]} == {"cleverfox", "managedbackup", "vprotect"}
    assert "deadline exceeded" in err
    code, _, err = run(capsys, "report", "--sandbox", "--account-timeout", "0", "--no-alerts")
    assert code == 2 and "--account-timeout" in err


def test_the_vendors_table_prints_plugin_notes_without_escape_sequences(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import attrs

    real = plugins.get_vendor("idrive360")
    odd = attrs.evolve(real, capability_notes={"list_jobs": f"last run{EVIL} only"})
    monkeypatch.setattr(plugins, "list_vendors", lambda: [odd])
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run(capsys, "vendors")
    assert code == 0, err
    assert "last run" in out and not any(c in out for c in "\x1b\x07\x9b")


@pytest.mark.parametrize("fmt", ["html", "json", "ndjson"])
def test_other_report_formats_carry_no_raw_escape_sequences(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    hostile_names(monkeypatch, f"ACME{EVIL} <b>Ltd</b>")
    out = run(capsys, "report", "--sandbox", "--vendor", "idrive360", "--size", "6", "--no-alerts", "--format", fmt)[1]
    assert "ACME" in out and not any(c in out for c in "\x1b\x07\x9b")
    if fmt == "html":
        assert "<b>Ltd" not in out and "&lt;b&gt;Ltd" in out


def test_an_alerts_ndjson_file_that_cannot_be_opened_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "events"
    target.symlink_to(tmp_path / "gone" / "events.ndjson")  # a link into a directory that is not there
    code, out, err = run(
        capsys, "report", "--sandbox", "--size", "4", "--format", "json", "--alerts-ndjson", str(target),
        "--state-file", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert code == 1 and json.loads(out)["companies"]
    assert err.count("\n") == 1 and err.startswith("error: cannot open --alerts-ndjson")


def test_events_for_a_plugin_not_loaded_wait_for_it_and_say_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    args = ["report", "--sandbox", "--alerts", "--size", "6", "--format", "json", "--state-file", str(state)]
    broken = PSA(broken=True)
    with plugins.registered_plugin(broken, "psa"):
        assert run(capsys, *args)[0] == 1
    queued = len(json.loads(state.read_text())["outbox"])
    code, _, err = run(capsys, *args)  # the PSA plugin uninstalled (or not allowed) in this run
    assert code == 0 and f"note: {queued} alert events stay queued for plugins not loaded in this run: psa" in err
    fixed = PSA()
    with plugins.registered_plugin(fixed, "psa"):
        assert run(capsys, *args)[0] == 0
    assert len(fixed.opened) == queued and json.loads(state.read_text())["outbox"] == []


def test_the_default_state_directory_is_created_and_a_blocked_one_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backupbridge.config as config

    monkeypatch.setattr(config, "default_state_dir", lambda: tmp_path / "state" / "backupbridge")
    code, _, err = run(capsys, "report", "--sandbox", "--size", "4", "--format", "json")
    assert code == 0, err
    assert (tmp_path / "state" / "backupbridge" / "sandbox-alerts.json").exists()
    (tmp_path / "blocked").write_text("a file where the directory should be")
    monkeypatch.setattr(config, "default_state_dir", lambda: tmp_path / "blocked" / "backupbridge")
    code, out, err = run(capsys, "report", "--sandbox", "--size", "4", "--format", "json")
    assert code == 1 and json.loads(out)["companies"]
    assert err.count("\n") == 1 and err.startswith("error: cannot create the state directory")
