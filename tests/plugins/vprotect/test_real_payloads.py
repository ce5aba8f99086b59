"""Shapes of vProtect payloads that the published API docs (apidocs.zip, 7.4.0-27) and Storware's own UI show
(each fixture in ``real_payloads/`` names its source), and out-of-range times that used to escape as
``ValueError``/``OverflowError``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import DecodingError, Frequency, JobKind, JobStatus
from backupbridge.convert import decode
from backupbridge.http import RetryPolicy
from backupbridge_vprotect import mapping
from backupbridge_vprotect.records import BackupRecord, PolicyRecord, ScheduleRecord, converter

HERE = Path(__file__).parent / "real_payloads"


def payload(name: str) -> Any:
    return json.loads((HERE / f"{name}.json").read_text())["payload"]


def jobs(data: list[Any]) -> list[Any]:
    records = decode(converter, list[BackupRecord], data, endpoint="GET /backups", vendor="vprotect")
    return [mapping.job(r, raw, account="a", plan_of_rule={}) for r, raw in zip(records, data, strict=True)]


def backups_listing(*backups: dict[str, Any]) -> backupbridge.Connection:
    """A connection whose ``/backups`` answers ``backups`` (every other list is empty)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/session/login"):
            return httpx.Response(201, json={}, headers={"Set-Cookie": "JSESSIONID=real-payloads-1; Path=/"})
        first = request.url.params.get("page", "0") == "0"
        body = list(backups) if request.url.path.endswith("/backups") and first else []
        total = len(backups) if request.url.path.endswith("/backups") else 0
        return httpx.Response(200, json=body, headers={"X-Total-Count": str(total)})

    return backupbridge.connect(
        "vprotect",
        login="u",
        password="real-payloads-pass",
        base_url="https://vp.test:8181/api",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    )


def test_the_7_4_0_example_with_enum_objects() -> None:
    (job,) = jobs(payload("backups_7_4_0"))
    assert job.id == "f8f73bf9-2445-4bce-a7dd-753be3b40a67" and job.status is JobStatus.UNKNOWN
    assert job.vendor_status == "ENUM_NAME" and job.size_bytes is None
    assert job.started_at == dt.datetime(2016, 1, 1, 12, 0, 1, tzinfo=dt.UTC)


def test_backup_details_without_a_backup_time() -> None:
    (job,) = jobs(payload("backups_detailed_7_4_0"))
    assert job.status is JobStatus.SUCCESS and job.kind is JobKind.FULL
    assert job.finished_at is None and job.started_at is not None


def test_the_apidocs_zip_record_with_bare_string_enums() -> None:
    data = payload("backups_apidocs_zip")
    (job,) = jobs(data)
    assert job.status is JobStatus.SUCCESS and job.size_bytes == 12345
    assert job.device_id == "f8f73bf9-2445-4bce-a7dd-753be3b40a67" and job.company_id == job.device_id
    (record,) = decode(converter, list[BackupRecord], data, endpoint="GET /backups", vendor="vprotect")
    assert record.backupLocations is not None and record.backupLocations[0].status is not None
    assert record.backupLocations[0].status.name == "REMOVED"


def test_integers_sent_as_decimals() -> None:
    (job,) = jobs(payload("decimals_apidocs_zip"))
    assert job.size_bytes == 12345 and job.status is JobStatus.SUCCESS and job.kind is JobKind.FULL
    assert job.finished_at == dt.datetime(2016, 1, 1, 19, 45, 2, tzinfo=dt.UTC)
    assert job.raw["effectiveBackupSize"] == 1.5


def test_the_sparse_7_4_0_policy() -> None:
    data = payload("policies_vm_backup_sparse_7_4_0")
    (record,) = decode(converter, list[PolicyRecord], data, endpoint="GET /policies/vm-backup", vendor="vprotect")
    plan = mapping.plan(record, data[0], account="a", kind="vm-backup", device_ids=(), schedules=[])
    assert plan.name == record.guid and plan.enabled and plan.schedule is None


def test_the_ui_default_schedule() -> None:
    record = decode(
        converter, ScheduleRecord, payload("schedule_ovirt_ui_model"), endpoint="GET /schedules/x", vendor="v"
    )
    schedule = mapping.schedule(record)
    assert schedule.frequency is Frequency.DAILY and schedule.time == dt.time(0, 0)
    assert schedule.grace == dt.timedelta(hours=6) and schedule.interval is None


def test_unused_fields_in_odd_shapes_never_fail_a_backup() -> None:
    data = payload("backups_apidocs_zip")
    odd = [{**data[0], "taskTimeStats": "n/a", "archiveExpire": "never", "parentBackup": "f8f7", "hidden": "maybe"}]
    assert jobs(odd) == jobs(data)


@pytest.mark.parametrize("field", ["snapshotTime", "backupTime"])
@pytest.mark.parametrize("value", [10**18, -(10**18), 10**30, 1e300])
def test_a_time_out_of_range_fails_the_listing_with_a_decoding_error(field: str, value: float) -> None:
    (row,) = payload("backups_7_4_0")
    with pytest.raises(DecodingError) as info:
        list(backups_listing({**row, field: value}).list_jobs())
    assert info.value.endpoint is not None and "/backups" in info.value.endpoint and field in str(info.value)


def test_a_window_out_of_range_fails_the_schedule() -> None:
    data = {**payload("schedule_ovirt_ui_model"), "startWindowLength": 10**18}
    with pytest.raises(DecodingError, match="startWindowLength"):
        decode(converter, ScheduleRecord, data, endpoint="GET /schedules/x", vendor="vprotect")


def test_a_backup_without_its_guid_is_refused_naming_the_row() -> None:
    (row,) = payload("backups_7_4_0")
    with pytest.raises(DecodingError) as info:
        jobs([row, {**row, "guid": ""}])
    assert "record 1" in str(info.value) and info.value.endpoint == "GET /backups"
