"""What the IDrive 360 docs require of a request: vocabularies and checks.

One definition serves twice: the client refuses bad input with ``ValidationError`` before sending, and
the simulator answers the same input with the vendor's ``invalid_parameter`` error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BACKUP_SETS",
    "BUILD_TYPES",
    "CDP_FREQUENCIES",
    "DAILY_MODES",
    "FREQUENCIES",
    "MONTHS",
    "NOTIFY_TYPES",
    "WEEKDAYS",
    "WHAT_TO_BACKUP",
    "WHERE_TO_BACKUP",
    "email_problems",
    "plan_problems",
]

BUILD_TYPES = ("WIN", "MAC", "RPM", "DEB", "MSI", "PKG")
BACKUP_SETS = ("DEFAULT", "LOCAL", "ENTIRE_MACHINE", "MAPPED_DRIVE", "EXPRESS")
NOTIFY_TYPES = ("ALWAYS", "ON_FAILURE", "NEVER")
WHAT_TO_BACKUP = ("FILE_FOLDER", "ENTIRE_MACHINE")
WHERE_TO_BACKUP = ("CLOUD", "LOCAL")
FREQUENCIES = ("MONTHLY", "WEEKLY", "DAILY", "HOURLY", "IMMEDIATE")
MONTHS = (
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
)
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
DAILY_MODES = ("ALL_DAYS", "WEEKDAYS")
CDP_FREQUENCIES = ("REAL_TIME", "TEN_MINUTES", "THIRTY_MINUTES", "SIXTY_MINUTES")

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")

Problem = tuple[str, str]


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        return None
    return list(value)


def _one_of(problems: list[Problem], field: str, value: Any, allowed: Iterable[str], *, required: bool) -> None:
    if value is None:
        if required:
            problems.append((field, f"{field} is required"))
        return
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        problems.append((field, f"{field} must be one of {', '.join(allowed)}; got {value!r}"))


def _list_of(
    problems: list[Problem], field: str, value: Any, allowed: Iterable[str], *, required: bool, all_word: str | None
) -> None:
    items = _strings(value)
    if value is None or items == []:
        if required:
            problems.append((field, f"{field} is required (a non-empty list)"))
        return
    if items is None:
        problems.append((field, f"{field} must be a list of strings"))
        return
    allowed = tuple(allowed) + ((all_word,) if all_word else ())
    bad = [v for v in items if v not in allowed]
    if bad:
        problems.append((field, f"{field} has values outside {', '.join(allowed)}: {', '.join(bad)}"))


def _time(problems: list[Problem], field: str, value: Any, *, required: bool) -> None:
    if value is None:
        if required:
            problems.append((field, f"{field} is required (HH:MM:SS)"))
        return
    if not isinstance(value, str) or not _TIME.match(value):
        problems.append((field, f"{field} must be a time of day as HH:MM:SS; got {value!r}"))


def email_problems(field: str, value: object) -> list[Problem]:
    items = _strings(value)
    if items is None:
        return [(field, f"{field} must be a list of email addresses")]
    bad = [v for v in items if not _EMAIL.match(v)]
    return [(field, f"{field} has invalid addresses: {', '.join(bad)}")] if bad else []


def _dates(problems: list[Problem], value: Any) -> None:
    items = _strings(value)
    if value is None or items == []:
        problems.append(("dates", "dates is required for MONTHLY schedules (1-31, ALL_DAYS or LAST_DAY)"))
        return
    if items is None:
        problems.append(("dates", "dates must be a list of strings"))
        return
    for item in items:
        if item in ("ALL_DAYS", "LAST_DAY"):
            continue
        if not item.isdigit() or not 1 <= int(item) <= 31:
            problems.append(("dates", f"dates must be days 1-31, ALL_DAYS or LAST_DAY; got {item!r}"))
            return


def _bool(problems: list[Problem], field: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        problems.append((field, f"{field} must be true or false"))


def _scheduler_problems(problems: list[Problem], scheduler: Mapping[str, Any]) -> None:
    frequency = scheduler.get("frequency_type")
    _one_of(problems, "frequency_type", frequency, FREQUENCIES, required=True)
    _time(problems, "time", scheduler.get("time"), required=True)
    _time(problems, "cutoff_time", scheduler.get("cutoff_time"), required=False)
    for flag in ("disable_schedule", "start_missed_backup"):
        _bool(problems, flag, scheduler.get(flag))
    if frequency == "MONTHLY":
        _list_of(problems, "months", scheduler.get("months"), MONTHS, required=True, all_word="ALL")
        _dates(problems, scheduler.get("dates"))
    elif frequency == "WEEKLY":
        _list_of(problems, "days", scheduler.get("days"), WEEKDAYS, required=True, all_word="ALL")
    elif frequency == "DAILY":
        _one_of(problems, "daily_mode", scheduler.get("daily_mode"), DAILY_MODES, required=True)
    if scheduler.get("email") is not None:
        problems.extend(email_problems("email", scheduler.get("email")))
    _one_of(problems, "send_email_notification", scheduler.get("send_email_notification"), NOTIFY_TYPES, required=False)


def plan_problems(payload: object) -> list[Problem]:
    """Every way ``payload`` (the JSON body of ``POST /backup_plan``) breaks the docs' rules."""
    if not isinstance(payload, Mapping):
        return [("body", "the request body must be a JSON object")]
    problems: list[Problem] = []
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(("name", "name is required"))
    company_id = payload.get("company_id")
    if company_id is not None and (isinstance(company_id, bool) or not str(company_id).isdigit()):
        problems.append(("company_id", f"company_id must be a number; got {company_id!r}"))
    for field in ("device_ids", "group_ids"):
        if payload.get(field) is not None and _strings(payload.get(field)) is None:
            problems.append((field, f"{field} must be a list of strings"))
    details = payload.get("backup_details")
    if not isinstance(details, Mapping):
        problems.append(("backup_details", "backup_details is required (an object)"))
    else:
        what = details.get("what_to_backup")
        _one_of(problems, "what_to_backup", what, WHAT_TO_BACKUP, required=True)
        _one_of(problems, "where_to_backup", details.get("where_to_backup"), WHERE_TO_BACKUP, required=True)
        items = details.get("items_to_backup")
        if what == "FILE_FOLDER" and not _strings(items):
            problems.append(("items_to_backup", "items_to_backup is required for FILE_FOLDER backups"))
        elif items is not None and _strings(items) is None:
            problems.append(("items_to_backup", "items_to_backup must be a list of strings"))
        if details.get("local_dest_path") is not None and not isinstance(details.get("local_dest_path"), str):
            problems.append(("local_dest_path", "local_dest_path must be a string"))
    scheduler = payload.get("scheduler")
    if not isinstance(scheduler, Mapping):
        problems.append(("scheduler", "scheduler is required (an object)"))
    else:
        _scheduler_problems(problems, scheduler)
    for flag in ("exclude_hidden", "exclude_system", "enable_cdp"):
        _bool(problems, flag, payload.get(flag))
    if payload.get("enable_cdp") is True:
        _one_of(problems, "cdp_frequency", payload.get("cdp_frequency"), CDP_FREQUENCIES, required=True)
    elif payload.get("cdp_frequency") is not None:
        _one_of(problems, "cdp_frequency", payload.get("cdp_frequency"), CDP_FREQUENCIES, required=False)
    if payload.get("exclude_partial") is not None and not isinstance(payload.get("exclude_partial"), str):
        problems.append(("exclude_partial", "exclude_partial must be a comma-separated string"))
    return problems
