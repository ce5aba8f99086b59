"""Hostile alert state files and hooks (found by an adversarial pass over issue 12)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from backupbridge.alerts import AlertState, AlertStateError, Receiver
from backupbridge.health import Health
from tests.core.test_alert_trust import Recorder, _deliver_pass


def test_a_deeply_nested_state_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("[" * 100_000 + "]" * 100_000)  # json.loads: RecursionError
    with pytest.raises(AlertStateError) as info:
        AlertState.load(path)
    assert str(path) in str(info.value)


def test_a_number_out_of_range_in_the_state_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    _deliver_pass(path, {"d1": Health.FAILED}, [Recorder("psa", fail=True).receiver()])  # one event kept
    saved = json.loads(path.read_text())
    assert saved["outbox"], "the failed delivery is kept in the outbox"
    saved["outbox"][0]["attempts"] = 12345
    path.write_text(json.dumps(saved).replace("12345", "1e400"))  # int(inf): OverflowError
    with pytest.raises(AlertStateError) as info:
        AlertState.load(path)
    assert str(path) in str(info.value)


def test_a_fifo_as_the_state_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    os.mkfifo(path)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            AlertState.load(path)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # unblock the reader before failing
        with open(path, "w"):
            pass
        pytest.fail("loading a FIFO state file hung")
    assert isinstance(outcome[0], AlertStateError) and "not a regular file" in str(outcome[0])


def test_a_dangling_symlink_creates_no_directories_where_it_points(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "deep" / "dir" / "authorized_keys"
    link = tmp_path / "state.json"
    link.symlink_to(elsewhere)
    with pytest.raises(AlertStateError), AlertState.locked(link) as state:
        state.save()
    assert not (tmp_path / "elsewhere").exists()


def test_a_symlink_into_an_existing_directory_is_still_written_through(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    link = tmp_path / "state.json"
    link.symlink_to(tmp_path / "real" / "state.json")
    with AlertState.locked(link) as state:
        state.save()
    assert link.is_symlink() and (tmp_path / "real" / "state.json").is_file()


def _raising(exc: BaseException) -> Callable[[object], None]:
    def hook(alert: object) -> None:
        raise exc

    return hook


@pytest.mark.parametrize("exc", [GeneratorExit(), asyncio.CancelledError()], ids=["GeneratorExit", "CancelledError"])
def test_a_hook_raising_any_base_exception_is_isolated(tmp_path: Path, exc: BaseException) -> None:
    path = tmp_path / "state.json"
    log = Recorder("log")
    bad = Receiver("bad", _raising(exc), _raising(exc))
    outcome = _deliver_pass(path, {"d1": Health.FAILED}, [bad, log.receiver()])
    assert log.calls and len(outcome.failures) == 1 and outcome.failures[0].plugin == "bad"
    assert json.loads(path.read_text())["outbox"][0]["pending"] == ["bad"]  # kept for redelivery


def test_ctrl_c_in_a_hook_still_stops_the_run(tmp_path: Path) -> None:
    bad = Receiver("bad", _raising(KeyboardInterrupt()), _raising(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        _deliver_pass(tmp_path / "state.json", {"d1": Health.FAILED}, [bad])


def test_a_sink_raising_generator_exit_keeps_its_event_and_blocks_no_other(tmp_path: Path) -> None:
    from backupbridge.sinks import EventSink
    from tests.core.test_sinks_webhook import run_pass

    got: list[str] = []

    class Broken(EventSink):
        def send_event(self, entry: object) -> None:
            raise GeneratorExit

    class Working(EventSink):
        def send_event(self, entry: object) -> None:
            got.append(entry.event)  # type: ignore[attr-defined]

    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [Broken("broken"), Working("working")])
    assert got == ["problem"] and len(outcome.sinks.failures) == 1
    (entry,) = state.outbox
    assert entry.pending == ["backupbridge.sink.broken"]
