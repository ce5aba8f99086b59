"""Device statuses and last contact from every field of a vendor's device record that carries them."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from backupbridge import DeviceStatus

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")

# The docs' device example (cleverfoxbackup.com/docs/api-devices), trimmed to the fields read here.
CLEVERFOX_DEVICE: dict[str, Any] = {
    "DeviceId": 1,
    "CompanyId": 1,
    "Company": {"CompanyId": 1, "Name": "ABC Company, Inc.", "IsInactive": False},
    "SubscriptionId": 1,
    "Subscription": {"SubscriptionId": 1, "CompanyId": 1, "IsInactive": False, "Status": "Active"},
    "Name": "Application Server",
    "TimeZoneId": "Eastern Standard Time",
    "IsInactive": False,
    "LastApiCheckAt": "2015-01-01T00:00:00.000",
}


def cleverfox_device(now: dt.datetime, **changes: Any) -> Any:
    from backupbridge_cleverfox import mapping
    from backupbridge_cleverfox.records import DeviceRecord, converter

    raw = {**CLEVERFOX_DEVICE, **changes}
    return mapping.device(converter.structure(raw, DeviceRecord), raw, account="a", fallback_tz=dt.UTC, now=now)


def test_cleverfox_last_contact_is_last_api_check_at_in_the_devices_zone() -> None:
    device = cleverfox_device(dt.datetime(2015, 1, 1, 5, 30, tzinfo=dt.UTC))
    assert device.last_seen_at == dt.datetime(2015, 1, 1, 0, 0, tzinfo=NEW_YORK)  # "DateTime Local"
    assert device.last_seen_at == dt.datetime(2015, 1, 1, 5, 0, tzinfo=dt.UTC)
    assert device.status is DeviceStatus.ONLINE


def test_cleverfox_without_a_check_in_has_no_last_contact() -> None:
    device = cleverfox_device(dt.datetime(2015, 1, 1, 5, 30, tzinfo=dt.UTC), LastApiCheckAt=None)
    assert (device.last_seen_at, device.status) == (None, DeviceStatus.UNKNOWN)


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"IsInactive": True}, "IsInactive"),
        ({"Subscription": {**CLEVERFOX_DEVICE["Subscription"], "IsInactive": True}}, "Subscription.IsInactive"),
        ({"Company": {**CLEVERFOX_DEVICE["Company"], "IsInactive": True}}, "Company.IsInactive"),
    ],
)
def test_cleverfox_inactive_from_the_device_its_subscription_or_its_company(changes: dict[str, Any], flag: str) -> None:
    """The device record embeds its subscription and company, each with its own IsInactive: a device on an
    inactive subscription or of an inactive company is not an online device."""
    device = cleverfox_device(dt.datetime(2015, 1, 1, 5, 30, tzinfo=dt.UTC), **changes)
    assert (device.status, device.vendor_status) == (DeviceStatus.INACTIVE, flag)
    assert device.last_seen_at is not None  # its last contact is still what the vendor says


COMPUTER: dict[str, Any] = {
    "ComputerHID": "{3d25f3b5-0b36-4f67-9d33-9e8e2b6f0a11}",
    "OSTypeString": "Windows",
    "ComputerName": "DESKTOP-01",
    "CompanyName": "Contoso",
    "UserID": "4cf3cfbb-2c87-402d-b034-142db02bdb28",
    "LastActivity": "2025-03-19T10:26:47.703",
    "HasBackupApp": True,
    "LostAuth": False,
    "Apps": [{"ApplicationId": "backup", "Version": "7.9", "ApplicationState": "Enabled", "Online": True}],
}


def managed_status(**changes: Any) -> tuple[DeviceStatus, str | None]:
    from backupbridge_managedbackup import mapping
    from backupbridge_managedbackup.records import ComputerRecord, converter

    return mapping.device_status(converter.structure({**COMPUTER, **changes}, ComputerRecord))


def app(**changes: Any) -> list[dict[str, Any]]:
    return [{**COMPUTER["Apps"][0], **changes}]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, (DeviceStatus.ONLINE, "Online")),
        ({"Apps": app(Online=False)}, (DeviceStatus.OFFLINE, "Offline")),
        ({"LostAuth": True}, (DeviceStatus.INACTIVE, "LostAuth")),
        ({"Apps": app(ApplicationState="Disabled")}, (DeviceStatus.INACTIVE, "ApplicationState=Disabled")),
        # An application state nobody documented: UNKNOWN, the vendor's word kept (not "online").
        ({"Apps": app(ApplicationState="Suspended")}, (DeviceStatus.UNKNOWN, "ApplicationState=Suspended")),
        ({"HasBackupApp": False, "Apps": []}, (DeviceStatus.UNKNOWN, "HasBackupApp=false")),
        ({"Apps": app(ApplicationState=None, Online=True)}, (DeviceStatus.ONLINE, "Online")),
    ],
)
def test_managed_backup_status_from_every_field_that_carries_it(
    changes: dict[str, Any], expected: tuple[DeviceStatus, str | None]
) -> None:
    assert managed_status(**changes) == expected
