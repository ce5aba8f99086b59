"""health._judge returns a named ``Verdict`` (not a 6-tuple), and assess reads it by name."""

from __future__ import annotations

import datetime as dt

from backupbridge import Job, JobStatus
from backupbridge.health import HealthPolicy, Verdict, _judge, assess

NOW = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


def _run(hours_ago: float, status: JobStatus, error: str | None = None) -> Job:
    start = NOW - dt.timedelta(hours=hours_ago)
    return Job(
        vendor="v",
        account="a",
        id=f"r{hours_ago}",
        device_id="d1",
        status=status,
        started_at=start,
        finished_at=start + dt.timedelta(minutes=5),
        error=error,
    )


def _verdict(runs: list[Job]) -> Verdict:
    policy = HealthPolicy()
    return _judge(
        runs,
        expected=[],
        now=NOW,
        policy=policy,
        grace=policy.grace,
        tz=dt.UTC,
        known_success=None,
        offline=False,
        disabled=False,
    )


def test_a_failed_last_run_is_a_named_verdict() -> None:
    verdict = _verdict([_run(30, JobStatus.SUCCESS), _run(2, JobStatus.FAILED, "Disk full")])
    assert isinstance(verdict, Verdict)
    assert verdict.health.value == "failed"
    assert verdict.reason == "last run failed: Disk full"
    assert verdict.last_status is JobStatus.FAILED
    assert verdict.last_success_at == NOW - dt.timedelta(hours=30, minutes=-5)
    assert verdict.expected_at is None


def test_an_ok_verdict_keeps_its_facts() -> None:
    verdict = _verdict([_run(2, JobStatus.SUCCESS)])
    assert (verdict.health.value, verdict.reason) == ("ok", "ok")
    assert verdict.last_run_at is not None and verdict.last_success_at is not None


def test_assess_reads_the_verdict_for_devices_without_plans() -> None:
    from backupbridge import Device

    device = Device(vendor="v", account="a", id="d1", name="PC")
    result = assess([device], [], [_run(2, JobStatus.FAILED, "Disk full")], now=NOW)
    (health,) = result.devices
    assert (health.health.value, health.reason) == ("failed", "last run failed: Disk full")
