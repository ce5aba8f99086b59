"""A credential after a scheme word (``token=Bearer <x>``) is removed, not the scheme word."""

from __future__ import annotations

import pytest

from backupbridge.redaction import redact


@pytest.mark.parametrize(
    "text",
    [
        "token=Bearer abcdef123456",
        "api_key: Basic abcdef123456",
        '"access_token": "Bearer abcdef123456"',
        "session_id=token%20abcdef123456",
        "?auth_token=Bearer+abcdef123456&page=2",
    ],
)
def test_the_value_after_a_scheme_word_is_redacted(text: str) -> None:
    cleaned = redact(text)
    assert "abcdef123456" not in cleaned
    assert "***" in cleaned


def test_a_scheme_word_alone_is_still_a_value() -> None:
    assert redact("token=Bearer") == "token=***"
