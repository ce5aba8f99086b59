"""Listing devices, every vendor: ``conn.list_devices()`` against plain httpx + json on the same payload.

For each vendor one seeded in-process simulator is listed once through backupbridge while every request
it sends is recorded (login and pages alike); the baseline then sends exactly those requests with a plain
``httpx.Client`` over the same simulator transport and ``json.loads`` each answer, stopping at dicts. Our
side goes on to typed records, aware datetimes and neutral ``Device`` values. The two alternate, round by
round, and the medians are compared (the machine is shared: ratios, not seconds), of wall time and of CPU
time (steadier under load: both sides run in this one thread).
Run: python benchmarks/bench_list_devices.py [--vendors idrive360,cleverfox,...] [--devices N] [--rounds R] [--freeze]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from typing import Any

import httpx

import backupbridge
from backupbridge.sandbox import SimulatorOptions, SimulatorTransport, make_simulator

VENDORS = ("idrive360", "cleverfox", "managedbackup", "vprotect")
TARGET = 1.3


class Recording(httpx.BaseTransport):
    """Passes requests on, keeping (method, url, headers, body) of each."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, list[tuple[str, str]], bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, str(request.url), list(request.headers.multi_items()), request.read()))
        return self.inner.handle_request(request)


def ours(vendor: str, sim: Any, transport: httpx.BaseTransport | None = None) -> int:
    credentials = dict(sim.credentials)
    with backupbridge.connect(
        vendor, transport=transport or SimulatorTransport(sim.handle), clock=sim.now, **credentials
    ) as conn:
        return sum(1 for _ in conn.list_devices())


def baseline(sim: Any, sent: list[tuple[str, str, list[tuple[str, str]], bytes]]) -> int:
    """The same requests, plain httpx, each answer parsed with json.loads (dicts, nothing more)."""
    parsed = 0
    with httpx.Client(transport=SimulatorTransport(sim.handle)) as client:
        for method, url, headers, body in sent:
            response = client.send(httpx.Request(method, url, headers=headers, content=body))
            if response.content:
                json.loads(response.content)
                parsed += 1
    return parsed


def timed(fn: Any) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``: everything runs in this one thread, so on a shared machine the CPU
    time is the steadier figure (the wall time also holds the time spent waiting for a core)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--devices", type=int, default=100_000, help="IDrive 360 devices (one page)")
    parser.add_argument(
        "--others", type=int, default=20_000, help="devices for the paged vendors (a request per 100-500)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--freeze",
        action="store_true",
        help="gc.freeze() after seeding: the collector no longer walks the simulator's state (and the modules), "
        "which only our side pays for (it keeps objects alive, the baseline does not); a real client holds no "
        "server state",
    )
    args = parser.parse_args()
    print(f"rounds: {args.rounds}, alternating, medians; target <= {TARGET}x plain httpx + json")
    if args.freeze:
        print("gc.freeze() after seeding: the collector skips the simulator's state (--freeze)")
    print(
        f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall ratios suffer from it, CPU ones less)"
    )
    print(
        f"{'vendor':<14} {'devices':>8} {'requests':>8} {'baseline':>9} {'ours':>9} {'ratio':>7}"
        f" {'CPU base':>9} {'CPU ours':>9} {'ratio':>7}"
    )
    for vendor in args.vendors.split(","):
        size = args.devices if vendor == "idrive360" else args.others
        started = time.perf_counter()
        sim: Any = make_simulator(vendor, SimulatorOptions(seed=1, size=size))
        seeded = time.perf_counter() - started
        if args.freeze:
            gc.collect()
            gc.freeze()
        recording = Recording(SimulatorTransport(sim.handle))
        count = ours(vendor, sim, recording)
        sent = recording.sent
        base_times, our_times = [], []
        for _ in range(args.rounds):
            base_times.append(timed(lambda: baseline(sim, sent)))  # noqa: B023 (called at once)
            our_times.append(timed(lambda: ours(vendor, sim)))  # noqa: B023
        if args.freeze:
            del sim, recording
            gc.unfreeze()  # the next vendor's simulator replaces this one
        base, mine = (statistics.median(t[0] for t in times) for times in (base_times, our_times))
        base_cpu, our_cpu = (statistics.median(t[1] for t in times) for times in (base_times, our_times))
        print(
            f"{vendor:<14} {count:>8} {len(sent):>8} {base:>8.3f}s {mine:>8.3f}s {mine / base:>6.2f}x"
            f" {base_cpu:>8.3f}s {our_cpu:>8.3f}s {our_cpu / base_cpu:>6.2f}x  (seeded in {seeded:.1f} s)"
        )


if __name__ == "__main__":
    main()
