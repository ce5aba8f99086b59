"""Memory: stream 1,000,000 devices of one simulated account through ``list_devices()``.

The simulated CleverFox account pages 100 devices at a time; the listing is consumed without keeping
the records. Reports the peak growth of traced memory during the listing (tracemalloc, started after
the simulator is built). Target: under 100 MB.
Run: python benchmarks/bench_memory.py [--devices 1000000]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from backupbridge.sandbox import SimulatorOptions, connect_sandbox
from backupbridge_cleverfox import CleverFoxSimulator


def build(devices: int) -> CleverFoxSimulator:
    sim = CleverFoxSimulator(SimulatorOptions(size=0))  # partner, plans, types, two companies and subscriptions
    subscription = next(iter(sim.tables["subscriptions"].values()))
    template = {
        "CompanyId": subscription["CompanyId"],
        "SubscriptionId": subscription["SubscriptionId"],
        "TimeZoneId": "UTC",
        "IsInactive": False,
        "LastApiCheckAt": "2026-11-02T08:55:00.000",
        "SendNotificationTo": "it@example.com",
        "SendNotificationOnJobFailed": True,
        "AgentDownloadUrl": "https://cleverfoxbackup.com/downloads/agent/a.exe",
    }
    for index in range(devices):
        sim._insert("devices", {**template, "Name": f"PC-{index:07d}", "ExternalId": f"RMM-{index}"})
    return sim


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    sim = build(args.devices)
    print(f"simulator with {args.devices} devices built in {time.perf_counter() - started:.1f} s")
    conn = connect_sandbox("cleverfox", simulator=sim)
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    count = 0
    for _ in conn.list_devices():
        count += 1
    elapsed = time.perf_counter() - started
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == args.devices, count
    print(f"streamed {count} devices in {elapsed:.1f} s ({conn.transport.requests} requests)")  # type: ignore[attr-defined]
    print(
        f"peak traced memory growth: {(peak - base) / 2**20:.1f} MB (target < 100 MB); "
        f"left after: {(current - base) / 2**20:.1f} MB"
    )


if __name__ == "__main__":
    main()
