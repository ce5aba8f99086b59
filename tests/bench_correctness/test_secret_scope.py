"""The secret registry is scoped to the connection that minted a token, and redaction runs only when used."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

import backupbridge
from backupbridge import redaction
from backupbridge.bridge import AsyncBridge, Bridge
from backupbridge.redaction import REDACTED, Secret, SecretScope, redact, register_secret


def _live() -> int:
    return len(redaction._secrets)


def _compiled() -> int:
    return len(redaction._compiled)


def test_a_scoped_secret_is_redacted_until_released() -> None:
    scope = SecretScope()
    with scope.active():
        register_secret("tok-3f9a8b7c6d5e4f30-minted")
    assert redact("Bearer? no: tok-3f9a8b7c6d5e4f30-minted") == f"Bearer? no: {REDACTED}"
    assert "tok-3f9a8b7c6d5e4f30-minted" in redaction._secrets
    scope.release()
    assert "tok-3f9a8b7c6d5e4f30-minted" not in redaction._secrets
    scope.release()  # twice: harmless


def test_a_value_another_scope_or_a_credential_holds_stays() -> None:
    first, second = SecretScope(), SecretScope()
    for scope in (first, second):
        with scope.active():
            register_secret("shared-7c1e9d2a-token-value")
    first.release()
    assert "shared-7c1e9d2a-token-value" in redaction._secrets
    second.release()
    assert "shared-7c1e9d2a-token-value" not in redaction._secrets

    scope = SecretScope()
    with scope.active():
        register_secret("cred-2b8d4f6a1c3e5a7b")
    Secret("cred-2b8d4f6a1c3e5a7b")  # the same value as a credential: kept for the process
    scope.release()
    assert redact("x cred-2b8d4f6a1c3e5a7b y") == f"x {REDACTED} y"


def test_a_registration_after_release_or_outside_a_scope_is_kept() -> None:
    scope = SecretScope()
    scope.release()
    with scope.active():
        register_secret("late-9e8d7c6b5a4f3e2d")
    register_secret("unscoped-1a2b3c4d5e6f7a8b")
    assert {"late-9e8d7c6b5a4f3e2d", "unscoped-1a2b3c4d5e6f7a8b"} <= redaction._secrets
    assert redact("late-9e8d7c6b5a4f3e2d unscoped-1a2b3c4d5e6f7a8b") == f"{REDACTED} {REDACTED}"


def test_released_values_are_compiled_out_once_they_outnumber_the_live_ones() -> None:
    keep = SecretScope()
    with keep.active():
        register_secret("keeper-0f1e2d3c4b5a6978")
    for round_ in range(300):
        scope = SecretScope()
        with scope.active():
            register_secret(f"round-{round_:04d}-a1b2c3d4e5f6")
        assert redact(f"round-{round_:04d}-a1b2c3d4e5f6") == REDACTED  # compiled now
        scope.release()
    # bounded: the live ones plus at most as many released ones (or the floor) stay compiled
    assert _compiled() <= 2 * _live() + redaction._REBUILD_FLOOR + 1
    assert redact("keeper-0f1e2d3c4b5a6978") == REDACTED  # a live one survives every rebuild
    # a released value registered again is live again
    again = SecretScope()
    with again.active():
        register_secret("round-0299-a1b2c3d4e5f6")
    assert redact("round-0299-a1b2c3d4e5f6") == REDACTED
    again.release()
    keep.release()


def test_a_secret_released_before_any_redaction_is_never_compiled() -> None:
    redact("flush what earlier tests registered")
    compiled = set(redaction._compiled)
    scope = SecretScope()
    with scope.active():
        register_secret("quiet-8f7e6d5c4b3a2910")
    scope.release()
    assert redaction._compiled == compiled and "quiet-8f7e6d5c4b3a2910" not in redaction._pending
    # registered and redacted before release: compiled on first use, and removed from live at release
    scope = SecretScope()
    with scope.active():
        register_secret("used-8f7e6d5c4b3a2911")
    assert "used-8f7e6d5c4b3a2911" not in redaction._compiled
    assert redact("a used-8f7e6d5c4b3a2911 b") == f"a {REDACTED} b"
    assert "used-8f7e6d5c4b3a2911" in redaction._compiled
    assert redaction.excerpt("used-8f7e6d5c4b3a2911", 100) == REDACTED
    scope.release()


def test_a_very_long_secret_registered_since_the_last_redaction_is_cut_from_an_excerpt() -> None:
    """``excerpt`` sizes its window by the longest secret, a pending one too; a 3,000-character secret once
    made registering fail (RecursionError building its trie)."""
    long_secret = "L" * 3000 + "-tail-9a8b7c6d"
    register_secret(long_secret)
    body = "x" * 10 + long_secret + "y" * 10
    assert long_secret[:100] not in redaction.excerpt(body, 50)


def test_scopes_follow_tasks_and_threads() -> None:
    seen: dict[str, SecretScope | None] = {}

    async def task(name: str) -> None:
        scope = SecretScope()
        with scope.active():
            await asyncio.sleep(0)
            register_secret(f"task-{name}-5d4c3b2a1f0e")
            seen[name] = redaction.current_scope()
            assert len(scope) == 1

    async def both() -> None:
        await asyncio.gather(task("a"), task("b"))

    asyncio.run(both())
    assert seen["a"] is not seen["b"]

    found: list[SecretScope | None] = []
    scope = SecretScope()
    with scope.active():
        thread = threading.Thread(target=lambda: found.append(redaction.current_scope()))
        thread.start()
        thread.join()
    assert found == [None]  # a thread starts outside any scope: what it registers is kept


def test_forty_fan_outs_do_not_grow_the_registry() -> None:
    """Each pass logs every account in again (fresh tokens, fresh session cookies); only the open ones count."""
    bridge = AsyncBridge.sandbox(accounts_per_vendor=3, size=2)
    assert asyncio.run(bridge.list_devices()).ok
    live, compiled = _live(), _compiled()
    for _ in range(40):
        assert asyncio.run(bridge.list_devices()).ok
    assert _live() <= live
    # The released tokens of 40 passes (6 logins each) would be 240 more; at most the floor remains.
    assert _compiled() <= max(compiled, 2 * _live()) + redaction._REBUILD_FLOOR + 1


def test_a_sync_bridge_releases_its_tokens_when_closed() -> None:
    before = _live()
    bridge = Bridge.sandbox(["managedbackup", "vprotect"], accounts_per_vendor=2, size=2)
    assert bridge.list_devices().ok
    assert bridge.list_devices().ok  # the same connections, the same tokens
    grown = _live()
    assert grown > before  # logged in: two tokens and two session cookies at least
    bridge.close()
    assert _live() <= before


def test_a_token_minted_in_a_fan_out_is_redacted_while_its_connection_lives(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scope does not weaken redaction: a proxy page echoing the request (token and all) is redacted in
    the error the account fails with, made while its connection lived."""
    from backupbridge.sandbox import FaultKind, Faults

    minted: list[str] = []
    release = SecretScope.release

    def spying(self: SecretScope) -> None:
        minted.extend(self._values)
        release(self)

    monkeypatch.setattr(SecretScope, "release", spying)
    faults = Faults(rate=0.8, kinds=(FaultKind.ECHO_REQUEST,), seed=0)  # logins pass, lists echo
    bridge = AsyncBridge.sandbox(["managedbackup"], accounts_per_vendor=4, size=2, faults=faults)
    result = asyncio.run(bridge.list_devices())
    assert result.failures and minted
    for failure in result.failures:
        error = failure.error
        text = " ".join([str(error), repr(error), str(vars(error))])
        for token in minted:
            assert token not in text


class _Counting(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_log_records_are_redacted_only_when_a_handler_formats_them(monkeypatch: pytest.MonkeyPatch) -> None:
    register_secret("logged-6a5b4c3d2e1f0a9b")
    redaction.install_log_redaction()
    calls: list[str] = []
    real = redaction.redact

    def counting(text: str) -> str:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(redaction, "redact", counting)
    logger = logging.getLogger("backupbridge.http")
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug("GET %s", "https://x.test/?k=logged-6a5b4c3d2e1f0a9b")  # no handler: never formatted
        assert calls == []
        handler = _Counting()
        logger.addHandler(handler)
        try:
            logger.debug("GET %s", "https://x.test/?q=logged-6a5b4c3d2e1f0a9b")
        finally:
            logger.removeHandler(handler)
    finally:
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    assert handler.lines == [f"GET https://x.test/?q={REDACTED}"]
    assert len(calls) == 1


def test_public_names_still_import() -> None:
    assert backupbridge.Secret is Secret
