"""Seeded, realistic, deterministic data for the simulators: names, hosts, versions, times."""

from __future__ import annotations

import datetime as dt
import random
import string

__all__ = ["Seeder"]

_COMPANY_WORDS = (
    "Acme",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Oceanic",
    "Pied Piper",
    "Dunder",
    "Sterling",
    "Monarch",
    "Bluth",
    "Prestige",
    "Gringotts",
    "Massive",
    "Aperture",
    "Black Mesa",
)
_COMPANY_SUFFIXES = (
    "Dental",
    "Legal",
    "Logistics",
    "Accounting",
    "Clinic",
    "Holdings",
    "Architects",
    "Motors",
    "Foods",
    "Realty",
    "School",
    "Labs",
    "Insurance",
    "Pharmacy",
)
_HOST_ROLES = ("DC", "FS", "SQL", "APP", "WS", "LT", "RDS", "EXCH", "PRINT", "NAS", "DEV", "BUILD")
_FIRST_NAMES = ("anna", "ben", "chloe", "dev", "emma", "felix", "grace", "hugo", "ines", "jack", "kira", "liam")


class Seeder:
    """A seeded source of realistic values. The same seed always gives the same values."""

    def __init__(self, seed: int, now: dt.datetime) -> None:
        self.random = random.Random(seed)
        self.now = now

    def company_name(self, index: int) -> str:
        word = _COMPANY_WORDS[index % len(_COMPANY_WORDS)]
        suffix = self.random.choice(_COMPANY_SUFFIXES)
        return f"{word} {suffix}" if index < len(_COMPANY_WORDS) else f"{word} {suffix} {index}"

    def hostname(self, company: str, index: int) -> str:
        prefix = "".join(ch for ch in company.upper() if ch.isalpha())[:4]
        return f"{prefix}-{self.random.choice(_HOST_ROLES)}{index:02d}"

    def email(self, domain: str) -> str:
        return f"{self.random.choice(_FIRST_NAMES)}@{domain}"

    def token(self, length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
        return "".join(self.random.choice(alphabet) for _ in range(length))

    def weighted(self, choices: dict[str, float]) -> str:
        return self.random.choices(list(choices), weights=list(choices.values()))[0]

    def past(self, max_hours: float, min_hours: float = 0.0) -> dt.datetime:
        hours = self.random.uniform(min_hours, max_hours)
        return (self.now - dt.timedelta(hours=hours)).replace(microsecond=0)

    def future(self, max_hours: float) -> dt.datetime:
        return (self.now + dt.timedelta(hours=self.random.uniform(0.1, max_hours))).replace(microsecond=0)

    def version(self, major: int, minor_max: int = 9) -> str:
        return f"{major}.{self.random.randint(0, minor_max)}.{self.random.randint(0, 30)}"
