"""Replay the documented exchanges (cassettes/idrive360/, record mode none) through the real client.

To re-record against a live account: IDRIVE360_API_KEY=... pytest tests/plugins/idrive360/test_cassettes.py
--record-mode=rewrite (then review the assertions: they check the documented example values).
"""

from __future__ import annotations

import os

import pytest

import backupbridge
from backupbridge import NotFoundError
from backupbridge.http import RetryPolicy

from .conftest import doc_example

CASSETTE_VENDOR = "idrive360"
CASSETTE_SCHEME = "Bearer"


@pytest.fixture
def conn() -> backupbridge.Connection:
    key = os.environ.get("IDRIVE360_API_KEY", "replayed-key-not-sent")
    return backupbridge.connect("idrive360", api_key=key, retry=RetryPolicy(attempts=1))


@pytest.mark.vcr
def test_company_summary(conn: backupbridge.Connection) -> None:
    root = conn.vendor.company_summary()
    assert (root.company_id, root.name, len(root.sub_company_list)) == ("15020", "default", 3)
    assert root.configuration.token == "ATVAWQ17242"


@pytest.mark.vcr
def test_fetch_config_id(conn: backupbridge.Connection) -> None:
    record = conn.vendor.fetch_config_id(123, private_encryption=True, full_client=False, build_type="mac")
    assert (record.company_id, record.configuration.token) == ("123", "ATVAWQ17242")


@pytest.mark.vcr
def test_fetch_config_id_short_code(conn: backupbridge.Connection) -> None:
    record = conn.vendor.fetch_config_id()
    assert (record.configuration.token, record.configuration.encoded, record.setup_link) == ("ATVAWQ17242", False, None)


@pytest.mark.vcr
def test_create_company(conn: backupbridge.Connection) -> None:
    created = conn.vendor.create_company("idrive", 1111)
    assert (created.company_id, created.name, created.status) == ("12223", "idrive", 1)


@pytest.mark.vcr
def test_company_by_name(conn: backupbridge.Connection) -> None:
    found = list(conn.vendor.company_by_name("MSP", case_sensitive=True, exact=False))
    assert [c.name for c in found] == ["MSP-1", "MSP-2"]


@pytest.mark.vcr
def test_device_summary(conn: backupbridge.Connection) -> None:
    devices = list(
        conn.vendor.device_summary(company_id=1111, device_id="wvlgllxuuaomn4bk4atfljznjyvsfhfeo5g6wgyart3osefi")
    )
    assert [(d.name, d.status, d.backup_status) for d in devices] == [("test-office", "offline", "Success")]


@pytest.mark.vcr
def test_update_email_notification(conn: backupbridge.Connection) -> None:
    result = conn.vendor.update_email_notification(
        "wtrp2zjidqr4hlsfz9vmebvtmudrpdfkayaskeunmq4civffo9",
        ["test@idrive.com", "support@idrive.com"],
        type="ALWAYS",
        backup_set="DEFAULT",
    )
    assert result.ok is True


@pytest.mark.vcr
def test_create_backup_plan(conn: backupbridge.Connection) -> None:
    result = conn.vendor.create_backup_plan(doc_example("create_backup_plan_request"), dry_run=True)
    assert result.backup_id == "406717"
    assert [(c.device_id, c.plan_name) for c in result.conflicts] == [
        ("1l3d3bxrgf2fpwblc5qoyiezihz5behf6lbab6ljsngkomgonx", "Default backup plan")
    ]
    assert result.not_applied_device_ids == ()


@pytest.mark.vcr
def test_fetch_backup_plan(conn: backupbridge.Connection) -> None:
    plans = list(conn.vendor.fetch_backup_plan(company_id=51324, backup_id="679251"))
    assert plans[0].schedule_info.scheduler_disabled is False
    assert plans[0].devices[0].user_backup_sets["LOCAL"].backup_name == "LOCALPLAN"


@pytest.mark.vcr
def test_error_entity_not_found(conn: backupbridge.Connection) -> None:
    with pytest.raises(NotFoundError) as info:
        list(conn.vendor.device_summary(device_id="no-such-device"))
    assert info.value.field == "device_id"
