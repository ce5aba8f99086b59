"""vcrpy settings that keep secrets out of cassettes: for our tests, the cassette builder and integrators.

    import vcr
    from backupbridge.cassettes import vcr_config
    recorder = vcr.VCR(**vcr_config(), cassette_library_dir="cassettes/idrive360")

The Authorization header is replaced; every ``SECRET_FIELDS`` value in JSON bodies (request and response)
is replaced too, so a login request, a minted token or a device's agent key never reaches a file.
"""

from __future__ import annotations

import json
from typing import Any

from .redaction import scrub_json

__all__ = ["scrub_request", "scrub_response", "vcr_config"]

HIDDEN = "<REDACTED>"


def _scrub_body(body: Any) -> Any:
    if not body:
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)
    try:
        data = json.loads(text)
    except ValueError:
        return body
    cleaned = json.dumps(scrub_json(data), separators=(",", ":"))
    return cleaned.encode() if isinstance(body, bytes | bytearray) else cleaned


def scrub_request(request: Any) -> Any:
    """A vcrpy ``before_record_request`` hook: secret JSON fields in the request body are replaced."""
    request.body = _scrub_body(request.body)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """A vcrpy ``before_record_response`` hook: secret JSON fields in the body are replaced."""
    body = response.get("body", {})
    if isinstance(body, dict) and "string" in body:
        body["string"] = _scrub_body(body["string"])
    for name in list(response.get("headers", {})):
        if name.lower() == "set-cookie":
            response["headers"][name] = [_scrub_cookie(value) for value in response["headers"][name]]
    return response


def _scrub_cookie(header: str) -> str:
    """``NAME=secret; Path=/`` -> ``NAME=REDACTED; Path=/``: still a cookie a replayed login can read."""
    pair, _, attributes = header.partition(";")
    name = pair.split("=", 1)[0].strip()
    return f"{name}=REDACTED" + (f";{attributes}" if attributes else "")


def vcr_config(scheme: str = "Bearer") -> dict[str, Any]:
    """Keyword arguments for ``vcr.VCR`` (or pytest-recording's ``vcr_config`` fixture)."""
    return {
        "filter_headers": [("authorization", f"{scheme} {HIDDEN}"), ("cookie", HIDDEN)],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "path", "query"],
    }
