"""The CleverFox attribute tables as data: type, length, required on POST, read-only.

One definition serves the client (checks a payload before sending: read-only attributes are refused,
required ones demanded, ``String N`` lengths enforced) and the simulator (answers the same mistakes with
a 400). Sources: the docs' attribute tables (devices in full; the other resources from the pages listed
in ``docs/vendors/cleverfox.md``). Where a page gives no length, none is enforced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["FIELD", "RESOURCES", "Field", "ResourceSpec", "payload_problems"]

INT, STR, BOOL, UTC, LOCAL, OBJ, LIST = "int", "str", "bool", "utc", "local", "obj", "list"


@attrs.frozen
class Field:
    """One attribute. ``post_only``: required on POST, read-only afterwards (the docs' wording)."""

    name: str
    kind: str
    length: int | None = None
    required: bool = False
    read_only: bool = False
    post_only: bool = False
    minimum: int | None = None
    maximum: int | None = None
    write_only: bool = False


def FIELD(name: str, kind: str, length: int | None = None, **flags: Any) -> Field:
    return Field(name, kind, length, **flags)


RO: dict[str, Any] = {"read_only": True}
STAMPS = (FIELD("AddedOn", UTC, **RO), FIELD("UpdatedOn", UTC, **RO))
TOKEN = FIELD("Token", STR, 50)
NOTIFY = (FIELD("SendNotificationTo", STR), FIELD("SendNotificationBcc", STR), FIELD("SendNotificationCc", STR))


@attrs.frozen
class ResourceSpec:
    name: str
    path: str
    id_field: str
    fields: tuple[Field, ...]
    operations: frozenset[str]
    external_id: bool = False

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _resource(name: str, path: str, id_field: str, ops: str, *fields: Field) -> ResourceSpec:
    all_fields = (FIELD(id_field, INT, **RO), *fields)
    return ResourceSpec(
        name=name,
        path=path,
        id_field=id_field,
        fields=all_fields,
        operations=frozenset(ops.split()),
        external_id=any(f.name == "ExternalId" for f in all_fields),
    )


RESOURCES: dict[str, ResourceSpec] = {
    spec.name: spec
    for spec in (
        _resource(
            "devices",
            "/devices",
            "DeviceId",
            "list get create update delete",
            FIELD("CompanyId", INT, required=True, post_only=True),
            FIELD("Company", OBJ, **RO),
            FIELD("SubscriptionId", INT, required=True, post_only=True),
            FIELD("Subscription", OBJ, **RO),
            FIELD("Name", STR, 100, required=True),
            FIELD("TimeZoneId", STR, 50, required=True),
            FIELD("ApplicationId", STR, 25),
            FIELD("ExternalId", STR, 100),
            FIELD("IsInactive", BOOL),
            FIELD("ApiKey", STR, **RO),
            FIELD("LastApiCheckAt", LOCAL, **RO),
            *NOTIFY,
            FIELD("SendNotificationOnJobCompleted", BOOL),
            FIELD("SendNotificationOnJobFailed", BOOL),
            FIELD("SendNotificationOnJobMissed", BOOL),
            FIELD("AgentDownloadUrl", STR, **RO),
            FIELD("LastAgentDownloadCreated", UTC, **RO),
            *STAMPS,
            TOKEN,
        ),
        _resource(
            "companies",
            "/companies",
            "CompanyId",
            "list get create update",
            FIELD("PartnerId", INT, required=True, post_only=True),
            FIELD("Partner", OBJ, **RO),
            FIELD("PlanTypeId", INT, required=True, post_only=True),
            FIELD("PlanType", OBJ, **RO),
            FIELD("Name", STR, 100, required=True),
            FIELD("AddressLine1", STR, 50),
            FIELD("AddressLine2", STR, 50),
            FIELD("CityMunicipality", STR, 50),
            FIELD("StateProvidence", STR, 50),
            FIELD("PostalCode", STR, 50),
            FIELD("Country", STR, 50),
            FIELD("Phone", STR, 50),
            FIELD("ExternalId", STR, 100),
            FIELD("IsInactive", BOOL),
            *STAMPS,
            TOKEN,
        ),
        _resource(
            "companyusers",
            "/companyusers",
            "CompanyUserId",
            "list get create update",
            FIELD("CompanyId", INT, required=True, post_only=True),
            FIELD("Company", OBJ, **RO),
            FIELD("FirstName", STR, 50),
            FIELD("LastName", STR, 50),
            FIELD("Email", STR, 100, required=True),
            FIELD("HomePhone", STR, 50),
            FIELD("MobilePhone", STR, 50),
            FIELD("WorkPhone", STR, 50),
            FIELD("IsInactive", BOOL),
            *STAMPS,
            TOKEN,
        ),
        _resource(
            "subscriptions",
            "/subscriptions",
            "SubscriptionId",
            "list get create update",
            FIELD("CompanyId", INT, required=True, post_only=True),
            FIELD("Company", OBJ, **RO),
            FIELD("PlanId", INT, required=True, post_only=True),
            FIELD("Plan", OBJ, **RO),
            FIELD("ApplicationId", STR, 25),
            FIELD("ExternalId", STR, 100),
            FIELD("IsInactive", BOOL, **RO),
            FIELD("BillingId", INT, **RO),
            FIELD("Status", STR, 15, **RO),
            FIELD("PeriodStart", UTC, **RO),
            FIELD("PeriodEnd", UTC, **RO),
            FIELD("AdditionalDevice", INT, minimum=0),
            FIELD("DownloadLimitExpireOn", UTC, **RO),
            *NOTIFY,
            FIELD("SendNotificationOnStorageLimit", BOOL),
            *STAMPS,
            TOKEN,
        ),
        _resource(
            "jobs",
            "/jobs",
            "JobId",
            "list get create update",
            FIELD("DeviceId", INT, required=True, post_only=True),
            FIELD("Device", OBJ, **RO),
            FIELD("Name", STR, 100, required=True),
            FIELD("IsInactive", BOOL),
            FIELD("LastRanOn", LOCAL, **RO),
            FIELD("Frequency", STR, required=True),
            FIELD("NextRunOn", LOCAL, required=True),
            FIELD("LateAfter", INT, minimum=0, maximum=1439),
            FIELD("Every", INT, minimum=1, maximum=999),
            *(
                FIELD(f"On{day}", BOOL)
                for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
            ),
            FIELD("DayOfMonth", INT, minimum=1, maximum=31),
            FIELD("ExpireOn", LOCAL),
            FIELD("CloudKeepLast", INT, minimum=0, maximum=999),
            FIELD("LocalKeepLast", INT, minimum=0, maximum=999),
            *STAMPS,
            TOKEN,
            FIELD("JobItems", LIST, **RO),
        ),
        _resource(
            "jobitems",
            "/jobitems",
            "JobItemId",
            "list get create update",
            FIELD("JobId", INT, required=True, post_only=True),
            FIELD("Name", STR, 100, required=True),
            FIELD("BackupTypeId", INT, required=True),
            FIELD("BackupType", OBJ, **RO),
            FIELD("BaseFolder", STR, 248),
            FIELD("IncludeSubFolders", BOOL),
            FIELD("SearchPatterns", STR),
            FIELD("ExcludeFolders", STR),
            FIELD("ExcludePatterns", STR),
            FIELD("NoCompressExtensions", STR),
            FIELD("ServerName", STR),
            FIELD("DatabaseName", STR),
            FIELD("Port", INT, minimum=0, maximum=65535),
            FIELD("AuthenticationMode", STR, 1),
            FIELD("Username", STR),
            FIELD("Password", STR, write_only=True),
            FIELD("OptionCompress", BOOL),
            FIELD("OptionCopyOnly", BOOL),
            FIELD("OptionLogOnly", BOOL),
            *STAMPS,
            TOKEN,
        ),
        _resource("logs", "/logs", "LogId", "list get"),
        _resource("logitems", "/logitems", "LogItemId", "list get"),
        _resource("plans", "/plans", "PlanId", "list get"),
        _resource(
            "partners",
            "/partners",
            "PartnerId",
            "list get update",
            FIELD("PlanTypeId", INT, **RO),
            FIELD("PlanType", OBJ, **RO),
            FIELD("Name", STR, 100, required=True),
            FIELD("ApplicationId", STR, 25),
            FIELD("IsInactive", BOOL),
            *STAMPS,
            TOKEN,
        ),
        _resource(
            "partnerusers",
            "/partnerusers",
            "PartnerUserId",
            "list get create update",
            FIELD("PartnerId", INT, required=True, post_only=True),
            FIELD("Partner", OBJ, **RO),
            FIELD("FirstName", STR, 50),
            FIELD("LastName", STR, 50),
            FIELD("Email", STR, 100, required=True),
            FIELD("HomePhone", STR, 50),
            FIELD("MobilePhone", STR, 50),
            FIELD("WorkPhone", STR, 50),
            FIELD("IsAccountOwner", BOOL),
            FIELD("IsInactive", BOOL),
            *STAMPS,
            TOKEN,
        ),
        _resource("events", "/events", "EventId", "list get"),
        _resource("plantypes", "/plantypes", "PlanTypeId", "list get"),
        _resource("backuptypes", "/backuptypes", "BackupTypeId", "list get"),
        _resource("timezones", "/timezones", "TimeZoneId", "list"),
    )
}

_NOTIFY_FLAGS = ("SendNotificationOnJobCompleted", "SendNotificationOnJobFailed", "SendNotificationOnJobMissed")
FREQUENCIES = ("Hourly", "Daily", "Weekly", "Monthly", "Monthy", "One Time")
AUTH_MODES = ("W", "S")


def _type_ok(kind: str, value: Any) -> bool:
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind in (UTC, LOCAL):
        if not isinstance(value, str):
            return False
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    return True


def payload_problems(spec: ResourceSpec, payload: object, *, method: str) -> list[tuple[str, str]]:
    """Every way ``payload`` breaks ``spec`` for a POST or a PUT, as ``(field, message)`` pairs."""
    if not isinstance(payload, Mapping):
        return [("body", "the body must be a JSON object")]
    problems: list[tuple[str, str]] = []
    for key, value in payload.items():
        field = spec.field(key)
        if field is None:
            problems.append((key, f"{key} is not an attribute of {spec.name}"))
            continue
        if field.read_only or (field.post_only and method == "PUT"):
            problems.append((key, f"{key} is read-only"))
            continue
        if value is None:
            if field.required:
                problems.append((key, f"{key} is required"))
            continue
        if not _type_ok(field.kind, value):
            problems.append((key, f"{key} must be a {field.kind}"))
            continue
        if field.length is not None and len(value) > field.length:
            problems.append((key, f"{key} is longer than {field.length} characters"))
        if field.minimum is not None and value < field.minimum:
            problems.append((key, f"{key} must be at least {field.minimum}"))
        if field.maximum is not None and value > field.maximum:
            problems.append((key, f"{key} must be at most {field.maximum}"))
    if method == "POST":
        for field in spec.fields:
            if (
                field.required
                and payload.get(field.name) is None
                and (field.name, f"{field.name} is required") not in problems
            ):
                problems.append((field.name, f"{field.name} is required"))
    elif method == "PUT":
        for field in spec.fields:
            if field.required and field.name in payload and payload[field.name] in (None, ""):
                problems.append((field.name, f"{field.name} is required"))
    if (
        spec.name == "devices"
        and any(payload.get(flag) for flag in _NOTIFY_FLAGS)
        and not payload.get("SendNotificationTo")
    ):
        if method == "POST" or "SendNotificationTo" in payload:
            problems.append(
                ("SendNotificationTo", "SendNotificationTo is required when a SendNotificationOn* flag is true")
            )
    if spec.name == "jobs" and payload.get("Frequency") is not None and payload.get("Frequency") not in FREQUENCIES:
        problems.append(("Frequency", f"Frequency must be one of {', '.join(FREQUENCIES)}"))
    if spec.name == "jobitems" and payload.get("AuthenticationMode") not in (None, *AUTH_MODES):
        problems.append(("AuthenticationMode", "AuthenticationMode must be W or S"))
    return problems
