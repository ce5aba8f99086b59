"""Stage 1, ``migrate plan``: what would move, and how, for a person to review before anything is written.

Companies are matched on the target by an explicit map first, then by normalised name; the rest are to be
created. Every source plan is translated with a verdict per field (``translate``); each device gets the
enrollment the target needs and how it will be recognised there.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..connection import Connection
from ..models import Company, Device, Plan
from .enrollment import PER_DEVICE_PLANS, company_enrollment
from .planfile import FORMAT, VERSION, MigrationError, check_plan_file, spec_to_json
from .translate import PLAN_FIELDS, STRUCTURAL, translate

__all__ = ["build_plan", "normalise_name", "zone_name"]

_LEGAL = re.compile(r"\b(inc|llc|ltd|gmbh|ag|sa|bv|co|corp|corporation|company|limited|plc)\b")


def normalise_name(name: str) -> str:
    """``"ACME Motors, Inc."`` and ``"acme motors"`` name the same company: case, accents, punctuation and
    legal suffixes do not count."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(_LEGAL.sub(" ", text).split())


def zone_name(conn: Connection) -> str:
    """The IANA name of the account's zone (``UTC`` for a fixed UTC zone)."""
    key = getattr(conn.timezone, "key", None)
    return str(key) if key else "UTC"


def _device_zone(device: Device, plans: Sequence[Plan], fallback: str) -> str:
    for plan in plans:
        if device.id in plan.device_ids and plan.schedule is not None and plan.schedule.timezone:
            return plan.schedule.timezone
    return fallback


def _match(
    source: Company, targets: Sequence[Company], company_map: Mapping[str, str]
) -> tuple[Company | None, str | None]:
    if source.id in company_map:
        wanted = company_map[source.id]
        for target in targets:
            if target.id == wanted:
                return target, "map"
        raise MigrationError(
            f"--map {source.id}={wanted}: the target has no company {wanted!r}", step=f"company:{source.id}"
        )
    key = normalise_name(source.name)
    found = [t for t in targets if normalise_name(t.name) == key]
    if len(found) > 1:
        ids = ", ".join(t.id for t in found)
        raise MigrationError(
            f"company {source.name!r} matches {len(found)} target companies ({ids}): choose one with "
            f"--map {source.id}=TARGET_ID",
            step=f"company:{source.id}",
        )
    return (found[0], "name") if found else (None, None)


def _merge_same(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Source plans of one company with the same target spec become one target plan over all their devices
    (CleverFox has one job per device where IDrive 360 has one plan for many); plans that share a name but
    not their settings get distinct names, so each can be looked up by name on the target."""
    out: list[dict[str, Any]] = []
    same: dict[tuple[str, str], dict[str, Any]] = {}
    names: dict[tuple[str, str], int] = {}
    for plan in plans:
        if plan["status"] != "ready":
            out.append(plan)
            continue
        key = (plan["source_company_id"], json.dumps(plan["spec"], sort_keys=True))
        first = same.get(key)
        if first is not None:
            first["merged_source_ids"].append(plan["source_id"])
            for device in plan["source_device_ids"]:
                if device not in first["source_device_ids"]:
                    first["source_device_ids"].append(device)
            continue
        plan["merged_source_ids"] = []
        name_key = (plan["source_company_id"], plan["spec"]["name"])
        names[name_key] = names.get(name_key, 0) + 1
        if names[name_key] > 1:
            plan["spec"]["name"] = f"{plan['spec']['name']} ({names[name_key]})"
            plan["renamed"] = "another plan of this company has this name and other settings"
            key = (plan["source_company_id"], json.dumps(plan["spec"], sort_keys=True))
        same[key] = plan
        out.append(plan)
    return out


def build_plan(
    source: Connection,
    target: Connection,
    *,
    company_ids: Iterable[str] = (),
    company_map: Mapping[str, str] | None = None,
    accept_loss: Iterable[str] = (),
    sandbox: bool = False,
) -> dict[str, Any]:
    """The migration plan from ``source`` to ``target`` (the plan file's content; nothing is written).

    Args:
        company_ids: only these source companies (all by default).
        company_map: source company id -> target company id, before any name matching.
        accept_loss: plan fields whose loss is accepted (``--accept-loss``).
        sandbox: both accounts are sandbox simulators (recorded, so later stages reopen them).

    Raises:
        MigrationError: an unknown ``--company``/``--accept-loss`` or an ambiguous match.
    """
    accepted = sorted(set(accept_loss))
    unknown = [name for name in accepted if name not in PLAN_FIELDS]
    if unknown:
        raise MigrationError(f"--accept-loss {unknown[0]!r}: not a plan field; fields: {', '.join(PLAN_FIELDS)}")
    structural = [name for name in accepted if name in STRUCTURAL]
    if structural:
        raise MigrationError(f"--accept-loss {structural[0]!r}: without it the target cannot run the plan at all")
    mapping = dict(company_map or {})
    companies = list(source.list_companies())
    wanted = list(company_ids)
    by_id = {c.id: c for c in companies}
    missing = [cid for cid in wanted if cid not in by_id]
    if missing:
        raise MigrationError(f"--company {missing[0]!r}: the source has no such company", step="companies")
    chosen = [by_id[cid] for cid in wanted] if wanted else companies
    stray = sorted(set(mapping) - {c.id for c in chosen})
    if stray:
        raise MigrationError(f"--map {stray[0]}=...: not a source company being migrated", step="companies")
    targets = list(target.list_companies())
    source_tz, target_tz = zone_name(source), zone_name(target)
    when = target.now()
    out_companies: list[dict[str, Any]] = []
    out_plans: list[dict[str, Any]] = []
    for company in chosen:
        match, how = _match(company, targets, mapping)
        devices = list(source.list_devices(company.id, activity=False))  # names and systems: no job listing
        plans = list(source.list_plans(company.id))
        oses = {d.os.value for d in devices}
        out_companies.append(
            {
                "source_id": company.id,
                "source_name": company.name,
                "action": "match" if match else "create",
                "target_id": match.id if match else None,
                "target_name": match.name if match else company.name,
                "matched_by": how,
                "enrollment": company_enrollment(target, match.id if match else None, oses),
                "devices": [
                    {
                        "source_id": d.id,
                        "hostname": d.name,
                        "os": d.os.value,
                        "timezone": _device_zone(d, plans, source_tz),
                        "recognised_by": {"hostname": d.name, "os": d.os.value},
                    }
                    for d in devices
                ],
            }
        )
        for plan in plans:
            result = translate(
                plan,
                target_vendor=target.vendor_name,
                source_tz=source_tz,
                target_tz=target_tz,
                when=when,
                accept_loss=accepted,
            )
            entry: dict[str, Any] = {
                "source_id": plan.id,
                "source_name": plan.name,
                "source_company_id": company.id,
                "source_device_ids": list(plan.device_ids),
                "source_enabled": plan.enabled,
                "status": "ready" if result.spec is not None else "refused",
                "refused_reason": result.refused,
                "fields": {name: {"verdict": v.verdict, "how": v.how} for name, v in result.fields.items()},
            }
            if result.spec is not None:
                entry["spec"] = spec_to_json(result.spec)
            if plan.notification is not None and target.vendor_name == "cleverfox":
                # CleverFox mails per device: the device the migration registers carries it.
                entry["device_notification"] = {
                    "emails": list(plan.notification.emails),
                    "when": plan.notification.when.value,
                }
            out_plans.append(entry)
    if target.vendor_name not in PER_DEVICE_PLANS:
        out_plans = _merge_same(out_plans)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "migration_id": str(uuid.uuid4()),
        "created_at": when.isoformat(),
        "source": {"vendor": source.vendor_name, "account": source.account, "sandbox": sandbox, "timezone": source_tz},
        "target": {"vendor": target.vendor_name, "account": target.account, "sandbox": sandbox, "timezone": target_tz},
        "accepted_losses": accepted,
        "companies": out_companies,
        "plans": out_plans,
    }
    return check_plan_file(data, "the new plan")
