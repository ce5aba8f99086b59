"""vProtect: who the vendor is, how a request is authorised, and how its error bodies read (the endpoints
are in client.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from backupbridge.plugin import (
    LoginAuth,
    Reply,
    Secret,
    VendorError,
    register_secret,
)

VENDOR = "vprotect"


class VProtectLogin(LoginAuth):
    """``POST /session/login`` with ``{login, password}`` (201); the session cookie is kept and sent."""

    rejection_hint = "check the login and password"
    login_operation = "session.login"

    def __init__(self, login: str, password: Secret, base_url: str) -> None:
        super().__init__(VENDOR)
        self._login_name = login
        self._password = password
        self._url = base_url.rstrip("/") + "/session/login"

    def login_request(self) -> httpx.Request:
        body = {"login": self._login_name, "password": self._password.reveal()}
        return httpx.Request("POST", self._url, json=body, headers={"Accept": "application/json"})

    def accept_login(self, response: httpx.Response) -> dict[str, str]:
        cookies = {name: value for name, value in response.cookies.items()}
        for value in cookies.values():
            # The session id (JSESSIONID) is as good as the password. A short value (a load balancer's
            # ``lb=1``, ``remember=true``) is no credential: registered, it would be erased from every message.
            if len(value) >= 8:
                register_secret(value)
        if not cookies:
            raise self.unexpected(response, "no session cookie")
        return cookies

    def authorize(self, request: httpx.Request, session: Any) -> None:
        request.headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in session.items())


def make_auth(credentials: Mapping[str, Any], base_url: str = "") -> httpx.Auth:
    login = credentials["login"]  # not a secret: sent as is, never registered for redaction
    return VProtectLogin(login.reveal() if isinstance(login, Secret) else str(login), credentials["password"], base_url)


def decode_error(reply: Reply) -> VendorError | None:
    """The UI reads ``error.message`` (nested under ``error``), falling back to ``message``."""
    data = reply.json()
    if not isinstance(data, Mapping):
        return None
    nested = data.get("error")
    inner: Mapping[str, Any] = nested if isinstance(nested, Mapping) else data
    message = inner.get("message") or data.get("message")
    code = inner.get("code") or inner.get("type")
    return VendorError(vendor_code=str(code) if code is not None else None, message=str(message) if message else None)
