"""The JSON alert state file taken over by the store: imported once, then left alone; a hostile or corrupt file
is one clear error with nothing imported; a store of revision 0003 is upgraded to the alert tables."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from backupbridge.alerts import AlertState, AlertStateError, Receiver, SinkRetry, alerts_from, reconcile_events
from backupbridge.errors import ConfigurationError
from backupbridge.health import Health
from backupbridge.sinks import deliver_alerts
from backupbridge.store import Store, StoreSchemaError, open_store
from backupbridge.store import alerts as store_alerts
from backupbridge.store import schema as tables
from backupbridge.store.alerts import StoreAlertState, import_state_file
from backupbridge.store.engine import _alembic_config

from .conftest import NOW
from .test_alert_store import SINK, Recorder, assessment, failing, one_pass, rows


def legacy_file(path: Path) -> AlertState:
    """A JSON state as the file backend leaves it: three open problems, one event still owed to a sink (after a
    failed attempt) and one to a plugin that was not loaded."""
    state = AlertState(path)
    changes = reconcile_events(state, alerts_from(assessment(failing(3)), NOW), scope=[("v", "a")])
    state.enqueue(changes.opened[:1], [], [Receiver("psa", problem=lambda a: None)], sinks=[SINK])
    (entry,) = state.outbox
    state.mark_failed(entry, SINK, SinkRetry(attempts=1, next_attempt_at=NOW, last_error="HTTP 503"))
    state.save()
    return state


def counts(store: Store) -> tuple[int, int, int]:
    return (
        len(rows(store, tables.alert_open)),
        len(rows(store, tables.alert_outbox)),
        len(rows(store, tables.alert_imports)),
    )


def test_the_json_state_is_imported_once_and_then_left_alone(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "alerts.json"
    legacy = legacy_file(path)
    before = path.read_bytes(), os.stat(path).st_mtime_ns
    result = import_state_file(store, path)
    assert result is not None and (result.open_alerts, result.deliveries) == (3, 2)
    assert result.source == os.path.realpath(path)
    with StoreAlertState.locked(store) as state:
        assert state.open == legacy.open
        owed = sorted((name, e.alert.key) for e in state.outbox for name in e.pending)
    assert owed == [("backupbridge.sink.ops", "v|a|c1|d1|p000|failed"), ("psa", "v|a|c1|d1|p000|failed")]
    (sink_row,) = rows(store, tables.alert_outbox, recipient=SINK)
    assert (sink_row.attempts, sink_row.last_error, sink_row.next_attempt_at) == (1, "HTTP 503", NOW)
    assert sink_row.event_key == legacy.outbox[0].idempotency_key  # the receiver can still drop a repeat
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before  # never written

    # The file changes later (an old backupbridge still writing it): the store does not take it again.
    legacy.open.clear()
    legacy.outbox.clear()
    legacy.save()
    assert import_state_file(store, path) is None
    assert counts(store) == (3, 2, 1)
    path.write_text("this is no longer JSON")  # left alone: not even read
    assert import_state_file(store, path) is None


def test_the_imported_outbox_is_delivered_with_its_idempotency_keys(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "alerts.json"
    legacy = legacy_file(path)
    sink = Recorder()
    outcome = one_pass(store, failing(3), [sink], [Receiver("psa", problem=lambda a: None)], import_file=path)
    assert outcome.plugins.delivered == 1 and outcome.sinks.delivered == 1
    assert sink.got == [("problem", "v|a|c1|d1|p000|failed", legacy.outbox[0].idempotency_key)]
    assert one_pass(store, failing(3), [sink], import_file=path).sinks.delivered == 0  # no second problem event


def test_an_alert_the_store_already_has_open_is_kept_as_the_store_has_it(store: Store, tmp_path: Path) -> None:
    one_pass(store, failing(1), at=NOW + dt.timedelta(days=1))
    path = tmp_path / "alerts.json"
    legacy_file(path)
    result = import_state_file(store, path)
    assert result is not None and result.open_alerts == 2  # p001, p002; p000 was open in the store already
    with StoreAlertState.locked(store) as state:
        assert state.open["v|a|c1|d1|p000|failed"].first_seen == NOW + dt.timedelta(days=1)


def test_two_collectors_importing_at_once_import_once(store_url: str, tmp_path: Path) -> None:
    import threading

    path = tmp_path / "alerts.json"
    legacy_file(path)
    results: list[Any] = []
    barrier = threading.Barrier(3)

    def importer() -> None:
        with open_store(store_url) as store:
            barrier.wait(30)
            results.append(import_state_file(store, path))

    threads = [threading.Thread(target=importer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r is None for r in results) == [False, True, True]
    with open_store(store_url) as store:
        assert counts(store) == (3, 2, 1)


def _deep(path: Path) -> None:
    path.write_text("[" * 200_000 + "]" * 200_000)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.write_text("{ not json"), "is not valid JSON"),
        (lambda p: p.write_text("[1, 2]"), "the top level is list, not an object"),
        (lambda p: p.write_text('{"open": [], "outbox": []}'), "'open' must be an object"),
        (lambda p: p.write_text('{"open": {"k": {"vendor": 7}}, "outbox": []}'), "open alert 'k'"),
        (lambda p: p.write_bytes(b'{"open": {}, "outbox": [], "x": "\xff\xfe"}'), "cannot read the alert state file"),
        (_deep, "nested too deeply"),
        (_fifo, "is not a regular file"),
    ],
    ids=["not-json", "a-list", "wrong-shape", "bad-alert", "not-utf8", "deep", "fifo"],
)
def test_a_hostile_or_corrupt_state_file_is_one_clear_error_and_nothing_is_imported(
    store: Store, tmp_path: Path, make: Any, says: str
) -> None:
    path = tmp_path / "alerts.json"
    make(path)
    with pytest.raises(AlertStateError) as caught:
        one_pass(store, failing(2), [Recorder()], import_file=path)
    message = str(caught.value)
    assert says in message and str(path) in message and "\n" not in message
    assert message.endswith("nothing was imported into the store")
    assert isinstance(caught.value, ConfigurationError)  # the CLI prints it as one line
    assert counts(store) == (0, 0, 0)  # not the import, not the pass: nothing


def test_a_state_file_too_large_to_be_one_is_refused_unread(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "alerts.json"
    legacy_file(path)
    monkeypatch.setattr(store_alerts, "MAX_IMPORT_BYTES", 100)
    with pytest.raises(AlertStateError, match=r"bytes, more than an alert state holds \(100 at most\); nothing"):
        import_state_file(store, path)
    assert counts(store) == (0, 0, 0)


def test_an_import_that_fails_half_way_leaves_nothing_written(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "alerts.json"
    legacy_file(path)

    def disk_full(*args: Any) -> int:
        raise sa.exc.OperationalError("INSERT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(store_alerts, "_insert_deliveries", disk_full)  # after the open alerts were inserted
    with pytest.raises(Exception, match="full; nothing of this alert state was written"):
        import_state_file(store, path)
    assert counts(store) == (0, 0, 0)
    monkeypatch.undo()
    assert import_state_file(store, path) is not None  # the next run imports it whole
    assert counts(store) == (3, 2, 1)


def test_a_missing_state_file_is_nothing_to_import(store: Store, tmp_path: Path) -> None:
    assert import_state_file(store, tmp_path / "never-written.json") is None
    assert counts(store) == (0, 0, 0)
    os.symlink(tmp_path / "nowhere.json", tmp_path / "dangling.json")
    assert import_state_file(store, tmp_path / "dangling.json") is None


def test_a_state_file_through_a_symlink_is_imported_once_by_its_target(store: Store, tmp_path: Path) -> None:
    legacy_file(tmp_path / "real.json")
    os.symlink(tmp_path / "real.json", tmp_path / "link.json")
    assert import_state_file(store, tmp_path / "link.json") is not None
    assert import_state_file(store, tmp_path / "real.json") is None  # the same file


def test_a_block_ended_without_save_keeps_the_import_and_an_exception_keeps_nothing(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.json"
    legacy_file(path)
    with pytest.raises(KeyError), StoreAlertState.locked(store, import_file=path) as state:
        assert len(state.open) == 3
        raise KeyError("the pass failed")
    assert counts(store) == (0, 0, 0)
    with StoreAlertState.locked(store, import_file=path) as state:
        reconcile_events(state, [], scope=[("v", "a")])  # would recover all three, but is never saved
    assert counts(store) == (3, 2, 1)


def test_delivering_before_the_reconciliation_is_saved_is_refused(store: Store) -> None:
    with StoreAlertState.locked(store) as state, pytest.raises(RuntimeError, match=r"save\(\) the reconciliation"):
        state.owed(SINK)


# -- revision 0004 --------------------------------------------------------------------------------------------


def _at_revision(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    engine.dispose()


def test_a_store_of_revision_0003_says_to_upgrade_and_upgrading_adds_the_alert_tables(
    store_url: str, tmp_path: Path
) -> None:
    _at_revision(store_url, "0003")
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.migration_journal).values(
                migration_id="m1", step="s1", seq=1, state="done", detail="{}", attempts=1, updated_at="x"
            )
        )
        assert "alert_outbox" not in sa.inspect(conn).get_table_names()
    engine.dispose()
    with pytest.raises(StoreSchemaError, match=r"has schema 0003, this backupbridge needs 0005: run 'backupbridge"):
        open_store(store_url)
    with open_store(store_url, check=False) as old:
        assert old.upgrade() == ("0003", "0005")
    with open_store(store_url) as upgraded:
        with upgraded.read() as conn:
            assert conn.execute(sa.select(tables.migration_journal.c.step)).scalars().all() == ["s1"]
        path = tmp_path / "alerts.json"
        legacy_file(path)
        sink = Recorder()
        one_pass(upgraded, failing(3), [sink], import_file=path)
        assert len(sink.got) == 1 and counts(upgraded) == (3, 2, 1)


def test_a_pass_on_the_store_backend_with_reconcile_and_deliver(store: Store) -> None:
    """deliver_alerts itself on the store (what the report pipeline calls), with updated events."""
    sink = Recorder()
    with StoreAlertState.locked(store) as state:
        changes = reconcile_events(state, alerts_from(assessment({"p1": Health.WARNING}), NOW), scope=[("v", "a")])
        outcome = deliver_alerts(state, changes.opened, changes.recovered, [], [sink], updated=changes.updated)
    assert outcome.sinks.delivered == 1 and [e for e, _, _ in sink.got] == ["problem"]
    assert json.loads(rows(store, tables.alert_open)[0].alert)["severity"] == "low"


def test_prune_deletes_acknowledged_deliveries_only(store: Store) -> None:
    from backupbridge.store import prune

    one_pass(store, failing(2), [Recorder()])  # delivered now
    one_pass(store, failing(3), [Recorder(fail=lambda entry: True)])  # p002 stays pending
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=500)
    result = prune(store, dt.timedelta(days=400), now=later)
    assert result.deleted["alert_outbox"] == 2
    assert [(r.state, r.alert_key) for r in rows(store, tables.alert_outbox)] == [("pending", "v|a|c1|d1|p002|failed")]
    assert len(rows(store, tables.alert_open)) == 3  # open problems are never pruned


def test_a_reconciliation_waiting_too_long_for_another_is_one_line_and_writes_nothing(
    store: Store, store_url: str
) -> None:
    from backupbridge.store import StoreError

    with StoreAlertState.locked(store) as holder, open_store(store_url, busy_timeout=0.2) as other:
        reconcile_events(holder, alerts_from(assessment(failing(1)), NOW), scope=[("v", "a")])
        with pytest.raises(StoreError) as caught:
            one_pass(other, failing(2), [Recorder()], timeout=0.2)
        holder.save()
    message = str(caught.value)
    assert "is locked by another" in message and "nothing of this alert state was written" in message
    assert "\n" not in message
    assert [r.key for r in rows(store, tables.alert_open)] == ["v|a|c1|d1|p000|failed"]  # the holder's only


def test_opening_a_current_store_does_not_import_alembic(store: Store, store_url: str) -> None:
    """Alembic (and Mako) only to create or upgrade a schema: a report opening a current store skips them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from backupbridge.store import open_store\n"
        f"with open_store({store_url!r}) as store:\n"
        "    store.check_schema()\n"
        "    assert store.revision() == '0005'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
