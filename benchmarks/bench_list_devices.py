"""Listing 100,000 IDrive 360 devices: conn.list_devices() against plain httpx + json, same run.

Both sides fetch the same payload from the same in-process simulator transport; the baseline stops at
a list of dicts, backupbridge goes on to typed records, aware datetimes and neutral ``Device`` values.
Run: python benchmarks/bench_list_devices.py [--devices N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import httpx

from backupbridge.sandbox import SimulatorOptions, SimulatorTransport, connect_sandbox
from backupbridge_idrive360 import IDrive360Simulator
from backupbridge_idrive360.client import BASE_URL


def baseline(transport: SimulatorTransport, key: str) -> int:
    with httpx.Client(base_url=BASE_URL, transport=transport, headers={"Authorization": f"Bearer {key}"}) as client:
        return len(client.get("/device/summary").json())


def ours(sim: IDrive360Simulator) -> int:
    with connect_sandbox("idrive360", simulator=sim) as conn:
        return sum(1 for _ in conn.list_devices())


def timed(fn, rounds: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    times, count = [], 0
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sim = IDrive360Simulator(SimulatorOptions(seed=1, size=args.devices))
    transport = SimulatorTransport(sim.handle)
    base_t, base_n = timed(lambda: baseline(transport, sim.api_key), args.rounds)
    our_t, our_n = timed(lambda: ours(sim), args.rounds)
    assert base_n == our_n == args.devices, (base_n, our_n)
    print(f"devices: {args.devices}  rounds: {args.rounds} (median)")
    print(f"baseline httpx + json : {base_t:7.3f} s")
    print(f"conn.list_devices()   : {our_t:7.3f} s")
    print(f"ratio                 : {our_t / base_t:7.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
