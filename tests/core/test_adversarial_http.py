"""Hostile answers at the HTTP layer: stacked content-coding bombs, bodies kept alive through exception
chains, and host names that only look like loopback (adversarial findings 2, 5 and 11 of issue 12)."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Iterator

import attrs
import cattrs
import httpx
import pytest

from backupbridge import ConfigurationError, DecodingError
from backupbridge.convert import decode
from backupbridge.http import Call, RetryPolicy, Session, VendorProfile, parse_retry_after
from backupbridge.http._auth import check_base_url, is_loopback
from backupbridge.http._calls import Reply
from backupbridge.redaction import Secret

PROFILE = VendorProfile(name="testvendor")
MiB = 1024 * 1024
SECRET = "k-adversarial-3f9c2a7d41e8b605"
Secret(SECRET)  # registered, as a connection's credential is


def zeros_gzip(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    return b"".join([*(packer.compress(block) for _ in range(size // MiB)), packer.flush()])


class Wire(httpx.SyncByteStream):
    """A body as a transport streams it (not pre-read by httpx), in chunks of 64 KiB."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 65536):
            yield self.body[start : start + 65536]


def session_answering(body: bytes, coding: str, limit: int = MiB) -> Session:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": coding}
        return httpx.Response(200, headers=headers, stream=Wire(body))

    client = httpx.Client(base_url="https://vendor.example", transport=httpx.MockTransport(handler))
    return Session(client, PROFILE, retry=RetryPolicy(attempts=1, max_body_bytes=limit))


def get() -> Call:
    return Call(method="GET", path="/things", operation="get_things")


def test_a_stacked_gzip_bomb_is_refused_within_bounded_memory() -> None:
    """Was: each chunk of the outer layer inflated whole before the limit was checked (1.1 GiB, MemoryError)."""
    bomb = gzip.compress(zeros_gzip(64 * MiB), compresslevel=9)  # 64 MiB of zeros in ~6 KB on the wire
    session = session_answering(bomb, "gzip, gzip")
    tracemalloc.start()
    try:
        with pytest.raises(DecodingError, match="max_body_bytes"):
            session.send(get())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"decoding peaked at {peak / MiB:.1f} MiB for a 1 MiB limit"


def test_stacked_codings_still_decode_an_honest_body() -> None:
    body = b'{"items": [' + b"1, " * 5000 + b"1]}"
    deflated = zlib.compress(gzip.compress(body))  # gzip applied first, then deflate
    assert session_answering(deflated, "gzip, deflate").send(get()).content == body
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert session_answering(raw_deflate.compress(body) + raw_deflate.flush(), "deflate").send(get()).content == body


def test_a_broken_or_unknown_or_deeply_stacked_coding_is_a_decoding_error() -> None:
    with pytest.raises(DecodingError, match="not valid gzip"):
        session_answering(b"this is not gzip at all", "gzip").send(get())
    with pytest.raises(DecodingError, match="cannot be decoded"):
        session_answering(b"\x00\x01", "compress").send(get())
    with pytest.raises(DecodingError, match="stacks 4 content codings"):
        session_answering(b"x", "gzip, gzip, gzip, gzip").send(get())


def reply(content: bytes) -> Reply:
    headers = httpx.Headers({"content-type": "text/html"})
    return Reply(200, headers, content, "GET /things", "testvendor", "get_things")


@pytest.mark.parametrize(
    "body",
    [
        f"<html>WAF blocked: X-Api-Key {SECRET} {'x' * 5000}</html>".encode(),
        b"\xff\xfe not utf-8 " + SECRET.encode(),
        b'{"a": ' + SECRET.encode() + b"}",
    ],
    ids=["html", "not-utf8", "bad-json"],
)
def test_a_not_json_error_keeps_no_body_in_its_cause_or_context(body: bytes) -> None:
    """Was: __cause__ was the JSONDecodeError whose .doc is the whole body, key included."""
    with pytest.raises(DecodingError) as info:
        reply(body).json()
    error = info.value
    assert error.__cause__ is None and error.__context__ is None
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert "body is not valid JSON" in str(error)


@pytest.mark.parametrize("host", ["evil.localhost", "localhost.evil.example", "a.b.localhost", "localhost.localdomain"])
def test_a_name_ending_in_localhost_is_not_loopback(host: str) -> None:
    """Was: ``http://evil.localhost`` allowed plain http (and skipped proxies) as if it were this machine."""
    assert not is_loopback(host)
    with pytest.raises(ConfigurationError, match="refusing plain http"):
        check_base_url(f"http://{host}/api")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "[::1]"])
def test_loopback_itself_is_still_loopback(host: str) -> None:
    assert check_base_url(f"http://{host}:8080/api").scheme == "http"


@attrs.frozen
class Thing:
    id: int
    size: int


def test_a_record_of_the_wrong_shape_keeps_no_data_in_its_cause_or_context() -> None:
    """cattrs' errors, and their tracebacks' frames, hold the decoded data: nothing of them is chained."""
    rows = [{"id": 1, "size": 2}, {"id": 2, "size": "not a number", "echo": f"X-Api-Key {SECRET}"}]
    for typ, data in ((list[Thing], rows), (Thing, rows[1])):
        with pytest.raises(DecodingError, match="unexpected response shape") as info:
            decode(cattrs.Converter(), typ, data, endpoint="GET /things", vendor="testvendor")
        assert info.value.__cause__ is None and info.value.__context__ is None
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)


@pytest.mark.parametrize("header", ["\u0661\u0660\u0660", "\u00b2", "nan", "1e400", "+5", "0x10"])
def test_a_retry_after_that_is_not_ascii_seconds_or_a_date_is_ignored(header: str) -> None:
    """Was: ``float`` read Arabic-Indic ``100`` as 100 seconds, ``nan`` and ``1e400`` too: not a wait."""
    assert parse_retry_after(header) is None


def test_a_retry_after_in_ascii_seconds_is_read() -> None:
    assert parse_retry_after(" 7 ") == 7.0 and parse_retry_after("1.5") == 1.5 and parse_retry_after("-3") == 0.0
