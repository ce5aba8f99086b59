"""Replay the documented Managed Backup exchanges (login included; its password and token scrubbed).

To re-record against a live account: MANAGEDBACKUP_USERNAME=... MANAGEDBACKUP_PASSWORD=... pytest
tests/plugins/managedbackup/test_cassettes.py --record-mode=rewrite.
"""

from __future__ import annotations

import os

import pytest

import backupbridge
from backupbridge import NotFoundError
from backupbridge.http import RetryPolicy

CASSETTE_VENDOR = "managedbackup"
CASSETTE_SCHEME = "Bearer"


@pytest.fixture
def conn() -> backupbridge.Connection:
    return backupbridge.connect(
        "managedbackup",
        username=os.environ.get("MANAGEDBACKUP_USERNAME", "sample string 1"),
        password=os.environ.get("MANAGEDBACKUP_PASSWORD", "replayed-password"),
        retry=RetryPolicy(attempts=1),
    )


HID = "6d1f4a57-0c07-4b4f-9a55-2a8e6d3c1b90"
USER = "10ce439b-7bec-4208-a116-4e0236085f87"


@pytest.mark.vcr
def test_authorize_computer(conn: backupbridge.Connection) -> None:
    assert conn.vendor.computers.authorize(HID, USER) == {"ResultCode": 0, "ErrorMessage": ""}


@pytest.mark.vcr
def test_authorize_computer_unknown_user(conn: backupbridge.Connection) -> None:
    with pytest.raises(NotFoundError) as info:
        conn.vendor.computers.authorize(HID, USER)
    assert info.value.vendor_code == "-6" and USER in (info.value.vendor_message or "")


@pytest.mark.vcr
def test_billing_details(conn: backupbridge.Connection) -> None:
    details = conn.vendor.billing.details({"UserID": "4cf3cfbb-2c87-402d-b034-142db02bdb28", "Date": "2025-03-01"})
    assert details["TotalRestoreBytes"] == 2 and len(details["UserDetailList"]) == 2
