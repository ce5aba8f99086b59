"""Issue 16: ``backupbridge history --customer NAME``: the grid and compliance over every company mapped to
the customer, in every vendor, by id; an unmapped customer or a company mapped twice is a clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backupbridge.cli import main
from backupbridge.errors import ValidationError
from backupbridge.store import Store, history
from backupbridge.store.history import HistoryNotFoundError

VP = "vprotect/sandbox-vprotect/e3e70682-c209-4cac-629f-6fbed82c07cd"
IDR = "idrive360/sandbox-idrive360/15021"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("BACKUPBRIDGE_STORE", raising=False)


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_history_of_a_customer_covers_its_companies_in_every_vendor(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, f'[customers.acme-architects]\ncompanies = ["{IDR}", "{VP}"]\n')
    code, _, err = run(capsys, "collect", "--sandbox", "--size", "10", "--store", store_url, "--config", str(cfg))
    assert code == 0, err
    code, out, err = run(
        capsys, "history", "--customer", "acme-architects", "--days", "3", "--format", "json",
        "--store", store_url, "--config", str(cfg),
    )  # fmt: skip
    assert code == 0, err
    document = json.loads(out)
    assert document["scope"] == "customer" and document["query"] == "acme-architects"
    companies = {(c["vendor"], c["account"], c["company_id"]) for c in document["compliance"]}
    assert companies == {tuple(IDR.split("/")), tuple(VP.split("/"))}
    assert {e["vendor"] for e in document["entities"]} == {"idrive360", "vprotect"}
    # The same rows as asking for each company on its own.
    one = []
    for member in (IDR, VP):
        code, out, err = run(
            capsys, "history", "--company", member.split("/", 2)[2], "--days", "3", "--format", "json",
            "--store", store_url, "--config", str(cfg),
        )  # fmt: skip
        assert code == 0, err
        one += json.loads(out)["entities"]
    assert sorted(json.dumps(e, sort_keys=True) for e in one) == sorted(
        json.dumps(e, sort_keys=True) for e in document["entities"]
    )
    code, out, err = run(
        capsys, "history", "--customer", "acme-architects", "--days", "3", "--store", store_url, "--config", str(cfg)
    )  # fmt: skip
    assert code == 0 and "customer acme-architects" in out, err


def test_an_unmapped_customer_or_a_company_mapped_twice_is_a_clear_line(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(
        tmp_path,
        f'[customers.acme]\ncompanies = ["{IDR}", "{VP}"]\n[customers.acme-old]\ncompanies = ["{VP}"]\n',
    )
    # --no-alerts: collect's alerts would name each company's customer, and like report's they fail on this mapping.
    collected = ["collect", "--sandbox", "--size", "10", "--no-alerts", "--store", store_url, "--config", str(cfg)]
    assert run(capsys, *collected)[0] == 0
    code, _, err = run(capsys, "history", "--customer", "nobody", "--store", store_url, "--config", str(cfg))
    assert code == 1 and "no company is mapped to the customer 'nobody'" in err and "Traceback" not in err
    code, out, err = run(
        capsys, "history", "--customer", "acme", "--format", "json", "--store", store_url, "--config", str(cfg)
    )  # fmt: skip
    assert code == 0 and "is mapped to 2 customers" in err
    # The company mapped twice belongs to neither: only the other one is covered.
    assert {c["company_id"] for c in json.loads(out)["compliance"]} == {IDR.split("/")[2]}


def test_the_library_call_needs_the_mapping_for_a_customer(store: Store) -> None:
    with pytest.raises(ValidationError, match="customer with the customers mapping"):
        history(store, "customer", "acme")
    with pytest.raises(HistoryNotFoundError, match="no company is mapped to the customer 'acme'"):
        history(store, "customer", "acme", customers={})
