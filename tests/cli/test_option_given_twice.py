"""An option a listing takes once (``--vendor``) given twice is a usage error (rc 2, one line), never the last
value silently (``devices --vendor cleverfox --vendor idrive360`` listed only IDrive 360's devices)."""

from __future__ import annotations

import pytest

from backupbridge.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["devices", "--sandbox", "--vendor", "cleverfox", "--vendor", "idrive360"],
        ["companies", "--sandbox", "--vendor", "cleverfox", "--vendor", "cleverfox"],
        ["accounts", "--vendor", "cleverfox", "--vendor", "idrive360"],
    ],
)
def test_vendor_given_twice_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "--vendor" in err


def test_vendor_given_once_still_lists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--sandbox", "--size", "3", "--vendor", "cleverfox", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert rows and all(row.startswith("cleverfox,") for row in rows)


def test_report_takes_vendor_repeated(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", "--sandbox", "--size", "3", "--no-store", "--no-alerts", "--format", "json"]
    code = main([*argv, "--vendor", "cleverfox", "--vendor", "idrive360"])
    assert code in (0, 1)
    out = capsys.readouterr().out
    assert '"cleverfox"' in out and '"idrive360"' in out and '"vprotect"' not in out
