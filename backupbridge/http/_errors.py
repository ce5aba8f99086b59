"""From an error reply to a typed exception: status classes, Retry-After, the vendor's own decoder."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Callable, Sequence

import attrs

from ..errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from ..redaction import excerpt, redact
from ._calls import Reply

__all__ = ["VendorError", "build_api_error", "error_class_for_status", "parse_retry_after"]

MAX_VENDOR_MESSAGE = 500
"""The longest vendor message an ``APIError`` carries (longer ones are cut, after redaction)."""


def error_class_for_status(status: int) -> type[APIError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status in (404, 410):
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return InvalidRequestError
    return APIError


_DELTA_SECONDS = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait, from a ``Retry-After`` header in either form (delta-seconds or HTTP-date)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    # ASCII digits only (``float`` reads Arabic-Indic digits, ``nan`` and ``1e400``): anything else is a date
    # or nothing, and nothing waits the backoff.
    if _DELTA_SECONDS.fullmatch(text) is None:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        current = now or dt.datetime.now(dt.UTC)
        return max(0.0, (when - current).total_seconds())
    return max(0.0, float(text))


@attrs.frozen(kw_only=True)
class VendorError:
    """What a vendor's error decoder read from an error body.

    ``error_class`` overrides the status-based choice, for vendors whose error *type* says more than
    the status (IDrive 360 answers 400 for "entity not found").
    """

    vendor_code: str | None = None
    message: str | None = None
    errors: Sequence[ErrorDetail] = ()
    error_class: type[APIError] | None = None
    request_id: str | None = None


ErrorDecoder = Callable[[Reply], VendorError | None]


def build_api_error(reply: Reply, *, method: str, url: str, decoder: ErrorDecoder | None) -> APIError:
    """The typed exception for a non-2xx reply. Never raises, whatever the body holds."""
    info: VendorError | None = None
    if decoder is not None:
        try:
            info = decoder(reply)
        except Exception:  # a hostile or garbled error body must still yield the status-typed error
            info = None
    info = info or VendorError()
    cls = info.error_class or error_class_for_status(reply.status_code)
    first = info.errors[0] if info.errors else None
    # Redacted before it is cut (an error body may be large, or echo the request).
    vendor_message = (
        excerpt(first.message, MAX_VENDOR_MESSAGE)
        if first and first.message
        else (excerpt(info.message, MAX_VENDOR_MESSAGE) if info.message else None)
    )
    code = info.vendor_code or (first.type if first else None)
    text = f"{reply.vendor} answered {reply.status_code} to {reply.endpoint}"
    if code:
        text += f" ({code})"
    if vendor_message:
        text += f": {vendor_message}"
    errors = tuple(
        ErrorDetail(type=e.type, field=e.field, message=excerpt(e.message, MAX_VENDOR_MESSAGE) if e.message else None)
        for e in info.errors
    )
    kwargs = dict(
        status_code=reply.status_code,
        method=method,
        url=redact(url),
        vendor=reply.vendor,
        operation=reply.operation,
        vendor_code=code,
        field=first.field if first else None,
        vendor_message=vendor_message,
        errors=errors,
        request_id=info.request_id,
    )
    if issubclass(cls, RateLimitedError):
        return cls(text, retry_after=parse_retry_after(reply.headers.get("retry-after")), **kwargs)
    return cls(text, **kwargs)  # type: ignore[arg-type]
