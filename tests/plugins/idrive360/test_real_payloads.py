"""Shapes of IDrive 360 payloads that other versions and copies of the docs show (each fixture in
``real_payloads/`` names its source): every one decodes, or is refused with a typed error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from backupbridge import CompanyStatus, DecodingError, DeviceStatus, JobStatus, NotifyWhen
from backupbridge.convert import decode
from backupbridge_idrive360 import mapping
from backupbridge_idrive360.records import BackupPlanRecord, CompanyRecord, DeviceRecord, converter

HERE = Path(__file__).parent / "real_payloads"
UTC = dt.UTC


def payload(name: str) -> Any:
    return json.loads((HERE / f"{name}.json").read_text())["payload"]


def companies(data: Any) -> list[Any]:
    record = decode(converter, CompanyRecord, data, endpoint="GET /company", vendor="idrive360")
    return list(mapping.flatten_companies(record, data, account="a"))


def devices(data: Any) -> list[Any]:
    records = decode(converter, list[DeviceRecord], data, endpoint="GET /device/summary", vendor="idrive360")
    return [mapping.device(r, raw, account="a", tz=UTC) for r, raw in zip(records, data, strict=True)]


def test_the_older_crawl_short_configuration_codes() -> None:
    data = payload("company_older_crawl")
    found = companies(data)
    assert [c.id for c in found] == ["15020", "15806", "15816", "15817"]
    record = decode(converter, CompanyRecord, data, endpoint="GET /company", vendor="idrive360")
    assert record.configuration is not None and record.configuration.token == "ATVAWQ17242"
    assert not record.configuration.encoded and record.setup_link is None


def test_the_portuguese_copy_renamed_status_description() -> None:
    top, child = companies(payload("company_pt_copy"))
    assert top.status is CompanyStatus.ACTIVE and child.parent_id == "15020"
    assert top.raw["status_Descrição"] == "Active"


def test_a_device_company_id_sent_as_text_and_a_blank_tag() -> None:
    (device,) = devices(payload("device_summary_doc"))
    assert device.company_id == "1111" and device.tags == ()
    assert device.status is DeviceStatus.OFFLINE and device.next_backup_at is None
    assert device.last_backup_at == dt.datetime(2025, 6, 11, 11, 12, 58, tzinfo=UTC)


def test_a_company_id_sent_as_a_decimal_is_still_the_same_id() -> None:
    data = {**payload("company_older_crawl"), "company_id": 15020.0}
    assert companies(data)[0].id == "15020"


def test_the_documented_backup_plan_with_a_single_email_string() -> None:
    data = payload("backup_plan_doc")
    (record,) = decode(converter, list[BackupPlanRecord], data, endpoint="GET /backup_plan", vendor="idrive360")
    plan = mapping.plan(record, data[0], account="a", company_id=None)
    assert plan.id == "679251" and plan.company_id == "51324"
    assert plan.notification is not None and plan.notification.emails == ("mark@idrive.com",)
    assert plan.notification.when is NotifyWhen.NEVER
    assert plan.device_ids == ("hflafghwiv33fwbycnzfgnpbaocbrorndnakn6uqhmbbpsbua6",)
    run = mapping.last_run(record.devices[0], data[0]["devices"][0], account="a", tz=UTC)
    assert run is not None and run.status is JobStatus.FAILED and run.plan_id == "814757" and run.error is None


def test_unused_fields_in_odd_shapes_never_fail_a_device() -> None:
    (row,) = payload("device_summary_doc")
    odd = {**row, "group_name": {"id": 3}}
    assert devices([odd]) == devices([row])
    (plan_row,) = payload("backup_plan_doc")
    odd_plan = {**plan_row, "exclude_system": "sometimes", "cdp_frequency": 10, "groups": "all", "backup_set": None}
    (record,) = decode(converter, list[BackupPlanRecord], [odd_plan], endpoint="GET /backup_plan", vendor="idrive360")
    assert record.exclude_system is None and record.groups == ()


@pytest.mark.parametrize("device_id", ["", "   ", None])
def test_a_device_without_its_id_is_refused_naming_the_row(device_id: object) -> None:
    (row,) = payload("device_summary_doc")
    with pytest.raises(DecodingError) as info:
        devices([row, {**row, "device_id": device_id, "name": "nameless"}])
    assert info.value.endpoint == "GET /device/summary" and "record 1" in str(info.value)
    assert info.value.excerpt is not None and "nameless" in info.value.excerpt


def test_a_sub_company_without_its_id_is_refused() -> None:
    data = payload("company_older_crawl")
    data["sub_company_list"][1]["company_id"] = " "
    with pytest.raises(DecodingError, match="company_id"):
        decode(converter, list[CompanyRecord], [data], endpoint="GET /company", vendor="idrive360")


def test_a_timestamp_out_of_range_is_a_decoding_error() -> None:
    (row,) = payload("device_summary_doc")
    with pytest.raises(DecodingError, match="last_backup"):
        devices([{**row, "last_backup": "0005-06-11T11:12:58"}])


@pytest.mark.parametrize("company_id", [-1, "abc", "1.5"])
def test_a_company_whose_id_the_api_cannot_be_asked_about_is_refused(company_id: object) -> None:
    data = {**payload("company_older_crawl"), "company_id": company_id}
    with pytest.raises(DecodingError, match="company_id"):
        companies(data)
