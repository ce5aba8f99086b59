"""vProtect -> the neutral model, on the documented examples; each table entry tested."""

from __future__ import annotations

import datetime as dt

import pytest

from backupbridge import BackupTarget, DeviceStatus, Frequency, JobKind, JobStatus, Weekday
from backupbridge_vprotect import mapping
from backupbridge_vprotect.records import BackupRecord, PolicyRecord, ScheduleRecord, VirtualMachineRecord, converter

from ..conftest import Runner

# The docs' GET /backups example (7.4.0), and the BackupListRecord example's fields (apidocs.zip).
DOC_BACKUP = {
    "guid": "f8f73bf9-2445-4bce-a7dd-753be3b40a67",
    "backupTime": 1451677502000,
    "snapshotTime": 1451649601000,
    "status": {"name": "ENUM_NAME", "description": "Enum description"},
    "type": {"name": "ENUM_NAME", "description": "Enum description"},
}
DOC_LIST_RECORD = {
    "archiveExpire": 12345,
    "taskTimeStats": {"queuedExportTime": 12345, "exportTime": 12345, "queuedStoreTime": 12345, "storeTime": 12345},
    "statusInfo": "...",
    "protectedEntity": {
        "type": {"name": "ENUM_NAME", "description": "Enum description"},
        "guid": "f8f73bf9-2445-4bce-a7dd-753be3b40a67",
        "name": "Entity name",
    },
    "parentBackup": {"guid": "f8f73bf9-2445-4bce-a7dd-753be3b40a67", "name": "Entity name"},
    "size": 12345,
    "effectiveBackupObjectsCount": 12345,
    "effectiveBackupSize": 12345,
    "vmExportImportMode": "DISK_ATTACHMENT",
    "warningsPresent": True,
    "warnings": ["...", "..."],
    "sourceProject": {"guid": "p-1", "name": "Entity name"},
    "description": "...",
    "backupLocations": [
        {
            "guid": "...",
            "backup": {"guid": "b", "name": "Entity name"},
            "snapshotTime": 12345,
            "backupDestination": {"guid": "d", "name": "Entity name"},
            "roleType": "SECONDARY",
            "backupDestinationType": "GCS",
            "status": "REMOVED",
        }
    ],
    "guid": "g-1",
    "backupTime": 1451677502000,
    "snapshotTime": 1451649601000,
    "status": {"name": "PARTIAL_SUCCESS", "description": "Partial"},
    "type": "INCREMENTAL",
}
DOC_STORAGE_POLICY = {
    "ruleCount": 12345,
    "rules": [{"guid": "f8f73bf9-2445-4bce-a7dd-753be3b40a67", "name": "Entity name"}, {"guid": "...", "name": "..."}],
    "name": "...",
    "active": True,
    "backupRetryCount": 12345,
    "autoAssignMode": "DISABLED",
    "guid": "f8f73bf9-2445-4bce-a7dd-753be3b40a67",
    "storageCount": 12345,
    "backupDestinations": [{"guid": "f8f73bf9-2445-4bce-a7dd-753be3b40a67", "name": "Entity name"}],
    "priority": 50,
}


def test_the_docs_backup_example_decodes_and_keeps_its_unknown_status() -> None:
    record = converter.structure(DOC_BACKUP, BackupRecord)
    job = mapping.job(record, DOC_BACKUP, account="a", plan_of_rule={})
    assert (job.id, job.status, job.vendor_status) == (
        "f8f73bf9-2445-4bce-a7dd-753be3b40a67",
        JobStatus.UNKNOWN,
        "ENUM_NAME",
    )
    assert job.started_at == dt.datetime(2016, 1, 1, 12, 0, 1, tzinfo=dt.UTC)
    assert job.finished_at == dt.datetime(2016, 1, 1, 19, 45, 2, tzinfo=dt.UTC)


def test_the_list_record_example_with_both_enum_shapes() -> None:
    record = converter.structure(DOC_LIST_RECORD, BackupRecord)
    assert record.type is not None and record.type.name == "INCREMENTAL" and record.type.description is None
    assert record.backupLocations and record.backupLocations[0].status is not None
    assert record.backupLocations[0].status.name == "REMOVED"
    job = mapping.job(record, DOC_LIST_RECORD, account="a", plan_of_rule={})
    assert (job.status, job.kind, job.company_id, job.size_bytes) == (
        JobStatus.WARNING,
        JobKind.INCREMENTAL,
        "p-1",
        12345,
    )
    assert job.error == "..."  # statusInfo


@pytest.mark.parametrize(
    ("status", "neutral"),
    [
        ("SUCCESS", JobStatus.SUCCESS),
        ("SUCCESS_REMOVED", JobStatus.SUCCESS),
        ("PARTIAL_SUCCESS", JobStatus.WARNING),
        ("FAILED", JobStatus.FAILED),
        ("INPROGRESS", JobStatus.RUNNING),
        ("QUEUED", JobStatus.QUEUED),
        ("PAUSED", JobStatus.UNKNOWN),
    ],
)
def test_backup_status_table(status: str, neutral: JobStatus) -> None:
    record = converter.structure({"guid": "g", "status": status}, BackupRecord)
    job = mapping.job(record, {}, account="a", plan_of_rule={})
    assert (job.status, job.vendor_status) == (neutral, status)


@pytest.mark.parametrize(
    ("kind", "neutral"),
    [
        ("FULL", JobKind.FULL),
        ("INCREMENTAL", JobKind.INCREMENTAL),
        ("SYNTHETIC", JobKind.SYNTHETIC),
        ("SYNCHRONIZATION", JobKind.OTHER),
    ],
)
def test_backup_type_table(kind: str, neutral: JobKind) -> None:
    assert (
        mapping.job(
            converter.structure({"guid": "g", "type": {"name": kind}}, BackupRecord), {}, account="a", plan_of_rule={}
        ).kind
        is neutral
    )


def test_a_running_backup_has_no_finish() -> None:
    record = converter.structure(
        {"guid": "g", "status": "INPROGRESS", "backupTime": 1, "snapshotTime": 1}, BackupRecord
    )
    assert mapping.job(record, {}, account="a", plan_of_rule={}).finished_at is None


def test_plan_id_comes_from_the_rule_s_policy() -> None:
    record = converter.structure({"guid": "g", "backupRule": {"guid": "rule-1"}}, BackupRecord)
    assert mapping.job(record, {}, account="a", plan_of_rule={"rule-1": "policy-9"}).plan_id == "policy-9"


def test_the_storage_policy_example_decodes() -> None:
    record = converter.structure(DOC_STORAGE_POLICY, PolicyRecord)
    plan = mapping.plan(record, DOC_STORAGE_POLICY, account="a", kind="storage-backup", device_ids=(), schedules=[])
    assert (plan.what, plan.enabled, plan.schedule) == (BackupTarget.FILES, True, None)
    assert record.autoAssignMode is not None and record.autoAssignMode.name == "DISABLED"


@pytest.mark.parametrize(
    ("schedule", "frequency", "weekdays", "time"),
    [
        ({"executionType": {"name": "TIME"}, "hour": 22 * 3600000, "daysOfWeek": []}, Frequency.DAILY, (), dt.time(22)),
        (
            {"executionType": "TIME", "hour": 2 * 3600000 + 30 * 60000, "daysOfWeek": ["SATURDAY", {"name": "SUNDAY"}]},
            Frequency.WEEKLY,
            (Weekday.SATURDAY, Weekday.SUNDAY),
            dt.time(2, 30),
        ),
        (
            {
                "executionType": "TIME",
                "hour": 0,
                "months": ["JANUARY"],
                "dayOfWeekOccurrences": ["FIRST_IN_MONTH"],
                "daysOfWeek": ["MONDAY"],
            },
            Frequency.MONTHLY,
            (Weekday.MONDAY,),
            dt.time(0),
        ),
        (
            {
                "executionType": "INTERVAL",
                "interval": {"startHour": 6 * 3600000, "endHour": 0, "frequency": 4 * 3600000},
            },
            Frequency.HOURLY,
            (),
            dt.time(6),
        ),
    ],
)
def test_schedule_mapping(schedule: dict, frequency: Frequency, weekdays: tuple, time: dt.time) -> None:  # type: ignore[type-arg]
    sched = mapping.schedule(converter.structure({"guid": "s", **schedule}, ScheduleRecord))
    assert (sched.frequency, sched.weekdays, sched.time) == (frequency, weekdays, time)
    if frequency is Frequency.HOURLY:
        assert sched.interval == dt.timedelta(hours=4)


@pytest.mark.parametrize(
    ("present", "status"), [(True, DeviceStatus.ONLINE), (False, DeviceStatus.ARCHIVED), (None, DeviceStatus.UNKNOWN)]
)
def test_device_status(present: bool | None, status: DeviceStatus) -> None:
    record = converter.structure(
        {"guid": "v", "name": "vm1", "present": present, "hvType": "KVM"}, VirtualMachineRecord
    )
    device = mapping.device(record, {}, account="a")
    assert device.status is status and device.vendor_os == "KVM"


def test_a_project_known_only_from_a_storage_policy_is_a_company(run: Runner) -> None:
    """list_plans covers every policy kind, so every plan's project is a company: get, list and filter."""
    project = {"guid": "0f0e0d0c-0000-4000-8000-000000000001", "name": "Storage-only project"}
    run(lambda c: c.vendor.policies.create({"name": "NAS nightly", "project": project}, kind="storage-backup"))
    companies = {c.id: c.name for c in run(lambda c: c.list_companies())}
    assert companies[project["guid"]] == "Storage-only project"
    assert run(lambda c: c.get_company(project["guid"])).name == "Storage-only project"
    assert [p.name for p in run(lambda c: c.list_plans(company_id=project["guid"]))] == ["NAS nightly"]
    assert run(lambda c: c.list_devices(company_id=project["guid"])) == []  # it exists; it has no VMs


def test_neutral_operations(run: Runner, sim) -> None:  # type: ignore[no-untyped-def]
    companies = run(lambda c: c.list_companies())
    assert {c.id for c in companies} == {p["guid"] for p in sim.projects}
    devices = run(lambda c: c.list_devices(company_id=companies[0].id))
    assert {d.id for d in devices} == {k for k, v in sim.vms.items() if v["project"]["guid"] == companies[0].id}
    plans = run(lambda c: c.list_plans())
    assert {p.id for p in plans} == {k for table in sim.policies.values() for k in table}
    vm_plan = next(p for p in plans if p.what is BackupTarget.VM and p.device_ids)
    assert set(vm_plan.device_ids) == {
        k for k, v in sim.vms.items() if v["vmBackupPolicy"] and v["vmBackupPolicy"]["guid"] == vm_plan.id
    }
    assert vm_plan.schedule is not None
    assert run(lambda c: c.get_plan(vm_plan.id)).id == vm_plan.id
    jobs = run(lambda c: c.list_jobs())
    live = [t for t in sim.tasks.values() if t["state"]["name"] != "FINISHED"]
    assert len(jobs) == len(sim.backups) + len(live)
    assert all(
        j.plan_id
        for j in jobs
        if not j.id.startswith("task:") and j.device_id in sim.vms and sim.vms[j.device_id]["vmBackupPolicy"]
    )
    failed = run(lambda c: c.list_jobs(status=JobStatus.FAILED))
    assert failed and all(j.status is JobStatus.FAILED for j in failed)
    running = run(lambda c: c.list_jobs(status=JobStatus.RUNNING))
    assert any(j.id.startswith("task:") for j in running)
