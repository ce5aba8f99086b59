"""Every direction: a seeded tenant migrated between the simulators of each ordered vendor pair."""

from __future__ import annotations

from collections import Counter

import pytest

from backupbridge.migrate import Journal, apply_plan, cutover, migration_status
from backupbridge.migrate.sandbox_state import state_fingerprint
from backupbridge.store import Store

from .conftest import PAIRS, enroll_all, forbid_data_deletion, plan_for, tenant


@pytest.mark.parametrize(("source_vendor", "target_vendor"), PAIRS)
def test_every_plan_recreated_or_refused_rerun_noop_cutover_never_deletes(
    source_vendor: str, target_vendor: str, store: Store
) -> None:
    source, target = tenant(source_vendor, seed=3), tenant(target_vendor, seed=4)
    source_plans = {p.id: p for p in source.conn.list_plans()}
    data = plan_for(source, target)
    journal = Journal(store, data["migration_id"])

    # Every source plan is accounted for: ready (exact/adjusted, or a loss accepted) or refused with a reason.
    accounted = {pid for p in data["plans"] for pid in [p["source_id"], *p.get("merged_source_ids", [])]}
    assert accounted == set(source_plans)
    for plan in data["plans"]:
        if plan["status"] == "refused":
            assert plan["refused_reason"], plan
        else:
            lost = {f for f, v in plan["fields"].items() if v["verdict"] == "unsupported"}
            assert lost <= set(data["accepted_losses"]), plan
            assert all(v["verdict"] in ("exact", "adjusted", "unsupported") for v in plan["fields"].values())
            for verdict in plan["fields"].values():
                if verdict["verdict"] == "adjusted":
                    assert verdict["how"], plan

    first = apply_plan(data, target.conn, journal)
    enroll_all(data, target, journal)
    second = apply_plan(data, target.conn, journal)
    ready = [p for p in data["plans"] if p["status"] == "ready"]
    entries = journal.entries()
    plan_entries = {k: e for k, e in entries.items() if k.startswith("plan:")}
    assert all(e.state == "done" for e in entries.values())
    assert not second.waiting
    # Each ready plan is on the target now, under its name, covering the devices its source plan covered.
    target_plans = {p.id: p for p in target.conn.list_plans()}
    created = [target_plans[e.target_id] for e in plan_entries.values() if e.target_id in target_plans]
    assert len(created) == len(plan_entries)
    assert {p.name for p in created} == {p["spec"]["name"] for p in ready}
    if ready:
        assert first.written or second.written

    # A re-run is a no-op: no write sent, the target's data unchanged.
    before = state_fingerprint(target.simulator)
    writes = len(target.transport.writes())
    third = apply_plan(data, target.conn, journal)
    assert third.written == [] and third.found == []
    assert len(target.transport.writes()) == writes
    assert state_fingerprint(target.simulator) == before
    names = Counter((p.company_id, p.name, p.device_ids) for p in target.conn.list_plans())
    assert max(names.values()) == 1, "a plan was duplicated"

    statuses = migration_status(data, target.conn, journal)
    migrated_devices = {d for p in ready for d in p["source_device_ids"]}
    assert {s.source_id for s in statuses if s.ready} == migrated_devices
    result = cutover(data, source.conn, statuses, journal)
    handled = set(result.disabled) | set(result.by_hand) | set(result.already)
    assert {p["source_id"] for p in ready if p["source_device_ids"]} <= handled | set(result.disabled)
    for plan_id in result.disabled:
        assert source.conn.get_plan(plan_id).enabled is False
    forbid_data_deletion([source, target])
