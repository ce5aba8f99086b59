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
