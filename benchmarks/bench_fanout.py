"""Fan-out: 4 vendors x 25 accounts, every request delayed 20 ms, concurrency 32.

Reports the wall time of ``AsyncBridge.list_devices()`` against the ideal (ceil(requests / concurrency)
rounds x latency: 175 requests in 32 slots are 6 rounds, not 5.5) and against a sequential loop over the
same accounts, measured in the same run.

By default the simulators answer in-process, so their CPU shares the core with the client's. With
``--served`` they run in a child process, each on its own loopback port with the latency applied by the
server, and the client talks real HTTP to them: the figure then measures the client's side alone, as
against remote vendors (socket costs included).
Run: python benchmarks/bench_fanout.py [--accounts 25] [--latency 0.02] [--concurrency 32] [--size 40] [--served]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx

import backupbridge
from backupbridge.bridge import AsyncBridge
from backupbridge.config import AccountConfig
from backupbridge.sandbox import SimulatorTransport, connect_sandbox, sandbox_tenants
from backupbridge.sandbox.server import serve


class Delayed:
    """A simulator whose every answer takes ``latency`` seconds, as a served vendor's would; counts requests."""

    requests = 0

    def __init__(self, simulator: Any, latency: float) -> None:
        self.simulator, self.latency = simulator, latency

    def handle(self, request: httpx.Request) -> httpx.Response:
        Delayed.requests += 1
        time.sleep(self.latency)
        return self.simulator.handle(request)  # type: ignore[no-any-return]


def serve_tenants(args: argparse.Namespace) -> None:
    """The child process of ``--served``: every tenant on its own loopback port. Prints where (one JSON line),
    then answers each line read from stdin with the number of requests served so far."""
    rows = []
    for vendor, account, sim in sandbox_tenants(accounts_per_vendor=args.accounts, size=args.size):
        server = serve(Delayed(sim, args.latency), port=0)  # type: ignore[arg-type]
        base_path = getattr(getattr(sim, "router", None), "base_path", "")
        credentials = {k: v for k, v in sim.credentials.items() if k != "base_url"}
        url = f"http://127.0.0.1:{server.server_address[1]}{base_path}"
        rows.append({"vendor": vendor, "account": account, "base_url": url, "credentials": credentials})
    print(json.dumps(rows), flush=True)
    for _ in sys.stdin:
        print(Delayed.requests, flush=True)


def served(args: argparse.Namespace) -> None:
    """The fan-out over real HTTP, through the same path as accounts from a config file."""
    command = [sys.executable, __file__, "--serve-tenants", "--accounts", str(args.accounts)]
    command += ["--size", str(args.size), "--latency", str(args.latency)]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    to_child, from_child = child.stdin, child.stdout

    def served_so_far() -> int:
        to_child.write("count\n")
        to_child.flush()
        return int(from_child.readline())

    try:
        rows = json.loads(from_child.readline())
        accounts = [
            AccountConfig(
                name=row["account"], vendor=row["vendor"], credentials=row["credentials"], base_url=row["base_url"]
            )
            for row in rows
        ]
        bridge = AsyncBridge(accounts=accounts, concurrency=args.concurrency, per_account=args.concurrency)
        runs = fan_out(bridge, served_so_far)
        result = runs[-1].result
        start = time.perf_counter()
        sequential_count = 0
        for account in accounts:
            with backupbridge.connect(account.vendor, **account.connect_kwargs()) as conn:
                sequential_count += sum(1 for _ in conn.list_devices())
        sequential = time.perf_counter() - start
        assert sequential_count == len(result.records), (sequential_count, len(result.records))
    finally:
        to_child.close()
        child.wait()
    report(
        args,
        accounts=len(rows),
        devices=len(result.records),
        runs=runs,
        sequential=sequential,
        where="served on loopback by a child process (the path of accounts from a config file)",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=25, help="accounts per vendor")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--served", action="store_true", help="simulators in a child process, over loopback HTTP")
    parser.add_argument("--serve-tenants", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_tenants:
        serve_tenants(args)
        return
    if args.served:
        served(args)
        return

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
    runs = fan_out(bridge, lambda: sum(t.requests for t in counters))
    result = runs[-1].result

    # The same accounts one after another (fresh simulators, same seeds, same latency), seeded before the
    # clock starts, as for the fan-out.
    sequential_tenants = sandbox_tenants(accounts_per_vendor=args.accounts, size=args.size)
    start = time.perf_counter()
    sequential_count = 0
    for vendor, account, sim in sequential_tenants:
        with connect_sandbox(vendor, simulator=sim, account=account, latency=args.latency) as conn:
            sequential_count += sum(1 for _ in conn.list_devices())
    sequential = time.perf_counter() - start
    assert sequential_count == len(result.records), (sequential_count, len(result.records))

    report(
        args,
        accounts=len(tenants),
        devices=len(result.records),
        runs=runs,
        sequential=sequential,
        where="in-process (their CPU shares the core with the client's)",
    )


class Run(NamedTuple):
    wall: float
    cpu: float
    requests: int
    result: Any


def fan_out(bridge: AsyncBridge, served_so_far: Callable[[], int]) -> list[Run]:
    """The fan-out twice: the first run pays the process's one-time costs (imports, code generation, the
    TLS context), the second is the steady state a long-running integration sees."""
    runs = []
    for _ in range(2):
        before = served_so_far()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = asyncio.run(bridge.list_devices())
        runs.append(Run(time.perf_counter() - start, time.process_time() - cpu_start, served_so_far() - before, result))
        assert result.ok, result.failures
    return runs


def report(
    args: argparse.Namespace, *, accounts: int, devices: int, runs: list[Run], sequential: float, where: str
) -> None:
    cold, warm = runs
    # Requests in one slot follow each other: 175 requests in 32 slots take 6 rounds of the latency, not 5.47.
    ideal = math.ceil(warm.requests / args.concurrency) * args.latency
    print(f"simulators: {where}")
    print(
        f"accounts: {accounts}  devices: {devices}  requests: {warm.requests}  "
        f"latency: {args.latency * 1000:.0f} ms  concurrency: {args.concurrency}"
    )
    print(f"ideal (ceil(requests / concurrency) x latency): {ideal:7.3f} s")
    # A CPU time close to the wall time means the run is bound by Python work, not by the waiting.
    for label, run in (("first run (cold process)", cold), ("second run (warm)", warm)):
        print(
            f"AsyncBridge fan-out, {label:<18}: {run.wall:7.3f} s   {run.wall / ideal:5.2f}x the ideal "
            f"(target <= {1.4 if args.size <= 2 else 2.0}x at size {args.size}); CPU {run.cpu:.3f} s"
        )
    print(
        f"sequential loop                         : {sequential:7.3f} s   "
        f"{sequential / warm.wall:5.1f}x slower than the warm fan-out (target >= 10x)"
    )


if __name__ == "__main__":
    main()
