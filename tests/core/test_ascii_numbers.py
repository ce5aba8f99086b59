"""Numbers on the wire are ASCII digits: text in other scripts' digits (Arabic-Indic, full-width, "\u00b2") is not a
number a vendor sends, so it is refused (a DecodingError upstream), never read as 12 or 12 hours."""

from __future__ import annotations

import attrs
import pytest

from backupbridge.convert import make_converter, parse_duration

NOT_ASCII = ["\u0661\u0662", "\uff11\uff12", "\u06f1\u06f2", "\u0967\u0968", "12\u00a0", "\u20031", "\u00b2"]


@attrs.frozen
class Row:
    count: int
    ratio: float
    maybe: int | None = None


@pytest.mark.parametrize("text", NOT_ASCII)
def test_an_integer_in_other_digits_is_refused(text: str) -> None:
    conv = make_converter()
    with pytest.raises((TypeError, ValueError)):
        conv.structure({"count": text, "ratio": 1.0}, Row)
    with pytest.raises((TypeError, ValueError)):
        conv.structure({"count": 1, "ratio": 1.0, "maybe": text}, Row)


@pytest.mark.parametrize("text", NOT_ASCII)
def test_a_float_in_other_digits_is_refused(text: str) -> None:
    with pytest.raises((TypeError, ValueError)):
        make_converter().structure({"count": 1, "ratio": text}, Row)


@pytest.mark.parametrize(
    "text",
    ["\u0661\u0662", "\u0661\u0662 hours", "PT\u0661H", "\u0661:\u0660\u0660:\u0660\u0660", "\uff11\uff12 minutes"],
)
def test_a_duration_in_other_digits_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_ascii_numbers_still_read() -> None:
    row = make_converter().structure({"count": " 12 ", "ratio": "1.5", "maybe": "7.0"}, Row)
    assert row == Row(12, 1.5, 7)
    assert parse_duration("12") is not None and parse_duration("1 hour(s) 5 minute(s)") is not None
