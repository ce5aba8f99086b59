"""The verdict table of ``docs/migration.md``, generated from the translation rules and the sandbox tenants.

For every ordered vendor pair whose target can create plans, every plan of the source's seeded sandbox
tenant is translated; a cell lists the verdicts its field received. A test regenerates the table and
compares it with the docs, so the page cannot drift from the code.
"""

from __future__ import annotations

from collections import Counter

from ..sandbox import connect_sandbox
from .plan import zone_name
from .translate import PLAN_FIELDS, PLAN_TARGETS, STRUCTURAL, translate

__all__ = ["verdict_table"]

VENDORS = ("cleverfox", "idrive360", "managedbackup", "vprotect")
ORDER = ("exact", "adjusted", "unsupported")


def verdict_table(seed: int = 0, size: int = 40) -> str:
    """The markdown table: one row per plan field, one column per source -> target pair."""
    pairs = [(s, t) for s in VENDORS for t in VENDORS if s != t and t in PLAN_TARGETS]
    cells: dict[tuple[str, str], dict[str, set[str]]] = {}
    counts: dict[tuple[str, str], Counter[str]] = {}
    for source_vendor in VENDORS:
        with connect_sandbox(source_vendor, seed=seed, size=size, account=f"sandbox-{source_vendor}") as source:
            plans = list(source.list_plans())
            source_tz, when = zone_name(source), source.now()
        for target_vendor in VENDORS:
            if (source_vendor, target_vendor) not in pairs:
                continue
            seen: dict[str, set[str]] = {name: set() for name in PLAN_FIELDS}
            count: Counter[str] = Counter()
            for plan in plans:
                strict = translate(plan, target_vendor=target_vendor, source_tz=source_tz, target_tz="UTC", when=when)
                loose = translate(
                    plan,
                    target_vendor=target_vendor,
                    source_tz=source_tz,
                    target_tz="UTC",
                    when=when,
                    accept_loss=[f for f in PLAN_FIELDS if f not in STRUCTURAL],
                )
                count["plans"] += 1
                count["ready"] += strict.spec is not None
                count["ready with losses accepted"] += loose.spec is not None
                for name, verdict in strict.fields.items():
                    seen[name].add(verdict.verdict)
            cells[(source_vendor, target_vendor)] = seen
            counts[(source_vendor, target_vendor)] = count
    header = ["field"] + [f"{s} → {t}" for s, t in pairs]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in PLAN_FIELDS:
        row = [f"`{name}`"]
        for pair in pairs:
            found = cells[pair][name]
            row.append(" / ".join(v for v in ORDER if v in found) or "(not reported)")
        lines.append("| " + " | ".join(row) + " |")
    for label in ("plans", "ready", "ready with losses accepted"):
        lines.append("| " + " | ".join([f"*{label}*"] + [str(counts[p][label]) for p in pairs]) + " |")
    refused = [t for t in VENDORS if t not in PLAN_TARGETS]
    lines.append("")
    lines.append(
        "Targets whose API cannot create plans through backupbridge refuse every plan: "
        + ", ".join(f"→ {t}" for t in refused)
        + f" (sandbox seed {seed}, {size} devices per vendor)."
    )
    return "\n".join(lines) + "\n"
