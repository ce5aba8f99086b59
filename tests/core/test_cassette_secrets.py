"""No cassette of any vendor holds a secret-shaped value (headers, login bodies, tokens, cookies, keys)."""

from __future__ import annotations

import re
from pathlib import Path

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"

SECRET_PATTERNS = [
    re.compile(r"(?i)authorization:\s*\n\s*-\s*(bearer|basic)\s+(?!<REDACTED>)\S+"),
    re.compile(r"(?i)\"(access_token|refresh_token|password|api_key|apikey)\"\s*:\s*\"(?!<REDACTED>|\*\*\*)[^\"]+\""),
    re.compile(r"(?i)(JSESSIONID|session)=(?!REDACTED)[A-Za-z0-9]{8,}"),
    re.compile(r"idr-sandbox-[0-9a-f]+|cfx-sandbox-|mbs-sandbox-pass|vprotect-sandbox-|doc-example-api-key"),
]


def test_no_cassette_holds_a_secret() -> None:
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert files, "no cassettes found"
    for path in files:
        text = path.read_text()
        for pattern in SECRET_PATTERNS:
            assert not pattern.search(text), f"{path.name} matches {pattern.pattern}"


def test_every_vendor_has_cassettes() -> None:
    assert {p.name for p in CASSETTES.iterdir() if p.is_dir()} >= {
        "idrive360",
        "cleverfox",
        "managedbackup",
        "vprotect",
    }
