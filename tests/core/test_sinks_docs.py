"""docs/alerts.md's examples run as written: the receiver's signature check, and the sink and customer
tables load as the configuration reader reads them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from backupbridge.customers import load_customers
from backupbridge.sinks import EmailSink, WebhookSink, load_sinks

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_receiver_example_runs() -> None:
    (code,) = blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # our own docs
    assert namespace["event"]["event"] == "problem"


def test_the_config_examples_load(tmp_path: Path) -> None:
    customers, webhook, mail = blocks("toml")
    config = tmp_path / "config.toml"
    config.write_text(customers)
    assert load_customers(config).lookup[("cleverfox", "fox", "2")] == "acme"
    # the private CA file of the example does not exist here
    config.write_text(webhook + "\n".join(line for line in mail.splitlines() if not line.startswith("cafile")))
    hook, email = load_sinks(config)
    assert isinstance(hook, WebhookSink) and hook.label == "ops" and hook.url.startswith("https://")
    assert isinstance(email, EmailSink) and email.recipients == ("noc@example.com", "oncall@example.com")
    assert email.starttls and email.port == 587
