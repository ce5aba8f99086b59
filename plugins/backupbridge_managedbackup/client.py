"""The Managed Backup (MSP360-style) API client: every method of the docs' twelve groups, and the computer
plan operations known from public clients (plan details, info, start, stop, history).

Groups hang off the client: ``conn.vendor.users.list()``, ``conn.vendor.computers.plans(hid)``. Each group's
endpoints are declared in ``endpoints/`` on ``backupbridge.plugin.Service`` (arguments checked before any
request, replies held to their shape); who the vendor is, the login and the error bodies are in ``auth.py``.
Only Computers (and plan history) page, by path (``Computers/{offset}/{count}``), checked against ``Count``;
every other list is a bare array. Writes are never retried: the API has no duplicate prevention.
"""

from __future__ import annotations

from .auth import BASE_URL as BASE_URL
from .auth import VENDOR as VENDOR
from .auth import ManagedBackupLogin as ManagedBackupLogin
from .auth import decode_error as decode_error
from .auth import make_auth as make_auth
from .endpoints.billing import Billing, Builds
from .endpoints.common import API as API
from .endpoints.common import COMPUTER_PAGE as COMPUTER_PAGE
from .endpoints.common import body_of as body_of
from .endpoints.common import by_path as by_path
from .endpoints.common import decode_reply as decode_reply
from .endpoints.common import guid as guid
from .endpoints.common import hid as hid
from .endpoints.common import number as number
from .endpoints.companies import Companies, Licenses, Packages
from .endpoints.computers import Computers, Monitoring
from .endpoints.storage import Accounts, Destinations
from .endpoints.users import Administrators, Users

__all__ = [
    "BASE_URL",
    "VENDOR",
    "Accounts",
    "Administrators",
    "Billing",
    "Builds",
    "Companies",
    "Computers",
    "Destinations",
    "Licenses",
    "ManagedBackupAPI",
    "ManagedBackupLogin",
    "Monitoring",
    "Packages",
    "Users",
    "decode_error",
    "make_auth",
]


class ManagedBackupAPI:
    """Every Managed Backup method, in the docs' twelve groups (Provider login is the connection's auth)."""

    vendor = VENDOR

    def __init__(self) -> None:
        self.packages = Packages()
        self.users = Users()
        self.monitoring = Monitoring()
        self.companies = Companies()
        self.computers = Computers()
        self.licenses = Licenses()
        self.destinations = Destinations()
        self.accounts = Accounts()
        self.billing = Billing()
        self.builds = Builds()
        self.administrators = Administrators()
