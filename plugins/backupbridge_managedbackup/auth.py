"""Managed Backup: who the vendor is, how a request is authorised, and how its error bodies read (the endpoints
are in client.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from backupbridge import (
    ErrorDetail,
    NotFoundError,
    ValidationError,
)
from backupbridge.plugin import (
    LoginAuth,
    Reply,
    Secret,
    VendorError,
    register_secret,
)

VENDOR = "managedbackup"
BASE_URL = "https://api.mspbackups.com/api"


class ManagedBackupLogin(LoginAuth):
    """``POST api/Provider/Login`` with ``UserName``/``Password``; the ``access_token`` is sent as Bearer."""

    rejection_hint = "check the API user name and password (Settings > General in the console)"

    def __init__(self, username: str, password: Secret, base_url: str) -> None:
        super().__init__(VENDOR)
        self._username = username
        self._password = password
        self._url = base_url.rstrip("/") + "/Provider/Login"

    def login_request(self) -> httpx.Request:
        body = {"UserName": self._username, "Password": self._password.reveal()}
        return httpx.Request("POST", self._url, json=body, headers={"Accept": "application/json"})

    def accept_login(self, response: httpx.Response) -> str:
        data = self.login_json(response)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise self.unexpected(response, "no access_token")
        register_secret(token)
        return token

    def authorize(self, request: httpx.Request, session: Any) -> None:
        request.headers["Authorization"] = f"Bearer {session}"


def make_auth(credentials: Mapping[str, Any], base_url: str = BASE_URL) -> httpx.Auth:
    password = credentials["password"].reveal()
    if not 3 <= len(password) <= 100:
        raise ValidationError(
            "the Managed Backup API password has 3 to 100 characters", field="password", vendor=VENDOR
        )
    username = credentials["username"]  # not a secret: sent as is, never registered for redaction
    return ManagedBackupLogin(
        username.reveal() if isinstance(username, Secret) else str(username), credentials["password"], base_url
    )


def decode_error(reply: Reply) -> VendorError | None:
    """``{"ErrorCode": -6, "Message": "Object ... not found"}``, or a plain message string."""
    data = reply.json()
    if isinstance(data, str):
        return VendorError(message=data)
    if not isinstance(data, Mapping):
        return None
    code = data.get("ErrorCode")
    message = data.get("Message") or data.get("message") or data.get("ErrorMessage")
    cls = NotFoundError if code == -6 or (isinstance(message, str) and "not found" in message.lower()) else None
    return VendorError(
        vendor_code=str(code) if code is not None else None,
        message=str(message) if message is not None else None,
        errors=(ErrorDetail(type=str(code) if code is not None else None, message=str(message)),) if message else (),
        error_class=cls,
    )
