"""Redaction on every path out, against hostile answers: a proxy or WAF page echoing the request (headers,
cookies, body, minted tokens) in raw, URL-encoded, JSON- and HTML-escaped forms, for every vendor's auth
scheme; excerpts redacted before they are cut; weak secrets handled without wrecking messages; no
password in a base URL."""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

import backupbridge
from backupbridge import APIError, BackupBridgeError, ConfigurationError, DecodingError
from backupbridge.cli import main
from backupbridge.convert import excerpt_of
from backupbridge.http import RetryPolicy
from backupbridge.redaction import excerpt, redact, register_secret

# Secrets with characters that every encoding changes, so each echoed form differs from the raw one.
CREDENTIALS: dict[str, dict[str, Any]] = {
    "idrive360": {"api_key": "SECRET-idr-key-91f3"},
    "cleverfox": {"api_key": "SECRET-cfx-key-52a8"},
    "managedbackup": {"username": "reader", "password": 'SECRET mbs/pa"ss+3c4&x=1'},
    "vprotect": {"login": "reader", "password": "SECRET vp/pa'ss+5d6&y=2", "base_url": "https://vp.test:8181/api"},
}
AGENT_KEY = str(uuid.UUID(int=0x5EC12E7))  # a CleverFox per-device agent ApiKey, never registered


def forms(secret: str) -> set[str]:
    """Every way a secret is echoed: raw, URL-encoded (quote, quote_plus), JSON- and HTML-escaped."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], html.escape(secret)}


class Echo:
    """A vendor behind a proxy that answers 200 text/html echoing the request it got.

    Logins are answered as the vendor would (minting a token or a session cookie), unless ``at_login``:
    then the login itself is echoed. ``shape`` picks what the page shows first (so it is in the excerpt).
    """

    def __init__(self, shape: str, at_login: bool = False, key: str = "") -> None:
        self.shape = shape
        self.key = key
        self.at_login = at_login
        self.minted: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        is_login = path.endswith("/Provider/Login") or path.endswith("/session/login")
        if is_login and not self.at_login:
            token = f"minted-{uuid.uuid4().hex}"
            self.minted.add(token)
            if path.endswith("/Provider/Login"):
                return httpx.Response(200, json={"access_token": token, "token_type": "bearer"})
            return httpx.Response(201, json={}, headers={"Set-Cookie": f"JSESSIONID={token}; Path=/api; HttpOnly"})
        return httpx.Response(200, text=self.page(request), headers={"content-type": "text/html"})

    def page(self, request: httpx.Request) -> str:
        # The credential-bearing headers first, so they fall inside the excerpt.
        items = sorted(request.headers.items(), key=lambda kv: kv[0].lower() not in ("authorization", "cookie"))
        headers = "\n".join(f"{k}: {v}" for k, v in items if k.lower() != "host")
        body = request.content.decode()
        minted = " ".join(sorted(self.minted))
        shown = {
            "headers": headers,
            "minted": f"session {minted} refused",
            "key-in-prose": f"refused key {self.key} for this client",
            "body": body,
            "body-urlencoded": quote_plus(body),
            "body-quoted": quote(body, safe=""),
            "body-json-escaped": json.dumps(body),
            "body-html-escaped": html.escape(body),
            "agent-key-json": f'[{{"DeviceId":1,"ApiKey":"{AGENT_KEY}","Name":"PC',
            "agent-key-html": f"<td>ApiKey</td><td>ApiKey: {AGENT_KEY}</td> ApiKey={AGENT_KEY}",
        }[self.shape]
        return f"<html><body><pre>{shown}</pre><p>Request blocked</p></body></html>"


def connection(vendor: str, echo: Echo) -> backupbridge.Connection:
    creds = dict(CREDENTIALS[vendor])
    return backupbridge.connect(vendor, transport=httpx.MockTransport(echo), retry=RetryPolicy(attempts=2), **creds)


def secrets(vendor: str, echo: Echo) -> set[str]:
    found = {v for k, v in CREDENTIALS[vendor].items() if k in ("api_key", "password")} | echo.minted | {AGENT_KEY}
    if vendor == "cleverfox":
        found.add(base64.b64encode(f"{CREDENTIALS[vendor]['api_key']}:".encode()).decode())
    return {f for s in found for f in forms(s)}


def texts_of(exc: BaseException) -> list[str]:
    values = [str(exc), repr(exc), str(vars(exc))]
    if isinstance(exc, DecodingError):
        values.append(exc.excerpt or "")
    if isinstance(exc, APIError):
        values.append(exc.vendor_message or "")
    return values


SHAPES = ["headers", "minted", "key-in-prose", "agent-key-json", "agent-key-html"]
CASES = [
    (vendor, shape)
    for vendor in CREDENTIALS
    for shape in SHAPES
    if shape != "minted" or vendor in ("managedbackup", "vprotect")  # only login vendors mint anything
]


@pytest.mark.parametrize(("vendor", "shape"), CASES)
def test_a_waf_page_echoing_the_request_leaks_nothing(
    vendor: str, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    creds = CREDENTIALS[vendor]
    echo = Echo(shape, key=creds.get("api_key") or creds["password"])
    with pytest.raises(DecodingError) as info:
        list(connection(vendor, echo).list_devices())
    assert info.value.excerpt, "the excerpt is still there, only cleaned"
    if shape == "headers":
        assert "uthorization: " in info.value.excerpt or "ookie: " in info.value.excerpt, info.value.excerpt
    if vendor in ("managedbackup", "vprotect"):
        assert echo.minted, "the login minted something that could leak"
    for text in [*texts_of(info.value), caplog.text]:
        for secret in secrets(vendor, echo):
            assert secret not in text, (shape, secret, text)


LOGIN_SHAPES = ["body", "body-urlencoded", "body-quoted", "body-json-escaped", "body-html-escaped", "headers"]


@pytest.mark.parametrize("shape", LOGIN_SHAPES)
@pytest.mark.parametrize("vendor", ["managedbackup", "vprotect"])
def test_a_waf_page_answering_the_login_is_a_decoding_error_without_the_password(vendor: str, shape: str) -> None:
    echo = Echo(shape, at_login=True)
    with pytest.raises(DecodingError) as info:
        list(connection(vendor, echo).list_devices())
    assert info.value.during_login
    password = CREDENTIALS[vendor]["password"]
    for text in texts_of(info.value):
        for secret in forms(password):
            assert secret not in text, (shape, secret, text)


@pytest.fixture
def waf_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, dict[str, Echo]]]:
    """Every vendor configured (secrets from the environment), every one behind the echoing WAF."""
    echoes = {vendor: Echo("headers" if vendor != "cleverfox" else "agent-key-html") for vendor in CREDENTIALS}
    lines = []
    for vendor, creds in CREDENTIALS.items():
        lines.append(f'[accounts.{vendor}]\nvendor = "{vendor}"')
        if "base_url" in creds:
            lines.append(f'base_url = "{creds["base_url"]}"')
        lines.append(f"[accounts.{vendor}.credentials]")
        for name, value in creds.items():
            if name == "base_url":
                continue
            if name in ("api_key", "password"):
                env = f"BB_WAF_{vendor.upper()}_{name.upper()}"
                monkeypatch.setenv(env, value)
                lines.append(f'{name} = {{env = "{env}"}}')
            else:
                lines.append(f'{name} = "{value}"')
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    os.chmod(config, 0o600)
    import backupbridge.bridge as bridge_module
    import backupbridge.cli as cli_module

    real = backupbridge.connect

    def behind_waf(vendor: str, **kwargs: Any) -> backupbridge.Connection:
        kwargs["retry"] = RetryPolicy(attempts=1)
        return real(vendor, transport=httpx.MockTransport(echoes[vendor]), **kwargs)

    monkeypatch.setattr(bridge_module, "connect", behind_waf)
    monkeypatch.setattr(cli_module, "connect", behind_waf)
    yield config, echoes


@pytest.mark.parametrize(
    "command",
    [["report", "--no-alerts", "--format", "json"], ["report", "--no-alerts"], ["accounts", "check"], ["devices"]],
    ids=lambda c: " ".join(c),
)
def test_the_cli_prints_no_echoed_secret(
    waf_config: tuple[Path, dict[str, Echo]], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, echoes = waf_config
    main(["-vv", *command[:1], "--config", str(config), *command[1:]])
    out, err = capsys.readouterr()
    assert "DecodingError" in out + err or "not valid JSON" in out + err, "the failures are reported"
    for vendor, echo in echoes.items():
        for secret in secrets(vendor, echo):
            assert secret not in out, (command, secret)
            assert secret not in err, (command, secret)


def test_an_excerpt_is_redacted_before_it_is_cut() -> None:
    secret = "SECRET-straddles-the-cut-7f2e"
    register_secret(secret)
    body = "x" * (DecodingError.EXCERPT_LENGTH - 10) + secret + "tail" * 40
    for text in (excerpt_of(body), excerpt_of(body.encode()), excerpt(body, DecodingError.EXCERPT_LENGTH)):
        assert secret[:6] not in text and text.endswith("..."), text
    error = DecodingError("bad", excerpt=body)
    assert secret[:6] not in (error.excerpt or "") and secret[:6] not in str(error)


def test_an_excerpt_of_a_huge_body_redacts_only_a_bounded_prefix() -> None:
    register_secret("SECRET-early-in-a-huge-body-0a1")
    body = b"SECRET-early-in-a-huge-body-0a1 " + b"y" * (64 * 1024 * 1024)
    text = excerpt_of(body)
    assert text.startswith("*** ") and len(text) <= DecodingError.EXCERPT_LENGTH + 3


def test_url_encoded_json_escaped_and_html_escaped_echoes_are_redacted() -> None:
    secret = 'p@ss w/rd&x=1"z\\9'
    register_secret(secret)
    for form in forms(secret) | {quote(secret), json.dumps(secret, ensure_ascii=True)[1:-1]}:
        assert secret not in redact(f"echo: {form} end") and form not in redact(f"echo: {form} end"), form


def test_a_secret_that_is_a_common_word_does_not_wreck_messages() -> None:
    register_secret("summary")
    kept = [
        "idrive360 answered 500 to GET /msp/device/summary",
        "company_summary failed [operation=company_summary]",
        "device.summary is missing",
        "summarys summary2",
    ]
    for text in kept:
        assert redact(text) == text
    assert redact("login refused for password summary.") == "login refused for password ***."
    assert redact("GET /x?key=summary&page=2") == "GET /x?key=***&page=2"
    assert redact('{"Password": "summary"}') == '{"Password": "***"}'


def test_a_very_short_secret_is_redacted_only_where_credentials_go() -> None:
    register_secret("abc")
    assert redact("abc def abcdef") == "abc def abcdef"
    for shaped in ('{"password":"abc"}', "api_key=abc", "Authorization: Bearer abc", "Cookie: JSESSIONID=abc"):
        assert "abc" not in redact(shaped), shaped


@pytest.mark.parametrize(
    "text",
    [
        "ApiKey: 3f1c0a9e-0000-4000-8000-1234567890ab",
        "<td>ApiKey=3f1c0a9e-0000-4000-8000-1234567890ab</td>",
        '\\"ApiKey\\":\\"3f1c0a9e-0000-4000-8000-1234567890ab\\"',
        "&quot;ApiKey&quot;:&quot;3f1c0a9e-0000-4000-8000-1234567890ab&quot;",
        "%22ApiKey%22%3A%223f1c0a9e-0000-4000-8000-1234567890ab%22",
        "Cookie: JSESSIONID=3f1c0a9e-0000-4000-8000-1234567890ab; lang=en",
        "Set-Cookie: JSESSIONID=3f1c0a9e-0000-4000-8000-1234567890ab; Path=/api; HttpOnly",
        "x-api-key: 3f1c0a9e-0000-4000-8000-1234567890ab",
    ],
)
def test_credential_shaped_values_are_redacted_unregistered(text: str) -> None:
    assert "3f1c0a9e-0000-4000-8000-1234567890ab" not in redact(text)


def test_ordinary_payloads_keep_their_words() -> None:
    text = '{"Token": null, "Name": "PC", "page_key": 4, "Status": "Active"} the Token must be at most 50'
    assert redact(text) == text


@pytest.mark.parametrize(
    "make",
    [
        lambda s: BackupBridgeError(f"failed with {s}"),
        lambda s: APIError("x", status_code=500, vendor_message=f"echo {s}", url=f"https://h/p?t={s}"),
        lambda s: DecodingError("bad", excerpt=f"<html>{s}</html>", endpoint="GET /x"),
    ],
)
def test_exceptions_redact_their_text_and_repr(make: Callable[[str], BackupBridgeError]) -> None:
    secret = f"SECRET-{uuid.uuid4().hex[:12]}"
    register_secret(secret)
    exc = make(secret)
    assert all(secret not in text for text in texts_of(exc))
    later = f"SECRET-minted-later-{uuid.uuid4().hex[:8]}"
    exc2 = make(later)
    register_secret(later)  # a token minted after the exception was made is still kept out of str/repr
    assert later not in str(exc2) and later not in repr(exc2)


def test_a_password_in_the_base_url_is_refused_before_any_request(
    no_requests: httpx.MockTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for base_url in ("https://admin:pa55-in-url-77@vp.test:8181/api", "https://pa55-in-url-77@vp.test/api"):
        with pytest.raises(ConfigurationError, match="user name or password") as info:
            backupbridge.connect("vprotect", login="a", password="b-123456", base_url=base_url, transport=no_requests)
        assert "pa55-in-url-77" not in str(info.value) + repr(info.value) + caplog.text


def test_a_huge_vendor_message_is_redacted_then_cut() -> None:
    secret = "SECRET-in-a-long-vendor-message-4e1"
    register_secret(secret)
    message = "x" * 495 + secret + "y" * 100_000
    body = {"ok": False, "type": "invalid_request", "errors": [{"type": "invalid_request", "message": message}]}
    transport = httpx.MockTransport(lambda r: httpx.Response(400, json=body))
    conn = backupbridge.connect("idrive360", api_key="k-1234567890", transport=transport, retry=RetryPolicy(attempts=1))
    with pytest.raises(APIError) as info:
        conn.vendor.company_summary()
    assert len(info.value.vendor_message or "") <= 503 and len(str(info.value)) < 1000
    assert all(secret[:8] not in text for text in [*texts_of(info.value), str(info.value.errors)])


def test_vprotect_registers_its_session_cookie_but_not_a_load_balancers_flag() -> None:
    session_id = f"SESSION{uuid.uuid4().hex.upper()}"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/session/login"):
            cookies = [("Set-Cookie", f"JSESSIONID={session_id}; Path=/api"), ("Set-Cookie", "sticky=true; Path=/")]
            return httpx.Response(201, json={}, headers=cookies)
        return httpx.Response(200, text=f"<html>session {session_id} is true</html>")

    conn = backupbridge.connect(
        "vprotect",
        login="reader",
        password="pw-123456",
        base_url="https://vp.test:8181/api",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(DecodingError) as info:
        list(conn.list_devices())
    assert session_id not in str(info.value) and "session *** is true" in (info.value.excerpt or "")


@pytest.mark.parametrize("command", [["accounts"], ["accounts", "check"], ["devices"]])
def test_a_config_with_a_password_in_a_base_url_is_refused_without_echoing_it(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[accounts.onprem]\nvendor = "vprotect"\nbase_url = "https://admin:pa55-in-config-91@vp.lan:8181/api"\n'
        '[accounts.onprem.credentials]\nlogin = "reader"\npassword = {env = "BB_NOT_SET_EITHER"}\n'
    )
    os.chmod(config, 0o600)
    rc = main([command[0], "--config", str(config), *command[1:]])
    out, err = capsys.readouterr()
    assert rc != 0 and "user name or password" in err and "pa55-in-config-91" not in out + err
