"""msgspec decodes reply bodies where it gives exactly what ``json.loads`` gives; everything else (and every
error) takes the ``json`` path, so ``Reply.json()`` returns the same values and raises the same
``DecodingError`` (message, excerpt, redaction) as before. The nesting check, rewritten to one regex pass
over escapes, answers as a walk of the parsed value does."""

from __future__ import annotations

import codecs
import json
import math
import random
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backupbridge import DecodingError, redaction
from backupbridge.http import _calls
from backupbridge.http._calls import MAX_JSON_DEPTH, Reply, nesting_exceeds


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (``-0.0`` is not ``0.0``, ``1`` is not ``1.0``, key
    order counts); walked without recursion (bodies nest up to the limit)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not ((math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))):
                return False
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif x != y:
            return False
    return True


def reply(content: bytes) -> Reply:
    return Reply(200, httpx.Headers({"content-type": "application/json"}), content, "GET /x", "testvendor", "op")


def outcome(content: bytes, *, msgspec: bool) -> tuple[str, Any]:
    saved = list(_calls._MSGSPEC_DECODE)
    _calls._MSGSPEC_DECODE[:] = [] if msgspec else [None]
    try:
        return ("value", reply(content).json())
    except DecodingError as exc:
        return ("error", (str(exc), exc.excerpt, exc.endpoint, exc.vendor, exc.operation, exc.__cause__))
    finally:
        _calls._MSGSPEC_DECODE[:] = saved


def assert_same_outcome(content: bytes) -> None:
    ours, reference = outcome(content, msgspec=True), outcome(content, msgspec=False)
    assert ours[0] == reference[0], (content[:80], ours, reference)
    if ours[0] == "value":
        assert same(ours[1], reference[1]), content[:80]
    else:
        assert ours[1] == reference[1]


def test_msgspec_is_the_decoder() -> None:
    """The fast decoder is in use (a test of equality alone would pass with json everywhere)."""
    _calls._MSGSPEC_DECODE[:] = []
    assert reply(b'{"a": [1, 2.5, "x", null, true]}').json() == {"a": [1, 2.5, "x", None, True]}
    decode = _calls._MSGSPEC_DECODE[0]
    assert decode is not None and type(getattr(decode, "__self__", None)).__module__.startswith("msgspec")


# Inputs on which msgspec and json.loads differ, or which only one of them refuses: each must give json's
# answer (value or error) exactly.
EDGES = [
    b"NaN",
    b"[Infinity]",
    b"-Infinity",
    b"1e400",
    b"-1e400",
    b"1.7976931348623159e308",
    b"[" + b"9" * 400 + b".0]",
    b"1" * 5000,
    b"123456789012345678901234567890",
    b"-9223372036854775809",
    b"18446744073709551616",
    b'"\\ud800"',
    b'"\\uDC00x"',
    b'"\\ud83d\\ude00"',
    b'"\xed\xa0\x80"',
    b'"\xff"',
    b"\xef\xbb\xbf[1]",
    "[1, 2]".encode("utf-16"),
    "[1, 2]".encode("utf-16-le"),
    "[1, 2]".encode("utf-32"),
    "[1, 2]".encode("utf-32-be"),
    codecs.BOM_UTF8 + b'{"a": "\\u00e9"}',
    b'{"a": 1, "b": 2, "a": 3}',
    b"-0",
    b"-0.0",
    b"1E+2",
    b"1e-400",
    b"4.9e-324",
    b"2.2250738585072011e-308",
    b"01",
    b"1.",
    b".5",
    b"-",
    b"tru",
    b"[1,]",
    b'{"a":1,}',
    b"[1]\x00",
    b"[1]\x0c",
    b"\x0c[1]",
    b'"a\x01b"',
    b'"a\x7fb"',
    b'"\\u0000"',
    b'"\\/"',
    b'"\\x"',
    b"\t[1]\r\n ",
    b"   ",
    b"",
    b"[" * 600 + b"]" * 600,
    b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
    b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH,
    b"[" * 5000 + b"]" * 5000,
    b"[" * 100_000,
    b'{"token": "sk_live_abcdefghijklmnop", "x": tru',
    b"<html><body>502 Bad Gateway</body></html>",
]


@pytest.mark.parametrize("content", EDGES, ids=range(len(EDGES)))
def test_edges_give_json_answer(content: bytes) -> None:
    assert_same_outcome(content)


def test_error_excerpt_is_redacted_on_both_paths() -> None:
    secret = "Zq8vN3sKp0LmW2xR7tYu"
    redaction.register_secret(secret)  # forgotten after the test (tests/conftest.py)
    for content in (f'{{"key": "{secret}", "n": NaN}}'.encode(), f'{{"key": "{secret}", '.encode()):
        kind, (message, excerpt, *_) = outcome(content, msgspec=True)
        assert kind == "error" and secret not in message and secret not in excerpt
        assert_same_outcome(content)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)

MUTATIONS = [b"NaN", b"\\ud800", b"\xff", b"\xed\xa0\x80", b"1e999", b"]", b"{", b'"', b"\\", b",", b"\x00", b" "]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON, st.booleans(), st.booleans(), st.randoms(use_true_random=False))
def test_randomized_bodies_same_outcome(value: Any, ascii_only: bool, mutate: bool, rnd: random.Random) -> None:
    content = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    if mutate and content:
        at = rnd.randrange(len(content) + 1)
        if rnd.random() < 0.3:
            content = content[:at]  # truncated
        else:
            content = content[:at] + rnd.choice(MUTATIONS) + content[at:]
    assert_same_outcome(content)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(min_value=-(2**80), max_value=2**80))
def test_numbers_decode_bit_for_bit(number: float, integer: int) -> None:
    for text in (repr(number), f"{number:.17g}", f"{number:e}", str(integer), f"{integer}.0", f"{integer}e-3"):
        assert_same_outcome(f"[{text}]".encode())


def depth(value: Any) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, list | dict):
            level += 1
            deepest = max(deepest, level)
            stack.extend((child, level) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


TRICKY_CHARS = [*'[]{}"\\/abc\u00e9\u2028\n', "\\u005b", "\\\\["]
TRICKY_TEXT = st.lists(st.sampled_from(TRICKY_CHARS), max_size=8).map("".join)


def nested(levels: int, leaf: Any) -> Any:
    for i in range(levels):
        leaf = [leaf] if i % 2 else {'[k\\"{': leaf, "x": "]}\\"}
    return leaf


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=40),
    st.lists(TRICKY_TEXT, max_size=6),
    st.integers(min_value=1, max_value=40),
    st.sampled_from(["utf-8", "utf-16", "utf-32-le"]),
    st.booleans(),
)
def test_nesting_check_agrees_with_a_walk(
    levels: int, texts: list[str], limit: int, encoding: str, ascii_only: bool
) -> None:
    value = nested(levels, texts)
    content = json.dumps(value, ensure_ascii=ascii_only).encode(encoding)
    assert nesting_exceeds(content, limit) == (depth(value) > limit)


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 700])
def test_nesting_at_the_limit_with_escapes(levels: int) -> None:
    value = nested(levels, ['\\"[', "{\\\\"])
    content = json.dumps(value).encode()
    assert nesting_exceeds(content, MAX_JSON_DEPTH) == (depth(value) > MAX_JSON_DEPTH)
    assert_same_outcome(content)
