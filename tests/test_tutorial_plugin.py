"""The tutorial plugin of docs/plugins.md, installed as the separate distribution it is, passes the
contract suite shipped in the backupbridge wheel (``backupbridge.testing.VendorContract``).

It is installed with pip (``--no-deps --no-index --target``: offline, nothing fetched) into a temporary
directory, which the pytest run below gets as its only extra ``sys.path`` entry; backupbridge finds the
vendor through the distribution's entry point, exactly as it finds a third party's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial"

THIRD_PARTY_TESTS = """
import importlib.metadata

from backupbridge.testing import VendorContract


def test_nimbus_comes_from_its_own_distribution():
    (point,) = [p for p in importlib.metadata.entry_points(group="backupbridge") if p.name == "nimbus"]
    assert point.dist is not None and point.dist.name == "backupbridge-nimbus"
    assert "docs" not in point.load().__file__  # the installed copy, not the source tree


class TestNimbusContract(VendorContract):
    vendor = "nimbus"
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target)]
    done = subprocess.run([*command, str(TUTORIAL)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (target / "backupbridge_nimbus" / "py.typed").exists()
    return target


def test_the_tutorial_plugin_passes_the_shipped_contract_suite(
    installed: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(installed))
    monkeypatch.delenv("BACKUPBRIDGE_LOAD_PLUGINS", raising=False)
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(pytester.path / "no-config.toml"))
    pytester.makepyfile(test_nimbus=THIRD_PARTY_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 19  # the whole suite ran against it, not a subset


def test_the_suite_fails_a_vendor_that_breaks_the_contract(
    installed: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite can fail: a Nimbus whose get_device answers another device than asked is caught."""
    monkeypatch.setenv("PYTHONPATH", str(installed))
    monkeypatch.delenv("BACKUPBRIDGE_LOAD_PLUGINS", raising=False)
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(pytester.path / "no-config.toml"))
    pytester.makepyfile(
        test_broken="""
import backupbridge_nimbus
from backupbridge.testing import VendorContract

original = backupbridge_nimbus.NimbusDriver.get_device
backupbridge_nimbus.NimbusDriver.get_device = lambda self, device_id: original(self, "ag_00002")


class TestBrokenNimbus(VendorContract):
    vendor = "nimbus"
"""
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    assert result.parseoutcomes().get("failed", 0) >= 1
    result.stdout.fnmatch_lines(["*test_get_by_id_and_not_found*"])
