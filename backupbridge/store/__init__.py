"""The history store: every run remembered, in SQLite by default or PostgreSQL when shared.

    store = open_configured_store()                      # --store / [store] url / the default SQLite file
    run = record_snapshot(store, bridge.snapshot(), started)
    grid = history(store, "device", "DEVICE-ID", days=30)

``docs/store.md`` says how it works, how to point it at PostgreSQL, and how it scales.
"""

from .config import StoreConfig, default_store_path, load_store_config, open_configured_store
from .engine import Store, head_revision, open_store, parse_url
from .errors import StoreError, StoreSchemaError, StoreURLError
from .history import (
    CompanyCompliance,
    DayResult,
    DayStatus,
    EntityHistory,
    History,
    HistoryNotFoundError,
    Scope,
    history,
)
from .maintenance import PruneResult, StoreInfo, prune, store_info
from .record import RunRecord, begin_run, in_shard, job_key, parse_shard, record_snapshot

__all__ = [
    "CompanyCompliance",
    "DayResult",
    "DayStatus",
    "EntityHistory",
    "History",
    "HistoryNotFoundError",
    "PruneResult",
    "RunRecord",
    "Scope",
    "Store",
    "StoreConfig",
    "StoreError",
    "StoreInfo",
    "StoreSchemaError",
    "StoreURLError",
    "begin_run",
    "default_store_path",
    "head_revision",
    "history",
    "in_shard",
    "job_key",
    "load_store_config",
    "open_configured_store",
    "open_store",
    "parse_shard",
    "parse_url",
    "prune",
    "record_snapshot",
    "store_info",
]
