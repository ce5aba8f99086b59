"""The threaded Bridge's account deadline, judged by when the work finished (adversarial pass, issue 12).

An account that passed its deadline between two listings used to hand back a shorter snapshot with no failure,
which the fan-out accepted whenever it read the answer before noticing the deadline: the account was judged
with its plans or runs missing. A listing that never ends kept its thread paging after the account was given up.
The clock here is the Bridge's ``time.monotonic``, moved by the listings themselves, so nothing depends on timing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backupbridge.bridge import Bridge, DeadlineExceededError
from backupbridge.sandbox import connect_sandbox


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "monotonic", fake)  # what backupbridge.bridge reads
    return fake


def test_an_account_past_its_deadline_between_listings_is_a_failure_not_a_shorter_snapshot(clock: Clock) -> None:
    conn = connect_sandbox("cleverfox", size=5, account="slow")
    devices = conn.list_devices

    def slow_devices(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from devices(*args, **kwargs)
        clock.now += 120  # the device listing ends two minutes later: past the one-minute deadline

    conn.list_devices = slow_devices  # type: ignore[method-assign]
    snapshot = Bridge([conn], account_timeout=60).snapshot()
    assert snapshot.failures, "the account ran past its deadline: that is a failure"
    assert all(isinstance(f.error, DeadlineExceededError) for f in snapshot.failures)
    assert ("cleverfox", "slow") in snapshot.incomplete or not snapshot.plans


def test_a_listing_that_never_ends_stops_at_the_deadline(clock: Clock) -> None:
    conn = connect_sandbox("cleverfox", size=5, account="endless")
    served = itertools.count()
    template = next(iter(conn.list_devices()))

    def endless(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for n in served:  # a server inventing fresh pages for ever
            if n > 10_000:
                raise AssertionError("the listing was still being read long after the deadline")
            clock.now += 0.01
            yield template

    conn.list_devices = endless  # type: ignore[method-assign]
    result = Bridge([conn], account_timeout=5).list_devices()
    (failure,) = result.failures
    assert isinstance(failure.error, DeadlineExceededError) and result.records == []
    assert next(served) < 1000  # stopped soon after 5 s of its clock (500 records), not at some cap


def test_an_account_within_its_deadline_is_complete(clock: Clock) -> None:
    conn = connect_sandbox("cleverfox", size=5, account="quick")
    snapshot = Bridge([conn], account_timeout=60).snapshot()
    assert snapshot.failures == [] and snapshot.devices and snapshot.plans
