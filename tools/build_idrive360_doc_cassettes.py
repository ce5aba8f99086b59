"""Write cassettes/idrive360/ from the vendor's documented examples.

Each documented request is sent through the real IDrive 360 client; a transport answers it with the
documented response body (tests/plugins/idrive360/doc_examples/, repaired only where the docs' JSON is
invalid); vcrpy records the exchange with the Authorization header scrubbed. Run from the repository
root: ``python tools/build_idrive360_doc_cassettes.py``. To record against a live account instead, see
docs/vendors/idrive360.md ("Cassettes").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import vcr

import backupbridge
from backupbridge.http import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "plugins" / "idrive360" / "doc_examples"
OUT = ROOT / "cassettes" / "idrive360"
DOC_KEY = "doc-example-api-key-0000"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def recorder() -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(OUT),
        record_mode="all",
        filter_headers=[("authorization", "Bearer <REDACTED>")],
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "path", "query"],
    )


def serve(status: int, body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def main() -> int:
    cases: list[tuple[str, int, Any, Any]] = [
        ("company_summary", 200, example("company_summary"), lambda c: c.vendor.company_summary()),
        (
            "fetch_config_id",
            200,
            example("fetch_config_id"),
            lambda c: c.vendor.fetch_config_id(123, private_encryption=True, full_client=False, build_type="mac"),
        ),
        ("fetch_config_id_short_code", 200, example("fetch_config_id_short"), lambda c: c.vendor.fetch_config_id()),
        ("create_company", 201, example("create_company"), lambda c: c.vendor.create_company("idrive", 1111)),
        (
            "company_by_name",
            200,
            example("company_by_name"),
            lambda c: list(c.vendor.company_by_name("MSP", case_sensitive=True, exact=False)),
        ),
        (
            "device_summary",
            200,
            example("device_summary"),
            lambda c: list(
                c.vendor.device_summary(company_id=1111, device_id="wvlgllxuuaomn4bk4atfljznjyvsfhfeo5g6wgyart3osefi")
            ),
        ),
        (
            "update_email_notification",
            200,
            example("email_notification"),
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
            example("create_backup_plan"),
            lambda c: c.vendor.create_backup_plan(example("create_backup_plan_request"), dry_run=True),
        ),
        (
            "fetch_backup_plan",
            200,
            example("fetch_backup_plan"),
            lambda c: list(c.vendor.fetch_backup_plan(company_id=51324, backup_id="679251")),
        ),
        (
            "error_entity_not_found",
            400,
            example("error_entity_not_found"),
            lambda c: list(c.vendor.device_summary(device_id="no-such-device")),
        ),
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    for name, status, body, run in cases:
        path = OUT / f"{name}.yaml"
        path.unlink(missing_ok=True)
        with recorder().use_cassette(path.name):
            conn = backupbridge.connect(
                "idrive360", api_key=DOC_KEY, transport=serve(status, body), retry=RetryPolicy(attempts=1)
            )
            try:
                run(conn)
            except backupbridge.APIError:
                pass
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
