"""backupbridge: many backup vendors' management APIs behind one vendor-neutral model.

import backupbridge
with backupbridge.connect("idrive360", api_key=...) as conn:
    for device in conn.list_devices():
        print(device.name, device.last_backup_status)
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import AsyncConnection, Connection, connect, connect_async
    from .errors import (
        APIError,
        AuthenticationError,
        BackupBridgeError,
        ConfigurationError,
        ConflictError,
        DecodingError,
        DuplicateVendorError,
        ErrorDetail,
        InvalidRequestError,
        MissingCredentialsError,
        NotFoundError,
        PermissionDeniedError,
        PluginError,
        RateLimitedError,
        ServerError,
        TransportError,
        UnknownVendorError,
        UnsupportedOperationError,
        ValidationError,
    )
    from .exporters import Exporter
    from .hookspecs import hookimpl
    from .http import RetryPolicy
    from .models import (
        BackupTarget,
        Capability,
        Company,
        CompanyStatus,
        Destination,
        Device,
        DeviceSpec,
        DeviceStatus,
        Frequency,
        Job,
        JobKind,
        JobStatus,
        Notification,
        NotifyWhen,
        OSFamily,
        Plan,
        PlanCreation,
        PlanSpec,
        Retention,
        Schedule,
        Weekday,
    )
    from .plugins import get_vendor, list_vendors
    from .redaction import Secret
    from .vendors import CredentialField, Driver, DriverContext, Vendor

# Every public name is imported when first used (``backupbridge.connect``, ``from backupbridge import
# Device``), not when the package is: ``import backupbridge`` and the CLI's start pay only for what they touch.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("AsyncConnection", "Connection", "connect", "connect_async"), "connection"),
    **dict.fromkeys(
        (
            "APIError",
            "AuthenticationError",
            "BackupBridgeError",
            "ConfigurationError",
            "ConflictError",
            "DecodingError",
            "DuplicateVendorError",
            "ErrorDetail",
            "InvalidRequestError",
            "MissingCredentialsError",
            "NotFoundError",
            "PermissionDeniedError",
            "PluginError",
            "RateLimitedError",
            "ServerError",
            "TransportError",
            "UnknownVendorError",
            "UnsupportedOperationError",
            "ValidationError",
        ),
        "errors",
    ),
    **dict.fromkeys(("Exporter",), "exporters"),
    **dict.fromkeys(("hookimpl",), "hookspecs"),
    **dict.fromkeys(("RetryPolicy",), "http"),
    **dict.fromkeys(
        (
            "BackupTarget",
            "Capability",
            "Company",
            "CompanyStatus",
            "Destination",
            "Device",
            "DeviceSpec",
            "DeviceStatus",
            "Frequency",
            "Job",
            "JobKind",
            "JobStatus",
            "Notification",
            "NotifyWhen",
            "OSFamily",
            "Plan",
            "PlanCreation",
            "PlanSpec",
            "Retention",
            "Schedule",
            "Weekday",
        ),
        "models",
    ),
    **dict.fromkeys(("get_vendor", "list_vendors"), "plugins"),
    **dict.fromkeys(("Secret",), "redaction"),
    **dict.fromkeys(("CredentialField", "Driver", "DriverContext", "Vendor"), "vendors"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'backupbridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncConnection",
    "AuthenticationError",
    "BackupBridgeError",
    "BackupTarget",
    "Capability",
    "Company",
    "CompanyStatus",
    "ConfigurationError",
    "ConflictError",
    "Connection",
    "CredentialField",
    "DecodingError",
    "Destination",
    "Device",
    "DeviceSpec",
    "DeviceStatus",
    "Driver",
    "DriverContext",
    "DuplicateVendorError",
    "ErrorDetail",
    "Exporter",
    "Frequency",
    "InvalidRequestError",
    "Job",
    "JobKind",
    "JobStatus",
    "MissingCredentialsError",
    "NotFoundError",
    "Notification",
    "NotifyWhen",
    "OSFamily",
    "PermissionDeniedError",
    "Plan",
    "PlanCreation",
    "PlanSpec",
    "PluginError",
    "RateLimitedError",
    "Retention",
    "RetryPolicy",
    "Schedule",
    "Secret",
    "ServerError",
    "TransportError",
    "UnknownVendorError",
    "UnsupportedOperationError",
    "ValidationError",
    "Vendor",
    "Weekday",
    "__version__",
    "connect",
    "connect_async",
    "get_vendor",
    "hookimpl",
    "list_vendors",
]
