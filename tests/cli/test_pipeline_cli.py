"""The report pipeline behind the CLI (issue 13), exporters shared by listings and the report, and a CLI that
starts without importing what it does not run (issue 18)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import click
import pytest

from backupbridge import plugins
from backupbridge.bridge import DEFAULT_ACCOUNT_TIMEOUT, Bridge
from backupbridge.cli import _LAZY_COMMANDS, JOB_STATUSES, ROLLUPS, cli, main
from backupbridge.cli import DEFAULT_ACCOUNT_TIMEOUT as CLI_ACCOUNT_TIMEOUT
from backupbridge.exporters import Exporter
from backupbridge.health import HealthPolicy, Rollup
from backupbridge.hookspecs import hookimpl
from backupbridge.models import JobStatus
from backupbridge.pipeline import AlertOptions, ReportRun, UnknownCompanyError, run_report
from backupbridge.report import RENDERERS, Report, run


def cli_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


HEAVY = ("httpx", "sqlalchemy", "alembic", "rich", "attrs", "cattrs", "pluggy", "backupbridge.bridge")


def imported_by(*argv: str) -> list[str]:
    """The heavy packages a fresh interpreter has imported after running ``backupbridge ARGV``."""
    code = (
        "import sys\n"
        "from backupbridge.cli import main\n"
        f"rc = main({list(argv)!r})\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted({m for m in sys.modules if m in heavy or m.split('.')[0] in heavy}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return list(json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"')))


def test_help_imports_neither_http_nor_the_store() -> None:
    assert imported_by("--help") == []


def test_report_help_imports_neither_http_nor_the_store() -> None:
    assert imported_by("report", "--help") == []


def test_report_no_store_never_imports_the_store() -> None:
    assert not {"sqlalchemy", "alembic"} & set(
        imported_by("report", "--sandbox", "--size", "2", "--no-store", "--no-alerts", "--format", "json")
    )


def test_help_lists_every_command_with_its_own_help() -> None:
    """The lazy commands' help lines are the commands' own: loading them all lists the same text."""
    text = cli.get_help(click.Context(cli, info_name="backupbridge", terminal_width=100))
    for name, (_, short) in _LAZY_COMMANDS.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        first_paragraph = (command.help or "").split("\n\n")[0].replace("\n", " ")
        assert " ".join(short.split()) == " ".join(first_paragraph.split()), name
    loaded = cli.get_help(click.Context(cli, info_name="backupbridge", terminal_width=100))
    assert text == loaded
    listed = [line.split()[0] for line in text.split("Commands:")[1].strip().splitlines()]
    assert listed == sorted(cli.list_commands(click.Context(cli)))
    assert {"report", "collect", "history", "store", "customers", "migrate", "devices", "simulate"} <= set(listed)


def test_the_cli_constants_match_their_sources() -> None:
    assert tuple(r.value for r in Rollup) == ROLLUPS
    assert tuple(s.value for s in JobStatus) == JOB_STATUSES
    assert DEFAULT_ACCOUNT_TIMEOUT == CLI_ACCOUNT_TIMEOUT


def _option_names(command: str) -> set[str]:
    found = cli.get_command(click.Context(cli), command)
    assert found is not None
    return {opt for param in found.params for opt in param.opts}


def test_collect_and_report_share_their_sandbox_and_health_options() -> None:
    shared = {
        "--sandbox",
        "--seed",
        "--size",
        "--tenants",
        "--vendor",
        "--account",
        "--window",
        "--grace",
        "--max-age",
        "--offline-tolerance",
        "--treat-warning-as-success",
        "--rollup",
    }
    assert shared <= _option_names("report")
    assert shared <= _option_names("collect")


def test_collect_takes_the_reports_durations(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli_run(capsys, "collect", "--sandbox", "--window", "99999999d", "--no-such")
    assert code == 2
    code, _, err = cli_run(capsys, "collect", "--sandbox", "--window", "99999999d")
    assert code == 2 and "--window" in err and "at most 36500d" in err


# --- the pipeline in the library ---


def test_run_report_is_one_call_from_a_bridge_and_a_policy() -> None:
    emitted: list[Report] = []
    with Bridge.sandbox(["cleverfox", "idrive360"], seed=3, size=6) as bridge:
        result = run_report(bridge, HealthPolicy(), alerts=None, emit=emitted.append, generated_at="clocks")
    assert isinstance(result, ReportRun)
    assert emitted == [result.report]
    assert sum(result.report.totals.values()) == len(result.assessment.devices) > 0
    assert {(c.vendor, c.account) for c in result.report.companies} == set(result.snapshot.clocks)
    assert result.recorded is None and result.ok == (not result.report.failures)
    # backupbridge.report.run is the same call
    with Bridge.sandbox(["cleverfox", "idrive360"], seed=3, size=6) as bridge:
        again = run(bridge, HealthPolicy(), alerts=None, generated_at="clocks")
    assert again.report.to_json() == result.report.to_json()


def test_run_report_fires_the_alert_hooks(tmp_path: Any) -> None:
    seen: list[tuple[str, str]] = []

    class Hooks:
        @hookimpl
        def backup_problem(self, alert: Any) -> None:
            seen.append(("problem", alert.key))

    state = tmp_path / "alerts.json"
    with plugins.registered_plugin(Hooks(), "pipeline-hooks"), Bridge.sandbox(["idrive360"], seed=1, size=8) as bridge:
        result = run_report(bridge, alerts=AlertOptions(state_file=state), generated_at="clocks")
    problems = [p.key for p in result.report.problems]
    assert problems and sorted(key for _, key in seen) == sorted(problems)
    assert state.is_file() and result.alerts_ok


def test_run_report_cuts_to_companies_and_refuses_an_unknown_one() -> None:
    with Bridge.sandbox(["idrive360"], seed=1, size=8) as bridge:
        whole = run_report(bridge, alerts=None)
        name = whole.report.companies[0].company
        one = run_report(bridge, alerts=None, companies=[name])
        with pytest.raises(UnknownCompanyError, match="no company 'No Such Company'"):
            run_report(bridge, alerts=None, companies=["No Such Company"])
    assert [c.company for c in one.report.companies] == [name]


# --- one exporter concept for listings and reports ---


class _TsvExporter:
    """A plugin's exporter that writes records only: the report's problem rows go through it."""

    @hookimpl
    def register_exporters(self, register: Callable[[Exporter], None]) -> None:
        def write(records: Iterable[Any], stream: TextIO) -> None:
            for record in records:
                stream.write("\t".join((record.vendor, record.account, getattr(record, "health", ""))) + "\n")

        register(Exporter("tsv", write, "tab-separated"))


class _WholeReportExporter:
    @hookimpl
    def register_exporters(self, register: Callable[[Exporter], None]) -> None:
        def write(records: Iterable[Any], stream: TextIO) -> None:
            stream.write(f"{sum(1 for _ in records)} records\n")

        def report(result: Report, stream: TextIO) -> None:
            stream.write(f"report: {sum(result.totals.values())} devices, {len(result.problems)} problems\n")

        register(Exporter("summary", write, "one line", report=report))


def test_a_plugin_exporter_writes_listings_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    base = ("--sandbox", "--vendor", "idrive360", "--size", "8")
    with plugins.registered_plugin(_TsvExporter(), "tsv"):
        code, out, err = cli_run(capsys, "report", *base, "--format", "tsv", "--no-store", "--no-alerts")
        assert code == 0, err
        lines = out.splitlines()
        assert lines and all(line.startswith("idrive360\tsandbox-idrive360\t") for line in lines)
        code, json_out, _ = cli_run(capsys, "report", *base, "--format", "json", "--no-store", "--no-alerts")
        assert len(lines) == len(json.loads(json_out)["problems"])
        code, out, err = cli_run(
            capsys, "devices", "--sandbox", "--vendor", "idrive360", "--size", "8", "--format", "tsv"
        )
        assert code == 0 and len(out.splitlines()) == 8, err
    with plugins.registered_plugin(_WholeReportExporter(), "summary"):
        code, out, err = cli_run(capsys, "report", *base, "--format", "summary", "--no-store", "--no-alerts")
        assert code == 0 and out.startswith("report: 8 devices, "), err
        code, out, _ = cli_run(capsys, "devices", *base, "--format", "summary")
        assert out == "8 records\n"


def test_html_is_an_exporter_for_reports_only(capsys: pytest.CaptureFixture[str]) -> None:
    html = plugins.get_exporter("html")
    assert html.write is None and html.writes_reports
    code, _, err = cli_run(capsys, "devices", "--sandbox", "--vendor", "idrive360", "--format", "html")
    assert code == 2 and "unknown output format 'html'" in err and "json" in err


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "ndjson", "html", "csv-raw"])
def test_built_in_report_formats_write_what_the_renderers_write(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """Each built-in exporter's report is its renderer's, byte for byte (the layouts keep their snapshots)."""
    args = ["report", "--sandbox", "--vendor", "cleverfox", "--size", "6", "--no-store", "--no-alerts"]
    args += ["--format", "csv", "--csv-raw"] if fmt == "csv-raw" else ["--format", fmt]
    code, out, err = cli_run(capsys, *args)
    assert code in (0, 1), err
    with Bridge.sandbox(["cleverfox"], size=6) as bridge:
        result = run_report(bridge, alerts=None, generated_at="clocks")
    expected = io.StringIO()
    if fmt == "csv-raw":
        from backupbridge.report import render_csv

        render_csv(result.report, expected, raw=True)
    else:
        RENDERERS[fmt](result.report, expected)
    assert out == expected.getvalue()
