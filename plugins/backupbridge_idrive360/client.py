"""The IDrive 360 MSP API client: every documented endpoint with every documented parameter.

Each endpoint is declared once (``API.one``/``API.many``: method, path, arguments and their checks, the
record); each method validates its arguments when called (``ValidationError`` before any request) and
returns a sans-I/O ``Op``/``ListOp``, a value that runs any number of times. Run them through a
connection: ``conn.vendor.company_summary()`` (sync or async alike), or
``conn.run(conn.api.company_summary())`` for the typed result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backupbridge.plugin import ListOp, Op, Param, Refused, Service, choice, flag, text, whole_body

from .auth import BASE_URL as BASE_URL
from .auth import ERROR_TYPES as ERROR_TYPES
from .auth import VENDOR as VENDOR
from .auth import decode_error as decode_error
from .auth import make_auth as make_auth
from .records import (
    BackupPlanRecord,
    CompanyRecord,
    ConfigIdRecord,
    CreatePlanResult,
    DeviceRecord,
    NotificationUpdateResult,
    converter,
)
from .vocabulary import BACKUP_SETS, BUILD_TYPES, NOTIFY_TYPES, email_problems, plan_problems

__all__ = ["API", "BASE_URL", "ERROR_TYPES", "VENDOR", "IDrive360API", "company_number", "decode_error", "make_auth"]

API = Service(VENDOR, converter)
"""The IDrive 360 MSP API: bare JSON bodies (no envelope), lists whole in one array."""


def company_number(value: object, field: str) -> int:
    """A company id as the API takes it (a number); ids arrive as ``str`` from the neutral model."""
    if isinstance(value, bool):
        raise Refused(f"{field} must be a number, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise Refused(f"{field} must be positive")
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise Refused(f"{field} must be a number; got {value!r}")


def _emails(value: object, field: str) -> object:
    emails = list(value) if isinstance(value, list | tuple) else value
    problems = email_problems(field, emails)
    if problems:
        raise Refused(problems[0][1], field=problems[0][0])
    return emails


def _emails_unless_never(args: Mapping[str, Any]) -> None:
    if not args["emails"] and args["type"] != "NEVER":
        raise Refused("emails is required unless type is NEVER", field="emails")


def _plan(value: object, field: str) -> dict[str, Any]:
    problems = plan_problems(value)
    if problems:
        listed = "; ".join(message for _, message in problems)
        raise Refused(f"invalid backup plan: {listed}", field=problems[0][0])
    assert isinstance(value, Mapping)
    body = dict(value)
    if body.get("company_id") is not None:
        body["company_id"] = int(body["company_id"])
    return body


def _dry_run(value: object, field: str) -> bool | None:
    return True if flag(value, field) else None  # sent only when asked for


# Every endpoint of the docs, declared once: the API class below and the neutral driver both build on these.
NAME = Param(text(), required=True)

COMPANY_SUMMARY = API.one("GET /company", CompanyRecord, "company_summary", query={"company_id": company_number})
FETCH_CONFIG_ID = API.one(
    "GET /company/fetch_config_id",
    ConfigIdRecord,
    "fetch_config_id",
    query={
        "company_id": company_number,
        "private_encryption": flag,
        "full_client": flag,
        "build_type": choice(*BUILD_TYPES, upper=True),
    },
)
CREATE_COMPANY = API.one(
    "POST /company", CompanyRecord, "create_company", body={"name": NAME, "company_id": company_number}
)
COMPANY_BY_NAME = API.many(
    "GET /company/name",
    CompanyRecord,
    "company_by_name",
    id="company_id",
    query={"name": NAME, "case_sensitive": flag, "exact": flag},
)
DEVICE_SUMMARY = API.many(
    "GET /device/summary",
    DeviceRecord,
    "device_summary",
    id="device_id",
    query={"company_id": company_number, "device_id": text()},
)
UPDATE_EMAIL_NOTIFICATION = API.one(
    "PUT /device/backup_plan/email_notification",
    NotificationUpdateResult,
    "update_email_notification",
    body={
        "emails": Param(_emails, required=True),
        "type": Param(choice(*NOTIFY_TYPES), required=True),
        "device_id": Param(text(), required=True),
        "backup_set": Param(choice(*BACKUP_SETS), required=True),
    },
    validate=_emails_unless_never,
)
CREATE_BACKUP_PLAN = API.one(
    "POST /backup_plan",
    CreatePlanResult,
    "create_backup_plan",
    query={"dry_run": _dry_run},
    **whole_body(Param(_plan, required=True, field="body"), "plan"),
)
FETCH_BACKUP_PLAN = API.many(
    "GET /backup_plan",
    BackupPlanRecord,
    "fetch_backup_plan",
    id="backup_id",
    query={"company_id": company_number, "backup_id": text()},
)


class IDrive360API:
    """Every endpoint of the IDrive 360 MSP API, named as the docs name them."""

    vendor = VENDOR

    def company_summary(self, company_id: int | str | None = None) -> Op[CompanyRecord]:
        """``GET /company``: a company and, for the key's own company, its ``sub_company_list``.

        Args:
            company_id: the company; the API key's own company when omitted.
        """
        return COMPANY_SUMMARY(company_id=company_id)

    def fetch_config_id(
        self,
        company_id: int | str | None = None,
        *,
        private_encryption: bool | None = None,
        full_client: bool | None = None,
        build_type: str | None = None,
    ) -> Op[ConfigIdRecord]:
        """``GET /company/fetch_config_id``: the configuration id and setup link for one build.

        Args:
            company_id: the company; the API key's own company when omitted.
            private_encryption: the installed client uses private encryption (vendor default False).
            full_client: the installed client has the full-client features (vendor default False).
            build_type: WIN, MAC, RPM, DEB, MSI or PKG, case-insensitive (vendor default WIN).
        """
        return FETCH_CONFIG_ID(
            company_id=company_id, private_encryption=private_encryption, full_client=full_client, build_type=build_type
        )

    def create_company(self, name: str, company_id: int | str | None = None) -> Op[CompanyRecord]:
        """``POST /company``: create a company under ``company_id`` (the key's company when omitted)."""
        return CREATE_COMPANY(name=name, company_id=company_id)

    def company_by_name(
        self, name: str, *, case_sensitive: bool | None = None, exact: bool | None = None
    ) -> ListOp[CompanyRecord]:
        """``GET /company/name``: companies in the key's hierarchy matching ``name``.

        Args:
            case_sensitive: match case (vendor default False).
            exact: exact rather than partial match (vendor default True).
        """
        return COMPANY_BY_NAME(name=name, case_sensitive=case_sensitive, exact=exact)

    def device_summary(self, company_id: int | str | None = None, device_id: str | None = None) -> ListOp[DeviceRecord]:
        """``GET /device/summary``: devices (of one company, or just ``device_id``)."""
        return DEVICE_SUMMARY(company_id=company_id, device_id=device_id)

    def update_email_notification(
        self, device_id: str, emails: Sequence[str], *, type: str = "ALWAYS", backup_set: str = "DEFAULT"
    ) -> Op[NotificationUpdateResult]:
        """``PUT /device/backup_plan/email_notification``: who is mailed about a device's backups.

        Args:
            type: ALWAYS, ON_FAILURE or NEVER (NEVER disables notifications).
            backup_set: DEFAULT, LOCAL, ENTIRE_MACHINE, MAPPED_DRIVE or EXPRESS.
        """
        return UPDATE_EMAIL_NOTIFICATION(device_id=device_id, emails=emails, type=type, backup_set=backup_set)

    def create_backup_plan(self, plan: Mapping[str, object], *, dry_run: bool = False) -> Op[CreatePlanResult]:
        """``POST /backup_plan``: create a plan and apply it to devices and groups.

        Args:
            plan: the request body as the docs show it (``name``, ``backup_details``, ``scheduler``...).
            dry_run: ask the vendor what would happen, changing nothing.

        Raises:
            ValidationError: the body breaks a documented rule (the message lists every problem).
        """
        return CREATE_BACKUP_PLAN(plan=plan, dry_run=dry_run)

    def fetch_backup_plan(
        self, company_id: int | str | None = None, backup_id: str | None = None
    ) -> ListOp[BackupPlanRecord]:
        """``GET /backup_plan``: a company's plans, or the one ``backup_id``."""
        return FETCH_BACKUP_PLAN(company_id=company_id, backup_id=backup_id)
