"""A run killed half-way resumes where it stopped, without duplicates; bad input stops at a named step."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from backupbridge.migrate import ApplyResult, Journal, MigrationError, PlanFileError, apply_plan, read_plan_file
from backupbridge.migrate.planfile import write_plan_file
from backupbridge.store import Store

from .conftest import PAIRS, Tenant, enroll_all, plan_for, tenant


class Killed(Exception):
    """The process died here."""


def _target_objects(target: Tenant) -> Counter[tuple[str, ...]]:
    companies = Counter(("company", c.name) for c in target.conn.list_companies())
    plans = Counter(("plan", p.company_id or "", p.name, *p.device_ids) for p in target.conn.list_plans())
    devices = Counter(("device", d.company_id or "", d.name) for d in target.conn.list_devices())
    return companies + plans + devices


def _migrate(source_vendor: str, target_vendor: str) -> tuple[Tenant, dict[str, Any]]:
    source, target = tenant(source_vendor, seed=5), tenant(target_vendor, seed=6)
    return target, plan_for(source, target)


FIGURES: dict[str, Any] = {}


def _stages(data: dict[str, Any], target: Tenant, journal: Journal, hook: Any) -> ApplyResult:
    """apply, the agents enroll, apply again; the result of the runs together."""
    first = apply_plan(data, target.conn, journal, after_step=hook)
    enroll_all(data, target, journal)
    second = apply_plan(data, target.conn, journal, after_step=hook)
    second.written[:0] = first.written
    second.found[:0] = first.found
    second.skipped[:0] = [s for s in first.skipped if s not in second.skipped]
    return second


@pytest.mark.parametrize(("source_vendor", "target_vendor"), PAIRS)
@pytest.mark.parametrize("kill_at", ["after_done", "between_started_and_write"])
def test_killed_half_way_resumes_without_duplicates(
    source_vendor: str, target_vendor: str, kill_at: str, tmp_path: Path
) -> None:
    from backupbridge.store import open_store

    # The clean run, for the figures to compare with.
    clean_target, clean_data = _migrate(source_vendor, target_vendor)
    clean_store = open_store(f"sqlite:///{tmp_path / 'clean.sqlite3'}")
    clean_journal = Journal(clean_store, clean_data["migration_id"])
    records: list[tuple[str, str]] = []

    def note(step: str, state: str) -> None:
        records.append((step, state))

    _stages(clean_data, clean_target, clean_journal, note)
    clean_writes = len(clean_target.transport.writes())
    expected = _target_objects(clean_target)
    if clean_writes < 2:
        pytest.skip(f"{source_vendor}->{target_vendor}: every plan is refused, fewer than two writes")

    target, data = _migrate(source_vendor, target_vendor)
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    journal = Journal(store, data["migration_id"])
    half = len(records) // 2
    seen: list[tuple[str, str]] = []

    def die_after_the_write(request: httpx.Request) -> httpx.Response | None:
        if request.method == "GET":
            return None
        target.transport.requests.append((request.method, request.url.path))
        target.transport.inner.handle_request(request)  # the vendor applies it...
        raise Killed(request.url.path)  # ...and the process dies before the answer is journaled

    def crash(step: str, state: str) -> None:
        seen.append((step, state))
        if len(seen) < half:
            return
        if kill_at == "after_done" and state == "done":
            raise Killed(step)
        if kill_at == "between_started_and_write" and state == "started":
            target.transport.inject = die_after_the_write

    with pytest.raises(Killed):
        _stages(data, target, journal, crash)
    target.transport.inject = None
    before_kill = sum(1 for e in journal.entries().values() if e.state == "done")
    writes_before = len(target.transport.writes())
    resumed = _stages(data, target, journal, None)
    assert all(e.state == "done" for e in journal.entries().values())
    writes_after = len(target.transport.writes()) - writes_before
    # Duplicates: none. The target holds exactly what the uninterrupted run made, with as many writes.
    assert _target_objects(target) == expected
    assert writes_before + writes_after == clean_writes
    assert resumed.skipped, "the resumed run must skip the steps done before the kill"
    key = f"{source_vendor}->{target_vendor} {kill_at}"
    FIGURES[key] = {
        "journal records": len(records),
        "killed at record": len(seen),
        "steps done before kill": before_kill,
        "written on resume": len(resumed.written),
        "found on resume": len(resumed.found),
        "skipped on resume": len(resumed.skipped),
        "duplicates": sum(n - 1 for n in _target_objects(target).values() if n > 1)
        - sum(n - 1 for n in expected.values() if n > 1),
    }
    print(json.dumps({key: FIGURES[key]}))
    second = apply_plan(data, target.conn, journal)
    assert second.written == [] and second.found == []


def test_dry_run_changes_nothing_and_journals_nothing(store: Store) -> None:
    from backupbridge.migrate.sandbox_state import state_fingerprint

    for source_vendor, target_vendor in PAIRS:
        source, target = tenant(source_vendor, seed=7), tenant(target_vendor, seed=8)
        data = plan_for(source, target)
        before = state_fingerprint(target.simulator)
        journal = Journal(store, data["migration_id"])
        result = apply_plan(data, target.conn, None, dry_run=True)
        assert state_fingerprint(target.simulator) == before, f"{source_vendor}->{target_vendor} changed"
        assert journal.entries() == {}
        assert result.dry_run, "a dry run reports what it would do"
        if target_vendor == "idrive360" and any(p["status"] == "ready" for p in data["plans"]):
            # The vendor's own dry run was asked (POST /backup_plan?dry_run=true), nothing else written.
            posts = [r for r in target.transport.requests if r[0] == "POST"]
            assert posts and all(r[1].endswith("/backup_plan") for r in posts)


# -- bad input -------------------------------------------------------------------------------------


def _answer(status: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_target_without_write_permission_fails_naming_the_step_then_resumes(store: Store) -> None:
    source, target = tenant("cleverfox", seed=9), tenant("idrive360", seed=10)
    data = plan_for(source, target)
    journal = Journal(store, data["migration_id"])
    denied = {
        "ok": False,
        "type": "insufficient_privileges",
        "message": "not permitted",
        "code": 403,
        "errors": [{"type": "insufficient_privileges", "field": "company_id", "message": "read-only key"}],
    }
    target.transport.inject = lambda r: _answer(403, denied) if r.method == "POST" else None
    with pytest.raises(MigrationError) as caught:
        apply_plan(data, target.conn, journal)
    step = caught.value.step
    assert step is not None and step.startswith("company:")
    assert step in str(caught.value)
    entry = journal.entries()[step]
    assert entry.state == "failed" and entry.error
    # The permission is granted: the same command finishes, nothing created twice.
    target.transport.inject = None
    apply_plan(data, target.conn, journal)
    names = Counter(c.name for c in target.conn.list_companies())
    assert max(names.values()) == 1
    assert all(e.state == "done" for e in journal.entries().values())


def test_company_vanished_between_plan_and_apply(store: Store) -> None:
    source, target = tenant("idrive360", seed=11), tenant("cleverfox", seed=12)
    data = plan_for(source, target)
    matched = next(c for c in data["companies"] if c["action"] == "match")
    del target.simulator.tables["companies"][int(matched["target_id"])]
    target.simulator._changed()
    journal = Journal(store, data["migration_id"])
    with pytest.raises(MigrationError) as caught:
        apply_plan(data, target.conn, journal)
    assert caught.value.step == f"company:{matched['source_id']}"
    assert "no longer exists" in str(caught.value) and matched["target_id"] in str(caught.value)
    assert journal.entries()[caught.value.step].state == "failed"


def test_target_rejects_a_plan_half_way_then_resumes(store: Store) -> None:
    source, target = tenant("cleverfox", seed=13), tenant("idrive360", seed=14)
    data = plan_for(source, target)
    journal = Journal(store, data["migration_id"])
    apply_plan(data, target.conn, journal)
    enroll_all(data, target, journal)
    posts: list[int] = []
    rejected = {
        "ok": False,
        "type": "invalid_parameter",
        "message": "invalid",
        "code": 400,
        "errors": [{"type": "invalid_parameter", "field": "backup_policy", "message": "policy rejected"}],
    }

    def second_plan_rejected(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path.endswith("/backup_plan"):
            posts.append(1)
            if len(posts) == 2:
                return _answer(400, rejected)
        return None

    target.transport.inject = second_plan_rejected
    with pytest.raises(MigrationError) as caught:
        apply_plan(data, target.conn, journal)
    step = caught.value.step
    assert step is not None and step.startswith("plan:") and "policy rejected" in str(caught.value)
    entries = journal.entries()
    assert entries[step].state == "failed"
    assert sum(1 for k, e in entries.items() if k.startswith("plan:") and e.state == "done") == 1
    target.transport.inject = None
    apply_plan(data, target.conn, journal)
    plans = Counter((p.company_id, p.name) for p in target.conn.list_plans())
    assert max(plans.values()) == 1
    assert all(e.state == "done" for e in journal.entries().values())


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.update(version=7), "version"),
        (lambda d: d.update(format="something"), "format"),
        (lambda d: d["companies"][0].update(action="merge"), "companies[0].action"),
        (lambda d: d["companies"][0].update(target_id=None, action="match"), "companies[0].target_id"),
        (lambda d: d["plans"][0]["spec"]["schedule"].update(time="25:99"), "plans[0].spec.schedule.time"),
        (
            lambda d: d["plans"][0]["spec"]["schedule"].update(timezone="Mars/Olympus"),
            "plans[0].spec.schedule.timezone",
        ),
        (lambda d: d["plans"][0]["spec"]["schedule"].update(month_days=[0]), "plans[0].spec.schedule.month_days"),
        (lambda d: d["plans"][0]["spec"].update(what="everything"), "plans[0].spec.what"),
        (lambda d: d["plans"][0]["spec"].pop("items"), "plans[0].spec.items"),
        (lambda d: d["plans"][0].update(source_company_id="nope"), "plans[0].source_company_id"),
        (lambda d: d["plans"][0]["fields"]["what"].update(verdict="fine"), "plans[0].fields.what.verdict"),
        (lambda d: d.update(plans={}), "plans"),
        (lambda d: d["target"].pop("account"), "target.account"),
    ],
)
def test_a_plan_file_edited_into_nonsense_names_the_field(edit: Any, field: str, tmp_path: Path) -> None:
    source, target = tenant("cleverfox", seed=15), tenant("idrive360", seed=16)
    data = plan_for(source, target)
    ready = [p for p in data["plans"] if p["status"] == "ready"]
    data["plans"] = ready + [p for p in data["plans"] if p["status"] != "ready"]
    path = tmp_path / "move.json"
    write_plan_file(path, data)
    edited = json.loads(path.read_text())
    edit(edited)
    path.write_text(json.dumps(edited))
    before = len(target.transport.requests)
    with pytest.raises(PlanFileError) as caught:
        read_plan_file(path)
    assert field in str(caught.value) and caught.value.step == field
    assert len(target.transport.requests) == before


def test_a_plan_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "move.json"
    path.write_text("{ not json")
    with pytest.raises(PlanFileError, match="not JSON"):
        read_plan_file(path)
    with pytest.raises(PlanFileError, match="cannot read"):
        read_plan_file(tmp_path / "missing.json")
