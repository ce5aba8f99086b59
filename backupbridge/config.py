"""Accounts from a TOML file; secrets from the environment, the keyring or (for an owner-only file) inline.

Environment variables and keyring entries are read when an account is connected, not when the file is
loaded, so one account's missing secret is that account's failure alone.

[accounts.main]
vendor = "idrive360"
timezone = "Europe/Berlin"          # where the vendor's zone-less times are read (default UTC)
# base_url = "https://..."          # for self-hosted vendors
[accounts.main.credentials]
api_key = { env = "IDRIVE360_API_KEY" }   # or { keyring = "service", username = "..." },
                                          # or api_key = "..." in a file only its owner can read

[plugins]                                 # optional (docs/plugins.md, "Trust")
load = ["acme"]                           # the third-party plugins (entry-point names) to load
block = ["vprotect"]                      # plugins never to load, built-in ones included
"""

from __future__ import annotations

import difflib
import os
import stat
import sys
import tomllib
import zoneinfo
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import platformdirs

from .errors import ConfigurationError, MissingCredentialsError
from .http._auth import refuse_userinfo
from .redaction import Secret

if TYPE_CHECKING:
    from .vendors import Vendor

__all__ = [
    "AccountConfig",
    "FromEnvironment",
    "FromKeyring",
    "PluginSettings",
    "default_config_path",
    "load_accounts",
    "load_plugin_settings",
]


def default_config_path() -> Path:
    """``$BACKUPBRIDGE_CONFIG``, else ``config.toml`` in the platform's config directory (platformdirs)."""
    if os.environ.get("BACKUPBRIDGE_CONFIG"):
        return Path(os.environ["BACKUPBRIDGE_CONFIG"])
    return Path(platformdirs.user_config_dir("backupbridge")) / "config.toml"


def default_state_dir() -> Path:
    """Where small state (the open alerts) is kept."""
    return Path(platformdirs.user_state_dir("backupbridge"))


@attrs.frozen
class FromEnvironment:
    """A credential read from an environment variable when the account is connected, not when it is loaded."""

    variable: str
    secret: bool = True

    def resolve(self, account: str, key: str) -> Any:
        found = os.environ.get(self.variable)
        if not found:
            raise MissingCredentialsError(
                f"account {account!r}: {key} comes from the environment variable {self.variable}, which is not set",
                looked_in=(f"environment {self.variable}",),
            )
        return Secret(found) if self.secret else found


@attrs.frozen
class FromKeyring:
    """A credential read from the system keyring when the account is connected (``backupbridge[keyring]``)."""

    service: str
    username: str
    secret: bool = True

    def resolve(self, account: str, key: str) -> Any:
        try:
            import keyring  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise ConfigurationError(
                f"account {account!r}: {key} comes from the keyring, which is not installed "
                "(pip install 'backupbridge[keyring]')"
            ) from None
        try:
            found = keyring.get_password(self.service, self.username)
        except Exception as exc:  # keyring backends raise their own types (no backend, locked...)
            raise ConfigurationError(
                f"account {account!r}: the keyring could not be read: {type(exc).__name__}"
            ) from exc
        if not found:
            raise MissingCredentialsError(
                f"account {account!r}: no {key} in the keyring under service {self.service!r}, user {self.username!r}",
                looked_in=(f"keyring {self.service}/{self.username}",),
            )
        return Secret(str(found)) if self.secret else str(found)


CredentialSource = FromEnvironment | FromKeyring


@attrs.frozen(kw_only=True)
class AccountConfig:
    """One named account: the vendor, where it lives, and its credentials (secrets wrapped).

    ``credentials`` holds values (plain, or ``Secret``) and references (``FromEnvironment``,
    ``FromKeyring``) that are only read by ``resolved_credentials()``, when the account is connected: so
    listing accounts, or using one of them, never needs every other account's environment or keyring.
    """

    name: str
    vendor: str
    credentials: Mapping[str, Any] = attrs.field(repr=False)
    sources: Mapping[str, str] = attrs.field(factory=dict)
    """Where each credential came from (``env IDRIVE360_API_KEY``, ``keyring``, ``inline``), never its value."""
    base_url: str | None = None
    timezone: str = "UTC"
    transport: str = "httpx"
    """How ``AsyncBridge`` talks to the account: ``httpx`` (its own transport) or ``aiohttp`` (httpx over
    aiohttp, the ``backupbridge[aiohttp]`` extra: less CPU a request). Not part of ``connect_kwargs``."""

    def resolved_credentials(self) -> dict[str, Any]:
        """The credentials with every reference read now.

        Raises:
            MissingCredentialsError: an environment variable is not set, or the keyring has no entry.
            ConfigurationError: the keyring is not installed or cannot be read.
        """
        return {
            k: v.resolve(self.name, k) if isinstance(v, CredentialSource) else v for k, v in self.credentials.items()
        }

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``connect``/``connect_async`` (credentials resolved, see above)."""
        kwargs: dict[str, Any] = {"account": self.name, "timezone": self.timezone, **self.resolved_credentials()}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        return kwargs


def _owner_only(path: Path) -> bool:
    if sys.platform == "win32":  # pragma: no cover - POSIX permissions only
        return True
    mode = path.stat().st_mode
    return not mode & (stat.S_IRWXG | stat.S_IRWXO)


_ACCOUNT_KEYS = ("base_url", "credentials", "timezone", "transport", "vendor")
TRANSPORTS = ("httpx", "aiohttp")


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown_key(path: Path, where: str, key: str, known: Iterable[str]) -> ConfigurationError:
    known = sorted(known)
    return ConfigurationError(
        f"{path}: {where}: unknown key {key!r}{_did_you_mean(key, known)} (known: {', '.join(known)})"
    )


def _vendor(path: Path, account: str, name: str) -> Vendor:
    """The account's registered vendor; an unknown name is refused now, naming the file and the account."""
    from .errors import UnknownVendorError
    from .plugins import get_vendor, list_vendors

    try:
        return get_vendor(name)
    except UnknownVendorError:
        known = [v.name for v in list_vendors()]
        raise ConfigurationError(
            f"{path}: account {account!r}: vendor: unknown vendor {name!r}{_did_you_mean(name, known)} "
            f"(known: {', '.join(known) or 'none registered'})"
        ) from None


def _timezone(path: Path, account: str, value: Any) -> str:
    """An IANA zone name that this system knows, or a one-line refusal naming the file and the account."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f'{path}: account {account!r}: timezone must be a zone name like "Europe/Berlin"')
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = _did_you_mean(value, zoneinfo.available_timezones())
        raise ConfigurationError(
            f"{path}: account {account!r}: timezone: unknown time zone {value!r}{hint} (an IANA name like "
            '"Europe/Berlin")'
        ) from None
    return value


def _credential(path: Path, account: str, key: str, value: Any, *, secret: bool) -> Any:
    """A credential's value or reference; only an inline secret is checked now (the file's permissions)."""
    if isinstance(value, Mapping) and "keyring" in value:
        return FromKeyring(str(value["keyring"]), str(value.get("username", account)), secret=secret)
    if isinstance(value, Mapping) and "env" in value:
        return FromEnvironment(str(value["env"]), secret=secret)
    if isinstance(value, str):
        if secret and not _owner_only(path):
            raise ConfigurationError(
                f"{path} holds a secret for account {account!r} but other users can read it; "
                f"run 'chmod 600 {path}' or use {{ env = \"VARIABLE\" }} instead"
            )
        return Secret(value) if secret else value
    raise ConfigurationError(f'account {account!r}: {key} must be a string or {{ env = "VARIABLE" }}')


def load_accounts(path: Path | None = None) -> list[AccountConfig]:
    """The accounts of a config file, in file order.

    Every account table is checked now, each problem one line naming the file and the key: an unknown
    key (with a did-you-mean: ``timzone`` -> ``timezone``, ``apikey`` -> ``api_key``), a vendor no plugin
    registers, a time zone this system does not know, a file that is not UTF-8.

    Raises:
        ConfigurationError: the file is missing or invalid, or holds an inline secret while readable
            by others. Environment variables and the keyring are read later, when an account is
            connected (``AccountConfig.resolved_credentials``).
    """
    path = path or default_config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"no configuration file at {path} (pass --config FILE or set BACKUPBRIDGE_CONFIG)"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"cannot read {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    accounts = data.get("accounts")
    if not isinstance(accounts, Mapping) or not accounts:
        raise ConfigurationError(f"{path} defines no [accounts.NAME] table")
    result = []
    for name, table in accounts.items():
        if not isinstance(table, Mapping) or not isinstance(table.get("vendor"), str):
            raise ConfigurationError(f'{path}: account {name!r} needs vendor = "..."')
        for key in table:
            if key not in _ACCOUNT_KEYS:
                raise _unknown_key(path, f"[accounts.{name}]", key, _ACCOUNT_KEYS)
        vendor = _vendor(path, name, table["vendor"])
        creds = table.get("credentials", {})
        if not isinstance(creds, Mapping):
            raise ConfigurationError(f"{path}: account {name!r}: credentials must be a table")
        fields = {f.name: f for f in vendor.credentials}
        for key in creds:
            if key not in fields:
                raise _unknown_key(path, f"[accounts.{name}.credentials]", key, fields)
        values = {k: _credential(path, name, k, v, secret=fields[k].secret) for k, v in creds.items()}
        base_url = table.get("base_url")
        if base_url is not None and not isinstance(base_url, str):
            raise ConfigurationError(f"{path}: account {name!r}: base_url must be a string")
        if base_url is not None:
            refuse_userinfo(base_url, vendor=vendor.name, where=f"{path}: account {name!r}: ")
        transport = table.get("transport", "httpx")
        if transport not in TRANSPORTS:
            raise ConfigurationError(f"{path}: account {name!r}: transport must be one of {', '.join(TRANSPORTS)}")
        result.append(
            AccountConfig(
                name=name,
                vendor=vendor.name,
                sources={k: _describe(v) for k, v in creds.items()},
                credentials=values,
                base_url=base_url,
                timezone=_timezone(path, name, table.get("timezone", "UTC")),
                transport=transport,
            )
        )
    return result


def _describe(value: Any) -> str:
    if isinstance(value, Mapping) and "env" in value:
        return f"env {value['env']}"
    if isinstance(value, Mapping) and "keyring" in value:
        return f"keyring {value['keyring']}"
    return "inline"


@attrs.frozen(kw_only=True)
class PluginSettings:
    """The ``[plugins]`` table of a config file: which plugins are trusted to load.

    Attributes:
        load: entry-point names of the third-party plugins to load; ``None`` (no ``load`` key) loads every
            installed one. Built-in plugins load without being named here.
        block: entry-point names never to load, built-in ones included.
        source: the file they were read from, if any.
    """

    load: tuple[str, ...] | None = None
    block: tuple[str, ...] = ()
    source: Path | None = None


_PLUGIN_KEYS = ("block", "load")


def _names(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigurationError(f'{path}: [plugins] {key} must be a list of plugin names, like ["acme"]')
    return tuple(v.strip() for v in value)


def load_plugin_settings(path: Path | None = None, *, required: bool = False) -> PluginSettings:
    """The ``[plugins]`` table of the config file (``default_config_path()`` unless ``path`` is given).

    A missing file, or one without a ``[plugins]`` table, gives the defaults (no list, nothing blocked),
    unless ``required``.

    Raises:
        ConfigurationError: the file cannot be read or parsed (a trust list that cannot be read is not
            taken to allow everything), ``plugins`` is not a table, a key is unknown (named), or a value
            is not a list of names.
    """
    path = path or default_config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"no configuration file at {path}") from None
        return PluginSettings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    table = data.get("plugins")
    if table is None:
        return PluginSettings(source=path)
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{path}: plugins must be a table ([plugins])")
    for key in table:
        if key not in _PLUGIN_KEYS:
            raise ConfigurationError(f"{path}: unknown key {key!r} in [plugins] (known: {', '.join(_PLUGIN_KEYS)})")
    return PluginSettings(
        load=_names(path, "load", table["load"]) if "load" in table else None,
        block=_names(path, "block", table["block"]) if "block" in table else (),
        source=path,
    )
