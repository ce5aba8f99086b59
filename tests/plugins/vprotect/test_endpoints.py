"""Every backups-controller endpoint and every filter against the simulator, sync and async.

Each filter test computes the expected backups from the simulator's own facts, so it proves the filter
is applied (not merely that the query string was sent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import DecodingError, NotFoundError, ValidationError
from backupbridge.sandbox import SimulatorTransport, json_response
from backupbridge_vprotect import BackupFilters, VProtectSimulator
from backupbridge_vprotect.records import EnumValue

from ..conftest import Runner


def status_of(row: dict[str, Any]) -> str:
    return str(row["status"]["name"] if isinstance(row["status"], dict) else row["status"])


def keys(records: list[Any]) -> set[str]:
    return {r.guid for r in records}


def test_list_reads_every_page_against_the_total(run: Runner, sim: VProtectSimulator) -> None:
    found = run(lambda c: c.vendor.backups.list(size=7))
    assert keys(found) == set(sim.backups) and len(found) == len(sim.backups)
    times = [b.backupTime for b in found]
    assert times == sorted(times, reverse=True)  # the server's default order: newest first


def test_one_page_only_when_page_is_given(run: Runner, sim: VProtectSimulator) -> None:
    page = run(lambda c: c.vendor.backups.list(page=1, size=5, order_by="backupTime", direction="asc"))
    expected = sorted(sim.backups.values(), key=lambda r: r["backupTime"])[5:10]
    assert [b.guid for b in page] == [r["guid"] for r in expected]


def _pick(sim: VProtectSimulator, field: str) -> Any:
    return next(meta[field] for meta in sim.internal.values() if meta[field])


FILTERS: list[
    tuple[
        str,
        Callable[[VProtectSimulator], dict[str, Any]],
        Callable[[VProtectSimulator, dict[str, Any], dict[str, Any]], bool],
    ]
] = [
    (
        "backup_destination",
        lambda s: {"backup_destination": s.destinations[1]["guid"]},
        lambda s, row, meta: meta["destination"] == s.destinations[1]["guid"],
    ),
    (
        "backup_policy (two values)",
        lambda s: {"backup_policy": [p for p in list(s.policies["vm-backup"])[:2]]},
        lambda s, row, meta: meta["policy"] in list(s.policies["vm-backup"])[:2],
    ),
    (
        "backup_rule",
        lambda s: {"backup_rule": next(iter(s.rules))},
        lambda s, row, meta: row["backupRule"] is not None and row["backupRule"]["guid"] == next(iter(s.rules)),
    ),
    (
        "cloud_service_provider",
        lambda s: {"cloud_service_provider": s.cloud_provider},
        lambda s, row, meta: meta["cloud"] == s.cloud_provider,
    ),
    (
        "storage_provider",
        lambda s: {"storage_provider": s.storage_provider},
        lambda s, row, meta: meta["provider"] == s.storage_provider,
    ),
    (
        "hypervisor",
        lambda s: {"hypervisor": list(s.hypervisors)[1]},
        lambda s, row, meta: meta["hypervisor"] == list(s.hypervisors)[1],
    ),
    (
        "hypervisor_manager",
        lambda s: {"hypervisor_manager": _pick(s, "manager")},
        lambda s, row, meta: meta["manager"] is not None,
    ),
    ("node", lambda s: {"node": _pick(s, "node")}, lambda s, row, meta: meta["node"] == _pick(s, "node")),
    (
        "parent_backup",
        lambda s: {"parent_backup": next(r["parentBackup"]["guid"] for r in s.backups.values() if r["parentBackup"])},
        lambda s, row, meta: (
            row["parentBackup"] is not None
            and row["parentBackup"]["guid"]
            == next(r["parentBackup"]["guid"] for r in s.backups.values() if r["parentBackup"])
        ),
    ),
    (
        "root_backup",
        lambda s: {"root_backup": next(iter(s.internal.values()))["root"]},
        lambda s, row, meta: meta["root"] == next(iter(s.internal.values()))["root"],
    ),
    (
        "project_uuid",
        lambda s: {"project_uuid": s.projects[1]["guid"]},
        lambda s, row, meta: row["sourceProject"]["guid"] == s.projects[1]["guid"],
    ),
    (
        "protected_entity",
        lambda s: {"protected_entity": next(iter(s.vms))},
        lambda s, row, meta: row["protectedEntity"]["guid"] == next(iter(s.vms)),
    ),
    (
        "protected_entity_type STORAGE",
        lambda s: {"protected_entity_type": "storage"},
        lambda s, row, meta: meta["type"] == "STORAGE",
    ),
    (
        "status (two values)",
        lambda s: {"status": ["FAILED", "PARTIAL_SUCCESS"]},
        lambda s, row, meta: status_of(row) in ("FAILED", "PARTIAL_SUCCESS"),
    ),
    (
        "type",
        lambda s: {"type": "FULL"},
        lambda s, row, meta: (row["type"]["name"] if isinstance(row["type"], dict) else row["type"]) == "FULL",
    ),
    (
        "name_like",
        lambda s: {"name_like": next(iter(s.vms.values()))["name"][:6]},
        lambda s, row, meta: next(iter(s.vms.values()))["name"][:6] in (row["protectedEntity"]["name"] or ""),
    ),
    ("filter (free text)", lambda s: {"filter": "hypervisor lost"}, lambda s, row, meta: status_of(row) == "FAILED"),
    ("min_size", lambda s: {"min_size": 2 * 10**10}, lambda s, row, meta: row["size"] >= 2 * 10**10),
    (
        "since",
        lambda s: {"since": s.now() - dt.timedelta(days=2)},
        lambda s, row, meta: row["backupTime"] >= int((s.now() - dt.timedelta(days=2)).timestamp() * 1000),
    ),
    (
        "until",
        lambda s: {"until": s.now() - dt.timedelta(days=5)},
        lambda s, row, meta: row["backupTime"] <= int((s.now() - dt.timedelta(days=5)).timestamp() * 1000),
    ),
    ("only_mountable", lambda s: {"only_mountable": True}, lambda s, row, meta: meta["mountable"]),
    ("without_hidden", lambda s: {"without_hidden": True}, lambda s, row, meta: not row["hidden"]),
    (
        "fail_on_non_successful",
        lambda s: {"fail_on_non_successful": True},
        lambda s, row, meta: status_of(row) in ("FAILED", "PARTIAL_SUCCESS"),
    ),
]


@pytest.mark.parametrize(("name", "query", "expect"), FILTERS, ids=[f[0] for f in FILTERS])
def test_every_filter_selects_what_it_says(
    run: Runner, sim: VProtectSimulator, name: str, query: Any, expect: Any
) -> None:
    expected = {k for k, row in sim.backups.items() if expect(sim, row, sim.internal[k])}
    assert expected and expected != set(sim.backups), f"the seeded data must make {name} discriminate"
    assert keys(run(lambda c: c.vendor.backups.list(**query(sim)))) == expected


def test_filters_apply_to_detailed_grouped_and_statistics(run: Runner, sim: VProtectSimulator) -> None:
    failed = {k for k, row in sim.backups.items() if status_of(row) == "FAILED"}
    assert keys(run(lambda c: c.vendor.backups.detailed(status="FAILED"))) == failed
    grouped = run(lambda c: c.vendor.backups.grouped())
    assert len(grouped) == len({r["protectedEntity"]["guid"] for r in sim.backups.values()})
    assert all(g.extra["attempts"] >= 1 for g in grouped)  # the counted attempts
    counts = {
        row["status"]["name"]: row["count"]
        for row in run(lambda c: c.vendor.backups.aggregated_statistics(type="FULL"))
    }
    assert sum(counts.values()) == sum(
        1 for r in sim.backups.values() if (r["type"]["name"] if isinstance(r["type"], dict) else r["type"]) == "FULL"
    )
    vm = next(iter(sim.vms))
    sizes = run(lambda c: c.vendor.backups.size_statistics(protected_entity=vm))
    assert sizes == [
        {
            "protectedEntity": {"guid": vm, "name": sim.vms[vm]["name"]},
            "size": sum(r["size"] for r in sim.backups.values() if r["protectedEntity"]["guid"] == vm),
        }
    ]
    times = run(lambda c: c.vendor.backups.time_statistics(protected_entity=vm))
    assert sum(t["count"] for t in times) == sum(1 for r in sim.backups.values() if r["protectedEntity"]["guid"] == vm)
    with pytest.warns(DeprecationWarning):
        deprecated = run(lambda c: c.vendor.backups.grouped_aggregated_statistics())
    assert sum(row["count"] for row in deprecated) == len(grouped)


def test_get_and_for_restore(run: Runner, sim: VProtectSimulator) -> None:
    key = next(iter(sim.backups))
    assert run(lambda c: c.vendor.backups.get(key)).guid == key
    assert run(lambda c: c.vendor.backups.for_restore(key)).guid == key
    with pytest.raises(NotFoundError):
        run(lambda c: c.vendor.backups.get("no-such-backup"))


def test_enums_in_both_shapes(run: Runner, sim: VProtectSimulator) -> None:
    bare = next(k for k, row in sim.backups.items() if isinstance(row["status"], str))
    boxed = next(k for k, row in sim.backups.items() if isinstance(row["status"], dict))
    first, second = run(lambda c: c.vendor.backups.get(bare)), run(lambda c: c.vendor.backups.get(boxed))
    assert isinstance(first.status, EnumValue) and first.status.description is None
    assert isinstance(second.status, EnumValue) and second.status.description


def test_a_listing_after_a_write_sees_the_write(run: Runner, sim: VProtectSimulator) -> None:
    """The simulator keeps its last selection between pages; a write must make it select again."""
    marker = "zz-after-the-write"
    assert list(run(lambda c: c.vendor.backups.list(filter=marker, size=3))) == []
    key = list(sim.backups)[5]
    run(lambda c: c.vendor.backups.set_description(key, marker))
    assert [b.guid for b in run(lambda c: c.vendor.backups.list(filter=marker, size=3))] == [key]


def test_description_and_warnings(run: Runner, sim: VProtectSimulator) -> None:
    key = next(iter(sim.backups))
    updated = run(lambda c: c.vendor.backups.set_description(key, "before the migration"))
    assert updated.description == "before the migration" == sim.backups[key]["description"]
    updated = run(lambda c: c.vendor.backups.set_warnings(key, ["disk 2 skipped", "slow store"]))
    assert updated.warnings == ("disk 2 skipped", "slow store") and updated.warningsPresent


def test_warning_acknowledgement_single_and_batch(run: Runner, sim: VProtectSimulator) -> None:
    warned = [k for k, row in sim.backups.items() if row["warningsPresent"]]
    assert len(warned) >= 2
    assert run(lambda c: c.vendor.backups.acknowledge_warnings(warned[0])).warningsAcknowledged is True
    assert sim.backups[warned[0]]["warningsAcknowledged"] is True
    batch = run(lambda c: c.vendor.backups.acknowledge_warnings_batch(warned[1:], True))
    assert {b.guid for b in batch} == set(warned[1:]) and all(sim.backups[k]["warningsAcknowledged"] for k in warned)
    run(lambda c: c.vendor.backups.acknowledge_warnings_batch(warned, False))
    assert not any(sim.backups[k]["warningsAcknowledged"] for k in warned)


def test_transfer_rate_and_timelines(run: Runner, sim: VProtectSimulator) -> None:
    vm = next(iter(sim.vms))
    rows = [r for r in sim.backups.values() if r["protectedEntity"]["guid"] == vm]
    rates = run(lambda c: c.vendor.backups.transfer_rate("EXPORT", protected_entity=vm))
    assert len(rates) == len(rows)
    since = sim.now() - dt.timedelta(days=3)
    sizes = run(lambda c: c.vendor.backups.timeline_size_stats("VM", vm, since=since))
    assert [p["time"] for p in sizes["points"]] == sorted(
        r["backupTime"] for r in rows if r["backupTime"] >= since.timestamp() * 1000
    )
    durations = run(lambda c: c.vendor.backups.timeline_time_stats("vm", vm))
    assert len(durations["points"]) == len(rows)


def test_policies_rules_schedules(run: Runner, sim: VProtectSimulator) -> None:
    policies = run(lambda c: c.vendor.policies.list())
    assert keys(policies) == set(sim.policies["vm-backup"])
    project = sim.projects[0]["guid"]
    assert keys(run(lambda c: c.vendor.policies.list(project_uuid=project))) == {
        k for k, p in sim.policies["vm-backup"].items() if p["project"]["guid"] == project
    }
    assert keys(run(lambda c: c.vendor.policies.list("storage-backup"))) == set(sim.policies["storage-backup"])
    schedule = run(
        lambda c: c.vendor.schedules.create({"name": "Monthly", "executionType": {"name": "TIME"}, "hour": 3600000})
    )
    policy = run(lambda c: c.vendor.policies.create({"name": "Ad hoc"}))
    rule = run(lambda c: c.vendor.rules.create("Ad hoc rule", policy.guid, [schedule.guid]))
    assert run(lambda c: c.vendor.rules.get(rule.guid, only_active_destinations=False)).policy.guid == policy.guid
    assert run(lambda c: c.vendor.policies.get(policy.guid)).ruleCount == 1
    assert run(lambda c: c.vendor.policies.update(policy.guid, {"priority": 80})).priority == 80
    assert run(lambda c: c.vendor.schedules.update(schedule.guid, {"active": False})).active is False
    assert schedule.guid in keys(run(lambda c: c.vendor.schedules.list()))
    run(lambda c: c.vendor.schedules.delete(schedule.guid))
    run(lambda c: c.vendor.policies.delete(policy.guid))
    assert policy.guid not in sim.policies["vm-backup"] and schedule.guid not in sim.schedules
    assert run(
        lambda c: c.vendor.policies.auto_assignment_preview({"guid": next(iter(sim.policies["vm-backup"]))})
    ) == {"toAssign": [], "toRemove": []}


def test_machines_hypervisors_tasks(run: Runner, sim: VProtectSimulator) -> None:
    assert keys(run(lambda c: c.vendor.virtual_machines.list(size=5))) == set(sim.vms)
    vm = next(iter(sim.vms.values()))
    assert keys(run(lambda c: c.vendor.virtual_machines.detailed(filter=vm["name"]))) == {vm["guid"]}
    assert run(lambda c: c.vendor.virtual_machines.get(vm["guid"])).name == vm["name"]
    assert {h.host for h in run(lambda c: c.vendor.hypervisors.list())} == {"kvm-01.lan", "kvm-02.lan"}
    running = run(lambda c: c.vendor.tasks.list(state="RUNNING"))
    assert running and all(t.state.name == "RUNNING" for t in running)
    assert run(lambda c: c.vendor.tasks.get(running[0].guid)).guid == running[0].guid
    created = run(lambda c: c.vendor.tasks.export([vm["guid"]], sim.destinations[0]["guid"], backup_type="FULL"))
    assert created[0]["state"]["name"] == "QUEUED" and sim.exports[-1]["backupType"] == "FULL"
    assert created[0]["guid"] in keys(run(lambda c: c.vendor.tasks.list(protected_entity=vm["guid"])))


def test_session_check(run: Runner) -> None:
    assert run(lambda c: c.vendor.session.check()) is True


# -- the declared endpoints: one style, hostile inputs and replies -----------------------------------------------


def _served(sim: VProtectSimulator, tamper: Callable[[httpx.Request, httpx.Response], httpx.Response]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return tamper(request, sim.handle(request))

    seen: list[httpx.Request] = []
    conn = backupbridge.connect("vprotect", transport=SimulatorTransport(handle), clock=sim.now, **sim.credentials)
    return conn, seen


def test_one_page_holding_more_records_than_asked_for_is_a_decoding_error(sim: VProtectSimulator) -> None:
    """Asked for one page of 5, a server answering 9 (it ignores ``size``) must not pass as that page."""

    def oversize(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/backups"):
            rows = sorted(sim.backups.values(), key=lambda r: r["guid"])[:9]
            return json_response(200, rows, {"X-Total-Count": str(len(sim.backups))})
        return response

    conn, _ = _served(sim, oversize)
    with pytest.raises(DecodingError, match="more records than the 5 asked for") as info:
        list(conn.vendor.backups.list(page=0, size=5))
    assert info.value.endpoint == "GET /backups"
    assert len(list(conn.vendor.backups.list(page=0, size=9))) == 9  # the same page, asked for whole


@pytest.mark.parametrize("key", ["x?status=FAILED", "x#frag", "x%2F..%2Fpolicies", "..", " . "])
def test_a_guid_stays_in_its_path_segment(sim: VProtectSimulator, key: str) -> None:
    conn, seen = _served(sim, lambda request, response: response)
    try:
        conn.vendor.backups.get(key)
    except NotFoundError:
        pass
    except ValidationError as refused:  # "..", ".": no segment of their own
        assert refused.field == "guid" and not [r for r in seen if "/backups" in r.url.path]
        return
    (sent,) = [r for r in seen if "/backups" in r.url.path]
    assert sent.url.query == b"" and sent.url.raw_path.count(b"/") == 3  # /api/backups/<one segment>


def test_a_policy_kind_outside_the_four_is_refused_before_any_request(sim: VProtectSimulator) -> None:
    conn, seen = _served(sim, lambda request, response: response)
    calls: list[Callable[[], Any]] = [
        lambda: conn.vendor.policies.get("g", kind="../schedules"),
        lambda: conn.vendor.policies.delete("g", kind="vm-backup/../x"),
        lambda: conn.vendor.policies.list("db-backup"),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == "kind"
    assert seen == []


def test_endpoint_ops_are_values(sim: VProtectSimulator) -> None:
    conn, _ = _served(sim, lambda request, response: response)
    listing = conn.api.backups.list(size=40)
    first = [b.guid for b in conn.iterate(listing)]
    assert first and [b.guid for b in conn.iterate(listing)] == first
    op = conn.api.backups.get(first[0])
    assert conn.run(op) == conn.run(op)


def test_backup_filters_give_the_wire_query_and_refuse_bad_values() -> None:
    filters = BackupFilters(status=("failed", "QUEUED"), since=1000, until=2000, name_like="web", direction="DESC")
    assert filters.params("backups.list") == {
        "status": ["FAILED", "QUEUED"],
        "from": 1000,
        "to": 2000,
        "nameLike": "web",
        "direction": "desc",
    }
    with pytest.raises(ValidationError) as info:
        BackupFilters(since=3000, until=2000).params("backups.list")
    assert (info.value.field, info.value.operation) == ("from", "backups.list")


@pytest.mark.parametrize("value", ["\u00b2", "\u0661", "1e3", "-1"])
def test_the_simulator_answers_a_non_ascii_count_with_a_400(sim: VProtectSimulator, value: str) -> None:
    """Was: ``page=²`` passed ``str.isdigit`` and crashed the handler with a bare ValueError."""
    login = sim.handle(
        httpx.Request("POST", f"{sim.base_url}/session/login", json=dict(list(sim.credentials.items())[:2]))
    )
    cookie = login.headers["set-cookie"].split(";")[0]
    answer = sim.handle(httpx.Request("GET", f"{sim.base_url}/backups?page={value}", headers={"Cookie": cookie}))
    assert answer.status_code == 400 and "page" in answer.json()["message"]


def test_every_module_of_the_plugin_is_under_500_lines() -> None:
    import backupbridge_vprotect

    root = Path(backupbridge_vprotect.__file__).parent
    sizes = {p.relative_to(root).as_posix(): len(p.read_text().splitlines()) for p in root.rglob("*.py")}
    assert "handlers/backups.py" in sizes and all(n < 500 for n in sizes.values()), sizes
