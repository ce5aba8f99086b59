"""``report`` records into the store and reports from it (issue 14), on SQLite and PostgreSQL.

The from-store reports run under a guard that fails the test on any request: no vendor is asked."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from backupbridge.bridge import Bridge
from backupbridge.cli import main
from backupbridge.health import HealthPolicy
from backupbridge.pipeline import run_report
from backupbridge.sandbox import SimulatorTransport, sandbox_tenants
from backupbridge.store import Store
from backupbridge.store import schema as tables


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def no_vendor_request(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every transport a connection could use fails the test when a request reaches it."""

    def refuse(self: Any, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
        pytest.fail(f"a vendor request was sent: {request.method} {request.url}")

    async def refuse_async(self: Any, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
        pytest.fail(f"a vendor request was sent: {request.method} {request.url}")

    monkeypatch.setattr(SimulatorTransport, "handle_request", refuse)
    monkeypatch.setattr(SimulatorTransport, "handle_async_request", refuse_async)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse_async)
    yield


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def problem_keys(document: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((p["key"], p["health"]) for p in document["problems"])


def test_report_records_its_run(store: Store, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "report", "--sandbox", "--size", "6", "--format", "json", "--store", store_url)
    assert code in (0, 1), err
    assert json.loads(out)["companies"]
    with store.read() as conn:
        sources = conn.execute(sa.select(tables.runs.c.source)).scalars().all()
        accounts = conn.execute(sa.select(tables.run_accounts.c.account)).scalars().all()
        jobs = conn.execute(sa.select(sa.func.count()).select_from(tables.jobs)).scalar()
    assert sources == ["report"]
    assert sorted(accounts) == [f"sandbox-{v}" for v in ("cleverfox", "idrive360", "managedbackup", "vprotect")]
    assert jobs


def test_report_no_store_records_nothing(store: Store, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "report", "--sandbox", "--size", "4", "--format", "json", "--no-store")
    assert code in (0, 1), err
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar() == 0


def test_the_library_call_records_with_the_same_verdicts(store: Store) -> None:
    with Bridge.sandbox(["cleverfox"], seed=2, size=6) as bridge:
        result = run_report(bridge, HealthPolicy(), store=store, alerts=None)
    assert result.recorded is not None and result.store_ok
    with store.read() as conn:
        recorded = {
            (row.entity_id, row.health)
            for row in conn.execute(sa.select(tables.verdicts).where(tables.verdicts.c.kind == "device"))
        }
    assert recorded == {(d.device_id, d.health.value) for d in result.assessment.devices}


@pytest.mark.usefixtures("store")
def test_from_store_reports_the_last_run_without_a_request(
    store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    args = ("report", "--sandbox", "--size", "6", "--format", "json", "--no-alerts", "--store", store_url)
    code, live, err = cli(capsys, *args)
    assert code in (0, 1), err
    request.getfixturevalue("no_vendor_request")
    code, stored, err = cli(capsys, *args, "--from-store")
    assert code in (0, 1), err
    live_doc, stored_doc = json.loads(live), json.loads(stored)
    # The health the collector judged: the same totals, companies and problems as the live report.
    assert stored_doc["totals"] == live_doc["totals"]
    assert [(c["account"], c["company"], c["devices"]) for c in stored_doc["companies"]] == [
        (c["account"], c["company"], c["devices"]) for c in live_doc["companies"]
    ]
    assert problem_keys(stored_doc) == problem_keys(live_doc)


@pytest.mark.usefixtures("store", "no_vendor_request")
def test_from_an_empty_store_is_an_error_not_an_empty_report(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing collected is never "no problems": one line, rc 1, no report."""
    code, out, err = cli(capsys, "report", "--from-store", "--no-alerts", "--format", "json", "--store", store_url)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "holds no run yet: run 'backupbridge collect'" in err
    code, out, err = cli(capsys, "report", "--from-store", "--no-alerts", "--vendor", "cleverfox", "--store", store_url)
    assert code == 1 and "holds no run of vendor cleverfox yet" in err


def test_three_sharded_collectors_then_one_report_from_the_store(
    store: Store, store_url: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    """Issue 14's case: ``collect --shard K/3`` three times into one store, then one ``report --from-store``."""
    for k in (1, 2, 3):
        code, _, err = cli(
            capsys, "collect", "--sandbox", "--tenants", "3", "--size", "3", "--shard", f"{k}/3", "--store", store_url
        )
        assert code == 0, err
    request.getfixturevalue("no_vendor_request")
    code, out, err = cli(
        capsys, "report", "--from-store", "--no-alerts", "--format", "json", "--store", store_url, "--window", "7d"
    )
    assert code in (0, 1), err
    document = json.loads(out)
    expected = sorted({(vendor, account) for vendor, account, _ in sandbox_tenants(accounts_per_vendor=3, size=0)})
    assert sorted({(c["vendor"], c["account"]) for c in document["companies"]}) == expected
    assert sum(document["totals"].values()) == 3 * len(expected)  # every device of every account, once
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar() == 3


def test_from_store_keeps_a_failed_account_failed(
    store: Store, store_url: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    from backupbridge.errors import AuthenticationError
    from backupbridge.store import record_snapshot

    from .conftest import NOW
    from .snapshots import job, snapshot

    record_snapshot(store, snapshot(NOW, jobs=[job("j1", NOW)]), NOW)
    later = NOW + dt.timedelta(hours=1)
    record_snapshot(
        store, snapshot(later, failures=[("list_jobs", AuthenticationError("key revoked", status_code=401))]), later
    )
    request.getfixturevalue("no_vendor_request")
    code, out, err = cli(capsys, "report", "--from-store", "--no-alerts", "--format", "json", "--store", store_url)
    assert code == 1
    document = json.loads(out)
    assert [(f["operation"], f["error"], f["message"]) for f in document["failures"]] == [
        ("list_jobs", "AuthenticationError", "key revoked")
    ]
    assert document["accounts"][0]["judged"] is False and document["problems"] == []
    assert document["totals"]["unknown"] == 1
    note, line = err.splitlines()
    assert note == "note: from the store: 1 accounts, collected 2026-11-02 10:00Z"
    assert line.startswith("error: account testvendor/main failed (list_jobs): key revoked")


class _Fixed:
    """A Bridge that answers one hand-made snapshot (a vendor that forgets runs, on a clock the test sets)."""

    def __init__(self, snap: Any) -> None:
        self.snap = snap
        self.accounts = list(snap.clocks)

    def snapshot(self, *, since: Any = None) -> Any:
        return self.snap


def test_the_pipeline_judges_with_the_stored_history(store: Store) -> None:
    """A failed run the vendor no longer shows is still the device's last run when the report has a store:
    FAILED with its streak, not NEVER_RUN as a report without the store judges it."""
    from typing import cast

    from backupbridge.health import Health
    from backupbridge.models import JobStatus

    from .conftest import NOW
    from .snapshots import job, snapshot

    failed = snapshot(NOW, jobs=[job("j1", NOW - dt.timedelta(hours=2), status=JobStatus.FAILED)])
    run_report(cast(Bridge, _Fixed(failed)), store=store, alerts=None)
    forgotten = snapshot(NOW + dt.timedelta(hours=3), jobs=[])
    with_store = run_report(cast(Bridge, _Fixed(forgotten)), store=store, alerts=None, record=False)
    without = run_report(cast(Bridge, _Fixed(forgotten)), store=None, alerts=None)
    (remembered,) = with_store.assessment.devices
    assert (remembered.health, remembered.consecutive_failures) == (Health.FAILED, 1)
    assert [d.health for d in without.assessment.devices] == [Health.NEVER_RUN]
    # The problem row counts the stored run too (the snapshot is extended with it), and the HTML gets its strip.
    assert [p.consecutive_failures for p in with_store.report.problems] == [1]
    assert with_store.report.history is not None and without.report.history is None
    strip = with_store.report.history.devices[("testvendor", "main", "d1")]
    assert strip.days[-1].status.value == "failure"


def test_report_html_has_the_strip_only_with_a_store(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("report", "--sandbox", "--vendor", "cleverfox", "--size", "4", "--format", "html", "--no-alerts")
    code, with_store, err = cli(capsys, *args, "--store", store_url)
    assert code in (0, 1), err
    code, without, err = cli(capsys, *args, "--no-store")
    assert code in (0, 1), err
    assert with_store.count('<svg class="strip"') == 4  # one per device
    assert '<svg class="strip"' not in without


def test_a_real_run_keeps_its_alerts_in_the_store(store: Store) -> None:
    """Without a state file a run with a store reconciles in the store: the hooks fire once over two runs, and
    no JSON state file is written."""
    from typing import cast

    from backupbridge import plugins
    from backupbridge.config import default_state_dir
    from backupbridge.hookspecs import hookimpl
    from backupbridge.models import JobStatus
    from backupbridge.pipeline import AlertOptions

    from .conftest import NOW
    from .snapshots import job, snapshot

    fired: list[str] = []

    class Hooks:
        @hookimpl
        def backup_problem(self, alert: Any) -> None:
            fired.append(alert.key)

    failed = snapshot(NOW, jobs=[job("j1", NOW - dt.timedelta(hours=2), status=JobStatus.FAILED)])
    with plugins.registered_plugin(Hooks(), "store-alert-hooks"):
        first = run_report(cast(Bridge, _Fixed(failed)), store=store, alerts=AlertOptions())
        second = run_report(cast(Bridge, _Fixed(failed)), store=store, alerts=AlertOptions())
    assert first.alerts_ok and second.alerts_ok, (first.messages, second.messages)
    assert fired == [first.report.problems[0].key]
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.alert_open)).scalar() == 1
    assert not (default_state_dir() / "alerts.json").exists()
