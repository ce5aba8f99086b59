"""CleverFox: who the vendor is, how a request is authorised, and how its error bodies read (the endpoints
are in client.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from backupbridge import ErrorDetail
from backupbridge.plugin import (
    BasicAuth,
    Reply,
    VendorError,
)

VENDOR = "cleverfox"
BASE_URL = "https://cleverfoxbackup.com/api"


def make_auth(credentials: Mapping[str, Any], base_url: str = "") -> httpx.Auth:
    """HTTP Basic with the partner API key as the user name (the password is not checked)."""
    return BasicAuth(credentials["api_key"])


def decode_error(reply: Reply) -> VendorError | None:
    """Read ``{"Message": ..., "ModelState": {"device.Name": ["..."]}}`` (either key case)."""
    data = reply.json()
    if not isinstance(data, Mapping):
        return None
    message = data.get("Message", data.get("message"))
    state = data.get("ModelState", data.get("modelState")) or {}
    details = []
    if isinstance(state, Mapping):
        for key, messages in state.items():
            field = str(key).rsplit(".", 1)[-1]
            for text in messages if isinstance(messages, list) else [messages]:
                details.append(ErrorDetail(type="validation", field=field, message=str(text)))
    code = data.get("ErrorCode", data.get("Code"))
    return VendorError(
        vendor_code=str(code) if code is not None else None,
        message=str(message) if message is not None else None,
        errors=tuple(details),
    )
