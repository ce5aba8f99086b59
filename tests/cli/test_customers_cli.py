"""`backupbridge customers [suggest]`, and `report` with customers and configured sinks: a sink that is down,
refusing or misconfigured, or a customer mapped twice, is a clear line; the report and other sinks go on."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from backupbridge.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_suggest_proposes_the_sandbox_customers_as_config_toml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "customers", "suggest", "--sandbox", "--size", "10", "--format", "toml")
    assert code == 0, err
    data = tomllib.loads(out)
    members = data["customers"]["acme-architects"]["companies"]
    assert {m.split("/")[0] for m in members} == {"idrive360", "vprotect"}  # " project" stripped to match
    assert "normalised" in out and "exact" in out
    code, out, _ = run(capsys, "customers", "suggest", "--sandbox", "--size", "10", "--format", "json")
    assert code == 0 and any(len(s["members"]) > 1 for s in json.loads(out))


def sandbox_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        """
[customers.acme]
companies = ["idrive360/sandbox-idrive360/15021", "vprotect/sandbox-vprotect/e3e70682-c209-4cac-629f-6fbed82c07cd",
             "cleverfox/sandbox-cleverfox/999"]
[customers.acme.names]
"idrive360/sandbox-idrive360/15021" = "Acme Architects Ltd"
"""
        + extra
    )
    return config


def test_customers_shows_each_mapping_status(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = sandbox_config(tmp_path)
    code, out, err = run(capsys, "customers", "--sandbox", "--size", "10", "--config", str(config), "--format", "json")
    assert code == 1  # a member is missing
    rows = {r["member"]: r for r in json.loads(out)}
    assert rows["idrive360/sandbox-idrive360/15021"]["status"] == "renamed"
    assert rows["idrive360/sandbox-idrive360/15021"]["current_name"] == "Acme Architects"
    assert rows["vprotect/sandbox-vprotect/e3e70682-c209-4cac-629f-6fbed82c07cd"]["status"] == "ok"
    assert rows["cleverfox/sandbox-cleverfox/999"]["status"] == "missing"
    code, out, err = run(capsys, "customers", "--sandbox", "--size", "10", "--config", str(config))
    assert code == 1 and "renamed" in out and "missing" in out and "Traceback" not in err


def test_a_customer_mapped_twice_is_a_clear_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = sandbox_config(tmp_path, '[customers.other]\ncompanies = ["idrive360/sandbox-idrive360/15021"]\n')
    code, out, err = run(capsys, "customers", "--sandbox", "--size", "10", "--config", str(config))
    assert code == 1
    (line,) = [x for x in err.splitlines() if x.startswith("error: customers:")]
    assert "idrive360/sandbox-idrive360/15021 is mapped to 2 customers (acme, other)" in line
    # the report is unaffected (the company is grouped under neither) and says so on one line
    state, sink = tmp_path / "state.json", tmp_path / "events.ndjson"
    code, out, err = run(
        capsys, "report", "--sandbox", "--size", "10", "--format", "json", "--config", str(config),
        "--state-file", str(state), "--alerts-ndjson", str(sink),
    )  # fmt: skip
    assert code == 1 and "is mapped to 2 customers" in err and "Traceback" not in err
    report = json.loads(out)
    customers = {c["customer"]: c for c in report["customers"]}
    assert customers["acme"]["companies"] == ["vprotect/sandbox-vprotect/e3e70682-c209-4cac-629f-6fbed82c07cd"]
    assert sink.read_text()  # alerts delivered all the same


def test_report_and_alerts_group_by_customer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = sandbox_config(tmp_path)
    state, sink = tmp_path / "state.json", tmp_path / "events.ndjson"
    code, out, err = run(
        capsys, "report", "--sandbox", "--size", "10", "--format", "json", "--config", str(config),
        "--state-file", str(state), "--alerts-ndjson", str(sink),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    acme = [p for p in report["problems"] if p["customer"] == "acme"]
    assert acme and {p["vendor"] for p in acme} <= {"idrive360", "vprotect"}
    events = [json.loads(x) for x in sink.read_text().splitlines()]
    assert {e["key"] for e in events if e["customer"] == "acme"} == {p["key"] for p in acme if p["health"] != "unknown"}


class Hook(http.server.BaseHTTPRequestHandler):
    status = 200
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).status < 300:
            type(self).seen.append(json.loads(body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[int, type[Hook]]]:
    handler = type("Handler", (Hook,), {"seen": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sinks_config(tmp_path: Path, up: int, down: int) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[[sinks]]
type = "webhook"
name = "up"
url = "http://127.0.0.1:{up}/hook"
secret_env = "TEST_HOOK_SECRET"

[[sinks]]
type = "webhook"
name = "down"
url = "http://127.0.0.1:{down}/hook"
secret_env = "TEST_HOOK_SECRET"
"""
    )
    return config


@pytest.mark.parametrize("answer", ["unreachable", 401, 403, 429, 500])
def test_a_sink_that_is_down_or_refusing_loses_nothing_and_blocks_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    hook: tuple[int, type[Hook]],
    monkeypatch: pytest.MonkeyPatch,
    answer: str | int,
) -> None:
    port, handler = hook
    monkeypatch.setenv("TEST_HOOK_SECRET", "hook-secret-9d2e")
    if answer == "unreachable":
        config = sinks_config(tmp_path, port, free_port())
    else:
        bad_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Bad", (Hook,), {"status": answer}))
        threading.Thread(target=bad_server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        config = sinks_config(tmp_path, port, bad_server.server_address[1])
    state, sink = tmp_path / "state.json", tmp_path / "events.ndjson"
    args = ["report", "--sandbox", "--alerts", "--size", "8", "--format", "json", "--config", str(config)]
    args += ["--state-file", str(state), "--alerts-ndjson", str(sink)]
    try:
        code, out, err = run(capsys, *args)
        assert code == 1 and json.loads(out)["problems"]  # the report is out
        (line,) = [x for x in err.splitlines() if x.startswith("error: alerts: sink down")]
        kind = "refused" if answer in (401, 403) else "failed"
        assert line.startswith(f"error: alerts: sink down {kind} ")
        assert "kept for the next run" in line and "hook-secret-9d2e" not in err and "Traceback" not in err
        opened = json.loads(state.read_text())["open"]
        assert sorted(e["alert"]["key"] for e in handler.seen) == sorted(opened)  # the other sink was served
        assert len(sink.read_text().splitlines()) == len(opened)  # and the NDJSON one
        outbox = json.loads(state.read_text())["outbox"]
        assert len(outbox) == len(opened) and all(e["pending"] == ["backupbridge.sink.down"] for e in outbox)
        # fixed (here: pointed at a receiver that answers), the next run delivers what was kept, once
        config.write_text(config.read_text().replace(config.read_text().split('url = "')[2].split('"')[0],
                                                     f"http://127.0.0.1:{port}/hook"))  # fmt: skip
        code, _, err = run(capsys, *args)
        assert code == 0, err
        assert json.loads(state.read_text())["outbox"] == []
        keys = [e["alert"]["key"] for e in handler.seen]
        assert sorted(keys) == sorted([*opened, *opened])  # each once per sink
        assert len({e["idempotency_key"] for e in handler.seen}) == len(opened)  # the same key from both sinks
    finally:
        if answer != "unreachable":
            bad_server.shutdown()
            bad_server.server_close()


def test_a_misconfigured_sink_stops_the_alerts_before_anything_is_reconciled(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[sinks]]\ntype = "webhook"\nurl = "ftp://example.com"\nsecret_env = "X"\n')
    state = tmp_path / "state.json"
    code, out, err = run(
        capsys, "report", "--sandbox", "--alerts", "--size", "6", "--format", "json", "--config", str(config),
        "--state-file", str(state),
    )  # fmt: skip
    assert code == 1 and json.loads(out)["problems"]
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "sink 'webhook': url must be an https:// URL" in line
    assert not state.exists()  # nothing reconciled: the next run, fixed, opens every problem for every sink


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('type = "pager"', "type must be one of webhook, email"),
        ('type = "webhook"\nurl = "https://h.example/x"', "needs secret_env"),
        ('type = "webhook"\nurl = "https://h.example/x"\nsecret = "inline"', "unknown key 'secret'"),
        ('type = "webhook"\nurl = "http://h.example/x"\nsecret_env = "X"', "http:// only for loopback"),
        ('type = "email"\nhost = "smtp.example.com"\nfrom = "a@example.com"', "to must be a list"),
        ('type = "email"\nhost = "s"\nfrom = "a@x"\nto = ["b@x"]\nusername = "u"', "needs password_env"),
        ('type = "email"\nhost = "smtp.example.com"\nfrom = "a@x"\nto = ["b@x"]\nstarttls = false', "only for a relay"),
    ],
)
def test_sink_tables_are_checked(tmp_path: Path, table: str, message: str) -> None:
    from backupbridge.errors import ConfigurationError
    from backupbridge.sinks import load_sinks

    config = tmp_path / "config.toml"
    config.write_text(f"[[sinks]]\n{table}\n")
    with pytest.raises(ConfigurationError, match=message):
        load_sinks(config)
