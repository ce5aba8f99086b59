"""Fan-out: 4 vendors x 25 accounts, every request delayed 20 ms, concurrency 32.

Reports the wall time of ``AsyncBridge.list_devices()`` against the ideal (ceil(requests / concurrency)
rounds x latency: 175 requests in 32 slots are 6 rounds, not 5.5) and against a sequential loop over the
same accounts, measured in the same run.

By default the simulators answer in-process, so their CPU shares the core with the client's. With
``--served`` they run in a child process on one asyncio event loop, each tenant on its own loopback port
(HTTP/1.1 keep-alive), and the client talks real HTTP to them through the path of accounts from a config
file (``--transport httpx|aiohttp``). The server's own CPU (parsing, the simulator, encoding) counts inside
the latency: an answer leaves ``latency`` after its request arrived, however long it took to build, and the
server reports its CPU per request.

``--rounds N`` (20 or more) runs the fan-out N times in one process (a long-running integration) and compares the
per-request CPU of the last 10 rounds with that of the first 10 after the cold one, with the process's RSS,
the secret registry and (``--tracemalloc``) traced memory.

``--no-yield`` measures the fan-out as it was before the slot release yielded to the loop (before/after in
one run: alternate the two).
Run: python benchmarks/bench_fanout.py [--accounts 25] [--latency 0.02] [--concurrency 32] [--size 40]
     [--served [--transport aiohttp]] [--rounds 100 [--tracemalloc]] [--no-yield]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx

import backupbridge
from backupbridge import redaction
from backupbridge.bridge import AsyncBridge, LimitedTransport
from backupbridge.config import AccountConfig
from backupbridge.sandbox import SimulatorTransport, connect_sandbox, sandbox_tenants

LONG_RUNNING = 20
"""From this many rounds on, the run is reported as a long-running process (and no sequential loop runs)."""


class ServerStats:
    """What the asyncio server spent: CPU building answers (parse, simulator, encode), and requests."""

    requests = 0
    cpu = 0.0


async def _answer_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sim: Any, latency: float, port: int
) -> None:
    """A minimal HTTP/1.1 keep-alive server for one connection: each request answered ``latency`` after it
    arrived (the CPU spent building the answer counts inside that time)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            arrived = time.perf_counter()
            lines = head[:-4].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = []
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                value = value.strip()
                headers.append((name, value))
                if name.lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            cpu_start = time.process_time()
            request = httpx.Request(method, f"http://127.0.0.1:{port}{target}", headers=headers, content=body)
            response = sim.handle(request)
            content = response.read()
            out = [f"HTTP/1.1 {response.status_code} {http.HTTPStatus(response.status_code).phrase}\r\n"]
            for name, value in response.headers.multi_items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    out.append(f"{name}: {value}\r\n")
            out.append(f"Content-Length: {len(content)}\r\n\r\n")
            data = "".join(out).encode("latin-1") + content
            ServerStats.cpu += time.process_time() - cpu_start
            ServerStats.requests += 1
            remaining = latency - (time.perf_counter() - arrived)
            if remaining > 0:
                await asyncio.sleep(remaining)
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _serve_tenants(args: argparse.Namespace) -> None:
    rows = []
    servers = []
    for vendor, account, sim in sandbox_tenants(accounts_per_vendor=args.accounts, size=args.size):
        holder: dict[str, int] = {}

        async def on_connect(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sim: Any = sim, holder: Any = holder
        ) -> None:
            await _answer_connection(reader, writer, sim, args.latency, holder["port"])

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        servers.append(server)
        base_path = getattr(getattr(sim, "router", None), "base_path", "")
        credentials = {k: v for k, v in sim.credentials.items() if k != "base_url"}
        url = f"http://127.0.0.1:{holder['port']}{base_path}"
        rows.append({"vendor": vendor, "account": account, "base_url": url, "credentials": credentials})
    print(json.dumps(rows), flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        times = os.times()
        stats = {"requests": ServerStats.requests, "cpu": ServerStats.cpu, "process_cpu": times.user + times.system}
        print(json.dumps(stats), flush=True)


def serve_tenants(args: argparse.Namespace) -> None:
    """The child process of ``--served``: every tenant on its own loopback port, on one asyncio loop. Prints
    where (one JSON line), then answers each line read from stdin with what it has served so far."""
    asyncio.run(_serve_tenants(args))


class Run(NamedTuple):
    wall: float
    cpu: float
    requests: int
    result: Any
    server_cpu: float = 0.0  # served: the server's CPU building the answers of this run
    server_process_cpu: float = 0.0  # served: the server process's whole CPU over this run


def served(args: argparse.Namespace) -> None:
    """The fan-out over real HTTP, through the same path as accounts from a config file."""
    command = [sys.executable, __file__, "--serve-tenants", "--accounts", str(args.accounts)]
    command += ["--size", str(args.size), "--latency", str(args.latency)]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    to_child, from_child = child.stdin, child.stdout

    def server_so_far() -> dict[str, float]:
        to_child.write("count\n")
        to_child.flush()
        return json.loads(from_child.readline())  # type: ignore[no-any-return]

    try:
        rows = json.loads(from_child.readline())
        accounts = [
            AccountConfig(
                name=row["account"],
                vendor=row["vendor"],
                credentials=row["credentials"],
                base_url=row["base_url"],
                transport=args.transport,
            )
            for row in rows
        ]
        bridge = AsyncBridge(accounts=accounts, concurrency=args.concurrency, per_account=args.concurrency)
        runs = fan_out(bridge, server_so_far, args)
        result = runs[-1].result
        sequential = None
        if args.rounds < LONG_RUNNING:
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
    where = f"served on loopback by an asyncio server in a child process, transport {args.transport}"
    report(args, accounts=len(rows), devices=len(result.records), runs=runs, sequential=sequential, where=where)


def in_process(args: argparse.Namespace) -> None:
    served_requests = [0]  # a count, not the transports: keeping each pass's transports grew the heap
    tenants = sandbox_tenants(accounts_per_vendor=args.accounts, size=args.size)
    openers = []
    for vendor, account, sim in tenants:

        def handle(request: httpx.Request, sim: Any = sim) -> httpx.Response:
            served_requests[0] += 1
            return sim.handle(request)  # type: ignore[no-any-return]

        def open_with(
            wrap: Any, vendor: str = vendor, account: str = account, sim: Any = sim, handle: Any = handle
        ) -> Any:
            transport = SimulatorTransport(handle, latency=args.latency)
            from backupbridge import connect_async

            return connect_async(vendor, transport=wrap(transport), account=account, clock=sim.now, **sim.credentials)

        openers.append((vendor, account, open_with))
    bridge = AsyncBridge(openers=openers, concurrency=args.concurrency, per_account=args.concurrency)
    runs = fan_out(bridge, lambda: {"requests": served_requests[0]}, args)
    result = runs[-1].result

    sequential = None
    if args.rounds < LONG_RUNNING:
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

    where = "in-process (their CPU shares the core with the client's)"
    report(args, accounts=len(tenants), devices=len(result.records), runs=runs, sequential=sequential, where=where)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fan_out(bridge: AsyncBridge, server_so_far: Callable[[], dict[str, float]], args: argparse.Namespace) -> list[Run]:
    """The fan-out ``args.rounds`` times (at least twice): the first run pays the process's one-time costs
    (imports, code generation, the TLS context), the later ones are the steady state a long-running
    integration sees."""
    runs = []
    memory = []
    rounds = max(2, args.rounds)
    long_running = rounds >= LONG_RUNNING
    if args.tracemalloc:
        tracemalloc.start()
    for number in range(rounds):
        before = server_so_far()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = asyncio.run(bridge.list_devices())
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        after = server_so_far()
        runs.append(
            Run(
                wall,
                cpu,
                int(after["requests"] - before["requests"]),
                result if number == rounds - 1 else None,
                after.get("cpu", 0.0) - before.get("cpu", 0.0),
                after.get("process_cpu", 0.0) - before.get("process_cpu", 0.0),
            )
        )
        assert result.ok, result.failures
        del result
        if long_running:
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0
            memory.append((_rss(), traced, len(redaction._secrets), len(redaction._compiled)))
    if long_running:
        _long_running(runs, memory, args)
    return runs


def _long_running(runs: list[Run], memory: list[tuple[int, int, int, int]], args: argparse.Namespace) -> None:
    per_request = [run.cpu / run.requests * 1e6 for run in runs]
    first = statistics.median(per_request[1:11])
    last = statistics.median(per_request[-10:])
    print(f"{len(runs)} rounds in one process; per-request client CPU (median of 10 rounds):")
    print(f"  rounds 2-11 (first 10 after the cold one): {first:8.1f} us")
    print(f"  last 10 rounds                          : {last:8.1f} us   {last / first - 1:+6.1%} (target within 5%)")
    (rss0, traced0, secrets0, compiled0), (rss1, traced1, secrets1, compiled1) = memory[1], memory[-1]
    print(f"  RSS after round 2: {rss0 / 2**20:7.1f} MiB, after round {len(runs)}: {rss1 / 2**20:7.1f} MiB")
    if args.tracemalloc:
        print(f"  traced memory after round 2: {traced0 / 2**20:7.2f} MiB, after the last: {traced1 / 2**20:7.2f} MiB")
    print(f"  secret registry after round 2: {secrets0} live / {compiled0} compiled; after the last: ", end="")
    print(f"{secrets1} live / {compiled1} compiled")


def report(
    args: argparse.Namespace, *, accounts: int, devices: int, runs: list[Run], sequential: float | None, where: str
) -> None:
    cold, warm = runs[0], runs[1:]
    requests = warm[0].requests
    # Requests in one slot follow each other: 175 requests in 32 slots take 6 rounds of the latency, not 5.47.
    ideal = math.ceil(requests / args.concurrency) * args.latency
    target = (1.6 if args.size <= 2 else None) if args.served else (1.4 if args.size <= 2 else 2.0)
    shown = f"target <= {target}x at size {args.size}" if target else "no target at this size"
    print(f"simulators: {where}{'; slot release does NOT yield (before)' if args.no_yield else ''}")
    print(
        f"accounts: {accounts}  devices: {devices}  requests: {requests}  "
        f"latency: {args.latency * 1000:.0f} ms  concurrency: {args.concurrency}"
    )
    print(f"ideal (ceil(requests / concurrency) x latency): {ideal:7.3f} s")
    # On a shared machine the wall time also holds the time this process waited for a core.
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    wall = statistics.median(run.wall for run in warm)
    cpu = statistics.median(run.cpu for run in warm)
    # A CPU time close to the wall time means the run is bound by Python work, not by the waiting.
    print(f"AsyncBridge fan-out, first run (cold)   : {cold.wall:7.3f} s   {cold.wall / ideal:5.2f}x the ideal")
    print(
        f"AsyncBridge fan-out, warm (median of {len(warm)}) : {wall:7.3f} s   {wall / ideal:5.2f}x the ideal "
        f"({shown}); client CPU {cpu:.3f} s = {cpu / requests * 1e6:.0f} us a request"
    )
    if args.served:
        server_cpu = statistics.median(run.server_cpu for run in warm)
        process_cpu = statistics.median(run.server_process_cpu for run in warm)
        print(
            f"server CPU a request: {server_cpu / requests * 1e6:.0f} us building answers, "
            f"{process_cpu / requests * 1e6:.0f} us for the whole server process (inside the latency)"
        )
    if sequential is not None:
        print(
            f"sequential loop                         : {sequential:7.3f} s   "
            f"{sequential / wall:5.1f}x slower than the warm fan-out (target >= 10x)"
        )


def _without_yield() -> None:
    """The slot release as it was before it yielded to the loop: every answer of a round decoded before any
    waiting request was sent."""

    async def handle_async_request(self: LimitedTransport, request: httpx.Request) -> httpx.Response:
        async with self.account, self.overall:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response

    LimitedTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=25, help="accounts per vendor")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--served", action="store_true", help="simulators in a child process, over loopback HTTP")
    parser.add_argument("--transport", choices=("httpx", "aiohttp"), default="httpx", help="with --served")
    parser.add_argument(
        "--rounds", type=int, default=6, help=f"fan-outs in this process (>= {LONG_RUNNING}: long-running report)"
    )
    parser.add_argument("--tracemalloc", action="store_true", help="with --rounds: trace memory too (slower)")
    parser.add_argument("--no-yield", action="store_true", help="the slot release without the yield (before)")
    parser.add_argument("--serve-tenants", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_tenants:
        serve_tenants(args)
        return
    if args.no_yield:
        _without_yield()
    if args.served:
        served(args)
    else:
        in_process(args)


if __name__ == "__main__":
    main()
