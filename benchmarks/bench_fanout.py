"""Fan-out: 4 vendors x 25 accounts, every request delayed 20 ms, concurrency 32.

Reports the wall time of ``AsyncBridge.list_devices()`` against the ideal (requests / concurrency x
latency) and against a sequential loop over the same accounts, measured in the same run.
Run: python benchmarks/bench_fanout.py [--accounts 25] [--latency 0.02] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from backupbridge.bridge import AsyncBridge
from backupbridge.sandbox import SimulatorTransport, connect_sandbox, sandbox_tenants


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=25, help="accounts per vendor")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", type=int, default=40)
    args = parser.parse_args()

    counters: list[SimulatorTransport] = []
    tenants = sandbox_tenants(accounts_per_vendor=args.accounts, size=args.size)
    openers = []
    for vendor, account, sim in tenants:

        def open_with(wrap: Any, vendor: str = vendor, account: str = account, sim: Any = sim) -> Any:
            transport = SimulatorTransport(sim.handle, latency=args.latency)
            counters.append(transport)
            from backupbridge import connect_async

            return connect_async(vendor, transport=wrap(transport), account=account, clock=sim.now, **sim.credentials)

        openers.append((vendor, account, open_with))
    bridge = AsyncBridge(openers=openers, concurrency=args.concurrency, per_account=args.concurrency)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = asyncio.run(bridge.list_devices())
    fanout, fanout_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert result.ok, result.failures
    requests = sum(t.requests for t in counters)
    ideal = requests / args.concurrency * args.latency

    # The same accounts one after another (fresh simulators, same seeds, same latency), seeded before the
    # clock starts, as for the fan-out.
    sequential_tenants = sandbox_tenants(accounts_per_vendor=args.accounts, size=args.size)
    start = time.perf_counter()
    sequential_count = 0
    sequential_requests = 0
    for vendor, account, sim in sequential_tenants:
        with connect_sandbox(vendor, simulator=sim, account=account, latency=args.latency) as conn:
            sequential_count += sum(1 for _ in conn.list_devices())
            sequential_requests += conn.transport.requests  # type: ignore[attr-defined]
    sequential = time.perf_counter() - start
    assert sequential_count == len(result.records), (sequential_count, len(result.records))

    print(
        f"accounts: {len(tenants)}  devices: {len(result.records)}  requests: {requests}  "
        f"latency: {args.latency * 1000:.0f} ms  concurrency: {args.concurrency}"
    )
    print(f"ideal (requests / concurrency x latency): {ideal:7.3f} s")
    print(
        f"AsyncBridge fan-out                    : {fanout:7.3f} s   {fanout / ideal:5.2f}x the ideal (target <= 1.3x)"
    )
    # The simulators answer in this process: their work and the client's share one core, so a CPU time
    # close to the wall time means the run is bound by Python work, not by the waiting being overlapped.
    print(f"  of which CPU (simulators + client)   : {fanout_cpu:7.3f} s")
    print(
        f"sequential loop                        : {sequential:7.3f} s   "
        f"{sequential / fanout:5.1f}x slower than the fan-out (target >= 10x)"
    )


if __name__ == "__main__":
    main()
