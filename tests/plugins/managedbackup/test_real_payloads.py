"""Shapes of Managed Backup payloads that public docs and clients show beyond our excerpt (each fixture in
``real_payloads/`` names its source): every one decodes, or is refused with a typed error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from backupbridge import DecodingError, JobStatus
from backupbridge.convert import decode
from backupbridge_managedbackup import mapping
from backupbridge_managedbackup.records import (
    AdministratorRecord,
    CompanyRecord,
    LicenseManagementMode,
    MonitoringRecord,
    PackageRecord,
    UserRecord,
    converter,
)

HERE = Path(__file__).parent / "real_payloads"
UTC = dt.UTC


def payload(name: str) -> Any:
    return json.loads((HERE / f"{name}.json").read_text())["payload"]


def rows(data: Any, typ: Any = MonitoringRecord) -> list[Any]:
    return decode(converter, list[typ], data, endpoint="GET /Monitoring", vendor="managedbackup")


def job_of(row: dict[str, Any]) -> Any:
    (record,) = rows([row])
    return mapping.job(record, row, account="a", tz=UTC, device_ids={}, company_ids={})


def test_a_monitoring_row_without_plan_id_is_identified_by_user_computer_and_plan() -> None:
    (row,) = payload("monitoring_older_docs")
    job = job_of(row)
    assert (
        job.id
        == "someID-1ac6-42b9-8003-51808c40e077/roberts-mbp.dev.cbl.corp/Anakonda%20backup:2018-05-11T14:50:57+00:00"
    )
    assert job.plan_id is None and job.status is JobStatus.SUCCESS
    assert job.started_at == dt.datetime(2018, 5, 11, 14, 50, 57, tzinfo=UTC)
    assert job.finished_at == job.started_at + dt.timedelta(seconds=15)  # "15 second(s)"
    assert job.size_bytes == 531582 and job.files == 3


def test_derived_ids_cannot_collide_through_the_separator() -> None:
    (row,) = payload("monitoring_older_docs")
    one = job_of({**row, "ComputerName": "a/b", "PlanName": "c"})
    other = job_of({**row, "ComputerName": "a", "PlanName": "b/c"})
    assert one.id != other.id


def test_psmodule_rows_keep_their_plan_id_and_read_timespan_durations() -> None:
    first, second = (job_of(row) for row in payload("monitoring_psmodule_type"))
    assert first.id.startswith("b7e1c1c4-0d7a-4a39-9a53-6f7f1b1c2d3e:2025-03-19T10:26:47.703")
    assert first.finished_at is not None and first.started_at is not None
    assert first.finished_at - first.started_at == dt.timedelta(minutes=1, seconds=5)
    assert first.status is JobStatus.FAILED and first.error == "Access denied"
    assert second.finished_at is not None and second.started_at is not None
    assert second.finished_at - second.started_at == dt.timedelta(days=1, hours=2, minutes=3, seconds=4)


@pytest.mark.parametrize("duration", ["15 second(s)", "00:00:15", "0.00:00:15", "PT15S", 15, 15.0, "15", "15.0"])
def test_every_duration_shape_gives_the_finish(duration: object) -> None:
    (row,) = payload("monitoring_older_docs")
    job = job_of({**row, "Duration": duration})
    assert job.finished_at is not None and job.started_at is not None
    assert job.finished_at - job.started_at == dt.timedelta(seconds=15)


@pytest.mark.parametrize("duration", ["soon", "99999999999 second(s)", -5, "P", ""])
def test_a_duration_in_no_known_shape_or_out_of_range_leaves_the_finish_unknown(duration: object) -> None:
    (row,) = payload("monitoring_older_docs")
    job = job_of({**row, "Duration": duration})
    assert job.finished_at is None and job.started_at is not None
    assert job.raw["Duration"] == duration


def test_a_row_that_cannot_be_identified_is_refused_naming_the_endpoint_and_the_row() -> None:
    good, _ = payload("monitoring_psmodule_type")
    (older,) = payload("monitoring_older_docs")
    anonymous = {k: v for k, v in older.items() if k != "ComputerName"}
    with pytest.raises(DecodingError) as info:
        rows([good, anonymous])
    assert info.value.endpoint == "GET /Monitoring"
    assert "record 1" in str(info.value) and "plan_id" in str(info.value)
    assert info.value.excerpt is not None and "Anakonda backup" in info.value.excerpt


def test_dotnet_no_date_reads_as_never_and_a_date_out_of_range_is_refused() -> None:
    (row,) = payload("monitoring_older_docs")
    never = job_of({**row, "LastStart": "0001-01-01T00:00:00"})
    assert never.started_at is None and never.id.endswith(":never")
    with pytest.raises(DecodingError) as info:
        rows([{**row, "LastStart": "9999-12-31T23:59:59"}])
    assert "LastStart" in str(info.value) and "out of range" in str(info.value)


def test_an_unused_field_in_an_odd_shape_never_fails_the_row() -> None:
    (row,) = payload("monitoring_older_docs")
    odd = {**row, "TotalData": {"bytes": 1}, "BuildVersion": [2, 4], "NextStart": "tomorrow", "PlanType": "Backup"}
    job = job_of(odd)
    assert job.finished_at == job_of(row).finished_at and job.raw["NextStart"] == "tomorrow"


def test_companies_under_ID_and_with_license_settings_as_text() -> None:
    data = payload("companies_psmodule_type")
    records = rows(data, CompanyRecord)
    companies = [mapping.company(r, raw, account="a") for r, raw in zip(records, data, strict=True)]
    assert [c.id for c in companies] == [
        "0b9d6c57-1f7e-4a3b-9d53-5f3c2b1a0e9d",
        "6f1b2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    ]
    assert records[0].unlimited_storage and records[2].license_settings is None
    assert companies[2].raw["LicenseSettings"] == "PerSeat"


def test_users_with_the_mode_by_name_and_enabled_as_text() -> None:
    first, second = rows(payload("users_older_docs"), UserRecord)
    assert first.company == "" and first.management_mode is LicenseManagementMode.MANUAL
    assert second.management_mode is LicenseManagementMode.MANUAL and second.enabled is True


def test_a_string_is_never_read_as_a_list_of_its_letters() -> None:
    (admin,) = rows(payload("administrators_forensic_models"), AdministratorRecord)
    assert admin.companies is None and admin.extra["PermisionsModels"] == {"Users": 1, "Billing": 0}


def test_package_decimals() -> None:
    (package,) = rows(payload("packages_psmodule_type"), PackageRecord)
    assert package.id == 12 and package.storage_limit == 512.5 and package.cost == 9.99


@pytest.mark.parametrize("hid", ["{}", " { } ", ""])
def test_a_computer_without_a_usable_hid_is_refused(hid: str) -> None:
    from backupbridge_managedbackup.records import ComputerRecord

    with pytest.raises(DecodingError, match=r"ComputerHID|computer_hid"):
        rows([{"ComputerHID": hid, "ComputerName": "FILESRV01"}], ComputerRecord)
