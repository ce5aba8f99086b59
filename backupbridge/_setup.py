"""What ``connect`` checks before any I/O: the vendor, its credentials, the base URL and the time zone."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigurationError, MissingCredentialsError, ValidationError
from .http import check_base_url
from .plugins import get_vendor
from .vendors import DriverContext, Vendor

__all__ = ["parse_timezone", "prepare", "resolve_credentials"]


def resolve_credentials(vendor: Vendor, credentials: Mapping[str, Any]) -> dict[str, Any]:
    """Each credential the vendor takes, from the arguments or else its environment variable, wrapped as
    ``Secret`` where secret. An unexpected one is a ``ValidationError``, a missing one a
    ``MissingCredentialsError`` naming where it was looked for."""
    known = {f.name: f for f in vendor.credentials}
    unknown = sorted(set(credentials) - set(known))
    if unknown:
        raise ValidationError(
            f"{vendor.name} takes the credentials {', '.join(sorted(known))}; unexpected: {', '.join(unknown)}",
            field=unknown[0],
            vendor=vendor.name,
        )
    values: dict[str, Any] = {}
    for name, spec in known.items():
        value = credentials.get(name)
        if value is None:
            value = os.environ.get(spec.env)
        if value is None or value == "":
            raise MissingCredentialsError(
                f"{vendor.name} needs {name!r}: pass it, or set the environment variable {spec.env}",
                looked_in=(f"argument {name}", f"environment {spec.env}"),
                vendor=vendor.name,
            )
        values[name] = value
    return vendor.wrap_credentials(values)


def parse_timezone(timezone: str | dt.tzinfo, vendor: str) -> dt.tzinfo:
    """An IANA zone name as a ``tzinfo`` (a ``tzinfo`` passes as it is); an unknown name is a
    ``ConfigurationError``."""
    if not isinstance(timezone, str):
        return timezone
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"unknown time zone {timezone!r}", vendor=vendor) from exc


def prepare(
    vendor_name: str,
    credentials: Mapping[str, Any],
    base_url: str | None,
    account: str,
    timezone: str | dt.tzinfo,
    allow_insecure_http: bool,
    clock: Callable[[], dt.datetime] | None = None,
) -> tuple[Vendor, dict[str, Any], str, DriverContext]:
    """The vendor, its wrapped credentials, the base URL and the driver's context: everything ``connect``
    refuses is refused here, before any request."""
    vendor = get_vendor(vendor_name)
    values = resolve_credentials(vendor, credentials)
    url = base_url or vendor.default_base_url
    if not url:
        raise ConfigurationError(f"{vendor.name} is self-hosted: base_url is required", vendor=vendor.name)
    check_base_url(url, allow_insecure_http=allow_insecure_http, vendor=vendor.name)
    tz = parse_timezone(timezone, vendor.name)
    context = DriverContext(vendor=vendor.name, account=account, timezone=tz, base_url=url)
    if clock is not None:
        context = DriverContext(vendor=vendor.name, account=account, timezone=tz, base_url=url, clock=clock)
    return vendor, values, url, context
