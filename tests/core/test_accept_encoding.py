"""Every connection offers only the content codings its bounded decoder undoes (gzip, deflate).

httpx offers ``br`` and ``zstd`` whenever brotli or zstandard are installed (often pulled in by another
package); the body reader refuses those codings, so offering them would turn every answer into an error.
"""

from __future__ import annotations

import httpx
import pytest

from backupbridge.sandbox import connect_sandbox


@pytest.mark.parametrize("vendor", ["idrive360", "cleverfox", "managedbackup", "vprotect"])
def test_only_the_decodable_codings_are_offered(vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if brotli and zstandard were installed: httpx's default would then offer them.
    monkeypatch.setattr(httpx._client, "ACCEPT_ENCODING", "gzip, deflate, br, zstd")
    conn = connect_sandbox(vendor, size=1)
    seen: list[str] = []
    original = conn.transport.handle_request

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("accept-encoding", ""))
        return original(request)

    monkeypatch.setattr(conn.transport, "handle_request", record)
    list(conn.list_devices())
    # A login request built by the auth flow offers none (identity), every other one exactly these two.
    assert seen and "gzip, deflate" in seen and set(seen) <= {"gzip, deflate", ""}
