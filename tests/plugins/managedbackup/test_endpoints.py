"""Every Managed Backup method against the simulator, sync and async."""

from __future__ import annotations

from typing import Any

import pytest

from backupbridge import ConflictError, DecodingError, NotFoundError
from backupbridge_managedbackup import ManagedBackupSimulator
from backupbridge_managedbackup.records import MonitoringStatus

from ..conftest import Runner


def first(table: dict[Any, Any]) -> Any:
    return next(iter(table))


def test_packages(run: Runner, sim: ManagedBackupSimulator) -> None:
    assert {p.id for p in run(lambda c: c.vendor.packages.list())} == set(sim.packages)
    assert run(lambda c: c.vendor.packages.get(1)).name == sim.packages[1]["Name"]
    new_id = run(lambda c: c.vendor.packages.create({"Name": "Archive 5 TB", "StorageLimit": 5120}))
    assert sim.packages[new_id]["Name"] == "Archive 5 TB"
    run(lambda c: c.vendor.packages.update({"ID": new_id, "Cost": 42.0}))
    assert sim.packages[new_id]["Cost"] == 42.0
    run(lambda c: c.vendor.packages.delete(new_id))
    assert new_id not in sim.packages
    with pytest.raises(NotFoundError) as info:
        run(lambda c: c.vendor.packages.get(new_id))
    assert info.value.vendor_code == "-6"


def test_users_read_and_write(run: Runner, sim: ManagedBackupSimulator) -> None:
    users = run(lambda c: c.vendor.users.list())
    assert {u.id for u in users} == set(sim.users)
    one = run(lambda c: c.vendor.users.get(users[0].id))
    assert one.email == users[0].email and one.destination_list
    with pytest.raises(NotFoundError):  # the API answers 200 with null for an unknown id
        run(lambda c: c.vendor.users.get("00000000-0000-4000-8000-000000000000"))
    company = next(iter(sim.companies.values()))["Name"]
    new_id = run(
        lambda c: c.vendor.users.create({"Email": "new@x.example", "Password": "pw-123456", "Company": company})
    )
    assert sim.users[new_id]["Email"] == "new@x.example" and "Password" not in sim.users[new_id]
    run(lambda c: c.vendor.users.update({"ID": new_id, "FirstName": "Nora"}))
    assert sim.users[new_id]["FirstName"] == "Nora"
    with pytest.raises(ConflictError, match="Email already exist") as info:
        run(lambda c: c.vendor.users.create({"Email": "new@x.example", "Password": "pw-123456"}))
    assert info.value.status_code == 200 and info.value.field == "Email"


def test_users_authenticate(run: Runner, sim: ManagedBackupSimulator) -> None:
    user = next(iter(sim.users.values()))
    assert run(lambda c: c.vendor.users.authenticate(user["Email"], "user-password")).id == user["ID"]


def test_user_computers_and_deletions(run: Runner, sim: ManagedBackupSimulator) -> None:
    user_id = next(c["UserID"] for c in sim.computers.values())
    rows = run(lambda c: c.vendor.users.computers(user_id))
    assert rows and {r["ComputerName"] for r in rows} == {
        c["ComputerName"] for c in sim.computers.values() if c["UserID"] == user_id
    }
    run(lambda c: c.vendor.users.delete_computers(user_id, delete_backup_data=True))
    assert not any(c["UserID"] == user_id for c in sim.computers.values())
    run(lambda c: c.vendor.users.delete_account(user_id))
    assert user_id not in sim.users
    other = next(iter(sim.users))
    run(lambda c: c.vendor.users.delete(other, delete_backup_data=True))
    assert other not in sim.users


def test_monitoring(run: Runner, sim: ManagedBackupSimulator) -> None:
    rows = run(lambda c: c.vendor.monitoring.list())
    assert len(rows) == sum(len(p) for p in sim.plans.values())
    assert {r.status for r in rows} >= set(MonitoringStatus)  # every status is seeded
    user_id = next(c["UserID"] for c in sim.computers.values() if c["Apps"][0]["Online"])
    mine = run(lambda c: c.vendor.monitoring.for_user(user_id))
    assert mine and {r.user_id for r in mine} == {user_id}


def test_companies(run: Runner, sim: ManagedBackupSimulator) -> None:
    companies = run(lambda c: c.vendor.companies.list())
    assert {c.id for c in companies} == set(sim.companies)
    assert run(lambda c: c.vendor.companies.get(companies[0].id)).name == companies[0].name
    new_id = run(lambda c: c.vendor.companies.create({"Name": "Quarry Labs"}))
    run(lambda c: c.vendor.companies.update({"Id": new_id, "StorageLimit": 100}))
    assert sim.companies[new_id]["StorageLimit"] == 100
    run(lambda c: c.vendor.companies.delete(new_id))
    assert new_id not in sim.companies


def test_computers_paged_and_checked(run: Runner, sim: ManagedBackupSimulator) -> None:
    computers = run(lambda c: c.vendor.computers.list(count=4))
    assert [c.computer_hid for c in computers] == list(sim.computers)
    hid = computers[0].computer_hid
    assert run(lambda c: c.vendor.computers.get("{" + hid + "}")).computer_name == computers[0].computer_name
    assert run(lambda c: c.vendor.computers.disks(hid))[0].file_system in ("NTFS", "ext4")
    stats = run(lambda c: c.vendor.computers.statistics(hid))
    assert stats["PlansCount"] == len(sim.plans[hid])
    assert run(lambda c: c.vendor.computers.usage(hid))["UsedSpace"] >= 0


def test_computer_plans_lifecycle(run: Runner, sim: ManagedBackupSimulator) -> None:
    hid = first(sim.computers)
    plans = run(lambda c: c.vendor.computers.plans(hid))
    assert {p.id for p in plans} == {p["Id"] for p in sim.plans[hid]}
    pid = plans[0].id
    assert run(lambda c: c.vendor.computers.plan(hid, pid)).name == plans[0].name
    assert run(lambda c: c.vendor.computers.plan_info(hid, pid))["PlanId"] == pid
    assert len(run(lambda c: c.vendor.computers.plan_history(hid, pid))) == 7
    assert run(lambda c: c.vendor.computers.start_plan(hid, pid, mode=1)) == {"ResultCode": 0, "ErrorMessage": ""}
    assert sim.started[-1] == (hid, pid, 1)
    run(lambda c: c.vendor.computers.stop_plan(hid, pid))
    new_pid = run(lambda c: c.vendor.computers.create_plan(hid, {"Name": "Ad hoc", "Type": 3}))
    run(lambda c: c.vendor.computers.update_plan(hid, new_pid, {"Name": "Ad hoc (renamed)"}))
    assert any(p["Name"] == "Ad hoc (renamed)" for p in sim.plans[hid])
    run(lambda c: c.vendor.computers.delete_plan(hid, new_pid))
    assert not any(p["Id"] == new_pid for p in sim.plans[hid])


def test_history_pages(run: Runner, sim: ManagedBackupSimulator) -> None:
    hid = first(sim.computers)
    mine = run(lambda c: c.vendor.computers.history(hid, count=3))
    assert len(mine) == 7 * len(sim.plans[hid]) and {r["ComputerHID"] for r in mine} == {hid}
    everything = run(lambda c: c.vendor.computers.all_history(count=50))
    assert len(everything) == 7 * sum(len(p) for p in sim.plans.values())


def test_authorization(run: Runner, sim: ManagedBackupSimulator) -> None:
    hid = first(sim.computers)
    user_id = first(sim.users)
    run(lambda c: c.vendor.computers.deauthorize(hid))
    assert sim.computers[hid]["LostAuth"] is True
    assert run(lambda c: c.vendor.computers.authorize(hid, user_id)) == {"ResultCode": 0, "ErrorMessage": ""}
    assert sim.computers[hid]["UserID"] == user_id and sim.computers[hid]["LostAuth"] is False
    with pytest.raises(NotFoundError) as info:  # the docs' failure body
        run(lambda c: c.vendor.computers.authorize(hid, "10ce439b-7bec-4208-a116-4e0236085f87"))
    assert info.value.vendor_code == "-6" and "not found" in (info.value.vendor_message or "")


def test_licenses(run: Runner, sim: ManagedBackupSimulator) -> None:
    assert len(run(lambda c: c.vendor.licenses.list())) == len(sim.licenses)
    lic = first(sim.licenses)
    user = first(sim.users)
    run(lambda c: c.vendor.licenses.release({"LicenseID": lic, "UserID": sim.licenses[lic]["UserID"]}))
    assert lic in {x.id for x in run(lambda c: c.vendor.licenses.list(is_available=True))}
    run(lambda c: c.vendor.licenses.grant({"LicenseID": lic, "UserID": user}))
    assert run(lambda c: c.vendor.licenses.get(lic)).user_id == user
    run(lambda c: c.vendor.licenses.revoke({"LicenseID": lic, "UserID": user}))
    assert sim.licenses[lic]["ComputerName"] is None


def test_destinations(run: Runner, sim: ManagedBackupSimulator) -> None:
    user = next(iter(sim.users.values()))
    account = first(sim.accounts)
    added = run(
        lambda c: c.vendor.destinations.add({"UserID": user["ID"], "AccountID": account, "Destination": "extra"})
    )
    listed = run(lambda c: c.vendor.destinations.for_user(user["Email"]))
    assert added["ID"] in {d.id for d in listed}
    run(lambda c: c.vendor.destinations.update({"ID": added["ID"], "UserID": user["ID"], "PackageID": 2}))
    run(lambda c: c.vendor.destinations.delete(added["ID"], user["ID"]))
    assert added["ID"] not in {d["ID"] for d in sim.users[user["ID"]]["DestinationList"]}
    with pytest.raises(NotFoundError):  # the API's 406 for an unknown login
        run(lambda c: c.vendor.destinations.for_user("nobody@nowhere.example"))


def test_accounts(run: Runner, sim: ManagedBackupSimulator) -> None:
    assert len(run(lambda c: c.vendor.accounts.list())) == len(sim.accounts)
    new = run(lambda c: c.vendor.accounts.create({"DisplayName": "Backblaze", "Type": "B2"}))
    assert run(lambda c: c.vendor.accounts.get(new))["DisplayName"] == "Backblaze"
    run(lambda c: c.vendor.accounts.update({"AccountID": new, "DisplayName": "B2 US"}))
    run(lambda c: c.vendor.accounts.add_destination({"AccountID": new, "Destination": "bucket-a"}))
    run(lambda c: c.vendor.accounts.create_destination({"AccountID": new, "Destination": "bucket-b"}))
    run(
        lambda c: c.vendor.accounts.edit_destination(
            {"AccountID": new, "Destination": "bucket-a", "DestinationDisplayName": "A"}
        )
    )
    run(lambda c: c.vendor.accounts.remove_destination({"AccountID": new, "Destination": "bucket-b"}))
    assert [d["Destination"] for d in sim.accounts[new]["Destinations"]] == ["bucket-a"]


def test_billing(run: Runner, sim: ManagedBackupSimulator) -> None:
    assert len(run(lambda c: c.vendor.billing.get())["Users"]) == len(sim.users)
    company = next(iter(sim.companies.values()))["Name"]
    query = run(lambda c: c.vendor.billing.query({"Date": "2026-10-01", "Companies": [company]}))
    assert all(u["UserID"] in sim.users for u in query["Users"])
    user_id = next(c["UserID"] for c in sim.computers.values())
    details = run(lambda c: c.vendor.billing.details({"UserID": user_id, "Date": "2026-10-01"}))
    assert details["UserID"] == user_id and details["TotalBackupBytes"] == sum(
        r["SizeBackup"] for r in details["UserDetailList"]
    )


def test_builds(run: Runner) -> None:
    assert {b["Type"] for b in run(lambda c: c.vendor.builds.list())} == {"Windows", "Linux"}
    assert run(lambda c: c.vendor.builds.request_custom({"Editions": ["Desktop"]})) == {"Requested": ["Desktop"]}
    assert "Windows" in run(lambda c: c.vendor.builds.available_versions())


def test_administrators(run: Runner, sim: ManagedBackupSimulator) -> None:
    assert {a.admin_id for a in run(lambda c: c.vendor.administrators.list())} == set(sim.administrators)
    new = run(lambda c: c.vendor.administrators.create({"Email": "tech@msp.example", "Password": "tech-pass-1"}))
    assert run(lambda c: c.vendor.administrators.get(new)).email == "tech@msp.example"
    run(lambda c: c.vendor.administrators.update({"AdminID": new, "Enabled": False}))
    assert sim.administrators[new]["Enabled"] is False
    run(lambda c: c.vendor.administrators.delete(new))
    assert new not in sim.administrators


def test_computer_page_that_does_not_add_up_raises(sim: ManagedBackupSimulator) -> None:
    import re

    import httpx

    import backupbridge
    from backupbridge.sandbox import json_response

    def short(request: httpx.Request) -> httpx.Response:  # the server claims more computers than it hands out
        response = sim.handle(request)
        if re.fullmatch(r"/api/Computers/\d+/\d+", request.url.path):
            body = response.json()
            body["Count"] += 5
            return json_response(200, body)
        return response

    conn = backupbridge.connect("managedbackup", transport=httpx.MockTransport(short), **sim.credentials)
    with pytest.raises(DecodingError, match="incomplete"):
        list(conn.vendor.computers.list(count=5))


def _signed_in(sim: ManagedBackupSimulator) -> dict[str, str]:
    import httpx

    login = httpx.Request(
        "POST",
        "https://api.mspbackups.com/api/Provider/Login",
        json={"UserName": sim.credentials["username"], "Password": sim.credentials["password"]},
    )
    return {"Authorization": "Bearer " + sim.handle(login).json()["access_token"]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/Packages/\u00b2", None),  # isdigit() is True, int() raised a bare ValueError in the handler
        ("DELETE", "/Packages/\u00b2", None),
        ("GET", "/Packages/\u0661", None),
        ("GET", "/Packages/" + "9" * 5000, None),  # past int()'s digit limit
        ("GET", "/Computers/\u00b2/5", None),
        ("GET", "/Computers/0/\u00b2", None),
        ("GET", "/Computers/Plans/history/\u0661/10", None),
        ("GET", "/Computers/0/" + "9" * 5000, None),
    ],
)
def test_the_simulator_answers_non_ascii_digits_in_a_path_as_the_api_does(
    sim: ManagedBackupSimulator, method: str, path: str, body: Any
) -> None:
    import httpx

    request = httpx.Request(method, "https://api.mspbackups.com/api" + path, headers=_signed_in(sim))
    response = sim.handle(request)
    assert response.status_code in (400, 404), response.text
    assert "Message" in response.json()
    assert len(sim.packages) == 3  # nothing deleted


@pytest.mark.parametrize("mode", ["\u00b2", "x", None, [1], 1.5])
def test_the_simulator_refuses_a_start_mode_that_is_not_a_whole_number(sim: ManagedBackupSimulator, mode: Any) -> None:
    import httpx

    hid = first(sim.computers)
    pid = sim.plans[hid][0]["Id"]
    request = httpx.Request(
        "POST",
        f"https://api.mspbackups.com/api/Computers/{hid}/Plans/{pid}/start",
        headers=_signed_in(sim),
        json={"Mode": mode},
    )
    assert sim.handle(request).status_code == 400
    assert sim.started == []


# -- the declared endpoints (backupbridge.plugin.Service): values, shapes, segments ---------------------------


def test_every_kind_of_endpoint_op_runs_twice_with_the_same_result(sim: ManagedBackupSimulator) -> None:
    """Ops are values: a declared listing, a by-path listing, a composed listing (the 406 mapping of
    ``destinations.for_user``), a hand-read reply (``users.get``) and an answer give everything again."""
    import backupbridge_managedbackup
    from backupbridge.plugin import Op
    from backupbridge.sandbox import connect_sandbox

    with connect_sandbox("managedbackup", simulator=sim) as conn:
        api = backupbridge_managedbackup.api(conn)
        user = next(iter(sim.users.values()))
        ops: list[Any] = [
            api.users.list(),
            api.computers.list(count=3),
            api.destinations.for_user(user["Email"]),
            api.monitoring.list_pairs(),
            api.users.computers(user["ID"]),
        ]
        for listing in ops:
            first_run, second_run = list(conn.iterate(listing)), list(conn.iterate(listing))
            assert first_run == second_run and first_run
        ones: list[Op[Any]] = [api.users.get(user["ID"]), api.computers.statistics(first(sim.computers))]
        for op in ones:
            assert conn.run(op) == conn.run(op)


def test_a_listing_answered_with_null_is_a_decoding_error_never_an_empty_listing(sim: ManagedBackupSimulator) -> None:
    """Was: ``null`` read as an empty list, so a Monitoring answer of ``null`` said "no runs"."""
    import httpx

    import backupbridge
    from backupbridge.http import RetryPolicy

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/Monitoring", "/Packages")):
            return httpx.Response(200, content=b"null", headers={"content-type": "application/json"})
        return sim.handle(request)

    conn = backupbridge.connect(
        "managedbackup", transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1), **sim.credentials
    )
    for listing in (lambda: conn.vendor.monitoring.list(), lambda: conn.vendor.packages.list(), conn.list_jobs):
        with pytest.raises(DecodingError, match="JSON array"):
            list(listing())


@pytest.mark.parametrize("value", ["x/../../Users", "a?b=1", "a#b", "%2e%2e"])
def test_a_path_value_stays_in_its_segment(sim: ManagedBackupSimulator, value: str) -> None:
    import httpx

    import backupbridge

    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return sim.handle(request)

    conn = backupbridge.connect("managedbackup", transport=httpx.MockTransport(handler), **sim.credentials)
    with pytest.raises(NotFoundError):
        conn.vendor.computers.get(value)
    sent = seen[-1]
    assert sent.raw_path.count(b"/") == 3 and not sent.query and not sent.fragment  # /api/Computers/<one segment>
    assert sent.path == "/api/Computers/" + value  # decoded again, the value is whole
