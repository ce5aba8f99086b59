"""Secret handling, in one place.

Every credential handed to backupbridge is wrapped in ``Secret`` (its repr never shows the value) and
registered here; ``redact`` then removes every registered secret from any text, and ``RedactingFilter``
applies it to every log record of the ``backupbridge``, ``httpx`` and ``httpcore`` loggers. Exceptions
raised by the HTTP layer pass their messages, URLs and vendor messages through ``redact`` too.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_FIELDS",
    "RedactingFilter",
    "Secret",
    "install_log_redaction",
    "redact",
    "register_secret",
    "scrub_json",
]

REDACTED = "***"

# Shorter values are not redacted on their own: they would erase ordinary words from every message.
# (Credential-shaped values, such as an Authorization header, are redacted whatever their length.)
_MIN_SECRET_LENGTH = 6
_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()  # longest first, so a secret containing another is removed whole

# JSON fields that hold credentials in some vendor's payloads (CleverFox's per-device agent ApiKey,
# login passwords, minted tokens). Their values are removed from cassettes and from any text.
SECRET_FIELDS = ("ApiKey", "apiKey", "api_key", "Password", "password", "access_token", "refresh_token")

# Credential shapes redacted even when the value was never registered (a token minted by a login).
_HEADER_PATTERNS = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic)\s+)[^\s\"',}]+"
    r"|(\"(?:" + "|".join(SECRET_FIELDS) + r")\"\s*:\s*\")[^\"]*"
)


class Secret:
    """A credential value. ``str()`` and ``repr()`` never show it; ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


def register_secret(value: str) -> None:
    """Make ``redact`` remove ``value`` from every text from now on (cheap: called on every login)."""
    global _ordered
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential-shaped value replaced by ``***``."""
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _HEADER_PATTERNS.sub(lambda m: (m.group(1) or m.group(2) or "") + REDACTED, text)


def scrub_json(data: Any) -> Any:
    """``data`` (parsed JSON) with the value of every ``SECRET_FIELDS`` key replaced, at any depth."""
    if isinstance(data, dict):
        return {k: (REDACTED if k in SECRET_FIELDS and v is not None else scrub_json(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub_json(v) for v in data]
    return data


class RedactingFilter(logging.Filter):
    """Redacts the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


_installed = False
_LOGGERS = (
    "backupbridge",
    "backupbridge.http",
    "backupbridge.plugins",
    "backupbridge.cli",
    "backupbridge.sandbox",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


def install_log_redaction() -> None:
    """Attach ``RedactingFilter`` to the loggers that can see requests (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    log_filter = RedactingFilter()
    # A logger's filters see only records created on that logger, not on its children: name each one.
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(log_filter)
