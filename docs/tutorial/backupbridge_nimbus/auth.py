"""Nimbus Vault: who the vendor is, how a request is authorised, and how its error bodies read (the
endpoints are in client.py).

The (made-up) vendor documents ``Authorization: Bearer <key>`` and errors as
``{"error": {"code", "message", "field"}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from backupbridge import ErrorDetail, NotFoundError, ValidationError
from backupbridge.plugin import BearerAuth, Reply, VendorError

VENDOR = "nimbus"
BASE_URL = "https://api.nimbusvault.example/v2"


def make_auth(credentials: Mapping[str, Any], base_url: str) -> httpx.Auth:
    return BearerAuth(credentials["api_key"])


def decode_error(reply: Reply) -> VendorError | None:
    body = reply.json().get("error") if isinstance(reply.json(), dict) else None
    if not isinstance(body, dict):
        return None
    code, field = body.get("code"), body.get("field")
    detail = ErrorDetail(type=code, field=field, message=body.get("message"))
    cls = {"not_found": NotFoundError, "invalid": ValidationError}.get(str(code))
    return VendorError(vendor_code=code, message=body.get("message"), errors=(detail,), error_class=cls)
