"""Soak: the full inventory of all four vendors through the Bridge at a 10% fault rate equals the truth.

Small in CI; by hand, larger: BACKUPBRIDGE_SOAK_ROUNDS=400 BACKUPBRIDGE_SOAK_SIZE=60 pytest tests/soak
(or python tools/reliability_figures.py, which also writes the figures down).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

import backupbridge
from backupbridge import ConflictError, TransportError
from backupbridge.sandbox import FaultKind, Faults, SimulatorOptions, SimulatorTransport, connect_sandbox
from backupbridge.sandbox.soak import SoakResult, run_soak

ROUNDS = int(os.environ.get("BACKUPBRIDGE_SOAK_ROUNDS", "3"))
SIZE = int(os.environ.get("BACKUPBRIDGE_SOAK_SIZE", "25"))


def test_inventory_under_faults_loses_and_duplicates_nothing() -> None:
    result = run_soak(accounts_per_vendor=2, size=SIZE, rate=0.10, rounds=ROUNDS, seed=11)
    summary = result.summary()
    assert summary["faults_total"] > 0 and summary["records_checked"] > 0
    assert (result.lost, result.duplicated, result.unexpected) == (0, 0, 0), result.problems
    assert result.untyped_errors == 0 and result.failures_missing_context == 0
    assert result.leaks == 0, result.problems
    assert result.failed_accounts == result.typed_failures


def test_figures_of_several_runs_add_up() -> None:
    """The reliability figures are the sum of their rounds: every count, every fault kind, every problem."""
    one = run_soak(vendors=["idrive360"], accounts_per_vendor=1, size=5, rate=0.3, seed=1)
    two = run_soak(vendors=["cleverfox"], accounts_per_vendor=1, size=5, rate=0.3, seed=2)
    one.problems.append("a problem of the first run")
    total = SoakResult()
    total.add(one)
    total.add(two)
    expected = {
        key: one.summary()[key] + two.summary()[key] for key in one.summary() if isinstance(one.summary()[key], int)
    }
    assert {key: total.summary()[key] for key in expected} == expected
    assert total.faults == one.faults + two.faults and sum(total.faults.values()) > 0
    assert total.problems == ["a problem of the first run", *two.problems]


def test_every_failure_names_vendor_account_and_operation() -> None:
    """At a fault rate retries cannot beat, accounts fail: each failure is typed and says where."""
    result = run_soak(
        vendors=["cleverfox", "vprotect"],
        accounts_per_vendor=2,
        size=10,
        rate=0.9,
        rounds=1,
        seed=3,
        kinds=(FaultKind.SERVER_ERROR, FaultKind.CONNECT_ERROR, FaultKind.TIMEOUT),
    )
    assert result.failed_accounts > 0 and result.typed_failures == result.failed_accounts
    assert result.failures_missing_context == 0 and result.leaks == 0


def test_cleverfox_writes_under_faults_never_duplicate() -> None:
    from backupbridge_cleverfox import CleverFoxSimulator

    sim = CleverFoxSimulator(SimulatorOptions(size=4, seed=5))
    sub = next(iter(sim.tables["subscriptions"].values()))
    conn = backupbridge.connect(
        "cleverfox",
        transport=SimulatorTransport(
            sim.handle,
            faults=Faults(
                rate=0.3,
                seed=8,
                kinds=(FaultKind.RESET_AFTER_APPLY, FaultKind.SERVER_ERROR, FaultKind.CONNECT_ERROR, FaultKind.TIMEOUT),
            ),
        ),
        **sim.credentials,
    )
    before = len(sim.tables["devices"])
    created, refused = 0, 0
    for index in range(40):
        payload = {
            "CompanyId": sub["CompanyId"],
            "SubscriptionId": sub["SubscriptionId"],
            "Name": f"W{index}",
            "TimeZoneId": "UTC",
            "ExternalId": f"SOAK-{index}",
        }
        try:
            conn.vendor.devices.create(payload)
            created += 1
        except (TransportError, ConflictError, backupbridge.ServerError):
            refused += 1
    names = [d["Name"] for d in sim.tables["devices"].values()]
    assert len(names) == len(set(names)), "no device created twice"
    assert len(sim.tables["devices"]) - before >= created  # everything reported created exists
    assert created > 30


@pytest.mark.parametrize("vendor", ["idrive360", "managedbackup", "vprotect"])
def test_writes_without_duplicate_prevention_are_not_retried(vendor: str) -> None:
    conn = connect_sandbox(vendor, size=3)
    # Logged in first: a failed login means the write was never sent, and is retried like a read.
    list(conn.list_companies())
    conn.transport.faults = Faults(rate=1.0, kinds=(FaultKind.RESET_AFTER_APPLY,))
    write: Callable[[Any], object] = {
        "idrive360": lambda c: c.vendor.create_company("Soak Co"),
        "managedbackup": lambda c: c.vendor.companies.create({"Name": "Soak Co"}),
        "vprotect": lambda c: c.vendor.schedules.create({"name": "Soak", "executionType": {"name": "TIME"}}),
    }[vendor]
    before = conn.transport.requests
    with pytest.raises(TransportError) as info:
        write(conn)
    assert info.value.may_have_been_applied is None and "may have applied" in str(info.value)
    sent = conn.transport.requests - before
    assert sent <= 2, "the write went out once (plus, for login vendors, the login before it)"
