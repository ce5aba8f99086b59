"""What every registered vendor must do, checked against its simulator.

The checks live in the shipped suite (``backupbridge.testing.VendorContract``), the one a third-party
plugin runs from the installed wheel; here it runs for every vendor registered through the entry-point
group, so a new plugin is held to the same contract the moment it is installed.
"""

from __future__ import annotations

import pytest

import backupbridge
from backupbridge.testing import VendorContract

VENDORS = [v.name for v in backupbridge.list_vendors() if v.simulator is not None]
BUILT_IN = {"idrive360", "cleverfox", "managedbackup", "vprotect"}


def test_every_vendor_ships_a_simulator() -> None:
    assert VENDORS == [v.name for v in backupbridge.list_vendors()]
    assert set(VENDORS) >= BUILT_IN


class TestContract(VendorContract):
    """The shipped suite, for every installed vendor."""

    @pytest.fixture(params=VENDORS)
    def contract_vendor(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)
