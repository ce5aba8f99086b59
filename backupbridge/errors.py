"""The exceptions backupbridge raises.

Only these cross the public boundary; foreign exceptions are wrapped with ``raise ... from exc``.
They carry data (vendor, status, vendor code, field, retry_after), never secrets or whole bodies: every
message, URL, vendor message and excerpt is redacted when the exception is made, and its ``str`` and
``repr`` are redacted again (a token minted after the exception was made is removed too)::

    BackupBridgeError                     .vendor
    ├── ConfigurationError                bad or missing settings, found before any I/O
    │   └── MissingCredentialsError       says where it looked
    ├── PluginError                       .plugin_name, .distribution
    │   ├── DuplicateVendorError
    │   └── UnknownVendorError            (also LookupError) lists the known vendors
    ├── ValidationError                   (also ValueError) bad arguments, raised before any request
    ├── UnsupportedOperationError         (also NotImplementedError) .operation
    ├── TransportError                    no usable response (timeout, connection)
    ├── APIError                          .status_code, .method, .url, .vendor_code, .field, ...
    │   ├── AuthenticationError           401, rejected login
    │   ├── PermissionDeniedError         403, or the vendor's "not allowed" types
    │   ├── NotFoundError                 (also LookupError)
    │   ├── ConflictError                 409, duplicate, "same state"
    │   ├── InvalidRequestError           400/422 and the vendor's invalid-parameter types
    │   ├── RateLimitedError              429; .retry_after seconds
    │   └── ServerError                   5xx
    └── DecodingError                     the response is not what the docs promise
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from .redaction import excerpt as redacted_excerpt
from .redaction import redact

__all__ = [
    "APIError",
    "AuthenticationError",
    "BackupBridgeError",
    "ConfigurationError",
    "ConflictError",
    "DecodingError",
    "DuplicateVendorError",
    "ErrorDetail",
    "InvalidRequestError",
    "MissingCredentialsError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnknownVendorError",
    "UnsupportedOperationError",
    "ValidationError",
]


class BackupBridgeError(Exception):
    """Base of every backupbridge exception.

    Attributes:
        vendor: the vendor name the failure belongs to, when known.
        account: the account name, when the failure happened inside a named account.
        operation: the operation that failed (``list_devices``, ``company_summary``...), when known.
        attempts: how many times the request was sent before this failure (retries included).
        during_login: the failure happened while logging in, so the request itself was not sent (a
            write may then be retried safely).
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        account: str | None = None,
        operation: str | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.account = account
        self.operation = operation
        self.attempts = 1
        self.during_login = False

    def __str__(self) -> str:
        where = ", ".join(
            f"{k}={v}"
            for k, v in (("vendor", self.vendor), ("account", self.account), ("operation", self.operation))
            if v
        )
        return redact(f"{self.message} [{where}]" if where else self.message)

    def __repr__(self) -> str:
        return redact(f"{type(self).__name__}({self.message!r}, vendor={self.vendor!r})")


class ConfigurationError(BackupBridgeError):
    """Bad or missing settings, found before any I/O."""


class MissingCredentialsError(ConfigurationError):
    """No credential was found; ``looked_in`` says where we looked."""

    def __init__(self, message: str, *, looked_in: Sequence[str] = (), vendor: str | None = None) -> None:
        super().__init__(message, vendor=vendor)
        self.looked_in = tuple(looked_in)


class PluginError(BackupBridgeError):
    """A plugin broke its contract or could not be loaded."""

    def __init__(self, message: str, *, plugin_name: str | None = None, distribution: str | None = None) -> None:
        super().__init__(message)
        self.plugin_name = plugin_name
        self.distribution = distribution


class DuplicateVendorError(PluginError):
    """Two plugins registered the same vendor name."""


class UnknownVendorError(PluginError, LookupError):
    """No registered plugin provides this vendor; ``known`` lists the ones that do."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.known = tuple(sorted(known))
        super().__init__(
            f"unknown vendor {name!r}; registered vendors: {', '.join(self.known) or '(none)'}",
            plugin_name=name,
        )


class ValidationError(BackupBridgeError, ValueError):
    """Bad arguments, raised before any request is sent.

    Attributes:
        field: the argument or payload field at fault, when there is one.
    """

    def __init__(
        self, message: str, *, field: str | None = None, vendor: str | None = None, operation: str | None = None
    ) -> None:
        super().__init__(message, vendor=vendor, operation=operation)
        self.field = field


class UnsupportedOperationError(BackupBridgeError, NotImplementedError):
    """The vendor's API has no way to do this; the vendor's capability table says so."""

    def __init__(self, vendor: str, operation: str, reason: str | None = None) -> None:
        text = f"{vendor} does not support {operation}"
        super().__init__(f"{text}: {reason}" if reason else text, vendor=vendor, operation=operation)


class TransportError(BackupBridgeError):
    """No usable response arrived (timeout, refused or reset connection, TLS failure).

    Attributes:
        may_have_been_applied: for writes, whether the server may have applied the request
            before the connection failed (True, False, or None when it cannot be known).
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        operation: str | None = None,
        method: str | None = None,
        url: str | None = None,
        may_have_been_applied: bool | None = None,
    ) -> None:
        super().__init__(message, vendor=vendor, operation=operation)
        self.method = method
        self.url = redact(url) if url is not None else None
        self.may_have_been_applied = may_have_been_applied


@attrs.frozen
class ErrorDetail:
    """One inner error of a vendor's error body: the vendor's ``type``, ``field`` and ``message``."""

    type: str | None = None
    field: str | None = None
    message: str | None = None


class APIError(BackupBridgeError):
    """The vendor answered with an error.

    Attributes:
        status_code: the HTTP status.
        method, url: the request (the URL with secrets redacted).
        vendor_code: the vendor's own error type or code (``entity_not_found``, ``-6``...).
        field: the field the vendor blamed, when it named one.
        vendor_message: the vendor's message for the (first) error.
        errors: every inner error the vendor reported, as ``ErrorDetail``.
        request_id: the vendor's request id header, when it sends one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str | None = None,
        url: str | None = None,
        vendor: str | None = None,
        operation: str | None = None,
        vendor_code: str | None = None,
        field: str | None = None,
        vendor_message: str | None = None,
        errors: Sequence[ErrorDetail] = (),
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, vendor=vendor, operation=operation)
        self.status_code = status_code
        self.method = method
        self.url = redact(url) if url is not None else None
        self.vendor_code = redact(vendor_code) if vendor_code is not None else None
        self.field = field
        self.vendor_message = redact(vendor_message) if vendor_message is not None else None
        self.errors = tuple(attrs.evolve(e, message=redact(e.message)) if e.message is not None else e for e in errors)
        self.request_id = request_id

    def __repr__(self) -> str:
        return redact(
            f"{type(self).__name__}({self.message!r}, vendor={self.vendor!r}, status_code={self.status_code}, "
            f"vendor_code={self.vendor_code!r}, field={self.field!r})"
        )


class AuthenticationError(APIError):
    """The credentials were refused (401, rejected login, token refused after one re-login)."""


class PermissionDeniedError(APIError):
    """The credentials are valid but may not do this (403, or the vendor's own equivalents)."""


class NotFoundError(APIError, LookupError):
    """The addressed entity does not exist (or is not visible to these credentials)."""


class ConflictError(APIError):
    """409, a duplicate, or the vendor's "already in that state"."""


class InvalidRequestError(APIError):
    """The vendor refused the request as invalid (400/422 or its invalid-parameter types)."""


class RateLimitedError(APIError):
    """429. ``retry_after`` is the delay in seconds the vendor asked for, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the vendor failed."""


class DecodingError(BackupBridgeError):
    """The response is not what the vendor's docs promise.

    Attributes:
        endpoint: ``METHOD path`` of the request.
        excerpt: the first characters of the offending body (never a whole body), redacted before it
            was cut short.
    """

    EXCERPT_LENGTH = 120

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        excerpt: str | None = None,
        vendor: str | None = None,
        operation: str | None = None,
    ) -> None:
        if excerpt is not None:
            excerpt = redacted_excerpt(excerpt, self.EXCERPT_LENGTH)
        super().__init__(message, vendor=vendor, operation=operation)
        self.endpoint = redact(endpoint) if endpoint is not None else None
        self.excerpt = excerpt
        self.garbled = False  # the body was not JSON at all (set by the HTTP layer, which retries such reads)

    def __str__(self) -> str:
        base = super().__str__()
        parts = [base]
        if self.endpoint:
            parts.append(f"endpoint: {self.endpoint}")
        if self.excerpt is not None:
            parts.append(f"body starts: {self.excerpt!r}")
        return redact("; ".join(parts))
