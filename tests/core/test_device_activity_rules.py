"""backupbridge.activity: which run fills which Device field, and what it never overrides or invents."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from backupbridge import Device, Job, JobStatus
from backupbridge.activity import apply_activity, summarize, with_activity
from backupbridge.vendors import Vendor

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def device(**kw: object) -> Device:
    values: dict[str, object] = {"vendor": "v", "account": "a", "id": "d1", "name": "PC-1"}
    values.update(kw)
    return Device(**values)  # type: ignore[arg-type]


def run(hours_ago: float | None, status: JobStatus = JobStatus.SUCCESS, **kw: object) -> Job:
    when = None if hours_ago is None else NOW - dt.timedelta(hours=hours_ago)
    values: dict[str, object] = {
        "vendor": "v",
        "account": "a",
        "id": f"j{hours_ago}{status}",
        "device_id": "d1",
        "status": status,
        "vendor_status": status.value.title(),
        "started_at": when - dt.timedelta(minutes=30) if when else None,
        "finished_at": when,
    }
    values.update(kw)
    return Job(**values)  # type: ignore[arg-type]


def test_the_newest_run_gives_the_status_and_the_newest_success_the_time() -> None:
    jobs = [run(30), run(5, JobStatus.FAILED, error="disk full"), run(20)]
    (filled,) = with_activity([device()], jobs)
    assert filled.last_backup_status is JobStatus.FAILED and filled.vendor_backup_status == "Failed"
    assert filled.last_backup_at == NOW - dt.timedelta(hours=20)


def test_a_devices_own_fields_win() -> None:
    own = device(
        last_backup_at=NOW - dt.timedelta(days=3), last_backup_status=JobStatus.MISSED, vendor_backup_status="x"
    )
    assert with_activity([own], [run(1)]) == [own]


def test_an_unknown_vendor_value_on_the_device_is_kept_not_replaced() -> None:
    """UNKNOWN with the vendor's original text is the vendor speaking: it stays."""
    own = device(last_backup_status=JobStatus.UNKNOWN, vendor_backup_status="Frobnicated")
    (filled,) = with_activity([own], [run(1, JobStatus.FAILED), run(3)])
    assert (filled.last_backup_status, filled.vendor_backup_status) == (JobStatus.UNKNOWN, "Frobnicated")
    assert filled.last_backup_at == NOW - dt.timedelta(hours=3)  # the empty field is still filled


def test_an_unknown_run_status_comes_with_its_original_text() -> None:
    (filled,) = with_activity([device()], [run(1, JobStatus.UNKNOWN, vendor_status="Paused")])
    assert (filled.last_backup_status, filled.vendor_backup_status) == (JobStatus.UNKNOWN, "Paused")
    assert filled.last_backup_at is None


def test_a_queued_run_is_not_the_last_run_and_warnings_are_not_success() -> None:
    jobs = [run(0.1, JobStatus.QUEUED), run(2, JobStatus.WARNING), run(9)]
    (filled,) = with_activity([device()], jobs)
    assert filled.last_backup_status is JobStatus.WARNING
    assert filled.last_backup_at == NOW - dt.timedelta(hours=9)


def test_a_running_run_is_the_last_run() -> None:
    running = run(None, JobStatus.RUNNING, started_at=NOW - dt.timedelta(minutes=5))
    (filled,) = with_activity([device()], [run(3), running])
    assert filled.last_backup_status is JobStatus.RUNNING


def test_timeless_runs_count_only_where_no_run_has_a_time() -> None:
    (timed,) = with_activity([device()], [run(None, JobStatus.FAILED), run(4)])
    assert timed.last_backup_status is JobStatus.SUCCESS
    (timeless,) = with_activity([device()], [run(None, JobStatus.FAILED), run(None, JobStatus.SUCCESS)])
    assert timeless.last_backup_status is JobStatus.FAILED  # the first listed
    assert timeless.last_backup_at is None  # a success without a time gives no time


def test_runs_of_another_account_or_vendor_never_fill_a_device() -> None:
    """The same device id in two tenants: each keeps its own runs."""
    jobs = [run(1, account="other"), run(1, vendor="w"), run(2, device_id=None)]
    assert with_activity([device()], jobs) == [device()]
    assert set(summarize(jobs)) == {("v", "other", "d1"), ("w", "a", "d1")}


def test_company_comes_from_the_run_only_when_the_device_has_none() -> None:
    (filled,) = with_activity([device()], [run(1, company_id="c-9")])
    assert filled.company_id == "c-9"
    (kept,) = with_activity([device(company_id="c-1")], [run(1, company_id="c-9")])
    assert kept.company_id == "c-1"


def test_nothing_to_fill_returns_the_same_device() -> None:
    own = device()
    assert apply_activity(own, None) is own
    assert apply_activity(own, summarize([run(1, device_id="d2")]).get(("v", "a", "d1"))) is own


def test_a_vendor_cannot_declare_a_field_the_jobs_do_not_fill() -> None:
    from backupbridge_cleverfox import vendor as cleverfox

    with pytest.raises(ValueError, match="last_seen_at"):
        attrs.evolve(cleverfox, name="typo", device_fields_from_jobs=("last_seen_at",))
    assert isinstance(cleverfox, Vendor) and "last_backup_at" in cleverfox.device_fields_from_jobs
