"""One client factory for sync and async (backupbridge.http.make_client), and connect/connect_async use it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backupbridge.http import USER_AGENT, make_client


def test_sync_and_async_clients_are_built_alike() -> None:
    sync = make_client("https://api.example.test/v1", vendor="v", auth=None, timeout=12.0)
    asynchronous = make_client("https://api.example.test/v1", asynchronous=True, vendor="v", auth=None, timeout=12.0)
    try:
        assert isinstance(sync, httpx.Client) and isinstance(asynchronous, httpx.AsyncClient)
        for client in (sync, asynchronous):
            assert client.headers["User-Agent"] == USER_AGENT
            assert client.headers["Accept"] == "application/json"
            assert client.timeout == httpx.Timeout(12.0)
            assert client.follow_redirects is False
            assert client.trust_env is True
    finally:
        sync.close()
        asyncio.run(asynchronous.aclose())


def test_a_loopback_url_never_takes_a_proxy_from_the_environment() -> None:
    for url in ("http://127.0.0.1:8080/api", "http://localhost/api", "http://[::1]/api"):
        client = make_client(url, vendor="v", auth=None)
        try:
            assert client.trust_env is False
        finally:
            client.close()


@pytest.mark.parametrize("asynchronous", [False, True])
def test_connect_builds_its_client_through_the_factory(monkeypatch: pytest.MonkeyPatch, asynchronous: bool) -> None:
    import backupbridge.connection as connection
    from backupbridge import http

    seen: list[dict[str, Any]] = []
    real = http.make_client

    def spy(url: str, **kwargs: Any) -> Any:
        seen.append({"url": url, **kwargs})
        return real(url, **kwargs)

    monkeypatch.setattr(connection, "make_client", spy)
    if asynchronous:
        conn: Any = connection.connect_async("idrive360", api_key="k", timeout=7.0)
        asyncio.run(conn.aclose())
    else:
        connection.connect("idrive360", api_key="k", timeout=7.0).close()
    (call,) = seen
    assert call["vendor"] == "idrive360" and call["timeout"] == 7.0
    assert call.get("asynchronous", False) is asynchronous
