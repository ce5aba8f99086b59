"""SQLite's stored times are read in one C call, exactly as before.

``UTCDateTime`` on SQLite reads the text ``to_text`` wrote as UTC; it used ``fromisoformat(value)`` then
``replace(tzinfo=UTC)`` (the replace cost most of a history read's time in datetimes). The new reader must give
the same datetime (zone ``UTC`` itself), or the same error, for every text: what ``to_text`` writes over random
moments, and text it never writes (a date alone, an offset, a ``Z``, a ``T``, seconds cut off, garbage).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy.dialects import sqlite

from backupbridge.store import schema


def _old(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


READ = schema.UTCDateTime().result_processor(sqlite.dialect(), None)
WRITE = schema.UTCDateTime().bind_processor(sqlite.dialect())

ODD = [
    "2026-11-02",
    "2026-11-02 09:00",
    "2026-11-02 09:00:00",
    "2026-11-02T09:00:00",
    "2026-11-02 09:00:00.000000",
    "2026-11-02 09:00:00.123",
    "2026-11-02 09:00:00+01:00",
    "2026-11-02 09:00:00.000000+01:00",
    "2026-11-02T09:00-01",
    "2026-11-02T09:00+0100",
    "2026-11-02T09:00:00.12345Z",
    "2026-11-02 09:00:00.1234Z",
    "2026-11-02 09:00:00Z",
    "20261102T090000.123+01:00",
    "2026-11-02 24:00:00.000000",
    "2026-02-30 09:00:00.000000",
    "not a time at all, 26 ch!",
    "",
]


def _same(value: str) -> None:
    try:
        expected = _old(value)
    except ValueError:
        with pytest.raises(ValueError):
            READ(value)
        return
    found = READ(value)
    assert found == expected and found.tzinfo is dt.UTC and found.fold == expected.fold, value


def test_what_to_text_writes_reads_back_as_before() -> None:
    rng = random.Random(14)
    for _ in range(5000):
        moment = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=rng.randrange(10**17))
        if rng.random() < 0.3:
            moment = moment.replace(microsecond=0)
        text = WRITE(moment)
        _same(text)
        assert READ(text) == moment
    assert READ(None) is None


@pytest.mark.parametrize("value", ODD)
def test_text_to_text_never_writes_reads_as_before(value: str) -> None:
    _same(value)
