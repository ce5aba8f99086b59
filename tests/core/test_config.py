"""Accounts from TOML: environment, keyring and inline secrets; the permission refusal."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from backupbridge import ConfigurationError, MissingCredentialsError, Secret
from backupbridge.config import FromEnvironment, FromKeyring, default_config_path, load_accounts

TOML = """
[accounts.main]
vendor = "idrive360"
timezone = "Europe/Berlin"
[accounts.main.credentials]
api_key = {env = "TEST_IDRIVE_KEY"}

[accounts.onprem]
vendor = "vprotect"
base_url = "https://vprotect.lan:8181/api"
[accounts.onprem.credentials]
login = "backup-reader"
password = {keyring = "backupbridge", username = "onprem"}
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.fixture
def fake_keyring(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], str]:
    store: dict[tuple[str, str], str] = {("backupbridge", "onprem"): "keyring-pass-123"}
    module = types.SimpleNamespace(get_password=lambda service, user: store.get((service, user)))
    monkeypatch.setitem(sys.modules, "keyring", module)
    return store


def test_env_keyring_and_plain_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_keyring: dict) -> None:  # type: ignore[type-arg]
    monkeypatch.setenv("TEST_IDRIVE_KEY", "env-key-0123456789")
    main, onprem = load_accounts(write(tmp_path, TOML))
    assert (main.name, main.vendor, main.timezone) == ("main", "idrive360", "Europe/Berlin")
    api_key = main.connect_kwargs()["api_key"]
    assert isinstance(api_key, Secret) and api_key.reveal() == "env-key-0123456789"
    onprem_creds = onprem.resolved_credentials()
    assert onprem_creds["login"] == "backup-reader"  # not a secret: left plain, never redacted
    assert onprem_creds["password"].reveal() == "keyring-pass-123"
    assert onprem.sources == {"login": "inline", "password": "keyring backupbridge"}
    assert "env-key" not in repr(main) and "keyring-pass" not in repr(onprem)
    assert "env-key" not in repr(main.connect_kwargs()) and "keyring-pass" not in repr(onprem_creds)
    assert onprem.connect_kwargs()["base_url"] == "https://vprotect.lan:8181/api"


def test_references_are_read_when_connecting_not_when_loading(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_keyring: dict,  # type: ignore[type-arg]
) -> None:
    monkeypatch.delenv("TEST_IDRIVE_KEY", raising=False)
    main, onprem = load_accounts(write(tmp_path, TOML))  # loads: nothing is read yet
    assert main.credentials["api_key"] == FromEnvironment("TEST_IDRIVE_KEY")
    assert onprem.credentials["password"] == FromKeyring("backupbridge", "onprem")
    assert onprem.connect_kwargs()["password"].reveal() == "keyring-pass-123"  # the other account still works
    monkeypatch.setenv("TEST_IDRIVE_KEY", "set-after-loading-1")
    assert main.connect_kwargs()["api_key"].reveal() == "set-after-loading-1"  # read at each connect


def test_missing_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_keyring: dict) -> None:  # type: ignore[type-arg]
    monkeypatch.delenv("TEST_IDRIVE_KEY", raising=False)
    main, _ = load_accounts(write(tmp_path, TOML))
    with pytest.raises(MissingCredentialsError, match="TEST_IDRIVE_KEY") as info:
        main.connect_kwargs()
    assert info.value.looked_in == ("environment TEST_IDRIVE_KEY",)


def test_missing_keyring_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_keyring: dict) -> None:  # type: ignore[type-arg]
    fake_keyring.clear()
    _, onprem = load_accounts(write(tmp_path, TOML))
    with pytest.raises(MissingCredentialsError, match="keyring") as info:
        onprem.connect_kwargs()
    assert info.value.looked_in == ("keyring backupbridge/onprem",)


def test_keyring_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    _, onprem = load_accounts(write(tmp_path, TOML))
    with pytest.raises(ConfigurationError, match=r"backupbridge\[keyring\]"):
        onprem.resolved_credentials()


def test_an_unreadable_keyring_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(service: str, user: str) -> str:
        raise RuntimeError("keyring-locked-detail")

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=locked))
    _, onprem = load_accounts(write(tmp_path, TOML))
    with pytest.raises(ConfigurationError, match="could not be read: RuntimeError") as info:
        onprem.resolved_credentials()
    assert "keyring-locked-detail" not in str(info.value)


INLINE = '[accounts.a]\nvendor = "cleverfox"\n[accounts.a.credentials]\napi_key = "inline-secret-key-42"\n'


def test_inline_secret_needs_an_owner_only_file(tmp_path: Path) -> None:
    assert load_accounts(write(tmp_path, INLINE, 0o600))[0].credentials["api_key"].reveal() == "inline-secret-key-42"
    assert "inline-secret-key-42" not in repr(load_accounts(write(tmp_path, INLINE, 0o600))[0].connect_kwargs())
    for mode in (0o640, 0o604, 0o644):
        with pytest.raises(ConfigurationError, match="chmod 600") as info:
            load_accounts(write(tmp_path, INLINE, mode))
        assert "inline-secret-key-42" not in str(info.value)


def test_a_plain_login_in_a_shared_file_is_fine(tmp_path: Path) -> None:
    text = (
        '[accounts.a]\nvendor = "vprotect"\nbase_url = "https://x.lan/api"\n'
        '[accounts.a.credentials]\nlogin = "reader"\npassword = {env = "P"}\n'
    )
    os.environ["P"] = "from-env-pass"
    try:
        assert load_accounts(write(tmp_path, text, 0o644))[0].credentials["login"] == "reader"
    finally:
        del os.environ["P"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "defines no"),
        ("[accounts.x]\nname = 1\n", "needs vendor"),
        ("not toml [", "cannot read"),
        ('[accounts.x]\nvendor = "idrive360"\ncredentials = 5\n', "must be a table"),
        ('[accounts.x]\nvendor = "idrive360"\n[accounts.x.credentials]\napi_key = 5\n', "must be a string"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_accounts(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no configuration file"):
        load_accounts(tmp_path / "nope.toml")


def test_default_path_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "c.toml"))
    assert default_config_path() == tmp_path / "c.toml"
    monkeypatch.delenv("BACKUPBRIDGE_CONFIG")
    assert default_config_path().name == "config.toml" and "backupbridge" in str(default_config_path())
