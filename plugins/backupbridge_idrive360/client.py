"""The IDrive 360 MSP API client: every documented endpoint with every documented parameter.

Each method validates its arguments when called (``ValidationError`` before any request) and returns
a sans-I/O ``Op``/``ListOp``; run them through a connection: ``conn.vendor.company_summary()`` (sync
or async alike), or ``conn.run(conn.api.company_summary())`` for the typed result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backupbridge.plugin import (
    Call,
    Decoder,
    ListOp,
    Op,
    Reply,
    by_attr,
    invalid_for,
    single_page,
)

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

__all__ = ["BASE_URL", "ERROR_TYPES", "VENDOR", "IDrive360API", "decode_error", "make_auth"]


_fail = invalid_for(VENDOR)


def company_id_param(value: object, operation: str, field: str = "company_id") -> int | None:
    """A company id as the API takes it (a number); ids arrive as ``str`` from the neutral model."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail(operation, field, f"{field} must be a number, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise _fail(operation, field, f"{field} must be positive")
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise _fail(operation, field, f"{field} must be a number; got {value!r}")


def text_param(value: object, operation: str, field: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise _fail(operation, field, f"{field} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(operation, field, f"{field} must be a non-empty string")
    return value


def bool_param(value: object, operation: str, field: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _fail(operation, field, f"{field} must be True or False")
    return value


def choice_param(value: object, operation: str, field: str, allowed: Sequence[str], *, upper: bool = False) -> str:
    if isinstance(value, str):
        candidate = value.upper() if upper else value
        if candidate in allowed:
            return candidate
    raise _fail(operation, field, f"{field} must be one of {', '.join(allowed)}; got {value!r}")


# Request builders: validate the arguments and describe the request. The API class below and the
# neutral driver both build on them, so each endpoint's rules are written once.


def company_summary_call(company_id: int | str | None = None) -> Call:
    op = "company_summary"
    return Call(method="GET", path="/company", params={"company_id": company_id_param(company_id, op)}, operation=op)


def fetch_config_id_call(
    company_id: int | str | None = None,
    *,
    private_encryption: bool | None = None,
    full_client: bool | None = None,
    build_type: str | None = None,
) -> Call:
    op = "fetch_config_id"
    params = {
        "company_id": company_id_param(company_id, op),
        "private_encryption": bool_param(private_encryption, op, "private_encryption"),
        "full_client": bool_param(full_client, op, "full_client"),
        "build_type": None
        if build_type is None
        else choice_param(build_type, op, "build_type", BUILD_TYPES, upper=True),
    }
    return Call(method="GET", path="/company/fetch_config_id", params=params, operation=op)


def create_company_call(name: str, company_id: int | str | None = None) -> Call:
    op = "create_company"
    body: dict[str, Any] = {"name": text_param(name, op, "name", required=True)}
    parent = company_id_param(company_id, op)
    if parent is not None:
        body["company_id"] = parent
    return Call(method="POST", path="/company", json=body, operation=op)


def company_by_name_call(name: str, *, case_sensitive: bool | None = None, exact: bool | None = None) -> Call:
    op = "company_by_name"
    params = {
        "name": text_param(name, op, "name", required=True),
        "case_sensitive": bool_param(case_sensitive, op, "case_sensitive"),
        "exact": bool_param(exact, op, "exact"),
    }
    return Call(method="GET", path="/company/name", params=params, operation=op)


def device_summary_call(company_id: int | str | None = None, device_id: str | None = None) -> Call:
    op = "device_summary"
    params = {
        "company_id": company_id_param(company_id, op),
        "device_id": text_param(device_id, op, "device_id", required=False),
    }
    return Call(method="GET", path="/device/summary", params=params, operation=op)


def update_email_notification_call(
    device_id: str, emails: Sequence[str], *, type: str = "ALWAYS", backup_set: str = "DEFAULT"
) -> Call:
    op = "update_email_notification"
    email_list: Any = list(emails) if isinstance(emails, list | tuple) else emails
    problems = email_problems("emails", email_list)
    if problems:
        raise _fail(op, *problems[0])
    ntype = choice_param(type, op, "type", NOTIFY_TYPES)
    if not email_list and ntype != "NEVER":
        raise _fail(op, "emails", "emails is required unless type is NEVER")
    body = {
        "device_id": text_param(device_id, op, "device_id", required=True),
        "backup_set": choice_param(backup_set, op, "backup_set", BACKUP_SETS),
        "type": ntype,
        "emails": email_list,
    }
    return Call(method="PUT", path="/device/backup_plan/email_notification", json=body, operation=op)


def create_backup_plan_call(plan: Mapping[str, Any], *, dry_run: bool = False) -> Call:
    op = "create_backup_plan"
    problems = plan_problems(plan)
    if problems:
        listed = "; ".join(message for _, message in problems)
        raise _fail(op, problems[0][0], f"invalid backup plan: {listed}")
    body = dict(plan)
    if body.get("company_id") is not None:
        body["company_id"] = int(body["company_id"])
    params = {"dry_run": True if bool_param(dry_run, op, "dry_run") else None}
    return Call(method="POST", path="/backup_plan", params=params, json=body, operation=op)


def fetch_backup_plan_call(company_id: int | str | None = None, backup_id: str | None = None) -> Call:
    op = "fetch_backup_plan"
    params = {
        "company_id": company_id_param(company_id, op),
        "backup_id": text_param(backup_id, op, "backup_id", required=False),
    }
    return Call(method="GET", path="/backup_plan", params=params, operation=op)


_DECODER = Decoder(converter, VENDOR)
decode_reply = _DECODER.reply


_single = _DECODER.one


def listing_pairs(call: Call, typ: Any, id_attr: str) -> ListOp[tuple[Any, Any]]:
    """A whole bare-array list as ``(record, raw JSON)`` pairs, checked like ``_listing``."""

    def parse(reply: Reply) -> list[tuple[Any, Any]]:
        data = reply.json()
        return list(zip(decode_reply(list[typ], reply, data), data, strict=True))

    return single_page(call, parse, id_of=by_attr(id_attr))


def _listing(call: Call, typ: Any, id_attr: str) -> ListOp[Any]:
    """IDrive 360 lists come whole, as one bare array (the docs show no paging); ``id_attr`` is the record
    id that may not arrive twice."""
    return single_page(call, lambda reply: decode_reply(list[typ], reply), id_of=by_attr(id_attr))


class IDrive360API:
    """Every endpoint of the IDrive 360 MSP API, named as the docs name them."""

    vendor = VENDOR

    def company_summary(self, company_id: int | str | None = None) -> Op[CompanyRecord]:
        """``GET /company``: a company and, for the key's own company, its ``sub_company_list``.

        Args:
            company_id: the company; the API key's own company when omitted.
        """
        return _single(company_summary_call(company_id), CompanyRecord)

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
        call = fetch_config_id_call(
            company_id, private_encryption=private_encryption, full_client=full_client, build_type=build_type
        )
        return _single(call, ConfigIdRecord)

    def create_company(self, name: str, company_id: int | str | None = None) -> Op[CompanyRecord]:
        """``POST /company``: create a company under ``company_id`` (the key's company when omitted)."""
        return _single(create_company_call(name, company_id), CompanyRecord)

    def company_by_name(
        self, name: str, *, case_sensitive: bool | None = None, exact: bool | None = None
    ) -> ListOp[CompanyRecord]:
        """``GET /company/name``: companies in the key's hierarchy matching ``name``.

        Args:
            case_sensitive: match case (vendor default False).
            exact: exact rather than partial match (vendor default True).
        """
        return _listing(
            company_by_name_call(name, case_sensitive=case_sensitive, exact=exact), CompanyRecord, "company_id"
        )

    def device_summary(self, company_id: int | str | None = None, device_id: str | None = None) -> ListOp[DeviceRecord]:
        """``GET /device/summary``: devices (of one company, or just ``device_id``)."""
        return _listing(device_summary_call(company_id, device_id), DeviceRecord, "device_id")

    def update_email_notification(
        self, device_id: str, emails: Sequence[str], *, type: str = "ALWAYS", backup_set: str = "DEFAULT"
    ) -> Op[NotificationUpdateResult]:
        """``PUT /device/backup_plan/email_notification``: who is mailed about a device's backups.

        Args:
            type: ALWAYS, ON_FAILURE or NEVER (NEVER disables notifications).
            backup_set: DEFAULT, LOCAL, ENTIRE_MACHINE, MAPPED_DRIVE or EXPRESS.
        """
        call = update_email_notification_call(device_id, emails, type=type, backup_set=backup_set)
        return _single(call, NotificationUpdateResult)

    def create_backup_plan(self, plan: Mapping[str, Any], *, dry_run: bool = False) -> Op[CreatePlanResult]:
        """``POST /backup_plan``: create a plan and apply it to devices and groups.

        Args:
            plan: the request body as the docs show it (``name``, ``backup_details``, ``scheduler``...).
            dry_run: ask the vendor what would happen, changing nothing.

        Raises:
            ValidationError: the body breaks a documented rule (the message lists every problem).
        """
        return _single(create_backup_plan_call(plan, dry_run=dry_run), CreatePlanResult)

    def fetch_backup_plan(
        self, company_id: int | str | None = None, backup_id: str | None = None
    ) -> ListOp[BackupPlanRecord]:
        """``GET /backup_plan``: a company's plans, or the one ``backup_id``."""
        return _listing(fetch_backup_plan_call(company_id, backup_id), BackupPlanRecord, "backup_id")
