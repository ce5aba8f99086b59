"""The Managed Backup (MSP360-style) API client: every method of the docs' twelve groups, and the computer
plan operations known from public clients (plan details, info, start, stop, history).

Groups hang off the client: ``conn.vendor.users.list()``, ``conn.vendor.computers.plans(hid)``. Only
Computers (and plan history) page, by path (``Computers/{offset}/{count}``), checked against ``Count``;
every other list is a bare array. Writes are never retried: the API has no duplicate prevention.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Hashable, Mapping
from typing import Any

from backupbridge import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)
from backupbridge.plugin import (
    INT_MAX,
    Call,
    Decoder,
    End,
    ListOp,
    Op,
    Page,
    Paging,
    Reply,
    by_attr,
    by_key,
    exchange,
    invalid_for,
    paginate,
    redact,
    register_secret,
    single_page,
)

from .auth import BASE_URL as BASE_URL
from .auth import VENDOR as VENDOR
from .auth import ManagedBackupLogin as ManagedBackupLogin
from .auth import decode_error as decode_error
from .auth import make_auth as make_auth
from .records import (
    AdministratorRecord,
    CompanyRecord,
    ComputerPlanRecord,
    ComputerRecord,
    DiskRecord,
    LicenseRecord,
    MonitoringRecord,
    PackageRecord,
    UserDestination,
    UserRecord,
    converter,
)

__all__ = ["BASE_URL", "VENDOR", "ManagedBackupAPI", "ManagedBackupLogin", "decode_error", "make_auth"]

COMPUTER_PAGE = 100
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: at most INT_MAX's 19 digits
_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
Steps = Generator[Call, Reply, Any]
_HID = by_attr("computer_hid")
_RUN = by_key("PlanId", "StartTime")  # a history row: one run of one plan


_invalid = invalid_for(VENDOR)


def guid(value: object, operation: str, field: str) -> str:
    if isinstance(value, str) and _GUID.match(value.strip()):
        return value.strip().strip("{}")
    raise _invalid(operation, field, f"{field} must be a GUID; got {value!r}")


def hid(value: object, operation: str) -> str:
    """A computer HID; public clients strip the braces some listings put around it."""
    if isinstance(value, str) and value.strip().strip("{}"):
        return value.strip().strip("{}")
    raise _invalid(operation, "hid", f"hid must be a computer HID; got {value!r}")


def number(value: object, operation: str, field: str) -> int:
    """A whole number from 0 to the API's 64-bit maximum: an ``int``, or a string of ASCII digits (never
    ``str.isdigit``, which accepts "²" and other Unicode digits that ``int()`` refuses or reads)."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_MAX:
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    raise _invalid(operation, field, f"{field} must be a whole number from 0 to {INT_MAX}; got {shown}")


def body_of(payload: object, operation: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise _invalid(operation, "payload", "the payload must be a mapping of the API's attributes")
    missing = [key for key in required if payload.get(key) in (None, "")]
    if missing:
        raise _invalid(operation, missing[0], f"{', '.join(missing)} required")
    return dict(payload)


_DECODER = Decoder(converter, VENDOR)
decode_reply = _DECODER.reply


_op = exchange
one = _DECODER.one


def many(
    call: Call, typ: Any, id_of: Callable[[Any], Hashable | None] | None = None, *, with_raw: bool = False
) -> ListOp[Any]:
    """A bare JSON array, in one response (the docs page none of these lists); ``id_of`` names the record id
    that may not arrive twice (by default the one ``RECORD_IDS`` names for ``typ``). With ``with_raw`` the
    items are ``(record, raw JSON)`` pairs."""
    id_of = id_of or RECORD_IDS.get(typ)

    def parse(reply: Reply) -> list[Any]:
        data = reply.json()
        if data is None:
            return []
        if not isinstance(data, list):
            raise reply.decoding_error("expected a JSON array")
        records = decode_reply(list[typ], reply, data)
        return list(zip(records, data, strict=True)) if with_raw else records

    return single_page(call, parse, id_of=id_of)


def _monitoring_id(item: Any) -> Hashable | None:
    """A Monitoring row is the last run of one plan on one computer of one user."""
    row = item[0] if type(item) is tuple else item
    return None if row.plan_id is None else (row.user_id, row.computer_name, row.plan_id)


# The id of each record type, for the listings that must not yield one twice.
RECORD_IDS: dict[Any, Callable[[Any], Hashable | None]] = {
    AdministratorRecord: by_attr("admin_id"),
    CompanyRecord: by_attr("id"),
    ComputerPlanRecord: by_attr("id"),
    LicenseRecord: by_attr("id"),
    MonitoringRecord: _monitoring_id,
    PackageRecord: by_attr("id"),
    UserDestination: by_attr("id"),
    UserRecord: by_attr("id"),
}


def as_json(call: Call) -> Op[Any]:
    """An answer whose shape the docs do not give: the parsed JSON (or None for an empty body)."""
    return _op(call, lambda reply: reply.json() if reply.content.strip() else None)


def nothing(call: Call) -> Op[None]:
    return _op(call, lambda reply: None)


def by_path(
    path: str,
    operation: str,
    list_key: str | None,
    typ: Any,
    count: int,
    *,
    with_raw: bool = False,
    id_of: Callable[[Any], Hashable | None] | None = None,
) -> ListOp[Any]:
    """Path paging as the docs give it: ``{path}/{offset}/{count}`` from offset 0, in an envelope whose
    ``Count`` is the listing's total; the listing ends once ``Count`` records arrived (``paginate`` holds every
    page to that, and to the ``count`` asked for).

    With ``with_raw`` the items are ``(record, raw JSON)`` pairs; ``id_of`` names the record id.
    """
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise _invalid(operation, "count", "count must be an integer from 1 to 1000")

    def call_at(index: int) -> Call:
        return Call(method="GET", path=f"{path}/{index * count}/{count}", operation=operation)

    def parse(reply: Reply, call: Call) -> Page[Any]:
        data = reply.json()
        if not isinstance(data, Mapping):
            raise reply.decoding_error('expected a page object with "Count"')
        total = data.get("Count")
        key = list_key if list_key in data else next((k for k, v in data.items() if isinstance(v, list)), None)
        items = data.get(key) if key else []
        if not isinstance(total, int) or isinstance(total, bool):
            raise reply.decoding_error("the page carries no integer Count")
        if not isinstance(items, list):
            raise reply.decoding_error(f"expected a list under {list_key!r}")
        records = decode_reply(list[typ], reply, items)
        return Page(items=list(zip(records, items, strict=True)) if with_raw else records, total=total)

    paging: Paging[Any] = Paging(end=End.TOTAL, page_size=count, page_call=call_at, id_of=id_of, total_name="Count")
    return paginate(call_at(0), parse, paging)


class Packages:
    def list(self) -> ListOp[PackageRecord]:
        """``GET api/Packages``."""
        return many(Call(method="GET", path="/Packages", operation="packages.list"), PackageRecord)

    def get(self, package_id: int | str) -> Op[PackageRecord]:
        """``GET api/Packages/{ID}``."""
        key = number(package_id, "packages.get", "package_id")
        return one(Call(method="GET", path=f"/Packages/{key}", operation="packages.get"), PackageRecord)

    def create(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Packages`` (Name required). Returns the API's answer (the new package's id)."""
        body = body_of(payload, "packages.create", ("Name",))
        return as_json(Call(method="POST", path="/Packages", json=body, operation="packages.create"))

    def update(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Packages`` (ID required)."""
        body = body_of(payload, "packages.update", ("ID",))
        return as_json(Call(method="PUT", path="/Packages", json=body, operation="packages.update"))

    def delete(self, package_id: int | str) -> Op[None]:
        """``DELETE api/Packages/{ID}``."""
        key = number(package_id, "packages.delete", "package_id")
        return nothing(Call(method="DELETE", path=f"/Packages/{key}", operation="packages.delete"))


class Users:
    def list(self) -> ListOp[UserRecord]:
        """``GET api/Users``."""
        return many(Call(method="GET", path="/Users", operation="users.list"), UserRecord)

    def get(self, user_id: str) -> Op[UserRecord]:
        """``GET api/Users/{ID}`` (``NotFoundError`` also when the API answers 200 with null)."""
        call = Call(method="GET", path=f"/Users/{guid(user_id, 'users.get', 'user_id')}", operation="users.get")

        def finish(reply: Reply) -> UserRecord:
            data = reply.json() if reply.content.strip() else None
            if data is None:
                raise NotFoundError(
                    f"{VENDOR} has no user {user_id}",
                    status_code=reply.status_code,
                    vendor=VENDOR,
                    operation="users.get",
                    field="ID",
                )
            return decode_reply(UserRecord, reply, data)  # type: ignore[no-any-return]

        return _op(call, finish)

    def authenticate(self, login: str, password: str) -> Op[UserRecord]:
        """``PUT api/Users/Authenticate``: the user with this login and password."""
        if not isinstance(login, str) or not login or not isinstance(password, str) or not password:
            raise _invalid("users.authenticate", "login", "login and password are required")
        register_secret(password)
        call = Call(
            method="PUT",
            path="/Users/Authenticate",
            json={"Email": login, "Password": password},
            operation="users.authenticate",
        )
        return one(call, UserRecord)

    def update(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Users`` (ID required)."""
        body = body_of(payload, "users.update", ("ID",))
        guid(body["ID"], "users.update", "ID")
        return as_json(Call(method="PUT", path="/Users", json=body, operation="users.update"))

    def create(self, payload: Mapping[str, Any]) -> Op[str]:
        """``POST api/Users`` (Email and Password required): the new user's GUID.

        The API answers 200 with an error string instead of a GUID when it refuses ("Email already
        exist"): that becomes ``ConflictError`` (duplicates) or ``InvalidRequestError``.
        """
        body = body_of(payload, "users.create", ("Email", "Password"))
        if isinstance(body.get("Password"), str):
            register_secret(body["Password"])
        call = Call(method="POST", path="/Users", json=body, operation="users.create")

        def finish(reply: Reply) -> str:
            answer = reply.json() if reply.content.strip() else None
            if isinstance(answer, str) and _GUID.match(answer.strip()):
                return answer.strip().strip("{}")
            text = redact(str(answer))[:200]
            cls = ConflictError if "exist" in text.lower() else InvalidRequestError
            raise cls(
                f"{VENDOR} refused the user: {text}",
                status_code=reply.status_code,
                method="POST",
                vendor=VENDOR,
                operation="users.create",
                vendor_message=text,
                field="Email" if "mail" in text.lower() else None,
            )

        return _op(call, finish)

    def delete_account(self, user_id: str) -> Op[None]:
        """``DELETE api/Users/{id}/Account``: the account only; its backup data stays in storage."""
        key = guid(user_id, "users.delete_account", "user_id")
        return nothing(Call(method="DELETE", path=f"/Users/{key}/Account", operation="users.delete_account"))

    def delete(self, user_id: str, *, delete_backup_data: bool = False) -> Op[None]:
        """``DELETE api/Users/{id}``: the account **and all of its backup data**.

        Refused unless ``delete_backup_data=True`` says that is meant; ``delete_account`` keeps the data.
        """
        key = guid(user_id, "users.delete", "user_id")
        if delete_backup_data is not True:
            raise _invalid(
                "users.delete",
                "delete_backup_data",
                "DELETE api/Users/{id} deletes the user's backup data as well as the account; pass "
                "delete_backup_data=True to mean that, or use users.delete_account() to keep the data",
            )
        return nothing(Call(method="DELETE", path=f"/Users/{key}", operation="users.delete"))

    def computers(self, user_id: str) -> ListOp[Any]:
        """``GET api/Users/{UserID}/Computers``: ``[{DestinationId, ComputerName}]``."""
        key = guid(user_id, "users.computers", "user_id")
        return many(Call(method="GET", path=f"/Users/{key}/Computers", operation="users.computers"), dict[str, Any])

    def delete_computers(self, user_id: str, *, delete_backup_data: bool = False) -> Op[None]:
        """``DELETE api/Users/{userId}/Computers``: computer metadata **and their backup data**.

        Refused unless ``delete_backup_data=True``.
        """
        key = guid(user_id, "users.delete_computers", "user_id")
        if delete_backup_data is not True:
            raise _invalid(
                "users.delete_computers",
                "delete_backup_data",
                "DELETE api/Users/{id}/Computers deletes the computers' backup data too; pass delete_backup_data=True",
            )
        return nothing(Call(method="DELETE", path=f"/Users/{key}/Computers", operation="users.delete_computers"))


class Monitoring:
    def list(self) -> ListOp[MonitoringRecord]:
        """``GET api/Monitoring``: the latest run of every plan on every computer."""
        return many(Call(method="GET", path="/Monitoring", operation="monitoring.list"), MonitoringRecord)

    def list_pairs(self) -> ListOp[tuple[MonitoringRecord, Any]]:
        """``list()`` as ``(record, raw JSON)`` pairs."""
        call = Call(method="GET", path="/Monitoring", operation="monitoring.list")
        return many(call, MonitoringRecord, with_raw=True)

    def for_user(self, user_id: str) -> ListOp[MonitoringRecord]:
        """``GET api/Monitoring/{UserID}``: the latest runs on the user's online computers."""
        key = guid(user_id, "monitoring.for_user", "user_id")
        return many(Call(method="GET", path=f"/Monitoring/{key}", operation="monitoring.for_user"), MonitoringRecord)


class Companies:
    def list(self) -> ListOp[CompanyRecord]:
        """``GET api/Companies``."""
        return many(Call(method="GET", path="/Companies", operation="companies.list"), CompanyRecord)

    def list_pairs(self) -> ListOp[tuple[CompanyRecord, Any]]:
        """``list()`` as ``(record, raw JSON)`` pairs."""
        return many(Call(method="GET", path="/Companies", operation="companies.list"), CompanyRecord, with_raw=True)

    def get(self, company_id: str) -> Op[CompanyRecord]:
        """``GET api/Companies/{ID}``."""
        key = guid(company_id, "companies.get", "company_id")
        return one(Call(method="GET", path=f"/Companies/{key}", operation="companies.get"), CompanyRecord)

    def delete(self, company_id: str) -> Op[None]:
        """``DELETE api/Companies/{ID}``."""
        key = guid(company_id, "companies.delete", "company_id")
        return nothing(Call(method="DELETE", path=f"/Companies/{key}", operation="companies.delete"))

    def create(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Companies`` (Name required): the new company's id."""
        body = body_of(payload, "companies.create", ("Name",))
        return as_json(Call(method="POST", path="/Companies", json=body, operation="companies.create"))

    def update(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Companies`` (Id required)."""
        body = body_of(payload, "companies.update", ("Id",))
        guid(body["Id"], "companies.update", "Id")
        return as_json(Call(method="PUT", path="/Companies", json=body, operation="companies.update"))


class Computers:
    def list(self, *, count: int = COMPUTER_PAGE) -> ListOp[ComputerRecord]:
        """``GET api/Computers/{offset}/{count}``, every page, checked against ``Count``."""
        return by_path("/Computers", "computers.list", "Computers", ComputerRecord, count, id_of=_HID)

    def list_pairs(self, *, count: int = COMPUTER_PAGE) -> ListOp[tuple[ComputerRecord, Any]]:
        return by_path("/Computers", "computers.list", "Computers", ComputerRecord, count, with_raw=True, id_of=_HID)

    def get(self, computer_hid: str) -> Op[ComputerRecord]:
        """``GET api/Computers/{hid}``."""
        return one(
            Call(method="GET", path=f"/Computers/{hid(computer_hid, 'computers.get')}", operation="computers.get"),
            ComputerRecord,
        )

    def disks(self, computer_hid: str) -> ListOp[DiskRecord]:
        """``GET api/Computers/{hid}/Disks``."""
        key = hid(computer_hid, "computers.disks")
        return many(Call(method="GET", path=f"/Computers/{key}/Disks", operation="computers.disks"), DiskRecord)

    def plans(self, computer_hid: str) -> ListOp[ComputerPlanRecord]:
        """``GET api/Computers/{hid}/Plans``: backup and restore plans on the computer."""
        key = hid(computer_hid, "computers.plans")
        return many(Call(method="GET", path=f"/Computers/{key}/Plans", operation="computers.plans"), ComputerPlanRecord)

    def plans_pairs(self, computer_hid: str) -> ListOp[tuple[ComputerPlanRecord, Any]]:
        """``plans()`` as ``(record, raw JSON)`` pairs."""
        key = hid(computer_hid, "computers.plans")
        call = Call(method="GET", path=f"/Computers/{key}/Plans", operation="computers.plans")
        return many(call, ComputerPlanRecord, with_raw=True)

    def create_plan(self, computer_hid: str, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Computers/{hid}/Plans`` (Name required)."""
        key = hid(computer_hid, "computers.create_plan")
        body = body_of(payload, "computers.create_plan", ("Name",))
        return as_json(
            Call(method="POST", path=f"/Computers/{key}/Plans", json=body, operation="computers.create_plan")
        )

    def plan(self, computer_hid: str, plan_id: str) -> Op[ComputerPlanRecord]:
        """``GET api/Computers/{hid}/Plans/{planId}``: the plan's details."""
        key, pid = hid(computer_hid, "computers.plan"), guid(plan_id, "computers.plan", "plan_id")
        return one(
            Call(method="GET", path=f"/Computers/{key}/Plans/{pid}", operation="computers.plan"), ComputerPlanRecord
        )

    def update_plan(self, computer_hid: str, plan_id: str, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Computers/{hid}/Plans/{planId}``."""
        key, pid = hid(computer_hid, "computers.update_plan"), guid(plan_id, "computers.update_plan", "plan_id")
        body = body_of(payload, "computers.update_plan")
        return as_json(
            Call(method="PUT", path=f"/Computers/{key}/Plans/{pid}", json=body, operation="computers.update_plan")
        )

    def delete_plan(self, computer_hid: str, plan_id: str) -> Op[None]:
        """``DELETE api/Computers/{hid}/Plans/{planId}``."""
        key, pid = hid(computer_hid, "computers.delete_plan"), guid(plan_id, "computers.delete_plan", "plan_id")
        return nothing(Call(method="DELETE", path=f"/Computers/{key}/Plans/{pid}", operation="computers.delete_plan"))

    def plan_info(self, computer_hid: str, plan_id: str) -> Op[Any]:
        """``GET api/Computers/{hid}/Plans/{planId}/info``."""
        key, pid = hid(computer_hid, "computers.plan_info"), guid(plan_id, "computers.plan_info", "plan_id")
        return as_json(Call(method="GET", path=f"/Computers/{key}/Plans/{pid}/info", operation="computers.plan_info"))

    def start_plan(self, computer_hid: str, plan_id: str, *, mode: int = 0) -> Op[Any]:
        """``POST api/Computers/{hid}/Plans/{planId}/start`` with ``{"Mode": mode}``. Never retried."""
        key, pid = hid(computer_hid, "computers.start_plan"), guid(plan_id, "computers.start_plan", "plan_id")
        body = {"Mode": number(mode, "computers.start_plan", "mode")}
        return as_json(
            Call(method="POST", path=f"/Computers/{key}/Plans/{pid}/start", json=body, operation="computers.start_plan")
        )

    def stop_plan(self, computer_hid: str, plan_id: str, *, force: bool = False) -> Op[Any]:
        """``POST api/Computers/{hid}/Plans/{planId}/stop`` with ``{"Force": force}``."""
        key, pid = hid(computer_hid, "computers.stop_plan"), guid(plan_id, "computers.stop_plan", "plan_id")
        if not isinstance(force, bool):
            raise _invalid("computers.stop_plan", "force", "force must be True or False")
        return as_json(
            Call(
                method="POST",
                path=f"/Computers/{key}/Plans/{pid}/stop",
                json={"Force": force},
                operation="computers.stop_plan",
            )
        )

    def plan_history(self, computer_hid: str, plan_id: str) -> ListOp[Any]:
        """``GET api/Computers/{hid}/Plans/{planId}/history``: past runs of one plan (raw JSON rows)."""
        key, pid = hid(computer_hid, "computers.plan_history"), guid(plan_id, "computers.plan_history", "plan_id")
        return many(
            Call(method="GET", path=f"/Computers/{key}/Plans/{pid}/history", operation="computers.plan_history"),
            dict[str, Any],
            _RUN,
        )

    def history(self, computer_hid: str, *, count: int = COMPUTER_PAGE) -> ListOp[Any]:
        """``GET api/Computers/{hid}/Plans/history/{offset}/{count}``: the computer's run history."""
        key = hid(computer_hid, "computers.history")
        return by_path(f"/Computers/{key}/Plans/history", "computers.history", None, dict[str, Any], count, id_of=_RUN)

    def all_history(self, *, count: int = COMPUTER_PAGE) -> ListOp[Any]:
        """``GET api/Computers/Plans/history/{offset}/{count}``: run history of every computer."""
        return by_path("/Computers/Plans/history", "computers.all_history", None, dict[str, Any], count, id_of=_RUN)

    def statistics(self, computer_hid: str) -> Op[Any]:
        """``GET api/Computers/{hid}/Statistics``."""
        key = hid(computer_hid, "computers.statistics")
        return as_json(Call(method="GET", path=f"/Computers/{key}/Statistics", operation="computers.statistics"))

    def usage(self, computer_hid: str) -> Op[Any]:
        """``GET api/Computers/{hid}/Usage``."""
        key = hid(computer_hid, "computers.usage")
        return as_json(Call(method="GET", path=f"/Computers/{key}/Usage", operation="computers.usage"))

    def authorize(self, computer_hid: str, user_id: str) -> Op[Any]:
        """``POST api/Computers/{hid}/authorization`` with ``{"UserId": ...}``: ``{ResultCode, ErrorMessage}``."""
        key = hid(computer_hid, "computers.authorize")
        body = {"UserId": guid(user_id, "computers.authorize", "user_id")}
        return as_json(
            Call(method="POST", path=f"/Computers/{key}/authorization", json=body, operation="computers.authorize")
        )

    def deauthorize(self, computer_hid: str) -> Op[None]:
        """``DELETE api/Computers/{hid}/authorization``."""
        key = hid(computer_hid, "computers.deauthorize")
        return nothing(Call(method="DELETE", path=f"/Computers/{key}/authorization", operation="computers.deauthorize"))


class Licenses:
    def list(self, *, is_available: bool | None = None) -> ListOp[LicenseRecord]:
        """``GET api/Licenses?isAvailable=``."""
        if is_available is not None and not isinstance(is_available, bool):
            raise _invalid("licenses.list", "is_available", "is_available must be True, False or None")
        call = Call(method="GET", path="/Licenses", params={"isAvailable": is_available}, operation="licenses.list")
        return many(call, LicenseRecord)

    def get(self, license_id: str) -> Op[LicenseRecord]:
        """``GET api/Licenses/{ID}``."""
        key = guid(license_id, "licenses.get", "license_id")
        return one(Call(method="GET", path=f"/Licenses/{key}", operation="licenses.get"), LicenseRecord)

    def _action(self, action: str, payload: Mapping[str, Any]) -> Op[Any]:
        body = body_of(payload, f"licenses.{action.lower()}", ("LicenseID", "UserID"))
        return as_json(
            Call(method="POST", path=f"/Licenses/{action}", json=body, operation=f"licenses.{action.lower()}")
        )

    def grant(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Licenses/Grant`` (LicenseID and UserID required)."""
        return self._action("Grant", payload)

    def release(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Licenses/Release``."""
        return self._action("Release", payload)

    def revoke(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Licenses/Revoke``."""
        return self._action("Revoke", payload)


class Destinations:
    def add(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Destinations`` (UserID and AccountID required)."""
        body = body_of(payload, "destinations.add", ("UserID", "AccountID"))
        return as_json(Call(method="POST", path="/Destinations", json=body, operation="destinations.add"))

    def update(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Destinations`` (ID and UserID required)."""
        body = body_of(payload, "destinations.update", ("ID", "UserID"))
        return as_json(Call(method="PUT", path="/Destinations", json=body, operation="destinations.update"))

    def delete(self, destination_id: str, user_id: str) -> Op[None]:
        """``DELETE api/Destinations/{ID}?UserID={UserID}``."""
        key = guid(destination_id, "destinations.delete", "destination_id")
        user = guid(user_id, "destinations.delete", "user_id")
        return nothing(
            Call(method="DELETE", path=f"/Destinations/{key}", params={"UserID": user}, operation="destinations.delete")
        )

    def for_user(self, user_email: str) -> ListOp[UserDestination]:
        """``GET api/Destinations/{UserEmail}``; an unknown login (the API's 406) is ``NotFoundError``."""
        if not isinstance(user_email, str) or "@" not in user_email:
            raise _invalid("destinations.for_user", "user_email", "user_email must be an email address")
        listing = many(
            Call(method="GET", path=f"/Destinations/{user_email}", operation="destinations.for_user"), UserDestination
        )

        def steps() -> Any:
            inner = listing.steps
            message = next(inner)
            while True:
                try:
                    received = yield message
                except InvalidRequestError as exc:
                    if exc.status_code != 406:
                        raise
                    raise NotFoundError(
                        f"{VENDOR} knows no user {user_email}",
                        status_code=406,
                        vendor=VENDOR,
                        operation="destinations.for_user",
                        field="UserEmail",
                    ) from exc
                try:
                    message = inner.send(received)
                except StopIteration:
                    return

        return ListOp("destinations.for_user", steps)


class Accounts:
    def list(self) -> ListOp[Any]:
        """``GET api/Accounts``."""
        return many(Call(method="GET", path="/Accounts", operation="accounts.list"), dict[str, Any])

    def get(self, account_id: str) -> Op[Any]:
        """``GET api/Accounts/{ID}``."""
        key = guid(account_id, "accounts.get", "account_id")
        return as_json(Call(method="GET", path=f"/Accounts/{key}", operation="accounts.get"))

    def _send(
        self, method: str, path: str, operation: str, payload: Mapping[str, Any], required: tuple[str, ...]
    ) -> Op[Any]:
        body = body_of(payload, operation, required)
        return as_json(Call(method=method, path=path, json=body, operation=operation))

    def create(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Accounts`` (DisplayName and Type required)."""
        return self._send("POST", "/Accounts", "accounts.create", payload, ("DisplayName", "Type"))

    def update(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Accounts`` (AccountID required)."""
        return self._send("PUT", "/Accounts", "accounts.update", payload, ("AccountID",))

    def add_destination(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Accounts/AddDestination``: attach existing buckets to a storage account."""
        return self._send(
            "POST", "/Accounts/AddDestination", "accounts.add_destination", payload, ("AccountID", "Destination")
        )

    def create_destination(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Accounts/CreateDestination``: create a bucket on a storage account."""
        return self._send(
            "POST", "/Accounts/CreateDestination", "accounts.create_destination", payload, ("AccountID", "Destination")
        )

    def edit_destination(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Accounts/EditDestination``."""
        return self._send(
            "PUT", "/Accounts/EditDestination", "accounts.edit_destination", payload, ("AccountID", "Destination")
        )

    def remove_destination(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Accounts/RemoveDestination``."""
        return self._send(
            "PUT", "/Accounts/RemoveDestination", "accounts.remove_destination", payload, ("AccountID", "Destination")
        )


class Billing:
    def get(self) -> Op[Any]:
        """``GET api/Billing``: this month's billing."""
        return as_json(Call(method="GET", path="/Billing", operation="billing.get"))

    def query(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Billing``: billing for dates and companies (a read, sent as PUT)."""
        body = body_of(payload, "billing.query", ("Date",))
        return as_json(Call(method="PUT", path="/Billing", json=body, operation="billing.query", idempotent=True))

    def details(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Billing/Details``: per-computer backup and restore bytes for a user and month."""
        body = body_of(payload, "billing.details", ("UserID", "Date"))
        return as_json(
            Call(method="PUT", path="/Billing/Details", json=body, operation="billing.details", idempotent=True)
        )


class Builds:
    def list(self) -> ListOp[Any]:
        """``GET api/Builds``."""
        return many(Call(method="GET", path="/Builds", operation="builds.list"), dict[str, Any])

    def request_custom(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Builds/RequestCustomBuilds`` (Editions required)."""
        body = body_of(payload, "builds.request_custom", ("Editions",))
        return as_json(
            Call(method="POST", path="/Builds/RequestCustomBuilds", json=body, operation="builds.request_custom")
        )

    def available_versions(self) -> Op[Any]:
        """``GET api/Builds/AvailableVersions``."""
        return as_json(Call(method="GET", path="/Builds/AvailableVersions", operation="builds.available_versions"))


class Administrators:
    def list(self) -> ListOp[AdministratorRecord]:
        """``GET api/Administrators``."""
        return many(Call(method="GET", path="/Administrators", operation="administrators.list"), AdministratorRecord)

    def get(self, admin_id: str) -> Op[AdministratorRecord]:
        """``GET api/Administrators/{ID}``."""
        key = guid(admin_id, "administrators.get", "admin_id")
        return one(
            Call(method="GET", path=f"/Administrators/{key}", operation="administrators.get"), AdministratorRecord
        )

    def create(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST api/Administrators`` (Email and Password required)."""
        body = body_of(payload, "administrators.create", ("Email", "Password"))
        if isinstance(body.get("Password"), str):
            register_secret(body["Password"])
        return as_json(Call(method="POST", path="/Administrators", json=body, operation="administrators.create"))

    def update(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``PUT api/Administrators`` (AdminID required)."""
        body = body_of(payload, "administrators.update", ("AdminID",))
        return as_json(Call(method="PUT", path="/Administrators", json=body, operation="administrators.update"))

    def delete(self, admin_id: str) -> Op[None]:
        """``DELETE api/Administrators/{ID}``."""
        key = guid(admin_id, "administrators.delete", "admin_id")
        return nothing(Call(method="DELETE", path=f"/Administrators/{key}", operation="administrators.delete"))


class ManagedBackupAPI:
    """Every Managed Backup method, in the docs' twelve groups (Provider login is the connection's auth)."""

    vendor = VENDOR

    def __init__(self) -> None:
        self.packages = Packages()
        self.users = Users()
        self.monitoring = Monitoring()
        self.companies = Companies()
        self.computers = Computers()
        self.licenses = Licenses()
        self.destinations = Destinations()
        self.accounts = Accounts()
        self.billing = Billing()
        self.builds = Builds()
        self.administrators = Administrators()
