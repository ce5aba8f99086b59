"""``[[sinks]] type = "connectwise"`` comes from the plugin through ``register_sink_types``: an unknown type
lists it, a broken plugin's types are left out (the others stay), a built-in type cannot be taken, and a
blocked plugin's type is an unknown one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backupbridge import ConfigurationError, hookimpl, plugins
from backupbridge.plugin import SinkType
from backupbridge.sinks import WebhookSink, load_sinks
from backupbridge_connectwise import ConnectWiseSink

TABLE = """[[sinks]]
type = "{kind}"
site = "https://api-na.myconnectwise.net"
company_id = "mymsp"
public_key_env = "CW_PUBLIC_KEY"
private_key_env = "CW_PRIVATE_KEY"
client_id = "0b6a4c1e"
board = "Backups"
"""


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    yield
    plugins.use_config(None)


def config(tmp_path: Path, kind: str = "connectwise", extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(extra + TABLE.format(kind=kind))
    return path


def test_the_plugin_provides_the_type(tmp_path: Path) -> None:
    (sink,) = load_sinks(config(tmp_path))
    assert isinstance(sink, ConnectWiseSink) and sink.name == "backupbridge.sink.connectwise"


def test_an_unknown_type_lists_the_plugin_types(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"type must be one of webhook, email, connectwise \(got 'halo'\)"):
        load_sinks(config(tmp_path, "halo"))


def test_a_blocked_plugin_s_type_is_unknown(tmp_path: Path) -> None:
    path = config(tmp_path, extra='[plugins]\nblock = ["connectwise"]\n\n')
    plugins.use_config(path)
    with pytest.raises(ConfigurationError, match="type must be one of webhook, email \\(got 'connectwise'\\)"):
        load_sinks(path)


class Broken:
    @hookimpl
    def register_sink_types(self, register: Callable[[SinkType], None]) -> None:
        raise RuntimeError("cannot start")


class TakesWebhook:
    @hookimpl
    def register_sink_types(self, register: Callable[[SinkType], None]) -> None:
        register(SinkType(name="webhook", keys=frozenset(), build=lambda settings: None))  # type: ignore[arg-type,return-value]


def test_a_broken_plugin_leaves_out_only_its_own_types(tmp_path: Path) -> None:
    with plugins.registered_plugin(Broken(), "broken-sinks"):
        (sink,) = load_sinks(config(tmp_path))
    assert isinstance(sink, ConnectWiseSink)


def test_a_built_in_type_cannot_be_taken(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[sinks]]\ntype = "webhook"\nurl = "https://hooks.example.com/x"\nsecret_env = "S"\n')
    with plugins.registered_plugin(TakesWebhook(), "takes-webhook"):
        (sink,) = load_sinks(path)
        with pytest.raises(ConfigurationError, match=r"one of webhook, email, connectwise \(got 'nope'\)"):
            load_sinks(config(tmp_path, "nope"))
    assert isinstance(sink, WebhookSink)
