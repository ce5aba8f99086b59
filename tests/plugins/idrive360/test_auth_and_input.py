"""Bad arguments fail with ValidationError before any request (the transport fails the test if called)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import (
    Frequency,
    JobStatus,
    Notification,
    NotifyWhen,
    PlanSpec,
    Schedule,
    ValidationError,
    Weekday,
)

from .conftest import doc_example


@pytest.fixture
def conn(no_requests: httpx.MockTransport) -> backupbridge.Connection:
    return backupbridge.connect("idrive360", api_key="k-1234567890", transport=no_requests)


def plan(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = doc_example("create_backup_plan_request")
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is None:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return body


BAD_CALLS: list[tuple[str, Callable[[Any], Any], str]] = [
    ("company id text", lambda c: c.vendor.company_summary("abc"), "company_id"),
    ("company id bool", lambda c: c.vendor.company_summary(True), "company_id"),
    ("build type", lambda c: c.vendor.fetch_config_id(build_type="AMIGA"), "build_type"),
    ("private_encryption", lambda c: c.vendor.fetch_config_id(private_encryption="yes"), "private_encryption"),
    ("full_client", lambda c: c.vendor.fetch_config_id(full_client=1), "full_client"),
    ("company name", lambda c: c.vendor.create_company(""), "name"),
    ("company parent", lambda c: c.vendor.create_company("x", "12a"), "company_id"),
    ("name search", lambda c: c.vendor.company_by_name(None), "name"),
    ("case_sensitive", lambda c: c.vendor.company_by_name("x", case_sensitive="no"), "case_sensitive"),
    ("exact", lambda c: c.vendor.company_by_name("x", exact="no"), "exact"),
    ("device id", lambda c: c.vendor.device_summary(device_id=""), "device_id"),
    ("emails", lambda c: c.vendor.update_email_notification("d", ["not-an-email"]), "emails"),
    ("emails string", lambda c: c.vendor.update_email_notification("d", "a@b.co"), "emails"),
    ("no emails", lambda c: c.vendor.update_email_notification("d", []), "emails"),
    ("type", lambda c: c.vendor.update_email_notification("d", ["a@b.co"], type="SOMETIMES"), "type"),
    ("backup set", lambda c: c.vendor.update_email_notification("d", ["a@b.co"], backup_set="ALL"), "backup_set"),
    ("plan name", lambda c: c.vendor.create_backup_plan(plan(name=None)), "name"),
    ("backup_details", lambda c: c.vendor.create_backup_plan(plan(backup_details=None)), "backup_details"),
    ("scheduler", lambda c: c.vendor.create_backup_plan(plan(scheduler=None)), "scheduler"),
    ("what", lambda c: c.vendor.create_backup_plan(plan(backup_details__what_to_backup="VM")), "what_to_backup"),
    ("where", lambda c: c.vendor.create_backup_plan(plan(backup_details__where_to_backup="NAS")), "where_to_backup"),
    ("items", lambda c: c.vendor.create_backup_plan(plan(backup_details__items_to_backup=None)), "items_to_backup"),
    ("months", lambda c: c.vendor.create_backup_plan(plan(scheduler__months=None)), "months"),
    ("month name", lambda c: c.vendor.create_backup_plan(plan(scheduler__months=["JANVIER"])), "months"),
    ("dates", lambda c: c.vendor.create_backup_plan(plan(scheduler__dates=["32"])), "dates"),
    ("no dates", lambda c: c.vendor.create_backup_plan(plan(scheduler__dates=None)), "dates"),
    (
        "weekly days",
        lambda c: c.vendor.create_backup_plan(plan(scheduler__frequency_type="WEEKLY", scheduler__days=None)),
        "days",
    ),
    (
        "weekday",
        lambda c: c.vendor.create_backup_plan(plan(scheduler__frequency_type="WEEKLY", scheduler__days=["MONDAY"])),
        "days",
    ),
    ("daily mode", lambda c: c.vendor.create_backup_plan(plan(scheduler__frequency_type="DAILY")), "daily_mode"),
    ("frequency", lambda c: c.vendor.create_backup_plan(plan(scheduler__frequency_type="YEARLY")), "frequency_type"),
    ("time", lambda c: c.vendor.create_backup_plan(plan(scheduler__time="5pm")), "time"),
    ("time range", lambda c: c.vendor.create_backup_plan(plan(scheduler__time="24:00:00")), "time"),
    ("cutoff", lambda c: c.vendor.create_backup_plan(plan(scheduler__cutoff_time="7:00")), "cutoff_time"),
    (
        "notify",
        lambda c: c.vendor.create_backup_plan(plan(scheduler__send_email_notification="DAILY")),
        "send_email_notification",
    ),
    ("cdp frequency", lambda c: c.vendor.create_backup_plan(plan(cdp_frequency=None)), "cdp_frequency"),
    ("cdp value", lambda c: c.vendor.create_backup_plan(plan(cdp_frequency="HOURLY")), "cdp_frequency"),
    ("exclude flag", lambda c: c.vendor.create_backup_plan(plan(exclude_hidden="true")), "exclude_hidden"),
    ("dry run", lambda c: c.vendor.create_backup_plan(plan(), dry_run="yes"), "dry_run"),
    ("plan company", lambda c: c.vendor.fetch_backup_plan(company_id="x"), "company_id"),
    ("plan id", lambda c: c.vendor.fetch_backup_plan(backup_id=""), "backup_id"),
    ("get_device", lambda c: c.get_device(""), "device_id"),
    ("get_company", lambda c: c.get_company("acme"), "company_id"),
    ("list_devices", lambda c: c.list_devices(company_id="acme"), "company_id"),
    ("list_plans", lambda c: c.list_plans(company_id="acme"), "company_id"),
    ("list_jobs naive since", lambda c: c.list_jobs(since=dt.datetime(2026, 1, 1)), "since"),
    ("list_jobs status", lambda c: c.list_jobs(status="failed"), "status"),
    ("create_company parent", lambda c: c.create_company("x", parent_id="acme"), "parent_id"),
    (
        "notifications",
        lambda c: c.set_notifications("d", Notification(emails=("bad",), when=NotifyWhen.ALWAYS)),
        "emails",
    ),
    ("notify unknown", lambda c: c.set_notifications("d", Notification(when=NotifyWhen.UNKNOWN)), "when"),
]


@pytest.mark.parametrize(("case", "call", "field"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_fail_before_any_request(
    conn: backupbridge.Connection, case: str, call: Callable[[Any], Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        call(conn)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def spec(**changes: Any) -> PlanSpec:
    base: dict[str, Any] = dict(
        name="Nightly", schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(22, 0)), items=("C:\\Data",)
    )
    base.update(changes)
    return PlanSpec(**base)


BAD_SPECS = [
    ("no time", spec(schedule=Schedule(frequency=Frequency.DAILY)), "schedule.time"),
    (
        "odd daily days",
        spec(schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(1), weekdays=(Weekday.MONDAY,))),
        "schedule.weekdays",
    ),
    ("weekly no days", spec(schedule=Schedule(frequency=Frequency.WEEKLY, time=dt.time(1))), "schedule.weekdays"),
    ("monthly no days", spec(schedule=Schedule(frequency=Frequency.MONTHLY, time=dt.time(1))), "schedule.month_days"),
    (
        "month day 40",
        spec(schedule=Schedule(frequency=Frequency.MONTHLY, time=dt.time(1), month_days=(40,))),
        "schedule.month_days",
    ),
    (
        "month 13",
        spec(schedule=Schedule(frequency=Frequency.MONTHLY, time=dt.time(1), month_days=(1,), months=(13,))),
        "schedule.months",
    ),
    ("continuous", spec(schedule=Schedule(frequency=Frequency.CONTINUOUS, time=dt.time(1))), "schedule.frequency"),
    ("vm", spec(what=backupbridge.BackupTarget.VM), "what"),
    ("hybrid", spec(destination=backupbridge.Destination.HYBRID), "destination"),
    ("unknown option", spec(options={"turbo": True}), "options"),
    ("no items", spec(items=()), "items_to_backup"),
    ("company", spec(company_id="acme"), "company_id"),
    ("not a spec", {"name": "x"}, "spec"),
]


@pytest.mark.parametrize(("case", "bad", "field"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_plan_specs_fail_before_any_request(conn: backupbridge.Connection, case: str, bad: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        conn.create_plan(bad)
    assert info.value.field == field


def test_jobs_status_must_be_the_enum(conn: backupbridge.Connection) -> None:
    with pytest.raises(ValidationError):
        conn.list_jobs(status=JobStatus.FAILED.value)  # type: ignore[arg-type]
