"""The store's exceptions (both are ``BackupBridgeError``, so the CLI prints them as one line)::

BackupBridgeError
├── ConfigurationError
│   ├── StoreURLError       the store URL does not parse, or names a driver that is not installed
│   └── StoreSchemaError    the store's schema is older or newer than this code: says what to run
└── StoreError              the store cannot be used now: unreachable, locked, disk full, ...
"""

from __future__ import annotations

from ..errors import BackupBridgeError, ConfigurationError

__all__ = ["StoreError", "StoreSchemaError", "StoreURLError"]


class StoreURLError(ConfigurationError):
    """The store URL does not parse, or its driver is not installed."""


class StoreSchemaError(ConfigurationError):
    """The store's schema is not the one this code reads and writes.

    Attributes:
        found: the store's revision (None for a database that is not a backupbridge store).
        expected: the revision this code needs.
    """

    def __init__(self, message: str, *, found: str | None, expected: str) -> None:
        super().__init__(message)
        self.found = found
        self.expected = expected


class StoreError(BackupBridgeError):
    """The store could not be read or written (unreachable, locked, disk full); nothing was half-written."""
