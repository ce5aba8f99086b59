"""A registered secret in every encoded form an echo produces (adversarial finding 6 of issue 12): each is
removed from excerpts and vendor messages, and ordinary text is left exactly as it was."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from backupbridge import DecodingError
from backupbridge.redaction import Secret, excerpt, redact

KEY = "idr-sandbox-3f9c2a7d41e8b605"
Secret(KEY)

FORMS: dict[str, Callable[[str], str]] = {
    "one-char-u-escape": lambda s: f"\\u{ord(s[0]):04x}" + s[1:],
    "u-escaped": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "u-escaped-upper": lambda s: "".join(f"\\u{ord(c):04X}" for c in s),
    "percent-every-char": lambda s: "".join(f"%{ord(c):02X}" for c in s),
    "double-percent": lambda s: "".join(f"%25{ord(c):02X}" for c in s),
    "html-decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html-hex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "upper-case": str.upper,
    "line-fold": lambda s: s[: len(s) // 2] + "\r\n " + s[len(s) // 2 :],
}


def revealed(text: str) -> bool:
    """Whether any form of the key (or its halves) survives in ``text``."""
    lowered = text.lower()
    halves = (KEY[: len(KEY) // 2], KEY[len(KEY) // 2 :])
    return any(form(KEY).lower() in lowered for form in FORMS.values()) or all(h in lowered for h in halves)


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_every_encoded_form_is_redacted_in_a_vendor_message(form: str) -> None:
    message = f"invalid api credential {FORMS[form](KEY)} for this account"
    cleaned = redact(message)
    assert not revealed(cleaned), cleaned
    assert "invalid api credential" in cleaned and "***" in cleaned


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_every_encoded_form_is_redacted_in_an_excerpt(form: str) -> None:
    body = f"<html><pre>X-Api-Token {FORMS[form](KEY)}</pre> {'x' * 5000}</html>".encode()
    assert not revealed(excerpt(body, 120))
    error = DecodingError("not JSON", endpoint="GET /company", excerpt=body.decode())
    assert not revealed(str(error)) and not revealed(repr(error)) and not revealed(error.excerpt or "")


def test_a_json_escaped_echo_inside_a_json_body() -> None:
    body = json.dumps({"echo": {"headers": {"X-Key": FORMS["one-char-u-escape"](KEY)}}})
    assert not revealed(excerpt(body, 200))


@pytest.mark.parametrize(
    "line",
    [
        "GET https://vendor.example/api/a%20b?page=2&size=100 -> 200",
        "caf\\u00e9 &#233; 100% done",
        "line one\n  indented line two",
        "nothing to see here",
    ],
)
def test_ordinary_text_is_left_as_it_was(line: str) -> None:
    assert redact(line) == line
