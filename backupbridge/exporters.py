"""Built-in output formats, registered through the same ``register_exporters`` hook a plugin uses.

Vendor text is untrusted (``backupbridge.terminal``): table cells are printed without escape sequences or
control characters, CSV cells are neutralised against formulas (``csv-raw`` writes them as they are), and
JSON is byte-exact data with the characters that act on a terminal written as ``\\uXXXX``.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from .hookspecs import hookimpl
from .terminal import csv_cell, json_text, one_line, printable

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.style import StyleType
    from rich.table import Table

    from .models import Device, Job
    from .plugins import PluginFailure, PluginInfo, PluginSkip
    from .vendors import Vendor

__all__ = [
    "BUILTIN_EXPORTERS",
    "Exporter",
    "JobView",
    "compact_table",
    "job_view",
    "record_to_dict",
    "record_to_row",
    "table_console",
    "write_capability_table",
    "write_csv_rows",
    "write_plugin_list",
]


@attrs.frozen
class Exporter:
    """An output format: ``write(records, stream)`` writes neutral records to a text stream."""

    name: str
    write: Callable[[Iterable[Any], TextIO], None]
    description: str = ""


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if attrs.has(type(value)):
        return record_to_dict(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    return value


def record_to_dict(record: Any, *, include_raw: bool = False) -> dict[str, Any]:
    """A neutral record as JSON-ready data (``raw`` left out unless asked for)."""
    return {
        a.name: _plain(getattr(record, a.name)) for a in attrs.fields(type(record)) if include_raw or a.name != "raw"
    }


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def record_to_row(record: Any) -> dict[str, str]:
    """A neutral record as one flat row of strings (lists joined with ``;``, nested values as JSON)."""
    return {key: _flat(value) for key, value in record_to_dict(record).items()}


def _json(record: Any) -> str:
    return json_text(json.dumps(record_to_dict(record), ensure_ascii=False))


def write_json(records: Iterable[Any], stream: TextIO) -> None:
    stream.write("[")
    for index, record in enumerate(records):
        stream.write(",\n" if index else "\n")
        stream.write(_json(record))
    stream.write("\n]\n")


def write_ndjson(records: Iterable[Any], stream: TextIO) -> None:
    for record in records:
        stream.write(_json(record))
        stream.write("\n")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream
        return False


def write_csv_rows(stream: TextIO, rows: Iterable[Iterable[str]], *, formulas: bool = False) -> None:
    """Rows of strings as CSV (RFC 4180: CRLF line ends, so a CR inside a cell is quoted and cannot start a
    row of its own). Cells are neutralised against formulas (``csv_cell``) unless ``formulas=True``; on a
    terminal they are also stripped of escape sequences and controls (``printable``).

    For CSV written elsewhere (the report) with the same guarantees.
    """
    writer = csv.writer(stream, lineterminator="\r\n")
    on_terminal = _is_terminal(stream)
    for row in rows:
        cells = [cell if formulas else csv_cell(cell) for cell in row]
        writer.writerow([printable(cell) for cell in cells] if on_terminal else cells)


def _csv(records: Iterable[Any], stream: TextIO, *, formulas: bool) -> None:
    def rows() -> Iterator[list[str]]:
        header: list[str] | None = None
        for record in records:
            row = record_to_row(record)
            if header is None:
                header = list(row)
                yield header
            elif list(row) != header:  # a record of another shape: refused, never cut to the first one's columns
                raise ValueError(f"CSV needs records of one type: {type(record).__name__} has other fields")
            yield list(row.values())

    write_csv_rows(stream, rows(), formulas=formulas)


def write_csv(records: Iterable[Any], stream: TextIO) -> None:
    """CSV for spreadsheets: a cell that would open as a formula (``=``, ``+``, ``-``, ``@``, tab, CR...)
    starts with ``'``."""
    _csv(records, stream, formulas=False)


def write_csv_raw(records: Iterable[Any], stream: TextIO) -> None:
    """CSV with every cell as the vendor sent it, for programs rather than spreadsheets."""
    _csv(records, stream, formulas=True)


@attrs.frozen(kw_only=True)
class JobView:
    """A run as the ``jobs`` table shows it: its device's and company's names beside the ids (JSON, NDJSON
    and CSV carry the ``Job`` itself)."""

    vendor: str
    account: str
    id: str
    device: str
    company: str
    plan_id: str | None
    status: str
    kind: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None


def job_view(job: Job, device: Device | None, companies: Mapping[str, str]) -> JobView:
    """``job`` with names: the device's (its id when the listing did not have it) and its company's."""
    company_id = job.company_id or (device.company_id if device is not None else None)
    return JobView(
        vendor=job.vendor,
        account=job.account,
        id=job.id,
        device=device.name if device is not None and device.name else (job.device_id or ""),
        company=companies.get(company_id, company_id) if company_id else "",
        plan_id=job.plan_id,
        status=job.status.value,
        kind=job.kind.value,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
    )


TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "Company": ("vendor", "account", "id", "name", "parent_id", "status"),
    "Device": ("vendor", "account", "id", "name", "company_id", "os", "status", "last_backup_status", "last_backup_at"),
    "Plan": ("vendor", "account", "id", "name", "company_id", "what", "destination", "enabled", "device_ids"),
    "Job": ("vendor", "account", "id", "device_id", "plan_id", "status", "started_at", "finished_at", "error"),
    "JobView": ("account", "id", "company", "device", "status", "started_at", "finished_at", "error"),
}


# Off a terminal (a file, a pipe, a pager) a table is as wide as its contents: a line per row, nothing folded.
_UNBOUNDED_WIDTH = 1000


def table_console(stream: TextIO, *, markup: bool = True) -> Console:
    """A rich console for tables on ``stream``: the terminal's width (or ``COLUMNS``) on a terminal or when
    ``COLUMNS`` is set, otherwise wide enough that no cell is folded.

    ``markup=False`` for output made only of vendor text: a device named ``SRV [/x]`` is printed as it is,
    where rich markup would swallow it or fail on it.
    """
    fits = stream.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return _console_class()(
        file=stream, soft_wrap=False, highlight=False, markup=markup, width=None if fits else _UNBOUNDED_WIDTH
    )


_CONSOLE: type[Console] | None = None


def _console_class() -> type[Console]:
    """A rich ``Console`` that lets a broken pipe be a ``BrokenPipeError`` (rich's own answer is
    ``SystemExit(1)``): the CLI ends quietly with the shell's status for it (see ``backupbridge.cli``)."""
    global _CONSOLE
    if _CONSOLE is None:
        from rich.console import Console

        class PipeConsole(Console):
            def on_broken_pipe(self) -> None:
                self.quiet = True
                raise BrokenPipeError

        _CONSOLE = PipeConsole
    return _CONSOLE


def compact_table(title: str | None = None) -> Table:
    """A rich table with a rule under the header and one space between columns (fits more per line).

    Its title and every string cell are made ``one_line`` (no escape sequences, no control characters): a
    table is for a person's terminal. Rich markup in them is kept.
    """
    from rich import box

    return _safe_table_class()(
        title=one_line(title) if title is not None else None,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0),
    )


_SAFE_TABLE: type[Table] | None = None


def _safe_table_class() -> type[Table]:
    """A ``rich.table.Table`` whose ``add_row`` passes string cells through ``one_line`` (rich is imported only
    when a table is drawn)."""
    global _SAFE_TABLE
    if _SAFE_TABLE is None:
        from rich.table import Table

        class SafeTable(Table):
            def add_row(
                self, *renderables: RenderableType | None, style: StyleType | None = None, end_section: bool = False
            ) -> None:
                cells = [one_line(cell) if isinstance(cell, str) else cell for cell in renderables]
                super().add_row(*cells, style=style, end_section=end_section)

        _SAFE_TABLE = SafeTable
    return _SAFE_TABLE


def _cell(record: Any, column: str, row: Mapping[str, str]) -> str:
    value = getattr(record, column, None)
    if isinstance(value, dt.datetime):
        # For people: to the minute, with the record's own offset (CSV and JSON keep the full value).
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, tuple) and len(value) > 1:
        # A plan on fifty devices would make a cell of fifty ids: the first and how many more.
        return f"{value[0]} +{len(value) - 1} more"
    return row.get(column, "")


def write_table(records: Iterable[Any], stream: TextIO) -> None:
    table: Table | None = None
    columns: tuple[str, ...] = ()
    count = 0
    for record in records:
        row = record_to_row(record)
        if table is None:
            columns = TABLE_COLUMNS.get(type(record).__name__, tuple(row))
            table = compact_table()
            for column in columns:
                # Header words wrap at spaces on a narrow terminal instead of being cut.
                table.add_column(one_line(column.replace("_", " ")), overflow="fold")
        table.add_row(*(_cell(record, c, row) for c in columns))
        count += 1
    console = table_console(stream, markup=False)
    if table is None:
        console.print("(no records)")
        return
    console.print(table)
    console.print(f"{count} record{'s' if count != 1 else ''}")


BUILTIN_EXPORTERS = (
    Exporter("table", write_table, "a table for people (the default on a terminal)"),
    Exporter("json", write_json, "a JSON array of records"),
    Exporter("ndjson", write_ndjson, "one JSON record per line, streamed"),
    Exporter("csv", write_csv, "CSV with a header row; lists joined with ';'; formulas neutralised with '"),
    Exporter("csv-raw", write_csv_raw, "CSV as the vendor sent it (cells that open as formulas are not guarded)"),
)


def write_capability_table(vendors: Iterable[Vendor], stream: TextIO) -> None:
    """The ``backupbridge vendors`` table: one row per capability, one column per vendor, ``yes``/``no`` with
    the vendor's note. Plugin-written names and notes are printed as text (no markup, no escape sequences)."""
    from .models import Capability

    listed = list(vendors)
    table = _safe_table_class()(title="Capabilities (yes / no, with notes)")
    table.add_column("operation")
    for vendor in listed:
        table.add_column(one_line(vendor.name))
    for cap in Capability:
        cells = []
        for vendor in listed:
            mark = "yes" if cap in vendor.capabilities else "no"
            note = vendor.capability_notes.get(cap.value)
            cells.append(f"{mark}: {note}" if note else mark)
        table.add_row(cap.value, *cells)
    table_console(stream, markup=False).print(table)


def write_plugin_list(
    infos: Iterable[PluginInfo],
    failures: Iterable[PluginFailure],
    stream: TextIO,
    skipped: Iterable[PluginSkip] = (),
) -> None:
    """The ``backupbridge plugins`` listing, a tab-separated line per plugin: the loaded ones with their
    distribution and vendors, then those refused (``REFUSED``: a vendor name that is not theirs to take),
    failed (``FAILED``: the error) and not loaded (``SKIPPED``: the allowlist or block list). Every field
    is ``one_line`` (plugin-written text and errors carry no escape sequences, tabs or line breaks)."""

    def line(*fields: str) -> None:
        stream.write("\t".join(one_line(field) for field in fields) + "\n")

    for info in infos:
        dist = f"{info.distribution} {info.version or ''}".strip() if info.distribution else "(not installed)"
        line(info.name, dist, f"vendors: {', '.join(info.vendors) or '-'}")
    for failure in failures:
        line(failure.name, "REFUSED" if failure.refused else "FAILED", failure.error)
    for skip in skipped:
        line(skip.name, "SKIPPED", skip.reason)


@hookimpl
def register_exporters(register: Callable[[Exporter], None]) -> None:
    for exporter in BUILTIN_EXPORTERS:
        register(exporter)
