"""The webhook sink: each alert event as a signed JSON ``POST``.

Headers on every delivery (retries included)::

    Content-Type: application/json
    Idempotency-Key: <32 hex digits, the same on every retry of this event>
    X-Backupbridge-Event: problem | recovered
    X-Backupbridge-Timestamp: <unix seconds when this attempt was signed>
    X-Backupbridge-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A receiver checks the signature and the timestamp with ``verify_signature`` (or the same few lines in its own
language) and drops an ``Idempotency-Key`` it has seen. A 2xx answer is delivered; 408, 429, 5xx and
transport errors are retried on later runs (with backoff); any other answer (401, 403, 404, 3xx...) is a
permanent failure: the event is kept and reported every run until the configuration is fixed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..alerts import Delivery
from ..errors import BackupBridgeError
from ..redaction import Secret
from .base import EventSink, SinkError

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookSink", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Backupbridge-Signature"
TIMESTAMP_HEADER = "X-Backupbridge-Timestamp"
_RETRYABLE = frozenset({408, 429})


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: float = 300,
    *,
    now: float | None = None,
) -> bool:
    """Whether a request really comes from backupbridge with this shared ``secret``, signed recently.

    Args:
        secret: the webhook's shared secret.
        headers: the request's headers (any case of the names).
        body: the request body exactly as received (before parsing it).
        tolerance: how many seconds the timestamp may be away from ``now`` (replays outside it fail).
        now: the receiver's clock (default ``time.time()``).

    Returns:
        True when the signature matches the body and the timestamp, and the timestamp is within tolerance.
    """
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    stamp, given = lowered.get(TIMESTAMP_HEADER.lower()), lowered.get(SIGNATURE_HEADER.lower())
    # ASCII digits only, and a sane length: '\u00b2'.isdigit() is True but int() refuses it.
    if not stamp or not given or not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 20):
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), given.strip())


def _where(url: str) -> str:
    """The URL without its query or user part (a token may travel there), for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class WebhookSink(EventSink):
    """POST each event to ``url``, signed with the secret ``secret()`` returns.

    Args:
        label: the sink's configured name.
        url: where to POST (``http://`` only for loopback).
        secret: gives the shared secret when a delivery is made (an environment variable or the keyring,
            read then: a missing secret is that sink's failure alone).
        timeout: seconds per request.
        transport: an httpx transport (tests, proxies).
    """

    kind = "webhook"

    def __init__(
        self,
        label: str,
        *,
        url: str,
        secret: Callable[[], str | Secret],
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(label)
        self.url = url
        self._secret = secret
        self.timeout = timeout
        self.transport = transport

    def body(self, entry: Delivery) -> bytes:
        document: dict[str, Any] = {
            "event": entry.event,
            "idempotency_key": entry.idempotency_key,
            "title": entry.alert.title,
            "alert": entry.alert.to_json(),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def send_event(self, entry: Delivery) -> None:
        try:
            found = self._secret()
        except BackupBridgeError as exc:
            raise SinkError(f"webhook {self.label}: {exc}", permanent=True) from exc
        secret = found.reveal() if isinstance(found, Secret) else found
        body = self.body(entry)
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "backupbridge-webhook",
            "Idempotency-Key": entry.idempotency_key,
            "X-Backupbridge-Event": entry.event,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(secret, stamp, body),
        }
        where = _where(self.url)
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False) as client:
                response = client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SinkError(f"webhook {self.label}: {where} unreachable: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in _RETRYABLE or status >= 500:
            raise SinkError(
                f"webhook {self.label}: {where} answered HTTP {status}; retried on a later run", status_code=status
            )
        raise SinkError(
            f"webhook {self.label}: {where} refused the delivery (HTTP {status}); "
            "fix the sink's url or secret, the event is kept and sent again next run",
            permanent=True,
            status_code=status,
        )
