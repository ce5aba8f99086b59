"""The HTTP layer: sans-I/O calls, sessions (sync and async), retries, paging, auth, error decoding."""

from ._auth import BasicAuth, BearerAuth, LoginAuth, check_base_url, client_kwargs, is_loopback
from ._calls import Batch, Call, ListOp, Op, Page, Reply, collect, mapped, paginate, single_page
from ._errors import ErrorDecoder, VendorError, build_api_error, error_class_for_status, parse_retry_after
from ._session import AsyncSession, RateLimiter, RetryPolicy, Session, VendorProfile

__all__ = [
    "AsyncSession",
    "BasicAuth",
    "Batch",
    "BearerAuth",
    "Call",
    "ErrorDecoder",
    "ListOp",
    "LoginAuth",
    "Op",
    "Page",
    "RateLimiter",
    "Reply",
    "RetryPolicy",
    "Session",
    "VendorError",
    "VendorProfile",
    "build_api_error",
    "check_base_url",
    "client_kwargs",
    "collect",
    "error_class_for_status",
    "is_loopback",
    "mapped",
    "paginate",
    "parse_retry_after",
    "single_page",
]
