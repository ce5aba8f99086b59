"""Vendor text made safe for the places it is shown: a terminal, a one-line message, a spreadsheet cell, JSON.

Vendor data is untrusted: a device named ``"\\x1b[2J\\x1b]0;pwned\\x07"`` would clear the screen and retitle
the terminal of whoever prints a table, and a CSV cell ``=HYPERLINK(...)`` opens as a formula in Excel.
Everything backupbridge prints for a person passes through ``printable`` (or ``one_line``); every CSV cell
through ``csv_cell``; every JSON document through ``json_text``. Ordinary text (``Müller GmbH``, ``日本``,
emoji) passes untouched.
"""

from __future__ import annotations

import re

__all__ = ["csv_cell", "json_text", "one_line", "printable"]

# Whole escape sequences first (so no "[2J" or "0;title" debris is left), in their 7-bit (ESC ...) and 8-bit
# (C1) forms: CSI, OSC (ended by BEL or ST; OSC 8 hyperlinks are two of them), the string controls DCS, SOS,
# PM and APC, and the short ESC forms (ESC ( B, ESC 7, ESC c). Then any control character that is left.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC ... ST
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence (and a lone ESC)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x9c)?"  # 8-bit OSC
    r"|[\x90\x98\x9e\x9f][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # 8-bit DCS, SOS, PM, APC
)
# C0 but tab and newline, DEL, C1, and the Unicode bidirectional controls that make a name read backwards.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_UNICODE_BREAKS = re.compile(r"[\x85\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences or control characters; tabs and newlines are kept.

    Removed: CSI, OSC (titles, OSC 8 hyperlinks), DCS/SOS/PM/APC and short ESC sequences in 7-bit and 8-bit
    form, every other C0 control (a carriage return too: ``"ok\\rFAILED"`` would overwrite itself), DEL, C1
    and the bidirectional overrides and isolates. Unicode line and paragraph separators become ``\\n``; a
    lone surrogate (which no terminal encoding can write) becomes U+FFFD.
    """
    if text.isprintable():  # the common case, checked in C
        return text
    text = _UNICODE_BREAKS.sub("\n", text)
    return _SURROGATES.sub("\ufffd", _CONTROLS.sub("", _ESCAPES.sub("", text)))


def one_line(text: str) -> str:
    """``printable(text)`` on one line: each run of tabs and line breaks (CR, LF, VT, FF, NEL, U+2028/9)
    becomes one space. For ``error:`` lines and table cells."""
    if text.isprintable():
        return text
    return printable(_LINE_BREAKS.sub(" ", text))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
_SKIPPED_BEFORE_FORMULA = (
    " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"  # spaces of any width
    "\u200b\u200c\u200d\u2060\u202f\u205f\u3000\ufeff"  # zero-width marks, narrow and wide spaces, the BOM
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text (OWASP's advice).

    A cell whose first character, after any leading spaces (of any width, zero-width ones and a BOM too), is
    ``= + - @``, a tab, CR or LF (or ``|``/``%``, which some spreadsheets also evaluate) gets a leading ``'``.
    Plain numbers such as ``-5`` or ``+1.5e3`` are left alone. A lone surrogate (not text, and not writable
    as UTF-8) becomes U+FFFD.
    """
    if not value.isascii():
        value = _SURROGATES.sub("\ufffd", value)
    # Whatever a spreadsheet may skip before a formula: spaces of every width, zero-width marks, a BOM.
    start = value.lstrip(_SKIPPED_BEFORE_FORMULA)
    if start.startswith(_FORMULA_START) and not _NUMBER.fullmatch(start):
        return "'" + value
    return value


# json.dumps(ensure_ascii=False) escapes C0 and the quote, but writes DEL, C1, the bidi controls, U+2028/9
# and lone surrogates as they are: on a terminal they act, and a lone surrogate cannot be encoded at all.
# Outside strings JSON is ASCII, so escaping them wherever they occur keeps the document's value identical.
_JSON_UNSAFE = re.compile(f"[\\x7f-\\x9f{_BIDI}\\u2028\\u2029\\ud800-\\udfff]")


def json_text(document: str) -> str:
    """A JSON text from ``json.dumps(..., ensure_ascii=False)`` with the characters that act on a terminal
    (DEL, C1, bidi controls, U+2028/9) and lone surrogates written as ``\\uXXXX``: the same JSON value,
    safe to print and to encode as UTF-8."""
    if document.isascii() and "\x7f" not in document:
        return document
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
