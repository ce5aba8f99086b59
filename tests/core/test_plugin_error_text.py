"""A failing plugin's error text reaches stderr without escape sequences (adversarial pass, issue 12)."""

from __future__ import annotations

import warnings

import pytest

from backupbridge import plugins
from tests.core.test_plugin_trust import FakeEntryPoint, _raise, install, isolated_registry, load  # noqa: F401

HOSTILE = "bad \x1b]8;;http://evil\x07link\x1b]8;;\x07 \x1b[31mred\x1b[2J\nsecond line"


def test_a_plugin_error_with_escape_sequences_is_kept_as_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeEntryPoint("evil", lambda: _raise(RuntimeError(HOSTILE))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load()
    (failure,) = plugins.plugin_failures()
    assert failure.error == "RuntimeError: bad link red second line"
    shown = " ".join(str(w.message) for w in caught)
    assert "\x1b" not in shown and "\x07" not in shown and "\n" not in shown
