"""Vendor text made safe for the places it is shown: a terminal, a one-line message, a spreadsheet cell.

Vendor data is untrusted: a device named ``"\\x1b[2J\\x1b]0;pwned\\x07"`` would clear the screen and retitle
the terminal of whoever prints a table, and a CSV cell ``=HYPERLINK(...)`` opens as a formula in Excel.
Everything backupbridge prints for a person passes through ``printable``; every CSV cell through
``csv_cell``.
"""

from __future__ import annotations

import re

__all__ = ["csv_cell", "one_line", "printable"]

# Whole escape sequences first (so no "[2J" debris is left): CSI, OSC (ended by BEL or ST), and the
# two-character ESC forms; then any control character that is left, C0, DEL and C1, and the Unicode
# bidirectional overrides that make a name read backwards.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC ... ST
    r"|\x1b[@-_]?"  # any other ESC (and a lone one)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\n]+")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences or control characters; tabs and newlines are kept."""
    if text.isprintable():  # the common case, checked in C
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str) -> str:
    """``printable(text)`` on one line: tabs and newlines become a space (for ``error:`` lines, table cells)."""
    return _LINE_BREAKS.sub(" ", printable(text))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def csv_cell(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text: a cell starting with ``= + - @``, a tab, CR or LF (or
    ``|``/``%``, which some spreadsheets also evaluate) gets a leading ``'`` (OWASP's advice). Plain numbers
    such as ``-5`` or ``+1.5e3`` are left alone."""
    if value and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value
