"""`backupbridge devices`: every vendor's last backup and last contact, and a failed job listing said as one
line (rc 1), never a table of devices that look as if they had never backed up."""

from __future__ import annotations

import json

import httpx
import pytest

from backupbridge.cli import main
from backupbridge.sandbox.base import SimulatorBase

VENDORS = ("cleverfox", "managedbackup", "vprotect", "idrive360")
JOB_PATHS = {"cleverfox": "/api/logs", "managedbackup": "/api/Monitoring", "vprotect": "/api/backups"}


def devices_json(capsys: pytest.CaptureFixture[str], vendor: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(["devices", "--sandbox", "--vendor", vendor, "--size", "12", "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else []), err


@pytest.mark.parametrize("vendor", VENDORS)
def test_devices_show_the_last_backup_of_every_vendor(capsys: pytest.CaptureFixture[str], vendor: str) -> None:
    code, rows, err = devices_json(capsys, vendor)
    assert code == 0, err
    assert rows
    backed_up = [r for r in rows if r["last_backup_at"]]
    assert len(backed_up) >= len(rows) // 2, rows  # before: none for cleverfox, managedbackup and vprotect
    assert any(r["last_backup_status"] != "unknown" for r in rows)


@pytest.mark.parametrize("vendor", ["cleverfox", "managedbackup"])
def test_devices_show_the_agents_last_contact(capsys: pytest.CaptureFixture[str], vendor: str) -> None:
    code, rows, err = devices_json(capsys, vendor)
    assert code == 0, err
    assert all(r["last_seen_at"] for r in rows)  # CleverFox's LastApiCheckAt, Managed Backup's LastActivity


@pytest.mark.parametrize("vendor", sorted(JOB_PATHS))
def test_a_failed_job_listing_is_one_line_and_no_blank_devices(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, vendor: str
) -> None:
    real = SimulatorBase.handle

    def handle(self: SimulatorBase, request: httpx.Request) -> httpx.Response:
        if request.url.path == JOB_PATHS[vendor]:
            return httpx.Response(403, json={"Message": "no access to the run history"})
        return real(self, request)

    monkeypatch.setattr(SimulatorBase, "handle", handle)
    code, rows, err = devices_json(capsys, vendor)
    assert code == 1
    assert rows == []  # not the devices without their backups
    (line,) = err.strip().splitlines()
    assert line.startswith("error: account") and "Traceback" not in err
