from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stamina

from backupbridge import redaction
from backupbridge.http import RetryPolicy
from backupbridge.redaction import SecretScope


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """Retries run without sleeping; each RetryPolicy keeps its own attempt count."""
    stamina.set_testing(True, attempts=100, cap=True)
    yield
    stamina.set_testing(False)


@pytest.fixture(autouse=True)
def _secrets_of_one_test() -> Iterator[None]:
    """What a test registers as a secret is forgotten after it: the registry is process-wide, and a test that
    registers a word (``summary``) would otherwise redact it out of every later test's messages."""
    scope = SecretScope()
    with scope.active():
        yield
    held = len(scope)
    scope.release()
    if held:  # released secrets leave the compiled patterns only at the next rebuild: do it now
        with redaction._lock:
            redaction._rebuild()


@pytest.fixture(autouse=True)
def _own_data_and_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's default store and alert state are its own, never the user's: ``report`` records into the store
    in the platform data directory, and keeps alerts in the state directory (platformdirs reads both here)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("BACKUPBRIDGE_STORE", raising=False)


@pytest.fixture
def no_requests() -> httpx.MockTransport:
    """A transport that fails the test if any request reaches it."""

    def handler(request: httpx.Request) -> httpx.Response:
        pytest.fail(f"a request was sent: {request.method} {request.url}")

    return httpx.MockTransport(handler)


@pytest.fixture
def no_retry() -> RetryPolicy:
    return RetryPolicy(attempts=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
