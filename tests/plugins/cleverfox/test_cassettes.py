"""Replay the documented CleverFox exchanges (cassettes/cleverfox/, record mode none) through the client.

To re-record against a live account: CLEVERFOX_API_KEY=... pytest tests/plugins/cleverfox/test_cassettes.py
--record-mode=rewrite (then review the assertions: they check the documented example values).
"""

from __future__ import annotations

import os

import pytest

import backupbridge
from backupbridge.http import RetryPolicy

CASSETTE_VENDOR = "cleverfox"
CASSETTE_SCHEME = "Basic"


@pytest.fixture
def conn() -> backupbridge.Connection:
    key = os.environ.get("CLEVERFOX_API_KEY", "replayed-key-not-sent")
    return backupbridge.connect("cleverfox", api_key=key, retry=RetryPolicy(attempts=1))


@pytest.mark.vcr
def test_devices_list(conn: backupbridge.Connection) -> None:
    devices = list(conn.vendor.devices.list())
    assert [(d.device_id, d.name, d.time_zone_id) for d in devices] == [
        (1, "Application Server", "Eastern Standard Time")
    ]


@pytest.mark.vcr
def test_device_get(conn: backupbridge.Connection) -> None:
    assert conn.vendor.devices.get(1).subscription.status == "Active"


@pytest.mark.vcr
def test_device_lookup(conn: backupbridge.Connection) -> None:
    assert conn.vendor.devices.lookup("RMM-1").device_id == 1


@pytest.mark.vcr
def test_device_create(conn: backupbridge.Connection) -> None:
    from .conftest import doc_example

    payload = {k: v for k, v in doc_example("device_create")["data"].items() if k != "Token"}
    created = conn.vendor.devices.create(payload, token="doc-token-1")
    assert created.name == "Application Server" and created.device_id is None  # the docs' answer carries no id


@pytest.mark.vcr
def test_device_update(conn: backupbridge.Connection) -> None:
    from .conftest import doc_example

    changes = {k: v for k, v in doc_example("device_update")["data"].items() if k != "Token"}
    assert conn.vendor.devices.update(1, changes, token="doc-token-2").send_notification_on_job_missed is True


@pytest.mark.vcr
def test_device_delete(conn: backupbridge.Connection) -> None:
    assert conn.vendor.devices.delete(1) is None


@pytest.mark.vcr
def test_device_jobs(conn: backupbridge.Connection) -> None:
    (job,) = conn.vendor.devices.jobs(1)
    assert (job.name, job.frequency, job.late_after, job.job_items[0].base_folder) == (
        "Daily Backup",
        "Daily",
        240,
        "C:\\Program Files\\My Application",
    )


@pytest.mark.vcr
def test_device_logs(conn: backupbridge.Connection) -> None:
    (log,) = conn.vendor.devices.logs(1)
    assert (log.job_status, log.log_items[0].backup_file_size) == ("Completed", 1073741824)


@pytest.mark.vcr
def test_device_execute_get_next_job(conn: backupbridge.Connection) -> None:
    assert conn.vendor.devices.execute_get_next_job(1) is None


@pytest.mark.vcr
def test_plans_list(conn: backupbridge.Connection) -> None:
    assert [(p.name, p.device_limit) for p in conn.vendor.plans.list()] == [("Small Plan", 1)]


@pytest.mark.vcr
def test_plan_get(conn: backupbridge.Connection) -> None:
    assert conn.vendor.plans.get(1).details.startswith("1 Device")


@pytest.mark.vcr
def test_partners_list(conn: backupbridge.Connection) -> None:
    assert [p.name for p in conn.vendor.partners.list()] == ["Forward Thinking Software, LLC"]


@pytest.mark.vcr
def test_partner_get(conn: backupbridge.Connection) -> None:
    assert conn.vendor.partners.get(1).plan_type.name == "CleverFox Backup"


@pytest.mark.vcr
def test_partner_update(conn: backupbridge.Connection) -> None:
    updated = conn.vendor.partners.update(
        1, {"Name": "CleverFox Backup", "ApplicationId": None, "IsInactive": False}, token="doc-token-3"
    )
    assert updated.name == "CleverFox Backup"


@pytest.mark.vcr
def test_partnerusers_list(conn: backupbridge.Connection) -> None:
    (user,) = conn.vendor.partner_users.list()
    assert (user.email, user.is_account_owner, user.partner.plan_type) == ("support@cleverfoxbackup.com", True, None)


@pytest.mark.vcr
def test_events_list(conn: backupbridge.Connection) -> None:
    (event,) = conn.vendor.events.list()
    assert (event.event_type, event.device_id) == ("Device Modified", 1)
    assert event.extra["PartnerPlanId"] is None  # undocumented in the attribute table, kept
