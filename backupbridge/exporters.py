"""Built-in output formats, registered through the same ``register_exporters`` hook a plugin uses."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["BUILTIN_EXPORTERS", "Exporter", "compact_table", "record_to_dict", "record_to_row", "table_console"]


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


def write_json(records: Iterable[Any], stream: TextIO) -> None:
    stream.write("[")
    for index, record in enumerate(records):
        stream.write(",\n" if index else "\n")
        stream.write(json.dumps(record_to_dict(record), ensure_ascii=False))
    stream.write("\n]\n")


def write_ndjson(records: Iterable[Any], stream: TextIO) -> None:
    for record in records:
        stream.write(json.dumps(record_to_dict(record), ensure_ascii=False))
        stream.write("\n")


def write_csv(records: Iterable[Any], stream: TextIO) -> None:
    writer: csv.DictWriter[str] | None = None
    for record in records:
        row = record_to_row(record)
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(row), lineterminator="\n")
            writer.writeheader()
        writer.writerow(row)


TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "Company": ("vendor", "account", "id", "name", "parent_id", "status"),
    "Device": ("vendor", "account", "id", "name", "company_id", "os", "status", "last_backup_status", "last_backup_at"),
    "Plan": ("vendor", "account", "id", "name", "company_id", "what", "destination", "enabled", "device_ids"),
    "Job": ("vendor", "account", "id", "device_id", "plan_id", "status", "started_at", "finished_at", "error"),
}


# Off a terminal (a file, a pipe, a pager) a table is as wide as its contents: a line per row, nothing folded.
_UNBOUNDED_WIDTH = 1000


def table_console(stream: TextIO, *, markup: bool = True) -> Console:
    """A rich console for tables on ``stream``: the terminal's width (or ``COLUMNS``) on a terminal or when
    ``COLUMNS`` is set, otherwise wide enough that no cell is folded.

    ``markup=False`` for output made only of vendor text: a device named ``SRV [/x]`` is printed as it is,
    where rich markup would swallow it or fail on it.
    """
    from rich.console import Console

    fits = stream.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return Console(
        file=stream, soft_wrap=False, highlight=False, markup=markup, width=None if fits else _UNBOUNDED_WIDTH
    )


def compact_table(title: str | None = None) -> Table:
    """A rich table with a rule under the header and one space between columns (fits more per line)."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0),
    )


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
                table.add_column(column.replace("_", " "), overflow="fold")
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
    Exporter("csv", write_csv, "CSV with a header row; lists joined with ';'"),
)


@hookimpl
def register_exporters(register: Callable[[Exporter], None]) -> None:
    for exporter in BUILTIN_EXPORTERS:
        register(exporter)
