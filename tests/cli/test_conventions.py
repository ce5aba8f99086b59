"""CLI conventions: rc 2 for usage errors, rc 1 and one line for runtime failures, rc 70 only for a bug; a
broken pipe ends quietly; the config file is validated when loaded; every listing option where it makes
sense; ``simulate --clock``."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

import pytest

from backupbridge import plugins
from backupbridge.cli import main
from backupbridge.connection import Connection
from backupbridge.exporters import Exporter
from backupbridge.hookspecs import hookimpl
from backupbridge.sandbox import DEFAULT_NOW


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["devices", "--sandbox", "--format", "html"], "unknown output format 'html'"),
        (["devices", "--sandbox", "--format", "tsv"], "--format"),
        (["jobs", "--sandbox", "--vendor", "nosuch"], "unknown vendor 'nosuch'"),
        (["jobs", "--sandbox", "--since", "99999999d"], "at most 36500d"),
        (["jobs", "--sandbox", "--since", "9999999999999d"], "--since"),
        (["report", "--sandbox", "--window", "99999999d"], "--window"),
        (["report", "--sandbox", "-o", "/nonexistent/dir/r.html"], "does not exist"),
        (["report", "--sandbox", "--state-file", "/nonexistent/x.json"], "does not exist"),
        (["report", "--sandbox", "--format", "tsv"], "--format"),
        (["report", "--sandbox", "--account", "main"], "no sandbox account 'main'"),
        (["devices", "--sandbox", "--account", "sandbox-idrive"], "did you mean 'sandbox-idrive360'"),
        (["report", "--sandbox", "--vendor", "idrive360", "--company", "No Such Company"], "--company"),
        (["simulate", "nosuch"], "unknown vendor"),
        (["simulate", "idrive360", "--clock", "yesterday"], "--clock"),
        (["jobs", "--sandbox", "--nope"], "No such option"),
    ],
)
def test_usage_errors_are_rc_2_and_one_line(capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2, err
    assert words in one_error_line(err)


def test_a_busy_port_is_one_line_rc_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, _, err = run(capsys, "simulate", "idrive360", "--port", str(busy.getsockname()[1]))
    assert code == 1
    assert "cannot serve on 127.0.0.1" in one_error_line(err)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device every write to fails)")
def test_a_report_that_cannot_be_written_is_one_line_rc_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "--sandbox", "--size", "4", "--no-alerts", "-o", "/dev/full")
    assert code == 1
    assert "cannot write the report" in one_error_line(err)


class _ExitingExporter:
    """A plugin whose exporter calls ``sys.exit`` (or raises any BaseException) while writing."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    @hookimpl
    def register_exporters(self, register: Callable[[Exporter], None]) -> None:
        def write(records: Iterable[Any], stream: TextIO) -> None:
            raise self.error

        register(Exporter("exits", write))


@pytest.mark.parametrize("error", [SystemExit(3), SystemExit(0), GeneratorExit()])
def test_base_exceptions_from_plugin_code_are_one_line_rc_70(
    capsys: pytest.CaptureFixture[str], error: BaseException
) -> None:
    with plugins.registered_plugin(_ExitingExporter(error), "exits"):
        code, _, err = run(capsys, "devices", "--sandbox", "--vendor", "idrive360", "--size", "2", "--format", "exits")
    assert code == 70
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("internal error:") and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--sandbox", "--size", "200", "--no-alerts"],
        ["devices", "--sandbox", "--size", "200"],
        ["devices", "--sandbox", "--size", "200", "--format", "csv"],
        ["jobs", "--sandbox", "--size", "60", "--format", "ndjson"],
    ],
)
def test_a_closed_pipe_ends_quietly_with_the_shells_sigpipe_status(args: list[str]) -> None:
    """`backupbridge report | head -1`: no message, and 141 (128 + SIGPIPE) as `cat` or `yes` would end."""
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from backupbridge.cli import run; run()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""


# The config file, validated when it is loaded: one line naming the file and the key.
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[accounts.a]\nvendor = "idrive360"\ntimzone = "UTC"\n', "unknown key 'timzone'; did you mean 'timezone'?"),
        (
            '[accounts.a]\nvendor = "idrive360"\n[accounts.a.credentials]\napikey = { env = "K" }\n',
            "[accounts.a.credentials]: unknown key 'apikey'; did you mean 'api_key'?",
        ),
        ('[accounts.a]\nvendor = "idrive"\n', "unknown vendor 'idrive'; did you mean 'idrive360'?"),
        ('[accounts.a]\nvendor = "idrive360"\ntimezone = "Europe/Berln"\n', "did you mean 'Europe/Berlin'?"),
        ('[accounts.a]\nvendor = "idrive360"\ntimezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'"),
        ('[accounts.a]\nvendor = "idrive360"\nbase_url = 5\n', "base_url must be a string"),
    ],
)
def test_config_mistakes_are_one_line_naming_file_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, words: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    code, out, err = run(capsys, "accounts", "--config", str(config))
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert str(config) in line and words in line


def test_a_config_that_is_not_utf8_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'[accounts.a]\nvendor = "idrive360"\ntimezone = "\xff"\n')
    code, _, err = run(capsys, "accounts", "--config", str(config))
    assert code == 1
    line = one_error_line(err)
    assert str(config) in line and "not UTF-8" in line


def test_accounts_without_a_config_does_not_suggest_sandbox(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "none.toml"))
    code, _, err = run(capsys, "accounts")
    assert code == 1
    line = one_error_line(err)
    assert "no configuration file" in line and "--sandbox" not in line and "--config" in line
    # A listing does take --sandbox: there the hint is offered.
    code, _, err = run(capsys, "devices")
    assert code == 1 and "--sandbox" in one_error_line(err)


def test_report_sandbox_account_selects_tenants(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, err = run(
        capsys, "report", "--sandbox", "--size", "6", "--no-alerts", "--format", "json", "--account", "sandbox-vprotect"
    )
    assert code == 0, err
    data = json.loads(out)
    assert {c["account"] for c in data["companies"]} == {"sandbox-vprotect"}
    code, out, err = run(
        capsys, "report", "--sandbox", "--size", "6", "--no-alerts", "--format", "json", "--tenants", "2",
        "--account", "sandbox-cleverfox-2", "--account", "sandbox-idrive360-1",
    )  # fmt: skip
    assert code == 0, err
    assert {c["account"] for c in json.loads(out)["companies"]} == {"sandbox-cleverfox-2", "sandbox-idrive360-1"}


def test_report_company_by_name_or_id(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _ = run(capsys, "report", "--sandbox", "--vendor", "cleverfox", "--size", "12", "--no-alerts",
                       "--format", "json")  # fmt: skip
    companies = json.loads(out)["companies"]
    first, second = companies[0], companies[1]
    code, out, err = run(
        capsys, "report", "--sandbox", "--vendor", "cleverfox", "--size", "12", "--no-alerts", "--format", "json",
        "--company", first["company"].upper(), "--company", second["company_id"],
    )  # fmt: skip
    assert code in (0, 1), err
    data = json.loads(out)
    assert [c["company"] for c in data["companies"]] == [first["company"], second["company"]]
    assert {p["company"] for p in data["problems"]} <= {first["company"], second["company"]}
    assert sum(c["devices"] for c in data["companies"]) == first["devices"] + second["devices"]


def test_jobs_company_filter_and_names_with_one_device_listing_per_account(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from backupbridge.sandbox import connect_sandbox

    conn = connect_sandbox("cleverfox", size=12)
    devices = list(conn.list_devices())
    company = devices[0].company_id
    assert company is not None
    mine = {d.id for d in devices if d.company_id == company}
    names = {d.name for d in devices if d.company_id == company}
    calls: list[str | None] = []
    listing = Connection.list_devices

    def counted(self: Connection, company_id: str | None = None) -> Any:
        calls.append(company_id)
        return listing(self, company_id=company_id)

    monkeypatch.setattr(Connection, "list_devices", counted)
    code, out, err = run(capsys, "jobs", "--sandbox", "--vendor", "cleverfox", "--size", "12", "--company", company,
                         "--format", "ndjson")  # fmt: skip
    assert code == 0, err
    runs = [json.loads(line) for line in out.splitlines()]
    assert runs and {r["device_id"] for r in runs} <= mine
    assert calls == [company]
    calls.clear()
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run(capsys, "jobs", "--sandbox", "--vendor", "cleverfox", "--size", "12", "--company", company)
    assert code == 0, err
    assert calls == [company]  # one listing for the names too, not one per run
    assert any(name in out for name in names)
    assert f"{len(runs)} records" in out


class _Served(Exception):
    pass


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("fixed", DEFAULT_NOW),
        ("2025-03-04T05:06:07", dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)),
        ("2025-03-04T05:06:07+02:00", dt.datetime(2025, 3, 4, 3, 6, 7, tzinfo=dt.UTC)),
    ],
)
def test_simulate_clock_fixed_or_iso(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, clock: str, expected: dt.datetime
) -> None:
    seen = _serve_once(monkeypatch, capsys, "--clock", clock)
    assert seen == expected


def test_simulate_clock_now_is_the_default(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    seen = _serve_once(monkeypatch, capsys)
    assert before <= seen <= dt.datetime.now(dt.UTC)


def _serve_once(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> dt.datetime:
    """Run ``simulate`` until it serves (the sleep loop is cut short) and return its simulator's clock."""
    from backupbridge.sandbox import server

    served: list[Any] = []
    original = server.serve

    def serve(sim: Any, **kwargs: Any) -> Any:
        served.append(sim)
        return original(sim, **kwargs)

    def stop(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "serve", serve)
    monkeypatch.setattr(time, "sleep", stop)  # the module backupbridge.cli sleeps with
    code, out, err = run(capsys, "simulate", "cleverfox", *args)
    assert code == 0, err
    assert "simulator on http://127.0.0.1:" in out
    now: dt.datetime = served[0].now()
    return now


def test_a_simulator_on_the_present_clock_seeds_recent_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A report against `simulate` today must not be all missed: runs are seeded around its clock."""
    from backupbridge.cli import _clock
    from backupbridge.sandbox import connect_sandbox

    now = _clock("now")
    conn = connect_sandbox("cleverfox", size=6, now=now)
    latest = max(j.started_at for j in conn.list_jobs() if j.started_at is not None)
    assert now - dt.timedelta(days=2) < latest <= now


def test_vendors_plugins_and_accounts_take_the_plugin_rules_of_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[plugins]\nblock = ["vprotect"]\n[accounts.a]\nvendor = "idrive360"\n')
    try:
        code, out, err = run(capsys, "plugins", "--config", str(config))
        assert code == 0, err
        assert "vprotect\tSKIPPED\t" in out and "idrive360\tbackupbridge" in out
        code, out, err = run(capsys, "vendors", "--config", str(config), "--format", "json")
        assert code == 0, err
        import json

        assert "vprotect" not in {row["vendor"] for row in json.loads(out)}
        vprotect = tmp_path / "vprotect.toml"
        vprotect.write_text('[plugins]\nblock = ["vprotect"]\n[accounts.v]\nvendor = "vprotect"\n')
        code, _, err = run(capsys, "accounts", "--config", str(vprotect))
        assert code == 1 and "unknown vendor 'vprotect'" in one_error_line(err)
    finally:
        plugins.use_config(None)
    code, out, _ = run(capsys, "vendors", "--format", "json")
    assert "vprotect" in out  # the next command without --config: the default rules again


def test_shell_completion_as_documented() -> None:
    """docs/quickstart.md: eval "$(_BACKUPBRIDGE_COMPLETE=bash_source backupbridge)"."""
    env = {**os.environ, "_BACKUPBRIDGE_COMPLETE": "bash_source"}
    script = subprocess.run(
        [sys.executable, "-c", "from backupbridge.cli import run; run()"], capture_output=True, text=True, env=env
    )
    assert "complete -o nosort -F" in script.stdout and "_BACKUPBRIDGE_COMPLETE=bash_complete" in script.stdout
    env = {**os.environ, "_BACKUPBRIDGE_COMPLETE": "bash_complete", "COMP_WORDS": "backupbridge rep", "COMP_CWORD": "1"}
    words = subprocess.run(
        [sys.executable, "-c", "from backupbridge.cli import run; run()"], capture_output=True, text=True, env=env
    )
    assert "plain,report" in words.stdout
    quickstart = (Path(__file__).parents[2] / "docs" / "quickstart.md").read_text(encoding="utf-8")
    assert "_BACKUPBRIDGE_COMPLETE=bash_source backupbridge" in quickstart


def test_accounts_and_check_take_account_and_vendor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[accounts.eu]\nvendor = "idrive360"\n[accounts.us]\nvendor = "cleverfox"\n'
        '[accounts.us.credentials]\napi_key = { env = "BB_TEST_UNSET_KEY" }\n'
    )
    code, out, err = run(capsys, "accounts", "--config", str(config), "--vendor", "cleverfox")
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()] == ["us"]
    code, out, err = run(capsys, "accounts", "--config", str(config), "--account", "eu")
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == ["eu"]
    code, _, err = run(capsys, "accounts", "--config", str(config), "--account", "e")
    assert code == 2 and "no account 'e'" in one_error_line(err)
    code, out, err = run(capsys, "accounts", "check", "--config", str(config), "--account", "us")
    assert code == 1 and out.startswith("us\tcleverfox\tMissingCredentialsError") and len(out.splitlines()) == 1
