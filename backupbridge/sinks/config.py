"""``[[sinks]]`` tables of the config file -> sinks.

    [[sinks]]
    type = "webhook"
    name = "ops"                       # optional, default the type; unique
    url = "https://hooks.example.com/backupbridge"
    secret_env = "BACKUPBRIDGE_WEBHOOK_SECRET"      # or secret_keyring = { service = "...", username = "..." }

    [[sinks]]
    type = "email"
    host = "smtp.example.com"
    port = 587                          # STARTTLS; starttls = false only for a relay on this host
    from = "backups@example.com"
    to = ["noc@example.com"]
    username = "backups@example.com"    # optional, with password_env or password_keyring
    password_env = "SMTP_PASSWORD"
    cafile = "/etc/ssl/private-ca.pem"  # optional: a private CA for STARTTLS

Secrets are read when a delivery is made, like accounts' credentials (``config.FromEnvironment``,
``config.FromKeyring``): a missing one fails that sink alone, and its events are kept.
"""

from __future__ import annotations

import re
import ssl
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import FromEnvironment, FromKeyring, default_config_path
from ..errors import ConfigurationError
from ..redaction import Secret
from .base import Sink
from .email import EmailSink
from .registry import SinkSettings, SinkType, plugin_sink_types
from .webhook import WebhookSink

__all__ = ["SINK_TYPES", "load_sinks"]

SINK_TYPES = ("webhook", "email")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_KEYS = {
    "webhook": {"type", "name", "url", "secret_env", "secret_keyring", "timeout"},
    "email": {
        "type", "name", "host", "port", "from", "to", "username", "password_env", "password_keyring",
        "starttls", "cafile", "timeout",
    },
}  # fmt: skip
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _secret(where: str, table: Mapping[str, Any], prefix: str, *, required: bool) -> Callable[[], str | Secret] | None:
    env, keyring = table.get(f"{prefix}_env"), table.get(f"{prefix}_keyring")
    if env is not None and keyring is not None:
        raise ConfigurationError(f"{where}: give {prefix}_env or {prefix}_keyring, not both")
    if isinstance(env, str) and env:
        source: FromEnvironment | FromKeyring = FromEnvironment(env)
    elif isinstance(keyring, Mapping) and isinstance(keyring.get("service"), str):
        source = FromKeyring(str(keyring["service"]), str(keyring.get("username", prefix)))
    elif env is None and keyring is None and not required:
        return None
    else:
        raise ConfigurationError(
            f'{where}: needs {prefix}_env = "VARIABLE" or {prefix}_keyring = {{ service = "...", username = "..." }} '
            "(secrets are never written in the file)"
        )
    label = where

    def read() -> str | Secret:
        value: str | Secret = source.resolve(label, prefix)
        return value

    return read


def _string(where: str, table: Mapping[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f'{where}: needs {key} = "..."')
    return value.strip()


def _number(where: str, table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"{where}: {key} must be a positive number")
    return float(value)


def _webhook(where: str, label: str, table: Mapping[str, Any]) -> WebhookSink:
    url = _string(where, table, "url")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{where}: url must be an https:// URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ConfigurationError(f"{where}: url must be https:// (http:// only for loopback)")
    if parts.username or parts.password:
        raise ConfigurationError(f"{where}: url must not hold a user or password (use secret_env)")
    secret = _secret(where, table, "secret", required=True)
    assert secret is not None
    return WebhookSink(label, url=url, secret=secret, timeout=_number(where, table, "timeout", 10))


def _email(where: str, label: str, table: Mapping[str, Any]) -> EmailSink:
    to = table.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(t, str) and "@" in t for t in to):
        raise ConfigurationError(f'{where}: to must be a list of addresses, like ["noc@example.com"]')
    port = table.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigurationError(f"{where}: port must be a number from 1 to 65535")
    starttls = table.get("starttls", True)
    if not isinstance(starttls, bool):
        raise ConfigurationError(f"{where}: starttls must be true or false")
    host = _string(where, table, "host")
    if not starttls and host not in _LOOPBACK:
        raise ConfigurationError(f"{where}: starttls = false only for a relay on this host (127.0.0.1, ::1, localhost)")
    context = None
    if table.get("cafile") is not None:
        try:
            context = ssl.create_default_context(cafile=_string(where, table, "cafile"))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"{where}: cannot read cafile: {exc}") from exc
    username = table.get("username")
    if username is not None and not isinstance(username, str):
        raise ConfigurationError(f"{where}: username must be a string")
    password = _secret(where, table, "password", required=username is not None)
    return EmailSink(
        label,
        host=host,
        port=port,
        sender=_string(where, table, "from"),
        recipients=to,
        username=username,
        password=password,
        starttls=starttls,
        ssl_context=context,
        timeout=_number(where, table, "timeout", 30),
    )


def sinks_from(data: Mapping[str, Any], path: Path) -> list[Sink]:
    """The sinks of a parsed config file (see the module docstring)."""
    tables = data.get("sinks", [])
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise ConfigurationError(f"{path}: sinks must be [[sinks]] tables")
    sinks: list[Sink] = []
    plugged: dict[str, SinkType] | None = None
    for index, table in enumerate(tables, start=1):
        kind = table.get("type")
        where = f"{path}: sink {index}"
        if kind not in SINK_TYPES:
            plugged = plugin_sink_types(SINK_TYPES) if plugged is None else plugged  # types from plugins
            if not isinstance(kind, str) or kind not in plugged:
                known = ", ".join((*SINK_TYPES, *sorted(plugged)))
                raise ConfigurationError(f"{where}: type must be one of {known} (got {kind!r})")
        label = table.get("name", kind)
        if not isinstance(label, str) or not _NAME.match(label):
            raise ConfigurationError(f"{where}: name must be letters, digits, '.', '_' or '-'")
        where = f"{path}: sink {label!r}"
        keys = _KEYS[kind] if kind in _KEYS else {"type", "name", *plugged[kind].keys} if plugged else set()
        unknown = sorted(set(table) - keys)
        if unknown:
            raise ConfigurationError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")
        if any(s.label == label for s in sinks):
            raise ConfigurationError(f'{where}: two sinks have this name; give one name = "..."')
        if kind not in _KEYS and plugged:
            sinks.append(plugged[kind].build(SinkSettings(where=where, label=label, table=table)))
            continue
        sinks.append(_webhook(where, label, table) if kind == "webhook" else _email(where, label, table))
    return sinks


def load_sinks(path: Path | None = None, *, required: bool = False) -> list[Sink]:
    """The ``[[sinks]]`` of the config file (``default_config_path()`` unless ``path``); none when the file
    does not exist, unless ``required``.

    Raises:
        ConfigurationError: the file cannot be read, or a sink table is invalid (named, with the key).
    """
    path = path or default_config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"no configuration file at {path}") from None
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    return sinks_from(data, path)
