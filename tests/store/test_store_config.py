"""Where the store is: --store, $BACKUPBRIDGE_STORE, [store] in the config file, else the data directory;
its password from the same places as an account's secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from backupbridge.errors import ConfigurationError, MissingCredentialsError
from backupbridge.store import default_store_path, load_store_config


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BACKUPBRIDGE_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def _config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_without_a_config_file_the_store_is_a_file_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_store_config(None)
    assert settings.url is None and settings.source == "default"
    url = settings.resolved_url()
    assert url.database == str(tmp_path / "data" / "backupbridge" / "history.sqlite3")
    assert default_store_path(sandbox=True).name == "sandbox.sqlite3"


def test_the_config_file_names_a_postgresql_store_with_its_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(
        tmp_path,
        '[accounts.main]\nvendor = "idrive360"\n[store]\nurl = "postgresql://bb@db.example.net/history"\n'
        'password = { env = "BB_STORE_PASSWORD" }\nbusy_timeout = 5\n',
        0o644,
    )
    settings = load_store_config(path)
    assert settings.busy_timeout == 5.0 and "BB_STORE" not in repr(settings)
    with pytest.raises(MissingCredentialsError, match=r"the store's password: .*BB_STORE_PASSWORD, which is not set"):
        settings.resolved_url()
    monkeypatch.setenv("BB_STORE_PASSWORD", "pg-secret")
    url = settings.resolved_url()
    assert (url.drivername, url.password, url.host) == ("postgresql+psycopg", "pg-secret", "db.example.net")


def test_store_option_and_environment_win_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, '[store]\nurl = "sqlite:///from-file.db"\n')
    assert load_store_config(path).url == "sqlite:///from-file.db"
    monkeypatch.setenv("BACKUPBRIDGE_STORE", "sqlite:///from-env.db")
    assert load_store_config(path).url == "sqlite:///from-env.db"
    assert load_store_config(path, url="sqlite:///from-option.db").source == "--store"


def test_an_inline_password_in_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    readable = _config(tmp_path, '[store]\nurl = "postgresql://bb@h/db"\npassword = "pw"\n', 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_store_config(readable)
    in_url = _config(tmp_path, '[store]\nurl = "postgresql://bb:pw@h/db"\n', 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_store_config(in_url)
    private = _config(tmp_path, '[store]\nurl = "postgresql://bb@h/db"\npassword = "pw"\n', 0o600)
    assert load_store_config(private).resolved_url().password == "pw"


def test_a_malformed_store_table_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="url must be a string"):
        load_store_config(_config(tmp_path, "[store]\nurl = 5\n"))
    with pytest.raises(ConfigurationError, match="busy_timeout must be a number"):
        load_store_config(_config(tmp_path, '[store]\nbusy_timeout = "long"\n'))
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_store_config(_config(tmp_path, "[store\n"))
