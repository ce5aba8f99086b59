"""Secret handling, in one place.

Every credential handed to backupbridge is wrapped in ``Secret`` (its repr never shows the value) and
registered here, as is every token, session id and cookie a login mints; ``redact`` then removes them from
any text, and ``RedactingFilter`` applies it to every log record of the ``backupbridge``, ``httpx`` and
``httpcore`` loggers. Exceptions redact their messages, URLs, vendor messages and excerpts, and ``excerpt``
redacts a body *before* cutting it short, so no prefix of a secret survives the cut.

What is removed:

- each registered secret in its raw, URL-encoded (``quote`` and ``quote_plus``), JSON-escaped and
  HTML-escaped forms. A secret of 8 characters or more that is not a plain word or number is removed
  wherever it appears; a shorter one, or one that is only letters or only digits (``summary``, ``123456``),
  only where it stands as a whole token (not inside ``company_summary`` or ``/device/summary``), so a
  weak secret does not wreck ordinary messages; one of 1-3 characters only in credential-shaped places.
- credential-shaped values, registered or not: ``Authorization: Bearer|Basic ...``, ``X-Api-Key: ...``,
  ``key=``/``password=``/``token=``/``ApiKey: ``/``"Password": "..."`` (also JSON-escaped, HTML-escaped and
  URL-encoded), and every value of a ``Cookie``/``Set-Cookie`` line (``JSESSIONID=...``).

The registered forms are compiled into regular expressions (tries of alternatives) the next time text
is redacted (a secret registered and released with no redaction in between is never compiled), in a few
groups merged like a binary counter, so registering stays cheap and ``redact`` costs a handful of regex
passes whatever the number of secrets.

How long a secret is kept: a credential (every ``Secret``) for the life of the process. What a login mints
(``register_secret``) belongs to the ``SecretScope`` active when it is registered, the connection that
minted it, and is released with it: a long-running process opening a connection per account per pass
(``AsyncBridge``) keeps only the tokens of its open connections, not every token it ever saw. A released
value stays in the compiled patterns (still redacted, at no cost) until released ones outnumber the live
ones, then the patterns are rebuilt from the live ones alone. With no scope active a registered value is
kept for the life of the process, as a credential is.
"""

from __future__ import annotations

import base64
import contextvars
import html
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus, unquote

__all__ = [
    "REDACTED",
    "SECRET_FIELDS",
    "RedactingFilter",
    "Secret",
    "SecretScope",
    "excerpt",
    "install_log_redaction",
    "redact",
    "register_secret",
    "register_secret_field",
    "scrub_json",
]

REDACTED = "***"

# A secret this long (and not a plain word or number) is removed wherever it appears; shorter or word-like
# ones only as whole tokens, the shortest only in credential-shaped places (see the module docstring).
_ANYWHERE_LENGTH = 8
_TOKEN_LENGTH = 4

# JSON fields that hold credentials in any vendor's payloads (login passwords, API keys, minted tokens).
# Their values are removed from cassettes and from any text. A vendor's own names (CleverFox's per-device
# agent ``ApiKey``) are declared by its plugin (``Vendor(secret_fields=...)``) and added by
# ``register_secret_field``.
SECRET_FIELDS: tuple[str, ...] = ("apiKey", "api_key", "Password", "password", "access_token", "refresh_token")

# Credential shapes, redacted even when the value was never registered. A quote may be plain, JSON-escaped,
# HTML-escaped or URL-encoded, because proxies and WAF pages echo requests in all of those forms.
_QUOTE = r"""(?:\\?"|\\?'|&quot;|&\#34;|&\#39;|%22|%27)?"""
# Names that say "credential" even inside a longer one (``x_api_key``), and short ones that do only alone
# (``key=`` but not ``page_key=``).
_AFTER_ENCODED = r"(?<=%22)|(?<=%27)|(?<=%20)|(?<=%2C)|(?<=%7B)"  # a URL-encoded quote, space, comma or brace
_NAMES = (
    r"(?:(?<![A-Za-z0-9])|" + _AFTER_ENCODED + r")(?i:api[-_]?key|apikey|password|passwd|client_secret|"
    r"access_token|refresh_token|id_token|auth_token|session_?id|jsessionid)"
    r"|(?:(?<![A-Za-z0-9_\-])|" + _AFTER_ENCODED + r")(?i:key|pwd|secret|token|sid)"
)
_SCHEME = r"(?:(?i:bearer|basic|token)(?:\s|%20|\+)+)?"
_VALUE = r"""(?!(?:null|true|false)\b)[^\s"'&;,<>{}()\[\]\\]+"""
_CONTEXTS = re.compile(
    # Authorization: Bearer <x> / Basic <x> / Token <x>
    r"(?P<auth>(?i:authorization)" + _QUOTE + r"\s*[:=]\s*" + _QUOTE + r"\s*(?i:bearer|basic|token)\s+)"
    r"""[^\s"',}&;<\\]+"""
    # a Cookie or Set-Cookie line: every value in it
    r"|(?P<cookie>(?i:set-cookie|cookie)" + _QUOTE + r"\s*:\s*" + _QUOTE + r")(?P<cookies>[^\r\n<\"\\]*)"
    # name=value, name: value, "name": "value" (any quoting), for credential-like names
    # (a scheme word before the value, ``token=Bearer <x>``, is kept and the value after it removed)
    r"|(?P<field>(?:" + _NAMES + r")" + _QUOTE + r"\s*(?:=|:|%3[Dd]|%3[Aa])\s*" + _QUOTE + _SCHEME + r")" + _VALUE
)
# Every credential-shaped context contains one of these (lower-cased): a cheap test skips the regex
# for the usual log line.
_CONTEXT_WORDS = ("auth", "cookie", "key", "pass", "pwd", "secret", "token", "sid", "session")
_COOKIE_PAIR = re.compile(r"([^=;,\s]+=)[^;,\s]*")
_COOKIE_ATTRIBUTES = frozenset({"path=", "domain=", "expires=", "max-age=", "samesite="})

# What may not touch a word-like secret for it to count as a whole token (so ``company_summary`` and
# ``/device/summary`` are left alone); a trailing full stop ends a sentence, not a token.
_TOKEN_BEFORE = r"(?<![A-Za-z0-9_/.\-])"
_TOKEN_AFTER = r"(?![A-Za-z0-9_/\-]|\.[A-Za-z0-9_])"

_lock = threading.Lock()
# Every live secret: those kept for the process (``_permanent``), and those held by open scopes, with how
# many scopes hold each (``_held``). A value may be both; it is live while either says so.
_secrets: set[str] = set()
_permanent: set[str] = set()
_held: dict[str, int] = {}
# The secrets in groups of about 1, 2, 4, 8... (a binary counter), each compiled once: a new secret
# recompiles only the small groups it merges with, so registering n secrets costs O(n log n) and
# ``redact`` runs at most log2(n) + 1 patterns. The groups may still hold released values (``_stale``
# of them): they are rebuilt from the live ones when those are outnumbered. A new secret waits in
# ``_pending`` until text is redacted: a token minted and released with no text redacted in between (a
# connection whose requests all worked) is never compiled at all.
_groups: tuple[tuple[frozenset[str], re.Pattern[str] | None], ...] = ()
_compiled: set[str] = set()
_pending: set[str] = set()
_stale = 0
_longest = 0
_REBUILD_FLOOR = 64  # released values tolerated in the patterns whatever the number of live ones


class SecretScope:
    """The secrets one connection mints (tokens, session ids, cookie values), released with it.

    ``with scope.active():`` (or ``scope.enter()``/``exit``) makes every ``register_secret`` in that thread
    or task (and the tasks it starts) belong to ``scope``; ``release()`` forgets those no other scope and
    no credential holds. Releasing twice is harmless; a released scope registers nothing more of its own
    (a late registration is kept for the process, never lost).
    """

    __slots__ = ("_released", "_values")

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._released = False

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<SecretScope {len(self._values)} secrets{' released' if self._released else ''}>"

    def enter(self) -> contextvars.Token[SecretScope | None]:
        return _scope.set(self)

    @staticmethod
    def exit(token: contextvars.Token[SecretScope | None]) -> None:
        _scope.reset(token)

    @contextmanager
    def active(self) -> Iterator[SecretScope]:
        token = _scope.set(self)
        try:
            yield self
        finally:
            _scope.reset(token)

    def release(self) -> None:
        """Forget this scope's secrets (those another scope or a credential holds stay)."""
        global _stale
        with _lock:
            if self._released:
                return
            self._released = True
            values, self._values = self._values, set()
            for value in values:
                count = _held.get(value, 0) - 1
                if count > 0:
                    _held[value] = count
                    continue
                _held.pop(value, None)
                if value not in _permanent:
                    _secrets.discard(value)
                    if value in _pending:
                        _pending.discard(value)  # never compiled: nothing stale left behind
                    else:
                        _stale += 1
            if _stale > max(_REBUILD_FLOOR, len(_secrets)):
                _rebuild()


_scope: contextvars.ContextVar[SecretScope | None] = contextvars.ContextVar("backupbridge_secret_scope", default=None)


def current_scope() -> SecretScope | None:
    """The scope ``register_secret`` files a value under here (``None``: kept for the process)."""
    return _scope.get()


def _rebuild() -> None:
    """The patterns from the live secrets alone (under ``_lock``)."""
    global _groups, _longest, _stale
    live = frozenset(_secrets)
    _groups = ((live, _compile(set(live))),) if live else ()
    _compiled.clear()
    _compiled.update(live)
    _pending.clear()
    _longest = max((len(f) for value in live for f in _forms(value)), default=0)
    _stale = 0


class Secret:
    """A credential value. ``str()`` and ``repr()`` never show it; ``reveal()`` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value
        _register(value, None)  # a credential: kept for the life of the process

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


def _forms(value: str) -> set[str]:
    """The ways ``value`` shows up when a request is echoed: raw, URL-encoded, JSON- and HTML-escaped."""
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value), html.escape(value)}
    escaped = json.dumps(value)[1:-1]
    forms |= {escaped, escaped.replace("/", "\\/"), json.dumps(value, ensure_ascii=False)[1:-1]}
    if len(value) >= _ANYWHERE_LENGTH:  # an echo of the bare key base64-encoded (a debug header, a token)
        encoded = value.encode()
        forms |= {base64.b64encode(encoded).decode(), base64.urlsafe_b64encode(encoded).decode()}
        forms |= {f.rstrip("=") for f in list(forms) if f.endswith("=")}
    # Some encoders write lower-case percent escapes.
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in list(forms)}
    return {f for f in forms if f}


def _trie_regex(words: set[str]) -> str:
    """One alternation for many literals, as a trie: cheap to run whatever the number of words.

    At each node the longer continuations come first, so a secret containing another is removed whole.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return build(trie)


def _word_like(value: str) -> bool:
    return len(value) < _ANYWHERE_LENGTH or value.isalpha() or value.isdigit()


def _compile(secrets: set[str]) -> re.Pattern[str] | None:
    anywhere: set[str] = set()
    tokens: set[str] = set()
    for value in secrets:
        if len(value) < _TOKEN_LENGTH:
            continue  # only credential-shaped places (``_CONTEXTS``) redact these
        (tokens if _word_like(value) else anywhere).update(_forms(value))
    parts = []
    if anywhere:  # every one of these is 8 characters or more: matched whatever its case (``KEY.upper()``)
        parts.append("(?i:" + _alternatives(anywhere) + ")")
    if tokens:
        parts.append(_TOKEN_BEFORE + "(?:" + _alternatives(tokens) + ")" + _TOKEN_AFTER)
    return re.compile("|".join(parts)) if parts else None


_TRIE_LENGTH = 200  # longer forms are listed whole (a trie that deep would exhaust the recursion limit)


def _alternatives(words: set[str]) -> str:
    """The trie of ``words``, after the very long ones (longest first, so one containing another wins)."""
    long = sorted((w for w in words if len(w) > _TRIE_LENGTH), key=len, reverse=True)
    short = {w for w in words if len(w) <= _TRIE_LENGTH}
    return "|".join([*(re.escape(w) for w in long), *([_trie_regex(short)] if short else [])])


def register_secret(value: str) -> None:
    """Make ``redact`` remove ``value`` (in every form it is echoed in) from every text from now on.

    The value belongs to the active ``SecretScope`` (the connection that minted it) and is forgotten when
    that is released; with none active it is kept for the process. Cheap when the value is known already
    (it is called on every login and every Basic header).
    """
    _register(value, _scope.get())


def _register(value: str, scope: SecretScope | None) -> None:
    global _stale
    if not value:
        return
    if scope is not None and scope._released:
        scope = None  # registered after its connection closed: kept, never lost
    if value in _permanent or (scope is not None and value in scope._values):
        return  # the usual case (the same Basic header on every request): no lock
    with _lock:
        if scope is None:
            _permanent.add(value)
        elif value not in scope._values:
            scope._values.add(value)
            _held[value] = _held.get(value, 0) + 1
        if value in _secrets:
            return
        _secrets.add(value)
        if value in _compiled:
            _stale -= 1  # released earlier and still in the patterns: live again
            return
        _pending.add(value)


def _flush() -> None:
    """Compile the secrets registered since the last redaction (one group, merged like a binary counter)."""
    global _groups, _longest
    with _lock:
        if not _pending:
            return
        groups = list(_groups)
        merged = frozenset(_pending)
        while groups and len(groups[-1][0]) <= len(merged):
            merged |= groups.pop()[0]
        groups.append((merged, _compile(set(merged))))
        _longest = max(_longest, *(len(f) for value in _pending for f in _forms(value)))
        _groups = tuple(groups)  # swapped whole: a concurrent ``redact`` sees the old groups or the new
        _compiled.update(_pending)
        _pending.clear()


def _context_value(match: re.Match[str]) -> str:
    if match.group("cookie") is not None:
        return match.group("cookie") + _COOKIE_PAIR.sub(_cookie_value, match.group("cookies"))
    return (match.group("auth") or match.group("field") or "") + REDACTED


def _cookie_value(match: re.Match[str]) -> str:
    name = match.group(1)
    return match.group(0) if name.lower() in _COOKIE_ATTRIBUTES else name + REDACTED


_ENCODED_MARKS = ("\\u", "%", "&#", "\n")
_JSON_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")
_LINE_FOLD = re.compile(r"\r?\n[ \t]+")


def _json_unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


def _normalised(text: str) -> str:
    """``text`` with the encodings an echo hides a secret in undone: ``\\uXXXX`` escapes (surrogate pairs
    joined), HTML character references, percent-encoding (up to three layers: ``%2569`` is ``i``) and line
    folds, so every such form of a registered secret collapses to the secret itself."""
    if "\\u" in text:
        text = _JSON_ESCAPE.sub(_json_unescape, text).encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if "&" in text:
        text = html.unescape(text)
    for _ in range(3):
        if "%" not in text:
            break
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    if "\n" in text:
        text = _LINE_FOLD.sub("", text)
    return text


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential-shaped value replaced by ``***``.

    A text that holds an encoding (``\\u`` escapes, ``%XX``, ``&#NN;``, a line fold) is also decoded and
    redacted again; when a secret surfaces only once decoded, the decoded text, redacted, is returned.
    Ordinary text (none of those marks) costs nothing more.
    """
    cleaned = _redact_plain(text)
    if any(mark in cleaned for mark in _ENCODED_MARKS):
        normal = _normalised(cleaned)
        if normal != cleaned:
            again = _redact_plain(normal)
            if again != normal:
                return again
    return cleaned


def _redact_plain(text: str) -> str:
    if _pending:
        _flush()
    for _, pattern in _groups:
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
    lowered = text.lower()
    if not any(word in lowered for word in _CONTEXT_WORDS):
        return text
    return _CONTEXTS.sub(_context_value, text)


def excerpt(body: bytes | str, limit: int) -> str:
    """The first ``limit`` characters of ``body`` for an error message, redacted *before* it is cut.

    Only a prefix generously longer than ``limit`` plus the longest registered secret is redacted, so a
    64 MiB body costs no more than a short one. A cut excerpt ends with ``...``.
    """
    if _pending:
        _flush()  # ``_longest`` counts every registered secret
    window = limit + _longest + 1024
    raw = body[: window * 4] if isinstance(body, bytes | bytearray) else body
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else raw
    cut = len(text) > window or len(body) > len(raw)
    cleaned = redact(text[:window])
    if len(cleaned) > limit or cut:
        return cleaned[:limit] + "..."
    return cleaned


def scrub_json(data: Any) -> Any:
    """``data`` (parsed JSON) with the value of every ``SECRET_FIELDS`` key replaced, at any depth."""
    if isinstance(data, dict):
        return {k: (REDACTED if k in SECRET_FIELDS and v is not None else scrub_json(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub_json(v) for v in data]
    return data


class _RedactedMessage:
    """A log record's message, formatted and redacted the first time a handler asks for it.

    Most records are never emitted (no handler at their level, or none at all): they cost a wrapper, not a
    formatting and a redaction pass."""

    __slots__ = ("_args", "_msg", "_text")

    def __init__(self, msg: object, args: Any) -> None:
        self._msg, self._args = msg, args
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            message = str(self._msg)
            if self._args:
                message = message % self._args
            self._text = redact(message)
            self._msg = self._args = None  # the unredacted parts are not kept once formatted
        return self._text

    def __repr__(self) -> str:
        return repr(str(self))


class RedactingFilter(logging.Filter):
    """Redacts the formatted message of every record it sees, when a handler formats it (lazily)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, _RedactedMessage):
            record.msg = _RedactedMessage(record.msg, record.args)
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


def register_secret_field(name: str) -> None:
    """Treat JSON key ``name`` as a credential everywhere ``SECRET_FIELDS`` is read (a plugin's declaration)."""
    global SECRET_FIELDS
    if name not in SECRET_FIELDS:
        SECRET_FIELDS = (*SECRET_FIELDS, name)
