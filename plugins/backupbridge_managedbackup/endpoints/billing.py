"""Billing and Builds: ``conn.vendor.billing``, ``conn.vendor.builds``."""

from __future__ import annotations

from collections.abc import Mapping

from backupbridge.plugin import ListOp, Op, Raw

from .common import API, raw_rows, sends

BILLING = API.json("GET /Billing", "billing.get")
# Reads sent as PUT (their filters travel in the body): safe to repeat.
QUERY = API.json("PUT /Billing", "billing.query", idempotent=True, **sends("Date"))
DETAILS = API.json("PUT /Billing/Details", "billing.details", idempotent=True, **sends("UserID", "Date"))

BUILDS = API.many("GET /Builds", dict, "builds.list")
REQUEST_CUSTOM = API.json("POST /Builds/RequestCustomBuilds", "builds.request_custom", **sends("Editions"))
AVAILABLE_VERSIONS = API.json("GET /Builds/AvailableVersions", "builds.available_versions")


class Billing:
    def get(self) -> Op[object]:
        """``GET api/Billing``: this month's billing."""
        return BILLING()

    def query(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Billing``: billing for dates and companies (a read, sent as PUT)."""
        return QUERY(payload=payload)

    def details(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Billing/Details``: per-computer backup and restore bytes for a user and month."""
        return DETAILS(payload=payload)


class Builds:
    def list(self) -> ListOp[Raw]:
        """``GET api/Builds``."""
        return raw_rows(BUILDS.pairs())

    def request_custom(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Builds/RequestCustomBuilds`` (Editions required)."""
        return REQUEST_CUSTOM(payload=payload)

    def available_versions(self) -> Op[object]:
        """``GET api/Builds/AvailableVersions``."""
        return AVAILABLE_VERSIONS()
