"""Migration between two vendor accounts, in stages each checked before the next.

    data = build_plan(source, target)                  # 1. plan: matches, verdicts, enrollment (a file)
    apply_plan(data, target, Journal(store, data["migration_id"]))   # 2. apply: journaled, resumable
    rows = migration_status(data, target, journal)     # 3. status: enrolled, plan applied, backed up
    cutover(data, source, rows, journal)               # 4. cutover: disable (never delete) source plans

The control plane moves (companies, devices' enrollment, backup plans); backup data does not, and the old
backups stay restorable until their retention ends. ``docs/migration.md`` has the verdict table.
"""

from .apply import ApplyResult, apply_plan
from .cutover import CutoverResult, cutover
from .journal import Journal
from .plan import build_plan, normalise_name
from .planfile import MigrationError, PlanFileError, check_plan_file, read_plan_file, write_plan_file
from .status import DeviceStatus, migration_status
from .translate import PLAN_FIELDS, PLAN_TARGETS, FieldVerdict, Translation, translate

__all__ = [
    "PLAN_FIELDS",
    "PLAN_TARGETS",
    "ApplyResult",
    "CutoverResult",
    "DeviceStatus",
    "FieldVerdict",
    "Journal",
    "MigrationError",
    "PlanFileError",
    "Translation",
    "apply_plan",
    "build_plan",
    "check_plan_file",
    "cutover",
    "migration_status",
    "normalise_name",
    "read_plan_file",
    "translate",
    "write_plan_file",
]
