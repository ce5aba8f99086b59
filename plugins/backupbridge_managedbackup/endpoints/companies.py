"""Packages, Companies and Licenses: ``conn.vendor.packages``, ``.companies``, ``.licenses``."""

from __future__ import annotations

from collections.abc import Mapping

from backupbridge.plugin import ListOp, Op, Param, Raw, flag

from ..records import CompanyRecord, LicenseRecord, PackageRecord
from .common import API, is_guid, is_whole, sends

_PACKAGE = {"package_id": is_whole}
PACKAGES = API.many("GET /Packages", PackageRecord, "packages.list", id="id")
GET_PACKAGE = API.one("GET /Packages/{package_id}", PackageRecord, "packages.get", path=_PACKAGE)
CREATE_PACKAGE = API.json("POST /Packages", "packages.create", **sends("Name"))
UPDATE_PACKAGE = API.json("PUT /Packages", "packages.update", **sends("ID"))
DELETE_PACKAGE = API.none("DELETE /Packages/{package_id}", "packages.delete", path=_PACKAGE)

_COMPANY = {"company_id": is_guid}
COMPANIES = API.many("GET /Companies", CompanyRecord, "companies.list", id="id")
GET_COMPANY = API.one("GET /Companies/{company_id}", CompanyRecord, "companies.get", path=_COMPANY)
DELETE_COMPANY = API.none("DELETE /Companies/{company_id}", "companies.delete", path=_COMPANY)
CREATE_COMPANY = API.json("POST /Companies", "companies.create", **sends("Name"))
UPDATE_COMPANY = API.json("PUT /Companies", "companies.update", **sends("Id", guids=("Id",)))

LICENSES = API.many(
    "GET /Licenses",
    LicenseRecord,
    "licenses.list",
    id="id",
    query={"is_available": Param(flag, wire="isAvailable", field="is_available")},
)
GET_LICENSE = API.one("GET /Licenses/{license_id}", LicenseRecord, "licenses.get", path={"license_id": is_guid})
GRANT = API.json("POST /Licenses/Grant", "licenses.grant", **sends("LicenseID", "UserID"))
RELEASE = API.json("POST /Licenses/Release", "licenses.release", **sends("LicenseID", "UserID"))
REVOKE = API.json("POST /Licenses/Revoke", "licenses.revoke", **sends("LicenseID", "UserID"))


class Packages:
    def list(self) -> ListOp[PackageRecord]:
        """``GET api/Packages``."""
        return PACKAGES()

    def get(self, package_id: int | str) -> Op[PackageRecord]:
        """``GET api/Packages/{ID}``."""
        return GET_PACKAGE(package_id=package_id)

    def create(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Packages`` (Name required). Returns the API's answer (the new package's id)."""
        return CREATE_PACKAGE(payload=payload)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Packages`` (ID required)."""
        return UPDATE_PACKAGE(payload=payload)

    def delete(self, package_id: int | str) -> Op[None]:
        """``DELETE api/Packages/{ID}``."""
        return DELETE_PACKAGE(package_id=package_id)


class Companies:
    def list(self) -> ListOp[CompanyRecord]:
        """``GET api/Companies``."""
        return COMPANIES()

    def list_pairs(self) -> ListOp[tuple[CompanyRecord, Raw]]:
        """``list()`` as ``(record, raw JSON)`` pairs."""
        return COMPANIES.pairs()

    def get(self, company_id: str) -> Op[CompanyRecord]:
        """``GET api/Companies/{ID}``."""
        return GET_COMPANY(company_id=company_id)

    def get_pair(self, company_id: str) -> Op[tuple[CompanyRecord, Raw]]:
        """``get()`` with the raw JSON."""
        return GET_COMPANY.pair(company_id=company_id)

    def delete(self, company_id: str) -> Op[None]:
        """``DELETE api/Companies/{ID}``."""
        return DELETE_COMPANY(company_id=company_id)

    def create(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Companies`` (Name required): the new company's id."""
        return CREATE_COMPANY(payload=payload)

    def update(self, payload: Mapping[str, object]) -> Op[object]:
        """``PUT api/Companies`` (Id required)."""
        return UPDATE_COMPANY(payload=payload)


class Licenses:
    def list(self, *, is_available: bool | None = None) -> ListOp[LicenseRecord]:
        """``GET api/Licenses?isAvailable=``."""
        return LICENSES(is_available=is_available)

    def get(self, license_id: str) -> Op[LicenseRecord]:
        """``GET api/Licenses/{ID}``."""
        return GET_LICENSE(license_id=license_id)

    def grant(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Licenses/Grant`` (LicenseID and UserID required)."""
        return GRANT(payload=payload)

    def release(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Licenses/Release``."""
        return RELEASE(payload=payload)

    def revoke(self, payload: Mapping[str, object]) -> Op[object]:
        """``POST api/Licenses/Revoke``."""
        return REVOKE(payload=payload)
