"""Where the store is: ``--store``, else ``[store]`` in the config file, else an SQLite file of one's own.

The ``[store]`` table lives in the same TOML file as the accounts (``backupbridge.config``), and its
password comes from the same places as an account's secrets::

    [store]
    url = "postgresql+psycopg://backupbridge@db.example.net:5432/backupbridge"
    password = { env = "BACKUPBRIDGE_STORE_PASSWORD" }   # or { keyring = "service", username = "..." }
                                                         # or "..." in a file only its owner can read
    busy_timeout = 30                                    # SQLite: seconds a writer waits for another

Without any of that the store is ``history.sqlite3`` in the platform's data directory (platformdirs);
sandbox runs use ``sandbox.sqlite3`` beside it, so simulated tenants never mix with real ones. PostgreSQL's
own ``PGPASSWORD`` and ``~/.pgpass`` work too, when no password is configured.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import platformdirs
import sqlalchemy as sa

from ..config import FromEnvironment, FromKeyring, default_config_path
from ..errors import ConfigurationError, MissingCredentialsError
from ..redaction import Secret
from .engine import DEFAULT_BUSY_TIMEOUT, Store, open_store, parse_url
from .errors import StoreURLError

__all__ = ["StoreConfig", "default_store_path", "load_store_config", "open_configured_store"]

STORE_ENV = "BACKUPBRIDGE_STORE"
"""An environment variable naming the store URL (what ``--store`` reads when it is not given)."""


def default_store_path(*, sandbox: bool = False) -> Path:
    """``history.sqlite3`` (or ``sandbox.sqlite3``) in the platform's data directory."""
    return Path(platformdirs.user_data_dir("backupbridge")) / ("sandbox.sqlite3" if sandbox else "history.sqlite3")


@attrs.frozen(kw_only=True)
class StoreConfig:
    """The store's settings.

    Attributes:
        url: the store URL as written (None: the default SQLite file).
        password: the password, or where to read it when the store is opened (never in a repr).
        busy_timeout: seconds an SQLite writer waits for another writer.
        source: where the URL came from, for messages (``--store``, the config file's path, ``default``).
    """

    url: str | None = None
    password: Secret | FromEnvironment | FromKeyring | None = attrs.field(default=None, repr=False)
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    source: str = "default"

    def resolved_url(self, *, sandbox: bool = False) -> sa.URL:
        """The URL to open, with the password read now (environment, keyring).

        Raises:
            StoreURLError: the URL does not parse.
            MissingCredentialsError: the password's environment variable or keyring entry is missing.
        """
        if self.url is None:
            path = default_store_path(sandbox=sandbox)
            path.parent.mkdir(parents=True, exist_ok=True)
            return sa.URL.create("sqlite", database=str(path))
        url = parse_url(self.url)
        if self.password is None:
            return url
        if isinstance(self.password, Secret):
            return url.set(password=self.password.reveal())
        try:
            value = self.password.resolve("[store]", "password")
        except MissingCredentialsError as exc:
            detail = exc.message.split(": ", 1)[-1]
            raise MissingCredentialsError(f"the store's password: {detail}", looked_in=exc.looked_in) from None
        return url.set(password=value.reveal() if isinstance(value, Secret) else str(value))


def load_store_config(path: Path | None = None, *, url: str | None = None) -> StoreConfig:
    """The store settings: ``url`` (``--store``) wins, then ``$BACKUPBRIDGE_STORE``, then ``[store]``.

    A missing config file is no error (the default store needs none); an unreadable one is.

    Raises:
        ConfigurationError: the file cannot be read, ``[store]`` is malformed, or an inline password sits in a
            file other users can read.
    """
    explicit = url or os.environ.get(STORE_ENV) or None
    config_path = path or default_config_path()
    table = _store_table(config_path, required=path is not None and explicit is None)
    timeout = table.get("busy_timeout", DEFAULT_BUSY_TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
        raise ConfigurationError(f"{config_path}: [store] busy_timeout must be a number of seconds")
    if explicit is not None:
        return StoreConfig(url=explicit, busy_timeout=float(timeout), source="--store" if url else STORE_ENV)
    configured = table.get("url")
    if configured is not None and not isinstance(configured, str):
        raise ConfigurationError(f'{config_path}: [store] url must be a string like "sqlite:///PATH"')
    if isinstance(configured, str) and _has_password(configured) and not _owner_only(config_path):
        raise ConfigurationError(
            f"{config_path} holds the store's password in [store] url but other users can read it; "
            f"run 'chmod 600 {config_path}' or use password = {{ env = \"VARIABLE\" }}"
        )
    return StoreConfig(
        url=configured,
        password=_password(config_path, table.get("password")),
        busy_timeout=float(timeout),
        source=str(config_path) if configured else "default",
    )


def _has_password(url: str) -> bool:
    try:
        return bool(sa.engine.make_url(url).password)
    except sa.exc.ArgumentError:
        return False  # said when the store is opened, with where the URL came from


def _store_table(path: Path, *, required: bool) -> Mapping[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"no configuration file at {path}") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    table = data.get("store", {})
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{path}: [store] must be a table")
    return table


def _password(path: Path, value: Any) -> Secret | FromEnvironment | FromKeyring | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and "keyring" in value:
        return FromKeyring(str(value["keyring"]), str(value.get("username", "backupbridge")))
    if isinstance(value, Mapping) and "env" in value:
        return FromEnvironment(str(value["env"]))
    if isinstance(value, str):
        if not _owner_only(path):
            raise ConfigurationError(
                f"{path} holds the store's password but other users can read it; "
                f"run 'chmod 600 {path}' or use password = {{ env = \"VARIABLE\" }}"
            )
        return Secret(value)
    raise ConfigurationError(f'{path}: [store] password must be a string or {{ env = "VARIABLE" }}')


def _owner_only(path: Path) -> bool:
    if sys.platform == "win32":  # pragma: no cover - POSIX permissions only
        return True
    return not path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)


def open_configured_store(
    url: str | None = None,
    *,
    config: Path | None = None,
    sandbox: bool = False,
    check: bool = True,
    create: bool = True,
) -> Store:
    """Open the store ``--store``/``$BACKUPBRIDGE_STORE``/``[store]``/the default names (see the module doc).

    Raises:
        StoreURLError, StoreSchemaError, StoreError, ConfigurationError: see ``open_store``.
    """
    settings = load_store_config(config, url=url)
    try:
        resolved = settings.resolved_url(sandbox=sandbox)
    except StoreURLError as exc:
        raise StoreURLError(f"{exc.message} (from {settings.source})") from None
    return open_store(resolved, busy_timeout=settings.busy_timeout, check=check, create=create)
