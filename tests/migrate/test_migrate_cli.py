"""``backupbridge migrate plan|apply|status|cutover`` on the sandbox, across separate invocations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backupbridge.cli import cli, main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("BACKUPBRIDGE_STORE", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    return {"state": str(tmp_path / "state"), "plan": str(tmp_path / "move.json")}


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_the_stages_keep_the_sandbox_state_between_invocations(env: dict[str, str]) -> None:
    state, plan = ["--sandbox-state", env["state"]], env["plan"]
    losses = ["--accept-loss", "schedule.grace", "--accept-loss", "retention.keep_last"]
    losses += ["--accept-loss", "retention.keep_last_local"]
    rc, out = _run(
        "migrate",
        "plan",
        "--sandbox",
        "--from",
        "sandbox-cleverfox",
        "--to",
        "sandbox-idrive360",
        "-o",
        plan,
        *state,
        *losses,
    )
    assert rc == 0, out
    assert "plans ready" in out and "refused" in out
    data = json.loads(Path(plan).read_text())
    to_create = sum(c["action"] == "create" for c in data["companies"])
    assert to_create > 0

    rc, out = _run("migrate", "apply", plan, "--dry-run", *state)
    assert rc == 0 and "nothing changed" in out, out
    rc, out = _run("migrate", "apply", plan, *state)
    assert rc == 0 and f"applied: {to_create} written" in out, out
    # A second invocation sees what the first created (the sandbox kept its state): nothing to write.
    rc, out = _run("migrate", "apply", plan, *state)
    assert rc == 0 and "applied: 0 written, 0 found" in out, out
    rc, out = _run("migrate", "status", plan, "--json", *state)
    assert rc == 0, out
    rows = json.loads(out)
    assert rows and not any(r["ready"] for r in rows)
    unenrolled = [r for r in rows if not r["enrolled"]]
    assert unenrolled and all(r["reason"] == "not enrolled on the target yet" for r in unenrolled)
    rc, out = _run("migrate", "cutover", plan, *state)
    assert rc == 0 and "cutover: 0 disabled" in out, out


def test_bad_input_is_one_line(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    Path(env["plan"]).write_text('{"format": "backupbridge-migration", "version": 1, "migration_id": 5}')
    assert main(["migrate", "apply", env["plan"], "--sandbox-state", env["state"]]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "migration_id" in err and "Traceback" not in err
    assert (
        main(["migrate", "plan", "--sandbox", "--from", "sandbox-nope", "--to", "sandbox-idrive360", "-o", env["plan"]])
        == 2
    )
    assert "sandbox-cleverfox" in capsys.readouterr().err
    assert (
        main(
            [
                "migrate",
                "plan",
                "--sandbox",
                "--from",
                "sandbox-cleverfox",
                "--to",
                "sandbox-idrive360",
                "-o",
                env["plan"],
                "--accept-loss",
                "what",
            ]
        )
        == 2
    )
