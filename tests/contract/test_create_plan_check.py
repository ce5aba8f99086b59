"""The shipped contract's create_plan check: a vendor may refuse a plan kind it cannot make, with a typed
``UnsupportedOperationError`` naming itself and ``create_plan``, and must then make another kind; every
other outcome (an untyped error, a refusal naming someone else, refusing every kind) fails the check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from backupbridge import (
    BackupTarget,
    Capability,
    Device,
    DeviceStatus,
    PlanCreation,
    PlanSpec,
    UnsupportedOperationError,
    ValidationError,
)
from backupbridge.sandbox import connect_sandbox
from backupbridge.testing import _create_plan_dry_run

Answer = Callable[[PlanSpec], PlanCreation]


@attrs.define
class FakeConnection:
    """Just what the check reads of a connection: its devices, capabilities and create_plan."""

    answer: Answer
    capabilities: frozenset[Capability] = frozenset({Capability.CREATE_PLAN})
    vendor_name: str = "acme"
    asked: list[BackupTarget] = attrs.field(factory=list)

    def list_devices(self) -> list[Device]:
        return [
            Device(vendor="acme", account="a", id=f"vm-{i}", name=f"vm-{i}", status=DeviceStatus.ONLINE)
            for i in range(3)
        ]

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> PlanCreation:
        assert dry_run
        self.asked.append(spec.what)
        return self.answer(spec)


def _made(spec: PlanSpec) -> PlanCreation:
    return PlanCreation(vendor="acme", account="a", plan_id=None, dry_run=True, applied_to=spec.device_ids)


def _vm_only(vendor: str = "acme", operation: str = "create_plan") -> Answer:
    def answer(spec: PlanSpec) -> PlanCreation:
        if spec.what is not BackupTarget.VM:
            raise UnsupportedOperationError(vendor, operation, "VM plans only")
        return _made(spec)

    return answer


def _check(conn: FakeConnection) -> None:
    _create_plan_dry_run(conn)  # type: ignore[arg-type]  # duck-typed: only what the check reads


def test_a_file_plan_is_asked_first_and_is_enough() -> None:
    conn = FakeConnection(_made)
    _check(conn)
    assert conn.asked == [BackupTarget.FILES]


def test_a_vendor_refusing_file_plans_with_a_typed_error_passes_on_a_vm_plan() -> None:
    conn = FakeConnection(_vm_only())
    _check(conn)
    assert conn.asked == [BackupTarget.FILES] * 3 + [BackupTarget.VM]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_vm_only(vendor="other"), "names vendor 'other'"),
        (_vm_only(operation="create_device"), "names operation 'create_device'"),
    ],
    ids=["another vendor", "another operation"],
)
def test_a_refusal_naming_someone_else_fails(answer: Answer, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        _check(FakeConnection(answer))


@pytest.mark.parametrize(
    "error",
    [NotImplementedError("files"), ValidationError("no files", field="items", vendor="acme"), RuntimeError("x")],
    ids=["bare NotImplementedError", "ValidationError", "RuntimeError"],
)
def test_any_other_error_fails(error: Exception) -> None:
    def answer(spec: PlanSpec) -> PlanCreation:
        raise error

    with pytest.raises(type(error)):
        _check(FakeConnection(answer))


def test_refusing_every_kind_fails() -> None:
    def answer(spec: PlanSpec) -> PlanCreation:
        raise UnsupportedOperationError("acme", "create_plan", "nothing today")

    with pytest.raises(AssertionError, match="refused every plan kind"):
        _check(FakeConnection(answer))


def test_a_result_that_is_not_a_dry_run_fails() -> None:
    def answer(spec: PlanSpec) -> PlanCreation:
        return attrs.evolve(_made(spec), dry_run=False)

    with pytest.raises(AssertionError):
        _check(FakeConnection(answer))


def test_without_the_capability_the_refusal_propagates_and_working_is_a_failure() -> None:
    refusing = FakeConnection(_vm_only(), capabilities=frozenset())
    with pytest.raises(UnsupportedOperationError):
        _check(refusing)
    assert refusing.asked == [BackupTarget.FILES]
    with pytest.raises(AssertionError, match="not declared"):
        _check(FakeConnection(_made, capabilities=frozenset()))


def test_vprotect_refuses_the_file_plan_and_dry_runs_a_vm_plan() -> None:
    conn: Any = connect_sandbox("vprotect", seed=11, size=30)
    asked: list[BackupTarget] = []
    original = conn.create_plan

    def spy(spec: PlanSpec, dry_run: bool = False) -> PlanCreation:
        asked.append(spec.what)
        return original(spec, dry_run=dry_run)  # type: ignore[no-any-return]

    conn.create_plan = spy
    before = {k: dict(v) for k, v in conn.simulator.policies.items()}
    _create_plan_dry_run(conn)
    assert asked[0] is BackupTarget.FILES and asked[-1] is BackupTarget.VM
    assert {k: dict(v) for k, v in conn.simulator.policies.items()} == before  # a dry run writes nothing
