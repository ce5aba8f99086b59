"""IDrive 360: who the vendor is, how a request is authorised, and how its error bodies read (the endpoints
are in client.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from backupbridge import (
    APIError,
    AuthenticationError,
    ConflictError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from backupbridge.plugin import (
    BearerAuth,
    Reply,
    VendorError,
)

VENDOR = "idrive360"
BASE_URL = "https://api.idrive360.com/api/msp"


# Every error type of the docs' table (and its base type) -> our exception. The inner ``errors[]``
# type is the more specific one and wins when present.
ERROR_TYPES: dict[str, type[APIError]] = {
    "authentication_failed": AuthenticationError,
    "missing_authorization_header": AuthenticationError,
    "malformed_authorization_header": AuthenticationError,
    "insufficient_privileges": PermissionDeniedError,
    "invalid_state": PermissionDeniedError,
    "admin_company_not_active": PermissionDeniedError,
    "admin_not_active": PermissionDeniedError,
    "access_restricted": PermissionDeniedError,
    "processing_fault": ServerError,
    "internal_error": ServerError,
    "entity_creation_failed": ServerError,
    "entity_not_found": NotFoundError,
    "invalid_request": InvalidRequestError,
    "invalid_parameter": InvalidRequestError,
    "same_state": ConflictError,
    "dependency_exception": RateLimitedError,
}


def decode_error(reply: Reply) -> VendorError | None:
    """Read ``{ok, type, message, code, errors: [{type, field, message}]}``."""
    data = reply.json()
    if not isinstance(data, Mapping):
        return None
    details = tuple(
        ErrorDetail(
            type=str(e["type"]) if e.get("type") is not None else None,
            field=str(e["field"]) if e.get("field") is not None else None,
            message=str(e["message"]) if e.get("message") is not None else None,
        )
        for e in (data.get("errors") or [])
        if isinstance(e, Mapping)
    )
    top = data.get("type") if isinstance(data.get("type"), str) else None
    specific = next((d.type for d in details if d.type in ERROR_TYPES), None)
    cls = ERROR_TYPES.get(specific or "") or ERROR_TYPES.get(top or "")
    message = data.get("message") if isinstance(data.get("message"), str) else None
    return VendorError(vendor_code=specific or top, message=message, errors=details, error_class=cls)


def make_auth(credentials: Mapping[str, Any], base_url: str = "") -> httpx.Auth:
    return BearerAuth(credentials["api_key"])
