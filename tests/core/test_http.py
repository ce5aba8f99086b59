"""The HTTP layer against httpx.MockTransport apps: retries, Retry-After, errors, decoding, paging."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Callable, Generator
from typing import Any

import httpx
import pytest

from backupbridge import (
    AuthenticationError,
    ConfigurationError,
    DecodingError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from backupbridge.http import (
    AsyncSession,
    Call,
    ListOp,
    Op,
    Page,
    RateLimiter,
    Reply,
    RetryPolicy,
    Session,
    VendorProfile,
    check_base_url,
    paginate,
    parse_retry_after,
)

PROFILE = VendorProfile(name="testvendor")


def session(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> Session:
    client = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(handler))
    return Session(client, PROFILE, **kwargs)


def get(path: str = "/things") -> Call:
    return Call(method="GET", path=path, operation="get_things")


def counting(
    responses: list[httpx.Response | Exception],
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses[min(len(seen) - 1, len(responses) - 1)]
        if isinstance(item, Exception):
            raise item
        return item

    return seen, handler


def test_get_is_retried_on_503_then_succeeds() -> None:
    seen, handler = counting([httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"ok": 1})])
    reply = session(handler).send(get())
    assert reply.json() == {"ok": 1}
    assert len(seen) == 3


def test_retries_stop_after_the_policy_attempts() -> None:
    seen, handler = counting([httpx.Response(500)])
    with pytest.raises(ServerError) as info:
        session(handler).send(get())
    assert len(seen) == 4  # RetryPolicy() default: 4 attempts
    assert info.value.status_code == 500
    assert info.value.vendor == "testvendor"


def test_post_is_never_retried() -> None:
    seen, handler = counting([httpx.Response(503), httpx.Response(201, json={})])
    with pytest.raises(ServerError):
        session(handler).send(Call(method="POST", path="/things", json={"a": 1}, operation="create"))
    assert len(seen) == 1


def test_write_marked_idempotent_is_retried() -> None:
    seen, handler = counting([httpx.Response(503), httpx.Response(201, json={"id": 1})])
    call = Call(method="POST", path="/things", json={"Token": "t"}, operation="create", idempotent=True)
    assert session(handler).send(call).json() == {"id": 1}
    assert len(seen) == 2


def test_connection_errors_on_reads_are_retried() -> None:
    seen, handler = counting([httpx.ConnectError("refused"), httpx.Response(200, json=[])])
    assert session(handler).send(get()).json() == []
    assert len(seen) == 2


def test_write_that_never_left_says_not_applied() -> None:
    seen, handler = counting([httpx.ConnectError("refused"), httpx.Response(201, json={})])
    with pytest.raises(TransportError) as info:
        session(handler).send(Call(method="POST", path="/x", json={}, operation="create"))
    assert info.value.may_have_been_applied is False
    assert "not sent" in str(info.value)
    assert len(seen) == 1, "a write is not retried by the session"


def test_write_cut_off_after_sending_may_have_been_applied() -> None:
    # A second answer that succeeds: were the write sent again, the call would pass and this test fail.
    seen, handler = counting([httpx.RemoteProtocolError("reset"), httpx.Response(200, json={})])
    with pytest.raises(TransportError) as info:
        session(handler).send(Call(method="PUT", path="/x", json={}, operation="update"))
    assert info.value.may_have_been_applied is None
    assert "may have applied" in str(info.value)
    assert len(seen) == 1 and info.value.attempts == 1, "a write that may have landed is never sent twice"


def test_429_with_retry_after_seconds_is_honoured() -> None:
    seen, handler = counting(
        [httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={"done": True})]
    )
    assert session(handler).send(get()).json() == {"done": True}
    assert len(seen) == 2


def test_retry_after_longer_than_allowed_raises_rate_limited() -> None:
    seen, handler = counting([httpx.Response(429, headers={"Retry-After": "3600"})])
    with pytest.raises(RateLimitedError) as info:
        session(handler, retry=RetryPolicy(max_retry_after=60)).send(get())
    assert info.value.retry_after == 3600
    assert len(seen) == 1


def test_parse_retry_after_both_forms() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(later, now=now) == pytest.approx(90)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0  # past dates mean "now"
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (404, NotFoundError), (400, InvalidRequestError), (422, InvalidRequestError)],
)
def test_status_codes_become_typed_errors(status: int, error: type[Exception]) -> None:
    _, handler = counting([httpx.Response(status, text="nope")])
    with pytest.raises(error):
        session(handler).send(get())


def test_error_decoder_that_crashes_still_gives_a_typed_error() -> None:
    def broken(reply: Reply) -> None:
        raise KeyError("deep inside")

    client = httpx.Client(
        base_url="https://x.test", transport=httpx.MockTransport(lambda r: httpx.Response(404, text="<html>"))
    )
    s = Session(client, VendorProfile(name="v", decode_error=broken))
    with pytest.raises(NotFoundError):
        s.send(get())


@pytest.mark.parametrize("body", [b"", b"<html><body>Bad gateway</body></html>", b'{"truncated": ', b"\x00\xff"])
def test_garbled_reads_are_retried_then_raise_decoding_error_with_excerpt(body: bytes) -> None:
    seen, handler = counting([httpx.Response(200, content=body)])
    with pytest.raises(DecodingError) as info:
        session(handler).send(get())
    assert len(seen) == 4, "a body that is not JSON at all is retried like a 5xx"
    assert info.value.garbled and info.value.endpoint == "GET /things"
    assert info.value.excerpt is not None and len(info.value.excerpt) <= DecodingError.EXCERPT_LENGTH + 3


def test_a_garbled_read_that_recovers_is_returned() -> None:
    seen, handler = counting([httpx.Response(200, content=b'{"cut'), httpx.Response(200, json={"whole": True})])
    assert session(handler).send(get()).json() == {"whole": True} and len(seen) == 2


def test_writes_with_garbled_answers_are_not_retried() -> None:
    seen, handler = counting([httpx.Response(201, content=b"<html>")])
    reply = session(handler).send(Call(method="POST", path="/x", json={}, operation="create"))
    with pytest.raises(DecodingError):
        reply.json()
    assert len(seen) == 1


def test_decoding_error_excerpt_is_short() -> None:
    _, handler = counting([httpx.Response(200, content=b"x" * 10_000)])
    with pytest.raises(DecodingError) as info:
        session(handler, retry=RetryPolicy(attempts=1)).send(get())
    assert len(str(info.value)) < 400


def test_query_parameters_are_encoded_as_the_vendors_expect() -> None:
    seen, handler = counting([httpx.Response(200, json={})])
    call = Call(method="GET", path="/x", operation="x", params={"a": True, "b": False, "c": None, "d": [1, 2], "e": 5})
    session(handler).send(call)
    assert seen[0].url.query == b"a=true&b=false&d=1&d=2&e=5"


def _pages(total: int | None, sizes: list[int]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = list(range(sum(sizes[:page]), sum(sizes[: page + 1]))) if page < len(sizes) else []
        return httpx.Response(200, json={"items": items, "total": total})

    return handler


def _page_parser(size: int) -> Callable[[Reply, Call], Page[int]]:
    def parse(reply: Reply, call: Call) -> Page[int]:
        data = reply.json()
        page = int(call.params["page"])  # type: ignore[arg-type]
        nxt = (
            Call(method="GET", path="/items", operation="list", params={"page": page + 1})
            if len(data["items"]) == size
            else None
        )
        return Page(items=data["items"], next=nxt, total=data["total"])

    return parse


def test_paginate_reads_every_page() -> None:
    s = session(_pages(7, [3, 3, 1]))
    op = paginate(Call(method="GET", path="/items", operation="list", params={"page": 0}), _page_parser(3))
    assert list(s.iterate(op)) == list(range(7))


def test_paginate_raises_when_pages_do_not_add_up_to_the_total() -> None:
    s = session(_pages(10, [3, 3, 1]))
    op = paginate(Call(method="GET", path="/items", operation="list", params={"page": 0}), _page_parser(3))
    with pytest.raises(DecodingError, match="incomplete: received 7 records, the vendor reported 10"):
        list(s.iterate(op))


def test_paginate_refuses_a_page_that_does_not_advance() -> None:
    s = session(lambda r: httpx.Response(200, json={"items": [1, 2], "total": None}))

    def parse(reply: Reply, call: Call) -> Page[int]:
        return Page(items=reply.json()["items"], next=call)

    with pytest.raises(DecodingError, match="did not advance"):
        list(s.iterate(paginate(get("/items"), parse)))


def test_a_failure_midway_through_a_listing_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] == "1":
            return httpx.Response(500)
        return _pages(None, [3, 3, 1])(request)

    s = session(handler)
    op = paginate(Call(method="GET", path="/items", operation="list", params={"page": 0}), _page_parser(3))
    received: list[int] = []
    with pytest.raises(ServerError):
        for item in s.iterate(op):
            received.append(item)
    assert received == [0, 1, 2]


def test_ops_can_handle_errors_thrown_into_them() -> None:
    _, handler = counting([httpx.Response(404), httpx.Response(200, json={"second": True})])

    def steps() -> Generator[Call, Reply, Any]:
        try:
            yield get("/first")
        except NotFoundError:
            reply = yield get("/second")
            return reply.json()
        return None

    assert session(handler, retry=RetryPolicy(attempts=1)).run(Op("x", steps())) == {"second": True}


def test_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(10)
    waits = [limiter.reserve() for _ in range(3)]
    assert waits[0] == 0
    assert waits[2] == pytest.approx(0.2, abs=0.02)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.example.com", True),
        ("http://127.0.0.1:8080/api", True),
        ("http://localhost/api", True),
        ("http://[::1]:9/api", True),
        ("http://backup.example.com/api", False),
        ("ftp://example.com", False),
    ],
)
def test_plain_http_is_refused_except_to_loopback(url: str, ok: bool) -> None:
    if ok:
        check_base_url(url)
    else:
        with pytest.raises(ConfigurationError):
            check_base_url(url)


def test_plain_http_can_be_allowed_explicitly() -> None:
    assert check_base_url("http://backup.lan/api", allow_insecure_http=True).host == "backup.lan"


@pytest.mark.anyio
async def test_async_session_shares_the_retry_logic() -> None:
    seen, handler = counting([httpx.Response(503), httpx.Response(200, json={"ok": True})])
    client = httpx.AsyncClient(base_url="https://api.example.test", transport=httpx.MockTransport(handler))
    s = AsyncSession(client, PROFILE)
    reply = await s.send(get())
    assert reply.json() == {"ok": True}
    assert len(seen) == 2
    op = paginate(Call(method="GET", path="/items", operation="list", params={"page": 0}), _page_parser(3))
    client2 = httpx.AsyncClient(
        base_url="https://api.example.test", transport=httpx.MockTransport(_pages(7, [3, 3, 1]))
    )
    items = [i async for i in AsyncSession(client2, PROFILE).iterate(ListOp("list", op.steps))]
    assert items == list(range(7))


def test_logs_carry_no_query_secrets(caplog: pytest.LogCaptureFixture) -> None:
    from backupbridge.redaction import register_secret

    register_secret("sup3r-s3cret-token")
    _, handler = counting([httpx.Response(200, json={})])
    caplog.set_level("DEBUG", logger="backupbridge.http")
    session(handler).send(Call(method="GET", path="/x", operation="x", params={"token": "sup3r-s3cret-token"}))
    assert "sup3r-s3cret-token" not in caplog.text
    assert "GET https://api.example.test/x?token=***" in caplog.text


def test_reply_json_roundtrip() -> None:
    reply = Reply(200, httpx.Headers(), json.dumps({"a": 1}).encode(), "GET /x", "v", "op")
    assert reply.json() == {"a": 1}


@pytest.mark.parametrize("use_async", [False, True])
def test_errors_an_op_raises_itself_name_the_account(use_async: bool) -> None:
    """A record that does not decode is found by the plugin, after the request: it still names the account."""
    import asyncio

    import backupbridge

    body = [{"name": "no id here", "status": "Active"}]  # IDrive 360 device without its device_id
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    async_transport = httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    with pytest.raises(DecodingError) as info:
        if use_async:

            async def go() -> None:
                async with backupbridge.connect_async(
                    "idrive360", api_key="k-123456789", account="branch-3", transport=async_transport
                ) as conn:
                    [d async for d in conn.list_devices()]

            asyncio.run(go())
        else:
            list(
                backupbridge.connect(
                    "idrive360", api_key="k-123456789", account="branch-3", transport=transport
                ).list_devices()
            )
    assert (info.value.vendor, info.value.account) == ("idrive360", "branch-3")
    assert "account=branch-3" in str(info.value)


def test_connections_share_one_tls_context_per_trust_store() -> None:
    """Building a TLS context loads a whole CA bundle (~70 ms): a hundred accounts must not build a hundred."""
    import shutil
    import ssl
    import tempfile

    import certifi

    import backupbridge
    from backupbridge.connection import tls_verify

    default = tls_verify(True, "v", "https://x.test")
    assert isinstance(default, ssl.SSLContext) and tls_verify(True, "w", "https://y.test") is default
    assert default.verify_mode is ssl.CERT_REQUIRED and default.check_hostname
    bundle = tls_verify(certifi.where(), "v", "https://x.test")
    assert isinstance(bundle, ssl.SSLContext) and bundle is not default
    assert tls_verify(certifi.where(), "v", "https://x.test") is bundle
    with tempfile.TemporaryDirectory() as folder:
        other = shutil.copy(certifi.where(), f"{folder}/ca.pem")
        assert tls_verify(other, "v", "https://x.test") not in (default, bundle)
    client = backupbridge.connect("idrive360", api_key="k-123456789")._session.client
    assert client._transport._pool._ssl_context is default  # type: ignore[attr-defined]  # what httpx was given


def test_sniffio_is_installed_for_httpcore() -> None:
    """httpcore tries 'import sniffio' each time it makes a lock; without it every try scans sys.path."""
    import importlib.util

    assert importlib.util.find_spec("sniffio") is not None
