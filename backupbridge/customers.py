"""Customers: one customer is the companies that stand for it in any number of vendor accounts.

The mapping is explicit and by id, written in the config file (the one ``config.load_accounts`` reads)::

    [customers.acme]
    companies = ["cleverfox/fox/2", "vprotect/vp/6f1c...", "idrive360/main/1044"]
    [customers.acme.names]              # the names seen when the mapping was accepted (display only)
    "cleverfox/fox/2" = "Acme GmbH"

A member is ``vendor/account/company_id``. Its status, against the companies listed now:

- ``ok``: the id is listed (under the recorded name, or no name was recorded);
- ``renamed``: the id is listed under another name than the recorded one (the mapping still holds: ids lead,
  names are display only);
- ``missing``: the account answered and does not list the id;
- ``invalid``: the vendor or account is not configured (or the account is another vendor's), the member is
  not ``vendor/account/id``, or the company is mapped to two customers (then it belongs to neither until a
  person fixes the file: a company is never grouped under a guess);
- ``unknown``: the account's company listing failed this time (a failure is never read as absence).

``suggest`` proposes customers from the companies listed: names equal (``exact``), equal once normalised
(case, punctuation, legal suffixes such as GmbH, Ltd, Inc, LLC, AG, and vProtect's " project"), or similar
(``soft``: ``similarity`` of the normalised names, a ``difflib`` ratio, at least ``threshold``, default
0.85). A person reviews and pastes the TOML (``backupbridge customers suggest --format toml``).
"""

from __future__ import annotations

import difflib
import enum
import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .config import default_config_path
from .errors import ConfigurationError
from .models import Company

__all__ = [
    "Customer",
    "CustomerMap",
    "Match",
    "MemberStatus",
    "MemberVerdict",
    "Suggestion",
    "check_mapping",
    "customers_for_run",
    "load_customers",
    "normalise",
    "similarity",
    "suggest",
    "suggestions_toml",
]

DEFAULT_THRESHOLD = 0.85
_LEGAL = (
    "gmbh", "mbh", "ltd", "limited", "inc", "incorporated", "llc", "llp", "plc", "ag", "sa", "sarl", "bv", "nv",
    "corp", "corporation", "co", "kg", "ohg", "ug", "pty", "oy", "ab", "as", "srl", "spa",
)  # fmt: skip
_SUFFIX = re.compile(r"(?:\s+(?:" + "|".join(_LEGAL) + r"))+$")


def normalise(name: str) -> str:
    """A name for matching: case folded, accents and punctuation gone, legal suffixes and vProtect's
    `` project`` dropped (``"ACME, Inc."`` and ``"acme project"`` are both ``"acme"``)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"\s+project$", "", text)
    stripped = _SUFFIX.sub("", text).strip()
    return stripped or text


class MemberStatus(enum.StrEnum):
    OK = "ok"
    RENAMED = "renamed"
    MISSING = "missing"
    INVALID = "invalid"
    UNKNOWN = "unknown"


class Match(enum.StrEnum):
    EXACT = "exact"
    NORMALISED = "normalised"
    SOFT = "soft"
    NONE = "none"


@attrs.frozen(kw_only=True)
class Member:
    """One company of a customer: where it is (``vendor/account/company_id``) and the name recorded for it."""

    text: str
    vendor: str | None
    account: str | None
    company_id: str | None
    recorded_name: str | None = None


@attrs.frozen(kw_only=True)
class Customer:
    name: str
    members: tuple[Member, ...]


def _split(text: str, accounts: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """``vendor/account/company_id``; an account whose name holds ``/`` is matched against the known ones."""
    vendor, _, rest = text.partition("/")
    if not vendor or not rest:
        return None, None, None
    known = sorted((a for a in accounts if rest.startswith(a + "/")), key=len, reverse=True)
    if known:
        account = known[0]
        company = rest[len(account) + 1 :]
    else:
        account, _, company = rest.partition("/")
    if not account or not company:
        return None, None, None
    return vendor, account, company


@attrs.frozen(kw_only=True)
class CustomerMap:
    """The ``[customers.NAME]`` tables of a config file.

    Attributes:
        customers: in file order.
        errors: one line per member that cannot be used (malformed, or a company mapped to two customers).
        lookup: ``(vendor, account, company_id)`` -> customer, for every usable member (``alerts_from``,
            ``build_report``).
    """

    customers: tuple[Customer, ...] = ()
    errors: tuple[str, ...] = ()
    lookup: Mapping[tuple[str, str, str], str] = attrs.field(factory=dict)
    twice: frozenset[tuple[str, str, str]] = frozenset()

    @classmethod
    def from_data(cls, data: Mapping[str, Any], where: str, accounts: Mapping[str, str] | None = None) -> CustomerMap:
        table = data.get("customers", {})
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{where}: customers must be [customers.NAME] tables")
        customers, errors = [], []
        owners: dict[tuple[str, str, str], list[str]] = {}
        for name, body in table.items():
            if not isinstance(body, Mapping):
                raise ConfigurationError(f"{where}: customer {name!r} must be a table with companies = [...]")
            listed, names = body.get("companies", []), body.get("names", {})
            if not isinstance(listed, list) or not all(isinstance(m, str) for m in listed):
                raise ConfigurationError(f'{where}: customer {name!r}: companies must be a list of "vendor/account/id"')
            if not isinstance(names, Mapping):
                raise ConfigurationError(f"{where}: customer {name!r}: names must be a table")
            members = []
            for text in dict.fromkeys(listed):  # the same member twice in one customer is one member
                vendor, account, company = _split(text, accounts or {})
                recorded = names.get(text)
                members.append(
                    Member(
                        text=text,
                        vendor=vendor,
                        account=account,
                        company_id=company,
                        recorded_name=recorded if isinstance(recorded, str) else None,
                    )
                )
                if vendor is None or account is None or company is None:
                    errors.append(f'customer {name}: {text!r} is not "vendor/account/company_id"')
                else:
                    owners.setdefault((vendor, account, company), []).append(name)
            customers.append(Customer(name=name, members=tuple(members)))
        twice = {key for key, names_ in owners.items() if len(names_) > 1}
        for key in sorted(twice):
            errors.append(
                f"company {'/'.join(key)} is mapped to {len(owners[key])} customers ({', '.join(owners[key])}); "
                "it belongs to none of them until one mapping is removed"
            )
        lookup = {key: names_[0] for key, names_ in owners.items() if key not in twice}
        return cls(customers=tuple(customers), errors=tuple(errors), lookup=lookup, twice=frozenset(twice))


def load_customers(
    path: Path | None = None, *, accounts: Mapping[str, str] | None = None, required: bool = False
) -> CustomerMap:
    """The customers of the config file (``default_config_path()`` unless ``path``); none when there is no
    file, unless ``required``.

    Args:
        accounts: account name -> vendor, to read members whose account name holds ``/``.

    Raises:
        ConfigurationError: the file cannot be read, or a ``customers`` table is not shaped as documented.
            Members that cannot be used are not raised: they are ``CustomerMap.errors`` lines.
    """
    path = path or default_config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"no configuration file at {path}") from None
        return CustomerMap()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    return CustomerMap.from_data(data, str(path), accounts or {})


def customers_for_run(path: Path | None = None) -> CustomerMap:
    """The customers for a report or alert run: never raises, so a broken ``customers`` table costs neither the
    report nor the alerts (its error is ``CustomerMap.errors``, printed as one line; nothing is grouped)."""
    try:
        return load_customers(path)
    except ConfigurationError as exc:
        return CustomerMap(errors=(str(exc),))


@attrs.frozen(kw_only=True)
class MemberVerdict:
    customer: str
    member: str
    status: MemberStatus
    recorded_name: str | None
    current_name: str | None
    detail: str


def check_mapping(
    mapping: CustomerMap,
    companies: Iterable[Company],
    *,
    accounts: Mapping[str, str],
    failed: Iterable[tuple[str, str]] = (),
    vendors: Iterable[str] = (),
) -> list[MemberVerdict]:
    """Each member's status (module docstring) against the companies listed now.

    Args:
        accounts: configured account name -> its vendor.
        failed: ``(vendor, account)`` pairs whose company listing failed.
        vendors: the registered vendors.
    """
    listed = {(c.vendor, c.account, c.id): c.name for c in companies}
    down, known_vendors = set(failed), set(vendors)
    verdicts = []
    for customer in mapping.customers:
        for m in customer.members:
            verdicts.append(
                MemberVerdict(
                    customer=customer.name,
                    member=m.text,
                    recorded_name=m.recorded_name,
                    **_status(m, mapping, listed, accounts=accounts, down=down, vendors=known_vendors),
                )
            )
    return verdicts


def _status(
    m: Member,
    mapping: CustomerMap,
    listed: Mapping[tuple[str, str, str], str],
    *,
    accounts: Mapping[str, str],
    down: set[tuple[str, str]],
    vendors: set[str],
) -> dict[str, Any]:
    def verdict(status: MemberStatus, detail: str, current: str | None = None) -> dict[str, Any]:
        return {"status": status, "detail": detail, "current_name": current}

    if m.vendor is None or m.account is None or m.company_id is None:
        return verdict(MemberStatus.INVALID, 'not "vendor/account/company_id"')
    key = (m.vendor, m.account, m.company_id)
    if vendors and m.vendor not in vendors:
        return verdict(MemberStatus.INVALID, f"unknown vendor {m.vendor!r}")
    if accounts.get(m.account) != m.vendor:
        if m.account not in accounts:
            return verdict(MemberStatus.INVALID, f"no account {m.account!r} is configured")
        return verdict(
            MemberStatus.INVALID, f"account {m.account!r} is a {accounts[m.account]} account, not {m.vendor}"
        )
    if key in mapping.twice:
        return verdict(MemberStatus.INVALID, "mapped to more than one customer", listed.get(key))
    if (m.vendor, m.account) in down:
        return verdict(MemberStatus.UNKNOWN, "the account's company listing failed")
    if key not in listed:
        return verdict(MemberStatus.MISSING, "the account no longer lists this company id")
    if m.recorded_name is not None and listed[key] != m.recorded_name:
        return verdict(MemberStatus.RENAMED, "renamed; the mapping holds (by id)", listed[key])
    return verdict(MemberStatus.OK, "", listed[key])


@attrs.frozen(kw_only=True)
class Suggestion:
    """A proposed customer: its members and how each matched the first (``anchor``) one."""

    customer: str
    members: tuple[tuple[Company, Match, float], ...]

    @property
    def anchor(self) -> Company:
        return self.members[0][0]


def similarity(a: str, b: str, *, at_least: float = 0.0) -> float:
    """How alike two normalised names are, 0 to 1: the ``difflib`` ratio of the names, or of their words in
    sorted order when that is higher ("traders northwind" is "northwind traders"). Pairs that cannot reach
    ``at_least`` are 0, found by difflib's cheap upper bounds first (suggest compares every pair)."""
    best = 0.0
    for x, y in ((a, b), (" ".join(sorted(a.split())), " ".join(sorted(b.split())))):
        matcher = difflib.SequenceMatcher(None, x, y, autojunk=False)
        if matcher.real_quick_ratio() >= at_least and matcher.quick_ratio() >= at_least:
            best = max(best, matcher.ratio())
    return best if best >= at_least else 0.0


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalise(name)).strip("-") or "customer"


def member_text(company: Company) -> str:
    return f"{company.vendor}/{company.account}/{company.id}"


def suggest(
    companies: Iterable[Company],
    *,
    mapped: Iterable[tuple[str, str, str]] = (),
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Suggestion]:
    """Proposed customers for the companies not yet mapped (``mapped``), every company in one proposal:
    clusters by normalised name, merged where the normalised names are at least ``threshold`` similar;
    a company alone in its cluster is proposed with ``Match.NONE``."""
    skip = set(mapped)
    pool = sorted(
        (c for c in companies if (c.vendor, c.account, c.id) not in skip), key=lambda c: (c.vendor, c.account, c.id)
    )
    clusters: dict[str, list[Company]] = {}
    for company in pool:
        clusters.setdefault(normalise(company.name), []).append(company)
    keys = sorted(clusters, key=lambda k: (-len(clusters[k]), k))
    merged: list[tuple[str, list[tuple[Company, str]]]] = []
    for key in keys:
        for anchor_key, group in merged:
            if key and anchor_key and similarity(anchor_key, key, at_least=threshold) >= threshold:
                group.extend((c, key) for c in clusters[key])
                break
        else:
            merged.append((key, [(c, key) for c in clusters[key]]))
    result, used = [], set()
    for anchor_key, group in merged:
        anchor = group[0][0]
        members = []
        for company, key in group:
            if company is anchor:
                members.append((company, Match.EXACT if len(group) > 1 else Match.NONE, 1.0))
            elif company.name == anchor.name:
                members.append((company, Match.EXACT, 1.0))
            elif key == anchor_key:
                members.append((company, Match.NORMALISED, 1.0))
            else:
                members.append((company, Match.SOFT, round(similarity(anchor_key, key), 2)))
        name, n = _slug(anchor.name), 2
        base = name
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        result.append(Suggestion(customer=name, members=tuple(members)))
    return result


def _toml_string(text: str) -> str:
    # JSON's string escapes are TOML basic-string escapes; control characters become \\uXXXX.
    return json.dumps(text, ensure_ascii=False)


def suggestions_toml(suggestions: Sequence[Suggestion]) -> str:
    """The proposals as ``[customers.NAME]`` tables to review and paste into the config file. Each member's
    match is a comment; companies that matched nothing are commented out."""
    lines = [
        "# backupbridge customers suggest: review each customer, then paste into your config file.",
        "# exact: same name; normalised: same once case, punctuation and legal suffixes are ignored;",
        "# soft: similar names (check these); companies that matched nothing are commented out.",
    ]
    for s in suggestions:
        matched = len(s.members) > 1
        prefix = "" if matched else "# "
        lines.append("")
        lines.append(f"{prefix}[customers.{s.customer}]")
        lines.append(f"{prefix}companies = [")
        for company, match, score in s.members:
            how = f"{match.value} {score:.2f}" if match is Match.SOFT else match.value
            lines.append(f"{prefix}  {_toml_string(member_text(company))},  # {how}: {_toml_string(company.name)}")
        lines.append(f"{prefix}]")
        lines.append(f"{prefix}[customers.{s.customer}.names]")
        for company, _, _ in s.members:
            lines.append(f"{prefix}{_toml_string(member_text(company))} = {_toml_string(company.name)}")
    return "\n".join(lines) + "\n"
