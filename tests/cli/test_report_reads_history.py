"""The store's strips and compliance are read only for a format that shows them (the HTML, or a plugin's
exporter that says it reads them): a table, JSON or CSV report spares the read (94 ms of a cold
``report --sandbox``) and its output is the same with or without it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

import pytest

from backupbridge import plugins
from backupbridge.cli import main
from backupbridge.exporters import Exporter
from backupbridge.hookspecs import hookimpl
from backupbridge.report import Report

# The module (``backupbridge.store.history`` the attribute is its ``history`` function).
store_history = importlib.import_module("backupbridge.store.history")
BASE = ("report", "--sandbox", "--vendor", "idrive360", "--size", "8", "--no-alerts")


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    real = store_history.report_history

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(store_history, "report_history", counting)
    return reads


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "ndjson"])
def test_a_format_without_strips_does_not_read_them(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    reads = _count_reads(monkeypatch)
    assert main([*BASE, "--store", store, "--format", fmt]) in (0, 1)
    with_store = capsys.readouterr().out
    assert main([*BASE, "--no-store", "--format", fmt]) in (0, 1)
    assert capsys.readouterr().out == with_store  # nothing these formats show came from the strips
    assert reads == []


def test_the_html_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reads = _count_reads(monkeypatch)
    assert main([*BASE, "--store", f"sqlite:///{tmp_path / 'h.sqlite3'}", "--format", "html"]) in (0, 1)
    assert reads == [1] and 'class="strip"' in capsys.readouterr().out


class _StripsExporter:
    """A plugin's report format that shows the compliance figures: it says so, and gets them."""

    @hookimpl
    def register_exporters(self, register: Callable[[Exporter], None]) -> None:
        def report(result: Report, stream: TextIO) -> None:
            assert result.history is not None
            stream.write(f"{len(result.history.devices)} strips, {len(result.history.compliance)} companies\n")

        def write(records: Iterable[Any], stream: TextIO) -> None:
            stream.write("records\n")

        register(Exporter("strips", write, "strip counts", report=report, reads_history=True))


def test_a_plugin_format_that_reads_the_history_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with plugins.registered_plugin(_StripsExporter(), "strips"):
        code = main([*BASE, "--store", f"sqlite:///{tmp_path / 'h.sqlite3'}", "--format", "strips"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert out.startswith("8 strips, ")
