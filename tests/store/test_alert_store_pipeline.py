"""The report pipeline with its alerts in the store, end to end: two report processes at once on one store and
one configured webhook deliver each alert exactly once; the default JSON state file is imported by the first
run with a store, its queued events delivered with their idempotency keys, and then left alone."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backupbridge import pipeline
from backupbridge.alerts import AlertState
from backupbridge.bridge import Bridge
from backupbridge.config import default_state_dir
from backupbridge.store import Store, open_store
from backupbridge.store import schema as tables

from .test_alert_store import SECRET, Hook, hook, rows

__all__ = ["hook"]  # the receiver fixture, shared

VENDORS = ["cleverfox", "idrive360", "managedbackup", "vprotect"]
SIZE = 8


@pytest.fixture
def config(tmp_path: Path, hook: tuple[str, type[Hook]], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    url, _ = hook
    path = tmp_path / "config.toml"
    path.write_text(f'[[sinks]]\ntype = "webhook"\nname = "ops"\nurl = "{url}"\nsecret_env = "H7_WEBHOOK_SECRET"\n')
    monkeypatch.setenv("H7_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(path))
    yield path


def _report(store_url: str, config: str, start: Any) -> None:
    start.wait(60)
    with open_store(store_url) as store, Bridge.sandbox(VENDORS, size=SIZE) as bridge:
        result = pipeline.run_report(bridge, store=store, alerts=pipeline.AlertOptions(), config=Path(config))
    if not result.alerts_ok:
        raise SystemExit(f"alerts failed: {result.messages}")


def test_two_report_processes_at_once_deliver_each_alert_exactly_once(
    store: Store, store_url: str, config: Path, hook: tuple[str, type[Hook]]
) -> None:
    _, handler = hook
    handler.delay = 0.005
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_report, args=(store_url, str(config), start)) for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=180)
    assert [w.exitcode for w in workers] == [0, 0]
    expected = {r.key for r in rows(store, tables.alert_open)}  # the problems the two runs found
    assert len(expected) >= 5  # enough for the two runs to race over
    keys = [key for key, _ in handler.seen]
    assert len(keys) == len(set(keys)) == len(expected)  # one event each, none twice
    assert sorted(event for _, event in handler.seen) == sorted(f"problem {key}" for key in expected)
    outbox = rows(store, tables.alert_outbox)
    assert len(outbox) == len(expected) and {r.state for r in outbox} == {"delivered"}


def test_the_default_state_file_is_imported_by_the_first_run_with_a_store(
    store: Store, config: Path, hook: tuple[str, type[Hook]], tmp_path: Path
) -> None:
    _, handler = hook
    legacy_path = default_state_dir() / "alerts.json"
    legacy_path.parent.mkdir(parents=True, exist_ok=True)
    no_sinks = tmp_path / "before.toml"
    no_sinks.write_text("")
    # An older backupbridge (no store) left its open problems in the JSON file, two events still owed to ops.
    with Bridge.sandbox(VENDORS, size=SIZE) as bridge:
        before_store = pipeline.run_report(
            bridge, store=None, alerts=pipeline.AlertOptions(state_file=legacy_path), config=no_sinks
        )
    assert before_store.alerts_ok, before_store.messages
    legacy = AlertState.load(legacy_path)
    assert len(legacy.open) >= 3
    legacy.enqueue(list(legacy.open.values())[:2], [], [], sinks=["backupbridge.sink.ops"])
    legacy.save()
    owed = sorted(entry.idempotency_key for entry in legacy.outbox)
    before = legacy_path.read_bytes()

    for _ in range(2):
        with Bridge.sandbox(VENDORS, size=SIZE) as bridge:
            result = pipeline.run_report(bridge, store=store, alerts=pipeline.AlertOptions(), config=config)
        assert result.alerts_ok, result.messages
    # Its two queued events went out with their keys, once; its other open problems were no news.
    keys = [key for key, _ in handler.seen]
    assert len(keys) == len(set(keys)) and set(owed) <= set(keys)
    announced = [event.split(" ", 1)[1] for _, event in handler.seen if event.startswith("problem ")]
    assert sorted(set(announced) & set(legacy.open)) == sorted(entry.alert.key for entry in legacy.outbox)
    (imported,) = rows(store, tables.alert_imports)
    assert imported.source == os.path.realpath(legacy_path) and imported.open_alerts == len(legacy.open)
    assert legacy_path.read_bytes() == before  # left alone
    assert json.loads(before)["outbox"]  # (the file still says they are owed: it is no longer read)
