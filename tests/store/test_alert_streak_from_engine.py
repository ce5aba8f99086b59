"""An alert and a report row count the failure streak the engine counted.

The snapshot's runs give the streak only over runs with a time; an IDrive 360 failure has none, and the engine
places it where the store first saw it. The alert for the plan below said 0 consecutive failures, with no
``failing_since``, while the plan's verdict (the same pass) said 1 since 11-04: a PSA ticket that understated
the problem. Both now carry the longer streak.
"""

from __future__ import annotations

import pytest

from backupbridge.alerts import alerts_from
from backupbridge.health import Health, assess
from backupbridge.report import build_report
from backupbridge.store import Store, record_snapshot
from backupbridge.store.history import extend_snapshot, health_history

from .test_recurring_untimed_failure import SEQUENCE, A, V


@pytest.mark.parametrize("day", [2, 3])
def test_the_alert_and_the_row_carry_the_engines_streak(store: Store, day: int) -> None:
    for snap in SEQUENCE[:day]:
        record_snapshot(store, snap, snap.clocks[(V, A)])
    now = SEQUENCE[day]
    remembered = health_history(store, now.clocks, now=now.clocks)
    judged = assess(now.devices, now.plans, now.jobs, now=now.clocks, timezones=now.timezones, history=remembered)
    plan = judged.plans[0]
    assert plan.health is Health.FAILED and plan.consecutive_failures == 1 and plan.failing_since is not None
    extended = extend_snapshot(now, remembered)
    (alert,) = alerts_from(judged, now.clocks[(V, A)], snapshot=extended)
    assert (alert.consecutive_failures, alert.failing_since) == (1, plan.failing_since)
    (row,) = build_report(extended, judged).problems
    assert (row.consecutive_failures, row.failing_since) == (1, plan.failing_since)
