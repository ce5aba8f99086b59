"""The soak's trust figures: listings that fail part-way leave alerts untouched, and the soak can tell."""

from __future__ import annotations

import pytest

from backupbridge.bridge import Snapshot
from backupbridge.sandbox import FaultKind
from backupbridge.sandbox.faults import PAGING_FAULTS, PagingFault
from backupbridge.sandbox.soak import run_soak

# Faults retries cannot always beat, so some listings fail while others of the same account succeed.
PARTIAL: tuple[FaultKind | PagingFault, ...] = (FaultKind.SERVER_ERROR, FaultKind.MALFORMED_JSON, *PAGING_FAULTS)


def test_accounts_failing_part_way_neither_recover_nor_open_alerts() -> None:
    result = run_soak(accounts_per_vendor=2, size=10, rate=0.35, rounds=1, seed=5, kinds=PARTIAL)
    assert result.partly_failed_accounts > 0, "the run must contain accounts that failed part-way"
    assert (result.false_recoveries, result.false_opens) == (0, 0), result.problems
    assert result.shortened == 0 and result.lost == 0, result.problems


def test_the_soak_sees_a_failed_listing_read_as_health(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the failed listings hidden from the health engine (the old behaviour), the soak counts the false
    recoveries and opens: the zero above is a measurement, not a default."""
    monkeypatch.setattr(Snapshot, "incomplete", property(lambda self: {}))
    result = run_soak(accounts_per_vendor=2, size=10, rate=0.35, rounds=1, seed=5, kinds=PARTIAL)
    assert result.false_recoveries + result.false_opens > 0
    assert not result.clean


def test_pages_echoing_the_request_leak_no_secret() -> None:
    """A proxy page echoing every request (keys, minted tokens, session cookies, login bodies) on every vendor."""
    result = run_soak(accounts_per_vendor=1, size=5, rate=0.6, rounds=1, seed=3, kinds=(FaultKind.ECHO_REQUEST,))
    assert result.faults[FaultKind.ECHO_REQUEST.value] > 0 and result.failed_accounts > 0
    assert result.leaks == 0, result.problems


def test_the_soak_sees_an_echoed_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """With redaction switched off, the same run counts leaks: the zero above is a measurement."""
    import backupbridge.redaction

    monkeypatch.setattr(backupbridge.redaction, "_groups", [])  # no registered secret is looked for
    monkeypatch.setattr(backupbridge.redaction, "_CONTEXT_WORDS", ())  # nor any credential-shaped value
    result = run_soak(accounts_per_vendor=1, size=5, rate=0.6, rounds=1, seed=3, kinds=(FaultKind.ECHO_REQUEST,))
    assert result.leaks > 0
