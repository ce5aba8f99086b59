"""Simulators are imported only when one is made (or named): loading the vendor plugins for real accounts
imports none of them, and every documented name still imports."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PLUGINS = {
    "backupbridge_idrive360": "IDrive360Simulator",
    "backupbridge_cleverfox": "CleverFoxSimulator",
    "backupbridge_managedbackup": "ManagedBackupSimulator",
    "backupbridge_vprotect": "VProtectSimulator",
    "backupbridge_connectwise": "ConnectWiseSimulator",
}

CHILD = """
import sys
import backupbridge
from backupbridge.plugins import get_plugin_manager
get_plugin_manager()
vendors = [v.name for v in backupbridge.list_vendors()]
import backupbridge_connectwise
loaded = sorted(m for m in sys.modules if m.startswith("backupbridge_") and m.endswith(".simulator"))
print(",".join(loaded) or "-")
from backupbridge.sandbox import SimulatorOptions, make_simulator
make_simulator("idrive360", SimulatorOptions(seed=1, size=2))
print("backupbridge_idrive360.simulator" in sys.modules, "backupbridge_cleverfox.simulator" in sys.modules)
"""


def test_loading_the_plugins_imports_no_simulator() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    loaded, made = done.stdout.split("\n")[:2]
    assert loaded == "-", f"imported while loading the plugins: {loaded}"
    assert made == "True False"  # making one simulator imports that one alone


@pytest.mark.parametrize(("module", "name"), PLUGINS.items())
def test_the_simulator_names_still_import(module: str, name: str) -> None:
    package = importlib.import_module(module)
    simulator = importlib.import_module(f"{module}.simulator")
    assert getattr(package, name) is getattr(simulator, name)
    assert name in package.__all__
    namespace: dict[str, object] = {}
    exec(f"from {module} import {name} as imported", namespace)  # the import statement itself
    assert namespace["imported"] is getattr(simulator, name)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        package.NoSuchThing  # noqa: B018
