"""Write cassettes/<vendor>/ from the vendors' documented examples.

Each documented request is sent through the real client; a transport answers it with the documented
response body (tests/plugins/<vendor>/doc_examples/, repaired only where the docs' JSON is invalid);
vcrpy records the exchange with the Authorization header scrubbed. Run from the repository root:
``python tools/build_doc_cassettes.py [VENDOR ...]``. To record against a live account instead, see the
vendor's page in docs/vendors/ ("Cassettes").
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import vcr

import backupbridge
from backupbridge.cassettes import vcr_config
from backupbridge.http import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
DOC_KEY = "doc-example-api-key-0000"
SCHEMES = {"idrive360": "Bearer", "cleverfox": "Basic", "managedbackup": "Bearer", "vprotect": "Bearer"}
Case = tuple[str, int, Any, Callable[[Any], Any]]


def example(vendor: str, name: str) -> Any:
    return json.loads((ROOT / "tests" / "plugins" / vendor / "doc_examples" / f"{name}.json").read_text())


def recorder(vendor: str) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(ROOT / "cassettes" / vendor), record_mode="all", **vcr_config(SCHEMES[vendor])
    )


def serve(status: int, body: Any) -> httpx.MockTransport:
    """Answer every request with ``body``; a ``Routes`` body answers by path (login first, then the call), a
    ``FirstPage`` body by page number."""
    if isinstance(body, Routes | FirstPage):
        return httpx.MockTransport(lambda request: body.answer(request))
    if body is None:
        return httpx.MockTransport(lambda request: httpx.Response(status))
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


class Routes(dict[str, tuple[Any, ...]]):
    """Documented answers by path suffix: ``(status, body)`` or ``(status, body, headers)``."""

    def answer(self, request: httpx.Request) -> httpx.Response:
        for suffix, (status, body, *headers) in self.items():
            if request.url.path.endswith(suffix):
                return httpx.Response(status, json=body, headers=headers[0] if headers else None)
        return httpx.Response(404, json={"Message": "no documented example for this path"})


class FirstPage:
    """A documented CleverFox list answer as page 1; the pages after it are empty, as a real server answers
    the confirmation a short page needs (the docs show no total, so a listing ends on an empty page)."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def answer(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("PageNo", "1"))
        if number == 1:
            return httpx.Response(200, json=self.body)
        return httpx.Response(200, json={**self.body, "data": [], "page_no": number})


def idrive360_cases() -> list[Case]:
    def ex(name: str) -> Any:
        return example("idrive360", name)

    device = "wvlgllxuuaomn4bk4atfljznjyvsfhfeo5g6wgyart3osefi"
    return [
        ("company_summary", 200, ex("company_summary"), lambda c: c.vendor.company_summary()),
        (
            "fetch_config_id",
            200,
            ex("fetch_config_id"),
            lambda c: c.vendor.fetch_config_id(123, private_encryption=True, full_client=False, build_type="mac"),
        ),
        ("fetch_config_id_short_code", 200, ex("fetch_config_id_short"), lambda c: c.vendor.fetch_config_id()),
        ("create_company", 201, ex("create_company"), lambda c: c.vendor.create_company("idrive", 1111)),
        (
            "company_by_name",
            200,
            ex("company_by_name"),
            lambda c: list(c.vendor.company_by_name("MSP", case_sensitive=True, exact=False)),
        ),
        (
            "device_summary",
            200,
            ex("device_summary"),
            lambda c: list(c.vendor.device_summary(company_id=1111, device_id=device)),
        ),
        (
            "update_email_notification",
            200,
            ex("email_notification"),
            lambda c: c.vendor.update_email_notification(
                "wtrp2zjidqr4hlsfz9vmebvtmudrpdfkayaskeunmq4civffo9",
                ["test@idrive.com", "support@idrive.com"],
                type="ALWAYS",
                backup_set="DEFAULT",
            ),
        ),
        (
            "create_backup_plan",
            201,
            ex("create_backup_plan"),
            lambda c: c.vendor.create_backup_plan(ex("create_backup_plan_request"), dry_run=True),
        ),
        (
            "fetch_backup_plan",
            200,
            ex("fetch_backup_plan"),
            lambda c: list(c.vendor.fetch_backup_plan(company_id=51324, backup_id="679251")),
        ),
        (
            "error_entity_not_found",
            400,
            ex("error_entity_not_found"),
            lambda c: list(c.vendor.device_summary(device_id="no-such-device")),
        ),
    ]


def cleverfox_cases() -> list[Case]:
    def ex(name: str) -> Any:
        return example("cleverfox", name)

    create = {k: v for k, v in ex("device_create")["data"].items() if k != "Token"}
    update = {k: v for k, v in ex("device_update")["data"].items() if k != "Token"}
    partner = {"Name": "CleverFox Backup", "ApplicationId": None, "IsInactive": False}
    return [
        ("devices_list", 200, FirstPage(ex("devices_list")), lambda c: list(c.vendor.devices.list())),
        ("device_get", 200, ex("device_get"), lambda c: c.vendor.devices.get(1)),
        ("device_lookup", 200, ex("device_lookup"), lambda c: c.vendor.devices.lookup("RMM-1")),
        ("device_create", 201, ex("device_create"), lambda c: c.vendor.devices.create(create, token="doc-token-1")),
        ("device_update", 200, ex("device_update"), lambda c: c.vendor.devices.update(1, update, token="doc-token-2")),
        ("device_delete", 200, None, lambda c: c.vendor.devices.delete(1)),
        ("device_jobs", 200, FirstPage(ex("device_jobs")), lambda c: list(c.vendor.devices.jobs(1))),
        ("device_logs", 200, FirstPage(ex("device_logs")), lambda c: list(c.vendor.devices.logs(1))),
        ("device_execute_get_next_job", 200, None, lambda c: c.vendor.devices.execute_get_next_job(1)),
        ("plans_list", 200, FirstPage(ex("plans_list")), lambda c: list(c.vendor.plans.list())),
        ("plan_get", 200, ex("plan_get"), lambda c: c.vendor.plans.get(1)),
        ("partners_list", 200, FirstPage(ex("partners_list")), lambda c: list(c.vendor.partners.list())),
        ("partner_get", 200, ex("partner_get"), lambda c: c.vendor.partners.get(1)),
        (
            "partner_update",
            200,
            ex("partner_update"),
            lambda c: c.vendor.partners.update(1, partner, token="doc-token-3"),
        ),
        ("partnerusers_list", 200, FirstPage(ex("partnerusers_list")), lambda c: list(c.vendor.partner_users.list())),
        ("events_list", 200, FirstPage(ex("events_list")), lambda c: list(c.vendor.events.list())),
    ]


def managedbackup_cases() -> list[Case]:
    def ex(name: str) -> Any:
        return example("managedbackup", name)

    # The docs show the login request but not its answer; only access_token is confirmed (scrubbed anyway).
    login = ("/Provider/Login", (200, {"access_token": "documented-shape-only"}))
    hid = "6d1f4a57-0c07-4b4f-9a55-2a8e6d3c1b90"
    user = "10ce439b-7bec-4208-a116-4e0236085f87"
    return [
        (
            "authorize_computer",
            200,
            Routes([login, ("/authorization", (200, ex("authorize_success")))]),
            lambda c: c.vendor.computers.authorize(hid, user),
        ),
        (
            "authorize_computer_unknown_user",
            400,
            Routes([login, ("/authorization", (400, ex("authorize_failure")))]),
            lambda c: c.vendor.computers.authorize(hid, user),
        ),
        (
            "billing_details",
            200,
            Routes([login, ("/Billing/Details", (200, ex("billing_details")))]),
            lambda c: c.vendor.billing.details(
                {"UserID": "4cf3cfbb-2c87-402d-b034-142db02bdb28", "Date": "2025-03-01"}
            ),
        ),
    ]


def vprotect_cases() -> list[Case]:
    def ex(name: str) -> Any:
        return example("vprotect", name)

    login = (
        "/session/login",
        (201, ex("session_login"), {"Set-Cookie": "JSESSIONID=0123456789ABCDEF; Path=/api; Secure"}),
    )
    backup = "f8f73bf9-2445-4bce-a7dd-753be3b40a67"

    def total(rows: list[Any]) -> dict[str, str]:  # every vProtect list states its total in this header
        return {"X-Total-Count": str(len(rows))}

    return [
        (
            "backups_list",
            200,
            Routes([login, ("/backups", (200, ex("backups_list"), total(ex("backups_list"))))]),
            lambda c: list(c.vendor.backups.list()),
        ),
        (
            "backup_get",
            200,
            Routes([login, (f"/backups/{backup}", (200, ex("backup_extended")))]),
            lambda c: c.vendor.backups.get(backup),
        ),
        (
            "backup_description",
            200,
            Routes([login, ("/description", (200, ex("backups_list")[0]))]),
            lambda c: c.vendor.backups.set_description(backup, "monthly archive"),
        ),
        (
            "backup_warnings_acknowledged",
            200,
            Routes([login, ("/warnings-acknowledged", (200, ex("backup_extended")))]),
            lambda c: c.vendor.backups.acknowledge_warnings(backup, True),
        ),
        (
            "policies_storage_backup",
            200,
            Routes(
                [
                    login,
                    (
                        "/policies/storage-backup",
                        (200, ex("policies_storage_backup"), total(ex("policies_storage_backup"))),
                    ),
                ]
            ),
            lambda c: list(c.vendor.policies.list("storage-backup")),
        ),
        (
            "policies_vm_backup",
            200,
            Routes([login, ("/policies/vm-backup", (200, ex("policies_vm_backup"), total(ex("policies_vm_backup"))))]),
            lambda c: list(c.vendor.policies.list("vm-backup")),
        ),
    ]


CASES: dict[str, Callable[[], list[Case]]] = {
    "idrive360": idrive360_cases,
    "cleverfox": cleverfox_cases,
    "managedbackup": managedbackup_cases,
    "vprotect": vprotect_cases,
}


def main(argv: list[str]) -> int:
    for vendor in argv or list(CASES):
        (ROOT / "cassettes" / vendor).mkdir(parents=True, exist_ok=True)
        for name, status, body, run in CASES[vendor]():
            path = ROOT / "cassettes" / vendor / f"{name}.yaml"
            path.unlink(missing_ok=True)
            with recorder(vendor).use_cassette(path.name):
                credentials: dict[str, Any] = {
                    "managedbackup": {"username": "sample string 1", "password": DOC_KEY},
                    "vprotect": {"login": "...", "password": DOC_KEY, "base_url": "https://vprotect.example:8181/api"},
                }.get(vendor, {"api_key": DOC_KEY})
                conn = backupbridge.connect(
                    vendor, transport=serve(status, body), retry=RetryPolicy(attempts=1), **credentials
                )
                try:
                    run(conn)
                except backupbridge.APIError:
                    pass
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
