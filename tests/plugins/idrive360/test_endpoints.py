"""Every IDrive 360 endpoint and parameter against the simulator, sync and async."""

from __future__ import annotations

import base64
import json

import pytest

from backupbridge import ConflictError, InvalidRequestError, NotFoundError
from backupbridge_idrive360 import IDrive360Simulator

from .conftest import Runner, doc_example


def test_company_summary_lists_the_sub_companies(run: Runner, sim: IDrive360Simulator) -> None:
    root = run(lambda c: c.vendor.company_summary())
    assert root.company_id == str(sim.root.company_id)
    assert {s.name for s in root.sub_company_list} == {c.name for c in sim.companies.values() if c.parent}
    assert root.configuration is not None and root.configuration.encoded


def test_company_summary_of_one_sub_company(run: Runner, sim: IDrive360Simulator) -> None:
    sub = next(c for c in sim.companies.values() if c.parent)
    found = run(lambda c: c.vendor.company_summary(sub.company_id))
    assert (found.company_id, found.name, found.sub_company_list) == (str(sub.company_id), sub.name, ())


def test_company_summary_unknown_company(run: Runner) -> None:
    with pytest.raises(NotFoundError) as info:
        run(lambda c: c.vendor.company_summary(999999))
    assert info.value.field == "company_id"
    assert info.value.vendor_code == "entity_not_found"


@pytest.mark.parametrize("build", ["WIN", "mac", "Rpm", "DEB", "MSI", "pkg"])
def test_fetch_config_id_build_types(run: Runner, build: str) -> None:
    record = run(lambda c: c.vendor.fetch_config_id(build_type=build))
    assert f"/setup/{build.lower()}/" in (record.setup_link or "")
    assert record.setup_link.endswith(record.configuration.token)


def test_fetch_config_id_flags_reach_the_configuration(run: Runner, sim: IDrive360Simulator) -> None:
    sub = next(c for c in sim.companies.values() if c.parent)
    record = run(lambda c: c.vendor.fetch_config_id(sub.company_id, private_encryption=True, full_client=True))
    assert record.company_id == str(sub.company_id)
    assert record.configuration.encryption_required is True
    assert record.configuration.desktop_app_status is True
    default = run(lambda c: c.vendor.fetch_config_id())
    assert default.configuration.encryption_required is False
    assert "/setup/win/" in default.setup_link


def test_create_company_then_it_is_in_the_summary(run: Runner, sim: IDrive360Simulator) -> None:
    created = run(lambda c: c.vendor.create_company("Riverside Vets"))
    assert created.status_description == "Active"
    root = run(lambda c: c.vendor.company_summary())
    assert created.company_id in {s.company_id for s in root.sub_company_list}


def test_create_company_under_a_sub_company(run: Runner, sim: IDrive360Simulator) -> None:
    sub = next(c for c in sim.companies.values() if c.parent)
    created = run(lambda c: c.vendor.create_company("Branch office", sub.company_id))
    assert sim.companies[int(created.company_id)].parent == sub.company_id


def test_company_by_name_exact_partial_and_case(run: Runner, sim: IDrive360Simulator) -> None:
    name = next(c.name for c in sim.companies.values() if c.parent)
    assert [r.name for r in run(lambda c: c.vendor.company_by_name(name.upper()))] == [name]
    assert run(lambda c: c.vendor.company_by_name(name.upper(), case_sensitive=True)) == []
    partial = name.split()[0][:3].lower()
    found = run(lambda c: c.vendor.company_by_name(partial, exact=False))
    assert name in [r.name for r in found]
    assert run(lambda c: c.vendor.company_by_name(partial)) == []  # exact by default


def test_device_summary_filters(run: Runner, sim: IDrive360Simulator) -> None:
    every = run(lambda c: c.vendor.device_summary())
    assert len(every) == len(sim.devices)
    sub = next(c for c in sim.companies.values() if c.parent)
    mine = run(lambda c: c.vendor.device_summary(company_id=sub.company_id))
    assert mine and {d.company_id for d in mine} == {str(sub.company_id)}
    one = every[5]
    assert [d.device_id for d in run(lambda c: c.vendor.device_summary(device_id=one.device_id))] == [one.device_id]


def test_device_summary_unknown_device_is_the_docs_error(run: Runner) -> None:
    with pytest.raises(NotFoundError) as info:
        run(lambda c: c.vendor.device_summary(device_id="nope"))
    assert (info.value.vendor_code, info.value.field, info.value.status_code) == ("entity_not_found", "device_id", 400)
    assert (info.value.errors[0].message or "").startswith("The entity corresponding to the device id")


def _active_device(sim: IDrive360Simulator) -> str:
    return next(d for d, sets in sim.device_sets.items() if "DEFAULT" in sets and sim.devices[d]["status"] == "online")


def test_update_email_notification_changes_state(run: Runner, sim: IDrive360Simulator) -> None:
    device = _active_device(sim)
    result = run(lambda c: c.vendor.update_email_notification(device, ["ops@example.com"], type="ON_FAILURE"))
    assert result.ok is True
    assert sim.notifications[(device, "DEFAULT")] == ("ON_FAILURE", ("ops@example.com",))
    with pytest.raises(ConflictError) as info:  # the same settings again: the vendor's same_state
        run(lambda c: c.vendor.update_email_notification(device, ["ops@example.com"], type="ON_FAILURE"))
    assert info.value.vendor_code == "same_state"


def test_update_email_notification_never_disables(run: Runner, sim: IDrive360Simulator) -> None:
    device = _active_device(sim)
    run(lambda c: c.vendor.update_email_notification(device, [], type="NEVER"))
    assert sim.notifications[(device, "DEFAULT")] == ("NEVER", ())


def test_update_email_notification_unknown_backup_set_on_device(run: Runner, sim: IDrive360Simulator) -> None:
    device = next(
        d for d, sets in sim.device_sets.items() if "EXPRESS" not in sets and sim.devices[d]["status"] == "online"
    )
    with pytest.raises(NotFoundError) as info:
        run(lambda c: c.vendor.update_email_notification(device, ["a@b.co"], backup_set="EXPRESS"))
    assert info.value.field == "backup_set"


def _plan_body(sim: IDrive360Simulator, devices: list[str], **changes: object) -> dict[str, object]:
    body: dict[str, object] = doc_example("create_backup_plan_request")
    body["company_id"] = sim.root.company_id
    body["device_ids"] = devices
    body.update(changes)
    return body


def test_create_backup_plan_replaces_and_reports_conflicts(run: Runner, sim: IDrive360Simulator) -> None:
    root_devices = [d for d, v in sim.devices.items() if v["company_id"] == str(sim.root.company_id)]
    active = [d for d in root_devices if sim.devices[d]["status"] in ("online", "offline")]
    inactive = [d for d in root_devices if sim.devices[d]["status"] not in ("online", "offline")]
    targets = active[:2] + inactive[:1]
    old_names = {d: sim.plans[sim.device_sets[d]["DEFAULT"]]["name"] for d in active[:2]}
    result = run(lambda c: c.vendor.create_backup_plan(_plan_body(sim, targets)))
    assert result.backup_id in sim.plans
    assert {(x.device_id, x.plan_name) for x in result.conflicts} == set(old_names.items())
    assert set(result.applied_device_ids) == set(active[:2])
    assert set(result.not_applied_device_ids) == set(inactive[:1])
    fetched = run(lambda c: c.vendor.fetch_backup_plan(backup_id=result.backup_id))
    assert fetched[0].name == "namechange_new_1"
    assert fetched[0].schedule_info.months == ("JANUARY", "FEBRUARY")
    assert fetched[0].cdp_frequency == "TEN_MINUTES"
    assert set(fetched[0].device_ids) == set(active[:2])


def test_create_backup_plan_dry_run_changes_nothing(run: Runner, sim: IDrive360Simulator) -> None:
    device = _active_device(sim)
    if sim.devices[device]["company_id"] != str(sim.root.company_id):
        device = next(
            d for d, v in sim.devices.items() if v["company_id"] == str(sim.root.company_id) and v["status"] == "online"
        )
    before = (dict(sim.plans), {k: dict(v) for k, v in sim.device_sets.items()})
    result = run(lambda c: c.vendor.create_backup_plan(_plan_body(sim, [device]), dry_run=True))
    assert result.backup_id is None
    assert result.applied_device_ids == (device,)
    assert (dict(sim.plans), {k: dict(v) for k, v in sim.device_sets.items()}) == before


def test_create_backup_plan_unknown_device(run: Runner, sim: IDrive360Simulator) -> None:
    with pytest.raises(NotFoundError) as info:
        run(lambda c: c.vendor.create_backup_plan(_plan_body(sim, ["no-such-device"])))
    assert info.value.field == "device_id"


def test_fetch_backup_plan_by_company_and_id(run: Runner, sim: IDrive360Simulator) -> None:
    sub = next(c for c in sim.companies.values() if c.parent and c.company_id in sim.plan_company.values())
    plans = run(lambda c: c.vendor.fetch_backup_plan(company_id=sub.company_id))
    expected = {pid for pid, cid in sim.plan_company.items() if cid == sub.company_id}
    assert {p.backup_id for p in plans} == expected
    pid = next(iter(expected))
    assert [p.backup_id for p in run(lambda c: c.vendor.fetch_backup_plan(sub.company_id, pid))] == [pid]
    with pytest.raises(NotFoundError):
        run(lambda c: c.vendor.fetch_backup_plan(backup_id=pid))  # not in the key's own company


def test_server_side_validation_matches_the_docs(sim: IDrive360Simulator) -> None:
    """The simulator refuses a bad plan with the vendor's invalid_parameter body (the client never sends one)."""
    import httpx

    request = httpx.Request(
        "POST",
        "https://api.idrive360.com/api/msp/backup_plan",
        headers={"Authorization": f"Bearer {sim.api_key}"},
        json={"name": "", "backup_details": {}, "scheduler": {"frequency_type": "WEEKLY", "time": "25:00:00"}},
    )
    response = sim.handle(request)
    body = response.json()
    assert response.status_code == 400
    assert body["type"] == "invalid_parameter"
    assert {e["field"] for e in body["errors"]} >= {"name", "what_to_backup", "time", "days"}


def test_configuration_id_token_matches_setup_link(sim: IDrive360Simulator) -> None:
    root = sim._company_json(sim.root, with_subs=False)
    token = json.loads(base64.b64decode(root["configuration_id"] + "=="))["token"]
    assert root["setup_link"].endswith(token)


def test_invalid_query_values_are_the_vendors_400(sim: IDrive360Simulator) -> None:
    import httpx

    request = httpx.Request(
        "GET",
        "https://api.idrive360.com/api/msp/company/fetch_config_id?build_type=AMIGA",
        headers={"Authorization": f"Bearer {sim.api_key}"},
    )
    response = sim.handle(request)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "build_type"
    assert isinstance(InvalidRequestError, type)


def test_client_ops_are_values_run_twice_alike(sim: IDrive360Simulator) -> None:
    """The declared endpoints' ops hold the checked request, not a generator: a second run sends it again."""
    from backupbridge.sandbox import connect_sandbox
    from backupbridge_idrive360.client import IDrive360API

    api = IDrive360API()
    listing, summary = api.device_summary(), api.company_summary()
    with connect_sandbox("idrive360", simulator=sim) as conn:
        once = [d.device_id for d in conn.iterate(listing)]
        again = [d.device_id for d in conn.iterate(listing)]
        first, second = conn.run(summary), conn.run(summary)
    assert once and again == once
    assert first == second and first.company_id == str(sim.root.company_id)
