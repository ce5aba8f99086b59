"""Replay the documented vProtect exchanges (login included; its password and session cookie scrubbed).

To re-record against a live server: VPROTECT_BASE_URL=... VPROTECT_LOGIN=... VPROTECT_PASSWORD=... pytest
tests/plugins/vprotect/test_cassettes.py --record-mode=rewrite.
"""

from __future__ import annotations

import os

import pytest

import backupbridge
from backupbridge import JobStatus
from backupbridge.http import RetryPolicy
from backupbridge_vprotect import mapping

BACKUP = "f8f73bf9-2445-4bce-a7dd-753be3b40a67"


CASSETTE_VENDOR = "vprotect"
CASSETTE_SCHEME = "Bearer"


@pytest.fixture
def conn() -> backupbridge.Connection:
    return backupbridge.connect(
        "vprotect",
        base_url=os.environ.get("VPROTECT_BASE_URL", "https://vprotect.example:8181/api"),
        login=os.environ.get("VPROTECT_LOGIN", "..."),
        password=os.environ.get("VPROTECT_PASSWORD", "replayed-password"),
        retry=RetryPolicy(attempts=1),
    )


@pytest.mark.vcr
def test_backups_list(conn: backupbridge.Connection) -> None:
    (backup,) = conn.vendor.backups.list()
    assert (backup.guid, backup.status.name, backup.status.description) == (BACKUP, "ENUM_NAME", "Enum description")
    job = mapping.job(backup, {}, account="a", plan_of_rule={})
    assert job.status is JobStatus.UNKNOWN and job.vendor_status == "ENUM_NAME"


@pytest.mark.vcr
def test_backup_get(conn: backupbridge.Connection) -> None:
    backup = conn.vendor.backups.get(BACKUP)
    assert backup.snapshotTime == 1451649601000 and backup.backupTime is None


@pytest.mark.vcr
def test_backup_description(conn: backupbridge.Connection) -> None:
    assert conn.vendor.backups.set_description(BACKUP, "monthly archive").guid == BACKUP


@pytest.mark.vcr
def test_backup_warnings_acknowledged(conn: backupbridge.Connection) -> None:
    assert conn.vendor.backups.acknowledge_warnings(BACKUP, True).guid == BACKUP


@pytest.mark.vcr
def test_policies_storage_backup(conn: backupbridge.Connection) -> None:
    (policy,) = conn.vendor.policies.list("storage-backup")
    assert (policy.ruleCount, policy.priority, policy.autoAssignMode.name) == (12345, 50, "DISABLED")


@pytest.mark.vcr
def test_policies_vm_backup(conn: backupbridge.Connection) -> None:
    (policy,) = conn.vendor.policies.list("vm-backup")
    assert (policy.guid, policy.priority, policy.name) == (BACKUP, 50, None)
