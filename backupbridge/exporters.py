"""Built-in output formats, registered through the same ``register_exporters`` hook a plugin uses.

One concept for listings and the report: an ``Exporter`` writes records (``companies``, ``devices``, ``plans``,
``jobs``) with ``write`` and the report with ``write_report``. A plugin's exporter that only writes records
also writes the report: its problem rows (``ProblemRow`` records, as ``--format csv`` has them) go through
``write``; give it ``report=`` to write the whole report its own way. An exporter with ``write=None`` (the
built-in ``html``) writes reports only, and listings refuse it.

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
from typing import TYPE_CHECKING, Any, TextIO, cast

import attrs

from .hookspecs import hookimpl
from .terminal import csv_cell, json_text, one_line, printable

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.style import StyleType
    from rich.table import Table

    from .models import Device, Job
    from .plugins import PluginFailure, PluginInfo, PluginSkip
    from .report import Report
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
    """An output format, for listings and for the report.

    Attributes:
        name: the ``--format`` value.
        write: ``write(records, stream)`` writes neutral records to a text stream; None for a format that
            writes reports only.
        description: one line for people.
        report: ``report(report, stream)`` writes a ``backupbridge.report.Report``; None: its problem rows
            go through ``write`` (see ``write_report``).
        reads_history: its report shows the store's history (``Report.history``: each device's 30-day strip,
            each company's compliance), so ``report`` reads it from the store; without it the report spares
            that read and ``Report.history`` is None.
    """

    name: str
    write: Callable[[Iterable[Any], TextIO], None] | None
    description: str = ""
    report: Callable[[Report, TextIO], None] | None = None
    reads_history: bool = False

    @property
    def writes_reports(self) -> bool:
        """Whether ``report --format NAME`` can use it (a ``report`` writer, or a ``write`` for its rows)."""
        return self.report is not None or self.write is not None

    def write_report(self, report: Report, stream: TextIO) -> None:
        """Write ``report``: with ``report``, as that writes it; else its problem rows through ``write``."""
        if self.report is not None:
            self.report(report, stream)
        elif self.write is not None:
            self.write(report.problems, stream)
        else:
            raise ValueError(f"the output format {self.name!r} writes neither records nor reports")


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
        # A device the listing did not have: its id, short (a table is for people; JSON has the full id).
        device=device.name
        if device is not None and device.name
        else shorten_ids([job.device_id or ""]).get(job.device_id or "", ""),
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


# Off a terminal (a file, a pipe, a pager) lines are bounded all the same: COLUMNS, else this.
PLAIN_WIDTH = 160


def output_width(stream: TextIO) -> int | None:
    """The width tables on ``stream`` are laid out for: ``COLUMNS`` when set, the terminal's own width on a
    terminal (``None``: rich asks the terminal), otherwise ``PLAIN_WIDTH``."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and len(columns) <= 6 and int(columns) > 0:
        return int(columns)
    return None if _is_terminal(stream) else PLAIN_WIDTH


def table_console(stream: TextIO, *, markup: bool = True) -> Console:
    """A rich console for tables on ``stream``, ``output_width(stream)`` wide. Off a terminal it writes no
    colour and no escape sequence (rich's own choice for a file or a pipe).

    ``markup=False`` for output made only of vendor text: a device named ``SRV [/x]`` is printed as it is,
    where rich markup would swallow it or fail on it.
    """
    width = output_width(stream)
    # Off a terminal rich pads every line to the table's width: a file or a mail keeps no trailing blanks.
    file = stream if _is_terminal(stream) else cast("TextIO", _TrimmedLines(stream))  # what rich uses of a file
    return _console_class()(file=file, soft_wrap=False, highlight=False, markup=markup, width=width)


class _TrimmedLines:
    """A text stream that writes each line to ``stream`` without its trailing spaces (a line still open is
    held until its end, or written as it is on ``flush``). What rich needs of a file: ``write``, ``flush``,
    ``isatty``, ``fileno`` and ``encoding``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._open = ""

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        lines = (self._open + text).split("\n")
        self._open = lines.pop()
        if lines:
            self.stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._open:
            self.stream.write(self._open)
            self._open = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.stream.fileno()


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


def compact_table(title: str | None = None, *, plain: bool = False, **options: Any) -> Table:
    """A rich table with a rule under the header and one space between columns (fits more per line).

    Its title and every string cell are made ``one_line`` (no escape sequences, no control characters): a
    table is for a person's terminal. Rich markup in them is kept. ``plain`` draws the rule in ASCII (for a
    file or a pipe); ``options`` go to ``rich.table.Table``.
    """
    from rich import box

    return _safe_table_class()(
        title=one_line(title) if title is not None else None,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=_ascii_head() if plain else box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0),
        **options,
    )


def _ascii_head() -> Any:
    from rich.box import Box

    return Box("    \n    \n -- \n    \n    \n -- \n    \n    \n", ascii=True)


def is_plain(stream: TextIO) -> bool:
    """True off a terminal: tables there are drawn in ASCII, without colour."""
    return not _is_terminal(stream)


def longest_word(values: Iterable[str]) -> int:
    """The widest word (in terminal cells) of ``values``: a column at least this wide never splits a name
    inside a word, it only wraps at spaces."""
    from rich.cells import cell_len

    return max((cell_len(word) for value in values for word in value.split()), default=1)


def shorten_ids(ids: Iterable[str], *, keep: int = 8) -> dict[str, str]:
    """Each id longer than ``keep + 1`` characters -> its shortest unique prefix of at least ``keep`` characters,
    as git and docker show ids (tables; JSON and CSV keep the full id). Ids that are short already stay."""
    full = sorted(set(ids))
    short: dict[str, str] = {}
    for index, value in enumerate(full):
        if len(value) <= keep + 1:
            short[value] = value
            continue
        length = keep
        for neighbour in (full[index - 1] if index else "", full[index + 1] if index + 1 < len(full) else ""):
            common = next((i for i, (a, b) in enumerate(zip(value, neighbour, strict=False)) if a != b), None)
            if common is None:
                common = min(len(value), len(neighbour))
            length = max(length, common + 1)
        short[value] = value[:length]
    return short


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


def _cell(record: Any, column: str, row: Mapping[str, str], *, year: int | None = None) -> str:
    value = getattr(record, column, None)
    if isinstance(value, dt.datetime):
        if year is not None:  # a narrow table: to the minute in UTC, the date alone in another year
            moment = value.astimezone(dt.UTC)
            return moment.strftime("%m-%d %H:%MZ" if moment.year == year else "%Y-%m-%d")
        # For people: to the minute, with the record's own offset (CSV and JSON keep the full value).
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, tuple) and len(value) > 1:
        # A plan on fifty devices would make a cell of fifty ids: the first and how many more.
        return f"{value[0]} +{len(value) - 1} more"
    return row.get(column, "")


# Columns of free text: the only ones that wrap anywhere. Names wrap at spaces only; everything else stays whole.
FREE_TEXT = frozenset({"error", "reason", "destination"})
NAMES = frozenset({"name", "company", "device", "plan"})
# When even the shortened table is too wide, these go first (each listing's CSV and JSON keep every column).
DROP_ORDER = (
    "vendor",
    "os",
    "plan_id",
    "company_id",
    "kind",
    "finished_at",
    "parent_id",
    "destination",
    "what",
    "device_ids",
    "last_backup_status",
    "company",
)


def _is_id(column: str) -> bool:
    return column == "id" or column.endswith("_id") or column.endswith("_ids")


@attrs.frozen
class Layout:
    """Column widths for a table ``width`` cells wide: ``widths[i]`` for each kept column index, ``dropped``
    the columns left out (named under the table)."""

    widths: dict[int, int]
    dropped: tuple[str, ...]


def fit_columns(
    columns: Iterable[str],
    rows: list[list[str]],
    width: int,
    *,
    free: Iterable[str] = FREE_TEXT,
    names: Iterable[str] = NAMES,
    drop: Iterable[str] = DROP_ORDER,
    free_min: int = 20,
) -> Layout:
    """Widths for ``rows`` under ``columns`` (one cell between columns): every column as wide as its
    widest cell when that fits; else free text shrinks (to ``free_min``), then names (never below their
    widest word: they wrap at spaces, never inside a word), then columns in ``drop`` order are left out.
    Other columns (ids, times, counts, statuses) are never narrower than their widest cell."""
    from rich.cells import cell_len

    heads = list(columns)
    free, names = set(free), set(names)
    titles = [h.replace("_", " ") for h in heads]
    values = {i: max([cell_len(r[i]) for r in rows], default=0) for i in range(len(heads))}
    # A header is on one line when there is room, and wraps at its spaces when there is not.
    natural = {i: max(values[i], cell_len(titles[i])) for i in values}
    floor = {
        i: max(
            longest_word([titles[i]]),
            min(values[i], free_min) if h in free else longest_word(r[i] for r in rows) if h in names else values[i],
        )
        for i, h in enumerate(heads)
    }
    kept = list(range(len(heads)))
    dropped: list[str] = []

    def total(ws: dict[int, int]) -> int:
        return sum(ws[i] for i in kept) + len(kept) - 1

    widths = dict(natural)
    for kind in (free, names, set(heads)):
        for i in kept:
            if total(widths) <= width:
                break
            if heads[i] in kind:
                widths[i] = max(floor[i], widths[i] - (total(widths) - width))
    for name in drop:
        if total(widths) <= width:
            break
        if name in heads and heads.index(name) in kept and len(kept) > 1:
            kept.remove(heads.index(name))
            dropped.append(name)
    for i in kept:  # the last resort before columns are squeezed: free text down to a word or two
        if heads[i] in free and total(widths) > width:
            widths[i] = max(min(natural[i], 10), widths[i] - (total(widths) - width))
    # Whatever room is left goes to free text first, up to its natural width.
    spare = width - total(widths)
    for i in kept:
        if spare <= 0:
            break
        if heads[i] in free or heads[i] in names:
            grow = min(spare, natural[i] - widths[i])
            widths[i] += grow
            spare -= grow
    return Layout({i: widths[i] for i in kept}, tuple(dropped))


def write_table(records: Iterable[Any], stream: TextIO) -> None:
    """Records as a table for people: columns as wide as their contents; when that is too wide, ids
    shortened (to a unique prefix, as git shows them; the full ones are in JSON and CSV), free text (errors) wrapped,
    names wrapped only at spaces, and last the least needed columns left out (named under the table). Off
    a terminal: ASCII, no colour, lines at most ``output_width`` wide."""
    columns: tuple[str, ...] = ()
    kept: list[tuple[Any, dict[str, str]]] = []
    for record in records:
        row = record_to_row(record)
        if not columns:
            columns = TABLE_COLUMNS.get(type(record).__name__, tuple(row))
        kept.append((record, row))
    console = table_console(stream, markup=False)
    if not kept:
        console.print("(no records)")
        return
    cells = [[one_line(_cell(record, c, row)) for c in columns] for record, row in kept]
    notes: list[str] = []
    shortened: list[str] = []
    layout = fit_columns(columns, cells, console.width)
    if layout.dropped:
        # Too wide: first what costs nothing (a column with one value for every row is said once, below),
        # then shorter ids and times, and only then columns are left out.
        same = [c for i, c in enumerate(columns) if c in ("vendor", "account") and len({r[i] for r in cells}) == 1]
        notes += [f"{c} {cells[0][columns.index(c)]}" for c in same]
        # The year of the latest time in the table is left out (a run of last week needs no year).
        year = max(
            (
                v.astimezone(dt.UTC).year
                for r, _ in kept
                for c in columns
                if isinstance(v := getattr(r, c, None), dt.datetime)
            ),
            default=None,
        )
        cells = [[one_line(_cell(record, c, row, year=year)) for c in columns] for record, row in kept]
        if any(_is_datetime_column(kept, c) for c in columns):
            notes.append("times in UTC")
        for index, column in enumerate(columns):
            if _is_id(column):
                short = shorten_ids(r[index] for r in cells)
                if any(short[r[index]] != r[index] for r in cells):
                    shortened.append(column)
                for r in cells:
                    r[index] = short.get(r[index], r[index])
        layout = fit_columns(columns, cells, console.width, drop=(*same, *DROP_ORDER))
        layout = attrs.evolve(layout, dropped=tuple(c for c in layout.dropped if c not in same))
    table = compact_table(plain=is_plain(stream))
    for index, width in layout.widths.items():
        # Values fit their width (fit_columns); only headers, names (at spaces) and free text wrap.
        table.add_column(columns[index].replace("_", " "), width=width, overflow="fold")
    for r in cells:
        table.add_row(*(r[i] for i in layout.widths))
    console.print(table)
    if shortened:
        notes.append(
            f"{', '.join(c.replace('_', ' ') for c in shortened)}: unique prefixes (--format json has them whole)"
        )
    if layout.dropped:
        notes.append(f"not shown at this width: {', '.join(layout.dropped)} (--format csv has every column)")
    console.print(f"{len(cells)} record{'s' if len(cells) != 1 else ''}" + "".join(f"; {n}" for n in notes))


def _is_datetime_column(kept: list[tuple[Any, dict[str, str]]], column: str) -> bool:
    return any(isinstance(getattr(record, column, None), dt.datetime) for record, _ in kept)


def _report_writer(name: str, **options: Any) -> Callable[[Report, TextIO], None]:
    """``backupbridge.report``'s renderer ``name``, imported when a report is written (report imports this
    module)."""

    def write(report: Report, stream: TextIO) -> None:
        from . import report as reports

        getattr(reports, name)(report, stream, **options)

    write.__name__ = write.__qualname__ = name
    return write


BUILTIN_EXPORTERS = (
    Exporter("table", write_table, "a table for people (the default on a terminal)", _report_writer("render_table")),
    Exporter("json", write_json, "a JSON array of records", _report_writer("render_json")),
    Exporter("ndjson", write_ndjson, "one JSON record per line, streamed", _report_writer("render_ndjson")),
    Exporter(
        "csv",
        write_csv,
        "CSV with a header row; lists joined with ';'; formulas neutralised with '",
        _report_writer("render_csv"),
    ),
    Exporter(
        "csv-raw",
        write_csv_raw,
        "CSV as the vendor sent it (cells that open as formulas are not guarded)",
        _report_writer("render_csv", raw=True),
    ),
    Exporter(
        "html",
        None,
        "the report as one self-contained HTML file (reports only)",
        _report_writer("render_html"),
        reads_history=True,
    ),
)


def write_capability_table(vendors: Iterable[Vendor], stream: TextIO) -> None:
    """The ``backupbridge vendors`` table: one row per capability, one column per vendor, ``yes``/``no`` with
    the vendor's note. Plugin-written names and notes are printed as text (no markup, no escape sequences)."""
    from rich import box

    from .models import Capability

    listed = list(vendors)
    table = _safe_table_class()(
        title="Capabilities (yes / no, with notes)", box=_ascii_head() if is_plain(stream) else box.SIMPLE_HEAD
    )
    # The operation names are never cut or wrapped; the vendors' notes wrap at spaces in what is left.
    table.add_column("operation", no_wrap=True, min_width=max(len(c.value) for c in Capability))
    for vendor in listed:
        table.add_column(one_line(vendor.name), overflow="fold", ratio=1)
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
