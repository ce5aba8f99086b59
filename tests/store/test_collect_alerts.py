"""``backupbridge collect`` reconciles and delivers alerts through the store (issue 14): two collectors at once
on one store and one webhook deliver each alert exactly once; ``--shard K/N`` reconciles only its own accounts
(never recovers another shard's problems); an account whose listing failed keeps its alerts; a sink that is down
gets its events on the next collect; ``--no-alerts`` only records.

The accounts are configured ones (a real run, so the alerts live in the store), IDrive 360 simulators served on
loopback; the webhook is the loopback receiver of test_alert_store."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backupbridge.cli import main
from backupbridge.sandbox import SimulatorOptions, make_simulator
from backupbridge.sandbox.server import serve
from backupbridge.store import Store
from backupbridge.store import schema as tables
from backupbridge.store.record import in_shard

from .test_alert_store import SECRET, Hook, hook, rows

__all__ = ["hook"]  # the receiver fixture, shared

KEY_ENV = "H12_IDRIVE_KEY"
SECRET_ENV = "H12_WEBHOOK_SECRET"


def _names() -> tuple[str, str]:
    """Two account names, the first in shard 1/2 and the second in shard 2/2."""
    candidates = [f"office-{n}" for n in range(1, 20)]
    first = next(name for name in candidates if in_shard(name, 1, 2))
    second = next(name for name in candidates if in_shard(name, 2, 2))
    return first, second


FIRST, SECOND = _names()


class Accounts:
    """Two IDrive 360 accounts, each its own simulator on loopback, and the config naming them and the webhook."""

    def __init__(self, tmp_path: Path, hook_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.servers: dict[str, Any] = {}
        text = f'[[sinks]]\ntype = "webhook"\nname = "ops"\nurl = "{hook_url}"\nsecret_env = "{SECRET_ENV}"\n'
        for seed, name in enumerate((FIRST, SECOND)):
            sim: Any = make_simulator("idrive360", SimulatorOptions(size=8, seed=seed))
            server = serve(sim, port=0)
            self.servers[name] = server
            env = f"{KEY_ENV}_{seed}"
            monkeypatch.setenv(env, sim.api_key)
            text += (
                f'[accounts."{name}"]\nvendor = "idrive360"\n'
                f'base_url = "http://127.0.0.1:{server.server_address[1]}/api/msp"\n'
                f'[accounts."{name}".credentials]\napi_key = {{ env = "{env}" }}\n'
            )
        monkeypatch.setenv(SECRET_ENV, SECRET)
        self.config = tmp_path / "config.toml"
        self.config.write_text(text, encoding="utf-8")
        monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(self.config))

    def down(self, name: str) -> None:
        """The account's vendor stops answering (its listings fail)."""
        server = self.servers.pop(name)
        server.shutdown()
        server.server_close()

    def close(self) -> None:
        for name in list(self.servers):
            self.down(name)


@pytest.fixture
def accounts(tmp_path: Path, hook: tuple[str, type[Hook]], monkeypatch: pytest.MonkeyPatch) -> Iterator[Accounts]:
    made = Accounts(tmp_path, hook[0], monkeypatch)
    try:
        yield made
    finally:
        made.close()


def collect(capsys: pytest.CaptureFixture[str], store_url: str, config: Path, *args: str) -> tuple[int, str]:
    code = main(["collect", "--config", str(config), "--store", store_url, *args])
    return code, capsys.readouterr().err


def open_keys(store: Store, account: str | None = None) -> set[str]:
    where = {"account": account} if account else {}
    return {r.key for r in rows(store, tables.alert_open, **where)}


def _collect_process(store_url: str, config: str, start: Any) -> None:
    start.wait(60)
    raise SystemExit(main(["collect", "--config", config, "--store", store_url]))


def test_two_collect_processes_at_once_deliver_each_alert_exactly_once(
    store: Store, store_url: str, accounts: Accounts, hook: tuple[str, type[Hook]]
) -> None:
    _, handler = hook
    handler.delay = 0.005  # long enough for the two collectors to overlap on the outbox
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_collect_process, args=(store_url, str(accounts.config), start)) for _ in "ab"]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=180)
    assert [w.exitcode for w in workers] == [0, 0]
    expected = open_keys(store)
    assert len(expected) >= 4 and open_keys(store, FIRST) and open_keys(store, SECOND)
    keys = [key for key, _ in handler.seen]
    assert len(keys) == len(set(keys)) == len(expected)  # one event each, none twice
    assert sorted(event for _, event in handler.seen) == sorted(f"problem {key}" for key in expected)
    outbox = rows(store, tables.alert_outbox)
    assert len(outbox) == len(expected) and {r.state for r in outbox} == {"delivered"}
    runs = rows(store, tables.runs)
    assert len(runs) == 2 and {r.source for r in runs} == {"collect"}


def test_a_shard_reconciles_its_own_accounts_and_never_recovers_another_shards(
    store: Store, store_url: str, accounts: Accounts, hook: tuple[str, type[Hook]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, handler = hook
    code, err = collect(capsys, store_url, accounts.config, "--shard", "1/2")
    assert code == 0, err
    first = open_keys(store, FIRST)
    assert first and open_keys(store) == first  # shard 1 read only its account
    assert sorted(event for _, event in handler.seen) == sorted(f"problem {key}" for key in first)

    code, err = collect(capsys, store_url, accounts.config, "--shard", "2/2")
    assert code == 0, err
    second = open_keys(store, SECOND)
    assert second and open_keys(store) == first | second  # shard 1's problems stay open: not looked at
    events = [event for _, event in handler.seen]
    assert not [e for e in events if not e.startswith("problem ")]  # nothing recovered
    assert sorted(events) == sorted(f"problem {key}" for key in first | second)

    for shard in ("1/2", "2/2"):  # again: every problem is old news, nothing is sent twice
        code, err = collect(capsys, store_url, accounts.config, "--shard", shard)
        assert code == 0, err
    assert len(handler.seen) == len(first | second) and open_keys(store) == first | second


def test_an_account_whose_listing_failed_keeps_its_alerts(
    store: Store, store_url: str, accounts: Accounts, hook: tuple[str, type[Hook]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, handler = hook
    code, err = collect(capsys, store_url, accounts.config)
    assert code == 0, err
    before = open_keys(store)
    assert open_keys(store, FIRST) and open_keys(store, SECOND)
    sent = len(handler.seen)

    accounts.down(FIRST)
    code, err = collect(capsys, store_url, accounts.config)
    assert code == 1
    assert f"error: account idrive360/{FIRST} failed" in err and "alerts left as they were" in err
    assert open_keys(store) == before  # a failure is never read as a recovery
    assert len(handler.seen) == sent and not [e for _, e in handler.seen if e.startswith("recovered ")]


def test_a_sink_that_is_down_gets_its_events_on_the_next_collect(
    store: Store, store_url: str, accounts: Accounts, hook: tuple[str, type[Hook]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, handler = hook
    handler.status = 503
    code, err = collect(capsys, store_url, accounts.config)
    assert code == 1
    assert "error: alerts: sink ops failed" in err and "kept for the next run" in err, err
    expected = open_keys(store)
    assert expected and not handler.seen
    assert {r.state for r in rows(store, tables.alert_outbox)} != {"delivered"}

    handler.status = 200
    code, err = collect(capsys, store_url, accounts.config)
    assert code == 0, err
    keys = [key for key, _ in handler.seen]
    assert len(keys) == len(set(keys)) == len(expected)
    assert sorted(event for _, event in handler.seen) == sorted(f"problem {key}" for key in expected)
    assert {r.state for r in rows(store, tables.alert_outbox)} == {"delivered"}

    code, err = collect(capsys, store_url, accounts.config)  # and never again
    assert code == 0, err
    assert len(handler.seen) == len(expected)


def test_no_alerts_only_records(
    store: Store, store_url: str, accounts: Accounts, hook: tuple[str, type[Hook]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, handler = hook
    code, err = collect(capsys, store_url, accounts.config, "--no-alerts")
    assert code == 0, err
    assert not handler.seen and not open_keys(store) and not rows(store, tables.alert_outbox)
    assert len(rows(store, tables.runs)) == 1
    assert not rows(store, tables.alert_reconciled)  # it reconciled nothing: it holds no other pass back


def test_collect_marks_the_accounts_it_reconciled_with_its_run(
    store: Store, store_url: str, accounts: Accounts, hook: tuple[str, type[Hook]], capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = collect(capsys, store_url, accounts.config)
    assert code == 0, err
    (first,) = rows(store, tables.runs)
    assert {(r.account, r.run_id) for r in rows(store, tables.alert_reconciled)} == {
        (FIRST, first.id),
        (SECOND, first.id),
    }
    accounts.down(SECOND)
    code, err = collect(capsys, store_url, accounts.config)
    assert code == 1 and SECOND in err
    second = max(r.id for r in rows(store, tables.runs))
    # The account whose listing failed was not reconciled: its mark stays the first run's.
    assert {r.account: r.run_id for r in rows(store, tables.alert_reconciled)} == {FIRST: second, SECOND: first.id}


def test_collect_shares_reports_alert_options(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["collect", "--sandbox", "--alerts", "--store", store_url, "--state-file", str(tmp_path / "no/x.json")])
    assert code == 2 and "--state-file" in capsys.readouterr().err  # before any request
    code = main(["collect", "--alerts", "--store", store_url])
    assert code == 2 and "only with --sandbox" in capsys.readouterr().err


def test_a_customers_mapping_in_error_is_one_line_and_exit_1_as_for_report(
    store: Store, store_url: str, accounts: Accounts, hook: tuple[str, type[Hook]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, handler = hook
    companies = {r.id for r in rows(store, tables.companies)}
    code, err = collect(capsys, store_url, accounts.config, "--no-alerts")
    assert code == 0, err
    company = sorted({r.id for r in rows(store, tables.companies)} - companies)[0]
    with accounts.config.open("a", encoding="utf-8") as handle:
        handle.write(
            f'[customers.acme]\ncompanies = ["idrive360/{FIRST}/{company}"]\n'
            f'[customers.acme-old]\ncompanies = ["idrive360/{FIRST}/{company}"]\n'
        )
    code, err = collect(capsys, store_url, accounts.config)
    assert code == 1 and "error: customers: " in err and "mapped to 2 customers" in err, err
    assert handler.seen  # the alerts still go out, without a customer for the company mapped twice


def test_a_sandbox_collect_feeds_its_ndjson_sink_once_per_event(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = tmp_path / "alerts.ndjson"
    for _ in range(2):
        code = main(["collect", "--sandbox", "--size", "6", "--store", store_url, "--alerts-ndjson", str(sink)])
        assert code == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    keys = [(line["event"], line["key"]) for line in lines]
    assert keys and len(keys) == len(set(keys))  # the second collect found them open: nothing twice
