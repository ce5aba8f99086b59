"""Recognisable secrets for every auth scheme (Bearer key, Basic key, login password and minted token,
session cookie) appear in no stdout, stderr, DEBUG log, exception repr or cassette, through every command
and error path."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

import pytest

import backupbridge
from backupbridge.cli import main
from backupbridge.sandbox import SimulatorOptions, SimulatorTransport, make_simulator
from backupbridge.sandbox.soak import secrets_of

KEYS = {
    "idrive360": {"api_key": "SECRET-idrive-bearer-7a1"},
    "cleverfox": {"api_key": "SECRET-cleverfox-basic-9b2"},
    "managedbackup": {"username": "reader", "password": "SECRET-mbs-password-3c4"},
    "vprotect": {"login": "reader", "password": "SECRET-vprotect-password-5d6"},
}
COMMANDS = [
    ["companies"],
    ["devices"],
    ["plans"],
    ["jobs", "--status", "failed"],
    ["report", "--no-alerts"],
    ["accounts"],
    ["accounts", "check"],
]


def simulator_with(vendor: str, secret: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    if vendor == "managedbackup":
        module = importlib.import_module("backupbridge_managedbackup.simulator")
        monkeypatch.setattr(module, "SANDBOX_USERNAME", "reader")
        monkeypatch.setattr(module, "SANDBOX_PASSWORD", secret["password"])
    elif vendor == "vprotect":
        module = importlib.import_module("backupbridge_vprotect.simulator")
        monkeypatch.setattr(module, "SANDBOX_LOGIN", "reader")
        monkeypatch.setattr(module, "SANDBOX_PASSWORD", secret["password"])
    sim: Any = make_simulator(vendor, SimulatorOptions(size=6, seed=2))
    if vendor in ("idrive360", "cleverfox"):
        sim.api_key = secret["api_key"]
    return sim


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    """A config with one account per vendor, each pointed at its simulator, secrets from the environment."""
    sims = {vendor: simulator_with(vendor, secret, monkeypatch) for vendor, secret in KEYS.items()}
    lines = []
    for vendor, secret in KEYS.items():
        lines.append(f'[accounts.{vendor}]\nvendor = "{vendor}"')
        if vendor == "vprotect":
            lines.append('base_url = "https://vprotect.sandbox.local:8181/api"')
        lines.append(f"[accounts.{vendor}.credentials]")
        for name, value in secret.items():
            if value.startswith("SECRET"):
                env = f"BB_{vendor.upper()}_{name.upper()}"
                monkeypatch.setenv(env, value)
                lines.append(f'{name} = {{env = "{env}"}}')
            else:
                lines.append(f'{name} = "{value}"')
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    os.chmod(config, 0o600)
    import backupbridge.bridge as bridge_module
    import backupbridge.cli as cli_module

    real = backupbridge.connect

    def to_simulator(vendor: str, **kwargs: Any) -> backupbridge.Connection:
        return real(vendor, transport=SimulatorTransport(sims[vendor].handle), clock=sims[vendor].now, **kwargs)

    monkeypatch.setattr(bridge_module, "connect", to_simulator)
    monkeypatch.setattr(cli_module, "connect", to_simulator)
    return config, sims


def everything_secret(sims: dict[str, Any]) -> set[str]:
    found = {v for secret in KEYS.values() for v in secret.values() if v.startswith("SECRET")}
    for sim in sims.values():
        found |= secrets_of(sim)
    return found


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_no_secret_in_any_output(
    world: tuple[Path, dict[str, Any]],
    command: list[str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, sims = world
    caplog.set_level(logging.DEBUG)
    for logger in ("backupbridge", "backupbridge.http", "httpx", "httpcore"):
        logging.getLogger(logger).setLevel(logging.DEBUG)
    args = ["-vv", *command[:1], "--config", str(config), *command[1:]]
    main(args)
    out, err = capsys.readouterr()
    minted = everything_secret(sims)
    assert (
        any(getattr(s, "tokens", None) or getattr(s, "sessions", None) for s in sims.values())
        or command[0] == "accounts"
    )
    for secret in minted:
        assert secret not in out, f"{secret} in stdout of {command}"
        assert secret not in err, f"{secret} in stderr of {command}"
        assert secret not in caplog.text, f"{secret} in the DEBUG log of {command}"


@pytest.mark.parametrize("vendor", list(KEYS))
def test_no_secret_in_error_paths(
    world: tuple[Path, dict[str, Any]], vendor: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, sims = world
    caplog.set_level(logging.DEBUG)
    wrong: dict[str, Any] = {
        k: ("SECRET-wrong-" + v[-6:] if v.startswith("SECRET") else v) for k, v in KEYS[vendor].items()
    }
    extra: dict[str, Any] = {"base_url": "https://vprotect.sandbox.local:8181/api"} if vendor == "vprotect" else {}
    conn = backupbridge.connect(vendor, transport=SimulatorTransport(sims[vendor].handle), **wrong, **extra)
    with pytest.raises(backupbridge.BackupBridgeError) as info:
        list(conn.list_devices())
    texts = [
        str(info.value),
        repr(info.value),
        str(vars(info.value)),
        caplog.text,
        repr(conn),
        repr(conn._session.client.auth),
    ]
    for secret in {v for v in wrong.values() if v.startswith("SECRET")} | everything_secret(sims):
        assert all(secret not in text for text in texts), secret


def test_the_cassettes_hold_no_sandbox_or_doc_secret() -> None:
    cassettes = Path(__file__).resolve().parents[2] / "cassettes"
    text = "".join(p.read_text() for p in cassettes.rglob("*.yaml"))
    for secret in ("doc-example-api-key-0000", "documented-shape-only", "0123456789ABCDEF"):
        assert secret not in text
