"""Shapes of CleverFox payloads the public docs show beyond the happy path, and the out-of-range numbers
that used to escape as ``OverflowError`` (each fixture in ``real_payloads/`` names its source)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import DecodingError, JobStatus
from backupbridge.convert import decode
from backupbridge.http import RetryPolicy
from backupbridge_cleverfox import mapping
from backupbridge_cleverfox.records import EventRecord, JobRecord, LogRecord, PlanRecord, converter

from .conftest import doc_example

HERE = Path(__file__).parent / "real_payloads"
EASTERN = mapping.windows_zone("Eastern Standard Time")


def payload(name: str) -> Any:
    return json.loads((HERE / f"{name}.json").read_text())["payload"]


def logs(data: list[Any]) -> list[Any]:
    records = decode(converter, list[LogRecord], data, endpoint="GET /logs", vendor="cleverfox")
    return [mapping.job(r, raw, account="a", fallback_tz=dt.UTC) for r, raw in zip(records, data, strict=True)]


def jobs_listing(*jobs: dict[str, Any]) -> backupbridge.Connection:
    """A connection whose ``/jobs`` answers ``jobs`` on one short page (the page size asked for)."""

    def handler(request: httpx.Request) -> httpx.Response:
        size = int(request.url.params.get("PageSize", "100"))
        number = int(request.url.params.get("PageNo", "1"))
        page = list(jobs) if number == 1 else []
        return httpx.Response(200, json={"data": page, "page_no": number, "page_size": size})

    return backupbridge.connect(
        "cleverfox", api_key="k-123456789", transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1)
    )


def documented_job() -> dict[str, Any]:
    return copy.deepcopy(doc_example("device_jobs")["data"][0])


def test_the_documented_log_with_renamed_device_flags_and_a_text_start() -> None:
    data = payload("logs_doc")["data"]
    (job,) = logs(data)
    assert job.id == "1" and job.device_id == "1" and job.plan_id == "1" and job.status is JobStatus.SUCCESS
    assert job.started_at == dt.datetime(2015, 1, 1, tzinfo=EASTERN)
    assert job.size_bytes == 1073741824 and job.files == 256
    record = decode(converter, list[LogRecord], data, endpoint="GET /logs", vendor="cleverfox")[0]
    assert record.device is not None and record.device.extra["SendNotificationOnLogCompleted"] is True


def test_a_single_plan_read_without_its_id_decodes() -> None:
    record = decode(converter, PlanRecord, payload("plan_get_without_id")["data"], endpoint="GET /plans/1", vendor="cf")
    assert record.plan_id is None and record.name == "Small Plan" and record.storage_limit == 25


def test_undocumented_event_keys_are_kept() -> None:
    data = payload("events_doc")["data"]
    (event,) = decode(converter, list[EventRecord], data, endpoint="GET /events", vendor="cleverfox")
    assert event.event_id == 1 and event.extra["PartnerPlanId"] is None


def test_objects_sent_as_text_in_fields_the_mapping_does_not_read() -> None:
    data = payload("logs_doc")["data"]
    odd = copy.deepcopy(data)
    odd[0].update({"Company": "ABC Company, Inc.", "Plan": "Small Plan", "Job": "Daily Backup", "LateAfter": "soon"})
    odd[0]["Device"]["Subscription"] = "Active"
    odd[0]["Device"]["LastAgentDownloadCreated"] = "never"
    odd[0]["LogItems"][0]["BackupListSize"] = 20.5
    assert logs(odd) == logs(data)


def test_a_text_start_out_of_range_or_dotnet_no_date_is_no_start() -> None:
    data = copy.deepcopy(payload("logs_doc")["data"])
    data[0]["JobStartedOn"] = "0001-01-01T00:00:00"
    (job,) = logs(data)
    assert job.started_at is None and job.finished_at is not None


def test_a_log_without_its_id_is_refused_naming_the_row() -> None:
    data = copy.deepcopy(payload("logs_doc")["data"])
    data.append({**data[0], "LogId": None, "Name": "anonymous run"})
    with pytest.raises(DecodingError) as info:
        logs(data)
    assert info.value.endpoint == "GET /logs" and "record 1" in str(info.value) and "log_id" in str(info.value)
    assert info.value.excerpt is not None and info.value.excerpt.startswith('{"LogId": null')


@pytest.mark.parametrize(
    ("field", "value"), [("LateAfter", 10**18), ("LateAfter", 10**30), ("Every", 10**12), ("LateAfter", -1)]
)
def test_numbers_out_of_range_fail_the_listing_with_a_decoding_error(field: str, value: int) -> None:
    job = {**documented_job(), field: value, "Frequency": "Hourly"}
    with pytest.raises(DecodingError) as info:
        list(jobs_listing(job).list_plans())
    assert info.value.endpoint == "GET /jobs" and field in str(info.value)


def test_numbers_sent_as_decimals_or_text_are_read() -> None:
    job = {**documented_job(), "JobId": 7.0, "LateAfter": "240", "Every": 2.0, "CloudKeepLast": "30.0"}
    (plan,) = jobs_listing(job).list_plans()
    assert plan.id == "7" and plan.retention is not None and plan.retention.keep_last == 30
    assert plan.schedule is not None and plan.schedule.grace == dt.timedelta(minutes=240)
    assert plan.schedule.interval == dt.timedelta(days=2)


def test_the_job_as_decoded_directly_matches_the_listing() -> None:
    job = documented_job()
    record = decode(converter, JobRecord, job, endpoint="GET /jobs/1", vendor="cleverfox")
    (listed,) = jobs_listing(job).list_plans()
    assert mapping.plan(record, job, account="default", fallback_tz=dt.UTC) == listed


def test_a_single_read_without_its_id_is_a_decoding_error_not_the_id_none() -> None:
    data = payload("logs_doc")["data"][0]
    record = decode(converter, LogRecord, {**data, "LogId": None}, endpoint="GET /logs/1", vendor="cleverfox")
    with pytest.raises(DecodingError, match="LogId"):
        mapping.job(record, data, account="a", fallback_tz=dt.UTC)


@pytest.mark.parametrize("job_id", [0, -4])
def test_an_id_that_is_not_a_positive_integer_is_refused(job_id: int) -> None:
    with pytest.raises(DecodingError, match="JobId"):
        list(jobs_listing({**documented_job(), "JobId": job_id}).list_plans())
