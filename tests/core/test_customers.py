"""Customers across vendor accounts: suggestions marked exact / normalised / soft, the mapping's status
(ok, renamed, missing, invalid, unknown), by id so renames never break it, and grouping in alerts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from backupbridge.customers import (
    CustomerMap,
    Match,
    MemberStatus,
    check_mapping,
    customers_for_run,
    load_customers,
    normalise,
    suggest,
    suggestions_toml,
)
from backupbridge.errors import ConfigurationError
from backupbridge.models import Company

ACCOUNTS = {"fox": "cleverfox", "vp": "vprotect", "main": "idrive360", "eu/west": "managedbackup"}


def company(vendor: str, account: str, id_: str, name: str) -> Company:
    return Company(vendor=vendor, account=account, id=id_, name=name)


COMPANIES = [
    company("cleverfox", "fox", "2", "Acme GmbH"),
    company("vprotect", "vp", "6f1c", "acme project"),
    company("idrive360", "main", "1044", "ACME"),
    company("idrive360", "main", "1045", "Globex Corporation Ltd."),
    company("cleverfox", "fox", "7", "Globx Inc"),  # a typo: only a soft match
    company("vprotect", "vp", "99aa", "Initech"),
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Acme GmbH", "acme"),
        ("ACME, Inc.", "acme"),
        ("acme project", "acme"),
        ("Acme Ltd", "acme"),
        ("Acme LLC", "acme"),
        ("Acme AG", "acme"),
        ("Müller & Söhne GmbH", "muller and sohne"),
        ("Inc", "inc"),  # a name that is only a suffix keeps it
    ],
)
def test_normalise(name: str, expected: str) -> None:
    assert normalise(name) == expected


def test_suggestions_are_marked_and_every_company_is_proposed_once() -> None:
    proposals = suggest(COMPANIES)
    by_customer = {s.customer: s for s in proposals}
    acme = by_customer["acme"]
    marks = {f"{c.vendor}/{c.account}/{c.id}": m for c, m, _ in acme.members}
    assert marks == {"cleverfox/fox/2": Match.EXACT, "vprotect/vp/6f1c": Match.NORMALISED,
                     "idrive360/main/1044": Match.NORMALISED}  # fmt: skip
    globex = next(s for s in proposals if any(c.id == "1045" for c, _, _ in s.members))
    (soft,) = [(m, score) for c, m, score in globex.members if c.id == "7"]
    assert soft[0] is Match.SOFT and 0.85 <= soft[1] < 1
    (alone,) = [s for s in proposals if s.anchor.name == "Initech"]
    assert [m for _, m, _ in alone.members] == [Match.NONE]
    listed = [c for s in proposals for c, _, _ in s.members]
    assert sorted(listed, key=lambda c: c.id) == sorted(COMPANIES, key=lambda c: c.id)
    # a stricter threshold drops the soft match
    strict = suggest(COMPANIES, threshold=0.99)
    assert not any(m is Match.SOFT for s in strict for _, m, _ in s.members)


def test_mapped_companies_are_not_proposed_again() -> None:
    proposals = suggest(COMPANIES, mapped=[("cleverfox", "fox", "2")])
    assert not any(c.id == "2" for s in proposals for c, _, _ in s.members)


def test_the_suggested_toml_is_the_config_format(tmp_path: Path) -> None:
    hostile = company("vprotect", "vp", 'x"y', 'Evil "Corp"\n[customers.pwned]\ncompanies = ["a/b/c"]')
    text = suggestions_toml(suggest([*COMPANIES, hostile]))
    data = tomllib.loads(text)
    assert "pwned" not in data["customers"]  # a vendor's name cannot write configuration
    assert data["customers"]["acme"]["companies"] == ["cleverfox/fox/2", "idrive360/main/1044", "vprotect/vp/6f1c"]
    assert data["customers"]["acme"]["names"]["vprotect/vp/6f1c"] == "acme project"
    assert "initech" not in data["customers"]  # no match: left commented out for a person
    assert "# [customers.initech]" in text
    config = tmp_path / "config.toml"
    config.write_text(text)
    mapping = load_customers(config, accounts=ACCOUNTS)
    assert mapping.errors == () and mapping.lookup[("vprotect", "vp", "6f1c")] == "acme"


def mapping(text: str, tmp_path: Path) -> CustomerMap:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_customers(path, accounts=ACCOUNTS, required=True)


def status(verdicts: list, member: str) -> MemberStatus:  # type: ignore[type-arg]
    (found,) = [v for v in verdicts if v.member == member]
    return found.status  # type: ignore[no-any-return]


def test_each_member_has_a_status(tmp_path: Path) -> None:
    cfg = mapping(
        """
[customers.acme]
companies = ["cleverfox/fox/2", "vprotect/vp/6f1c", "idrive360/main/404", "nosuch/fox/1", "cleverfox/nope/1",
             "vprotect/fox/2", "bad", "managedbackup/eu/west/abc"]
[customers.acme.names]
"cleverfox/fox/2" = "Acme GmbH"
"vprotect/vp/6f1c" = "Acme Project"
""",
        tmp_path,
    )
    companies = [*COMPANIES, company("managedbackup", "eu/west", "abc", "Acme")]
    verdicts = check_mapping(
        cfg, companies, accounts=ACCOUNTS, vendors=["cleverfox", "vprotect", "idrive360", "managedbackup"]
    )
    assert status(verdicts, "cleverfox/fox/2") is MemberStatus.OK
    renamed = next(v for v in verdicts if v.member == "vprotect/vp/6f1c")
    assert renamed.status is MemberStatus.RENAMED
    assert (renamed.recorded_name, renamed.current_name) == ("Acme Project", "acme project")
    assert status(verdicts, "idrive360/main/404") is MemberStatus.MISSING
    assert status(verdicts, "nosuch/fox/1") is MemberStatus.INVALID  # unknown vendor
    assert status(verdicts, "cleverfox/nope/1") is MemberStatus.INVALID  # unknown account
    assert status(verdicts, "vprotect/fox/2") is MemberStatus.INVALID  # the account is another vendor's
    assert status(verdicts, "bad") is MemberStatus.INVALID
    assert status(verdicts, "managedbackup/eu/west/abc") is MemberStatus.OK  # an account name with "/"
    assert any("'bad' is not" in line for line in cfg.errors)
    # a rename never breaks the mapping: grouping is by id
    assert cfg.lookup[("vprotect", "vp", "6f1c")] == "acme"


def test_a_failed_listing_is_unknown_not_missing(tmp_path: Path) -> None:
    cfg = mapping('[customers.acme]\ncompanies = ["cleverfox/fox/2"]\n', tmp_path)
    (verdict,) = check_mapping(cfg, [], accounts=ACCOUNTS, failed=[("cleverfox", "fox")])
    assert verdict.status is MemberStatus.UNKNOWN


def test_a_company_mapped_to_two_customers_belongs_to_neither(tmp_path: Path) -> None:
    cfg = mapping(
        '[customers.acme]\ncompanies = ["cleverfox/fox/2", "vprotect/vp/6f1c"]\n'
        '[customers.acme-old]\ncompanies = ["cleverfox/fox/2"]\n',
        tmp_path,
    )
    (line,) = cfg.errors
    assert line == (
        "company cleverfox/fox/2 is mapped to 2 customers (acme, acme-old); "
        "it belongs to none of them until one mapping is removed"
    )
    assert ("cleverfox", "fox", "2") not in cfg.lookup and cfg.lookup[("vprotect", "vp", "6f1c")] == "acme"
    verdicts = check_mapping(cfg, COMPANIES, accounts=ACCOUNTS)
    assert [v.status for v in verdicts if v.member == "cleverfox/fox/2"] == [MemberStatus.INVALID] * 2


@pytest.mark.parametrize(
    "text",
    ["customers = 3\n", "[customers.acme]\ncompanies = 'cleverfox/fox/2'\n", "[customers]\nacme = 1\n", "[oops"],
)
def test_a_malformed_customers_table_is_one_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=str(path)):
        load_customers(path)
    # a report or alert run is not stopped by it: the error is a line, nothing is grouped
    run = customers_for_run(path)
    assert run.lookup == {} and len(run.errors) == 1


def test_no_config_file_means_no_customers(tmp_path: Path) -> None:
    assert load_customers(tmp_path / "none.toml").customers == ()
    with pytest.raises(ConfigurationError):
        load_customers(tmp_path / "none.toml", required=True)


def test_soft_matches_see_words_in_another_order() -> None:
    from backupbridge.customers import similarity

    assert similarity("traders northwind", "northwind traders") == 1.0
    assert similarity("acme", "globex", at_least=0.85) == 0.0
    companies = [
        company("cleverfox", "fox", "1", "Northwind Traders"),
        company("vprotect", "vp", "2", "Traders Northwind"),
    ]
    (proposal,) = suggest(companies)
    assert [m for _, m, _ in proposal.members] == [Match.EXACT, Match.SOFT]
